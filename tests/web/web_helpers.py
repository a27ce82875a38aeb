"""Helpers of the web tests: a small two-site clinic (dated visits, courses, adverse events)
and signing in.

Values are made up for testing (not clinical data). Free-text fields of one patient hold a
script-injection string and a name, so tests can check that pages escape free text and that a
researcher never sees it.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from myoivig.accounts.service import add_site, add_user
from myoivig.domain import records as r
from myoivig.domain.vocab import (
    TRIAL_MUSCLE_GROUPS,
    CoreSetMeasure,
    Diagnosis,
    Enzyme,
    Phase,
    Sex,
    Side,
)
from myoivig.store import Store
from myoivig.store.repository import add_dossier
from myoivig.store.tables import SiteRow

PASSWORD = "correct horse battery staple"
INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'
NAME_IN_NOTE = "Mrs Jane Example"
ROLES_USERS = {
    "admin": ("ada", []),
    "clinician": ("carl", ["NORTH"]),
    "pharmacist": ("phil", ["NORTH"]),
    "researcher": ("rita", []),
    "reviewer": ("rob", []),
}
SOUTH_CLINICIAN = "sam"


@dataclass(frozen=True)
class Clinic:
    north_codes: tuple[str, ...]
    south_codes: tuple[str, ...]


def _visit(
    code: str, day: date, phase: Phase, force: float, mmt8: float, ck: float
) -> r.Assessment:
    return r.Assessment(
        patient_code=code,
        assessment_date=day,
        phase=phase,
        assessor="Dr Who" if phase is Phase.RUN_IN else "Dr Strange",
        note=f"seen by {NAME_IN_NOTE}'s physician {INJECTION}" if code == "N001" else None,
        myometry=[
            r.MyometryReading(
                muscle_group=g, side=s, force_n=force + 10 * i + (3 if s is Side.LEFT else 0)
            )
            for i, g in enumerate(TRIAL_MUSCLE_GROUPS)
            for s in (Side.LEFT, Side.RIGHT)
        ],
        core_set=[r.CoreSetValue(measure=CoreSetMeasure.MMT8, value=mmt8, scale_max=80)],
        enzymes=[r.EnzymeResult(enzyme=Enzyme.CK, value_u_per_l=ck, uln_u_per_l=200)],
    )


def dossier(code: str, site: str, start: date, improving: bool) -> r.PatientDossier:
    visits = []
    for month in range(6):
        day = start + timedelta(days=28 * month)
        phase = Phase.RUN_IN if month < 3 else Phase.FOLLOW_UP
        gain = (month - 2) * (8.0 if improving else -2.0) if month >= 3 else float(month % 2)
        visits.append(
            _visit(code, day, phase, 60 + gain, 52 + gain / 2, max(150.0, 2400 - 300 * gain))
        )
    course_start = start + timedelta(days=28 * 2 + 7)
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            site_code=site,
            sex=Sex.FEMALE,
            age_at_entry=55,
            birth_year=1969,
            diagnosis=Diagnosis.DERMATOMYOSITIS if improving else Diagnosis.POLYMYOSITIS,
            note=f"{NAME_IN_NOTE} {INJECTION}" if code == "N001" else None,
        ),
        assessments=visits,
        courses=[
            r.Course(
                patient_code=code,
                course_number=n + 1,
                product="octagam-10",
                start_date=course_start + timedelta(days=28 * n),
                days=5 if n == 0 else 3,
                planned_daily_dose_g=30,
            )
            for n in range(2)
        ],
        adverse_events=[
            r.AdverseEvent(
                patient_code=code,
                onset_date=course_start + timedelta(days=1),
                course_number=1,
                term="Headache " + INJECTION if code == "N001" else "Headache",
                serious=False,
                ctcae_grade=1,
            )
        ],
    )


def build_clinic(store: Store) -> Clinic:
    """Two sites (NORTH with three patients, SOUTH with two) and one user per role."""
    add_site(store, "setup", "NORTH", "North clinic", "NZ")
    add_site(store, "setup", "SOUTH", "South clinic", "NZ")
    north = ("N001", "N002", "N003")
    south = ("S001", "S002")
    start = date(2024, 1, 8)
    with store.unit_of_work("setup") as session:
        sites = {row.site_code: row for row in session.scalars(select(SiteRow))}
        for i, code in enumerate(north + south):
            site = "NORTH" if code.startswith("N") else "SOUTH"
            add_dossier(
                session, dossier(code, site, start + timedelta(days=7 * i), i % 2 == 0), sites
            )
    for role, (name, sites_of) in ROLES_USERS.items():
        add_user(store, "setup", name, role, sites_of, PASSWORD)
    add_user(store, "setup", SOUTH_CLINICIAN, "clinician", ["SOUTH"], PASSWORD)
    return Clinic(north, south)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
