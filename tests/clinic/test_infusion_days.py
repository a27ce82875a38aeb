"""Infusion days of a course: storage and audit round trip, the rules (day in course, dose,
rate steps against the applicable maximum with its source), stale edits and who may write.

Storage tests run on SQLite and PostgreSQL (`store` fixture). Values are made up for testing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from myoivig.accounts.service import add_site
from myoivig.clinic import recording
from myoivig.clinic.infusion_checks import check_infusion_day
from myoivig.clinic.recording import InfusionRules, RecordRejectedError, StaleEditError
from myoivig.clinic.service import Viewer, course_infusion_days, load_patient
from myoivig.domain import records as r
from myoivig.domain.vocab import Diagnosis, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.settings import DEFAULT_SETTINGS
from myoivig.store import Store
from myoivig.store.audit_log import AuditEntry, audit_entries
from myoivig.store.repository import RecordNotFoundError, add_dossier
from myoivig.store.tables import SiteRow

START = date(2025, 3, 3)
NURSE = Viewer(name="nurse.north", all_sites=False, site_codes=frozenset({"NORTH"}))
SOUTH = Viewer(name="nurse.south", all_sites=False, site_codes=frozenset({"SOUTH"}))
RESEARCHER = Viewer(name="rita", all_sites=True, pseudonymised=True, pseudonym_key=b"k" * 32)


def _course(code: str, product: str) -> r.Course:
    return r.Course(
        patient_code=code,
        course_number=1,
        product=product,
        start_date=START,
        days=3,
        planned_daily_dose_g=35,
        weight_kg=70,
    )


def _patient(store: Store, code: str, diagnosis: Diagnosis, product: str) -> None:
    dossier = r.PatientDossier(
        patient=r.Patient(code=code, site_code="NORTH", sex=Sex.FEMALE, diagnosis=diagnosis),
        courses=[_course(code, product)],
    )
    with store.unit_of_work("setup") as session:
        sites = {row.site_code: row for row in session.scalars(select(SiteRow))}
        add_dossier(session, dossier, sites)


@pytest.fixture
def clinic(store: Store) -> Store:
    add_site(store, "setup", "NORTH", "North clinic", "NZ")
    _patient(store, "DM1", Diagnosis.DERMATOMYOSITIS, "octagam-10")
    _patient(store, "DM2", Diagnosis.DERMATOMYOSITIS, "privigen")
    _patient(store, "PM1", Diagnosis.POLYMYOSITIS, "privigen")
    return store


def day_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "day_number": 1,
        "infusion_date": START.isoformat(),
        "lot_number": "A1234B",
        "dose_g": 35,
        "volume_ml": 350,
        "rate_steps": [
            {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
            {"rate": 0.02, "unit": "ml_per_kg_min", "minutes": 30},
            {"rate": 0.04, "unit": "ml_per_kg_min", "minutes": 95},
        ],
        "total_minutes": 160,
        "reactions": [{"type": "headache", "ctcae_grade": 1, "action": "slowed"}],
        "given_by": "Nurse Hana",
        "note": "premedicated with paracetamol",
    }
    data.update(changes)
    return data


def _audit(store: Store) -> list[AuditEntry]:
    with store.session() as session:
        return audit_entries(session, table_name="infusion_days").entries[::-1]


def test_a_day_round_trips_and_every_change_is_audited(clinic: Store) -> None:
    saved = recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    assert saved.product == "octagam-10"  # defaults to the course's product
    with clinic.session() as session:
        dossier = load_patient(session, NURSE, "DM1")
        [(stored, version)] = course_infusion_days(session, NURSE, "DM1", 1)
    assert dossier.infusion_days == [stored]
    assert stored == saved and version == 1
    assert [s.rate for s in stored.rate_steps] == [0.01, 0.02, 0.04]
    assert stored.reactions[0].action is not None and stored.reactions[0].action.value == "slowed"

    edited, new_version = recording.update_infusion_day(
        clinic, NURSE, "DM1", 1, 1, day_data(lot_number="C9876D", reactions=[]), version
    )
    assert edited.lot_number == "C9876D" and new_version == 2
    recording.delete_infusion_day(clinic, NURSE, "DM1", 1, 1, new_version)

    insert, update, delete = _audit(clinic)
    assert (insert.action, update.action, delete.action) == ("insert", "update", "delete")
    assert {insert.actor, update.actor, delete.actor} == {"nurse.north"}
    assert insert.changes["lot_number"] == "A1234B"
    assert insert.changes["rate_steps"][2] == {"rate": 0.04, "unit": "ml_per_kg_min", "minutes": 95}
    assert update.changes["lot_number"] == {"from": "A1234B", "to": "C9876D"}
    assert update.changes["reactions"]["to"] == []
    assert delete.changes["lot_number"] == "C9876D"
    with clinic.session() as session:
        assert load_patient(session, NURSE, "DM1").infusion_days == []
        trail = recording.patient_audit_trail(session, NURSE, "DM1")
    assert sum(e.table_name == "infusion_days" for e in trail.entries) == 3


def _problems(error: pytest.ExceptionInfo[RecordRejectedError]) -> dict[str, str]:
    return {p.field: p.message for p in error.value.problems}


def test_a_rate_above_the_label_maximum_names_step_value_and_source(clinic: Store) -> None:
    steps = [
        {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
        {"rate": 0.06, "unit": "ml_per_kg_min", "minutes": 60},
    ]
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=steps))
    message = _problems(error)["rate_steps.1.rate"]
    assert "step 2: rate 0.06 mL/kg/min is above the maximum 0.04 mL/kg/min" in message
    assert "Octagam 10 % US prescribing information" in message
    assert not error.value.confirmable
    # Refused: nothing written, no audit entry.
    assert _audit(clinic) == []
    assert "rate_steps.1.rate: step 2" in str(error.value)


def test_a_pump_rate_is_converted_with_the_course_weight(clinic: Store) -> None:
    # 70 kg x 0.04 mL/kg/min x 60 = 168 mL/h is the cap; 200 mL/h is above it.
    steps = [{"rate": 200, "unit": "ml_per_h", "minutes": 60}]
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=steps))
    assert "200 mL/h = 0.0476 mL/kg/min" in _problems(error)["rate_steps.0.rate"]
    ok = [{"rate": 168, "unit": "ml_per_h", "minutes": 60}]
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=ok, total_minutes=60))


def test_the_dermatomyositis_cap_is_the_site_setting_class_wide(clinic: Store) -> None:
    # Privigen's own maximum (PI/CIDP) is 0.08 mL/kg/min; dermatomyositis is capped at 0.04.
    fast = [{"rate": 0.06, "unit": "ml_per_kg_min", "minutes": 60}]
    data = day_data(rate_steps=fast, volume_ml=None, total_minutes=None)
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM2", 1, data)
    message = _problems(error)["rate_steps.0.rate"]
    assert "maximum 0.04 mL/kg/min for Privigen (dermatomyositis cap)" in message
    assert "dermatomyositis_rate_cap" in message
    recording.add_infusion_day(clinic, NURSE, "PM1", 1, data)  # polymyositis: label maximum
    no_cap = InfusionRules(
        load_catalogue(), DEFAULT_SETTINGS.model_copy(update={"dermatomyositis_rate_cap": False})
    )
    recording.add_infusion_day(clinic, NURSE, "DM2", 1, data, rules=no_cap)


def test_day_and_date_must_lie_in_the_course(clinic: Store) -> None:
    late = (START + timedelta(days=5)).isoformat()
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(
            clinic, NURSE, "DM1", 1, day_data(day_number=4, infusion_date=late)
        )
    problems = _problems(error)
    assert "day_number 4 is beyond course 1's 3 planned day(s)" in problems["day_number"]
    assert "outside course 1 (2025-03-03 to 2025-03-05)" in problems["infusion_date"]
    with pytest.raises(RecordNotFoundError):
        recording.add_infusion_day(clinic, NURSE, "DM1", 2, day_data())


def test_lot_number_is_required_short_and_printable(clinic: Store) -> None:
    for lot, expected in (
        ("", "lot number is required"),
        ("X" * 41, "at most 40 characters"),
        ("A12\x1b34", "only printable characters"),
    ):
        with pytest.raises(RecordRejectedError) as error:
            recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(lot_number=lot))
        assert expected in _problems(error)["lot_number"]


def test_a_dose_above_the_daily_dose_needs_confirming(clinic: Store) -> None:
    data = day_data(dose_g=40, volume_ml=400)  # daily dose 35 g + 10 % = 38.5 g
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, data)
    assert error.value.confirmable
    assert (
        "dose_g 40 g is more than course 1's daily dose 35 g plus 10 %"
        in _problems(error)["dose_g"]
    )
    saved = recording.add_infusion_day(clinic, NURSE, "DM1", 1, data, confirmed=True)
    assert saved.dose_g == 40
    with pytest.raises(RecordRejectedError) as duplicate:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, data, confirmed=True)
    assert "already recorded" in _problems(duplicate)["day_number"]


def test_a_stale_edit_writes_nothing_and_says_what_changed(clinic: Store) -> None:
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    recording.update_infusion_day(clinic, NURSE, "DM1", 1, 1, day_data(lot_number="THEIRS1"), 1)
    with pytest.raises(StaleEditError) as stale:
        recording.update_infusion_day(clinic, NURSE, "DM1", 1, 1, day_data(lot_number="MINE22"), 1)
    assert stale.value.current_version == 2
    assert [(c.field, c.theirs, c.yours) for c in stale.value.changes] == [
        ("lot_number", "THEIRS1", "MINE22")
    ]
    with pytest.raises(StaleEditError):
        recording.delete_infusion_day(clinic, NURSE, "DM1", 1, 1, 1)
    with clinic.session() as session:
        [(day, version)] = course_infusion_days(session, NURSE, "DM1", 1)
    assert (day.lot_number, version) == ("THEIRS1", 2)


def test_other_sites_cannot_write_and_researchers_see_no_names(clinic: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        recording.add_infusion_day(clinic, SOUTH, "DM1", 1, day_data())
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    with pytest.raises(RecordNotFoundError):
        recording.update_infusion_day(clinic, SOUTH, "DM1", 1, 1, day_data(), 1)
    with clinic.session() as session:
        with pytest.raises(RecordNotFoundError):
            course_infusion_days(session, RESEARCHER, "DM1", 1)  # clinic codes are not theirs
        alias = load_patient(session, RESEARCHER, _alias(session)).patient.code
        [(day, _)] = course_infusion_days(session, RESEARCHER, alias, 1)
        dossier = load_patient(session, RESEARCHER, alias)
    assert day.patient_code == alias and day.given_by is None and day.note is None
    assert day.lot_number == "A1234B"
    assert dossier.infusion_days == [day]


def _alias(session: Any) -> str:
    from myoivig.clinic.service import pseudonym

    return pseudonym("DM1", RESEARCHER.pseudonym_key)


def test_the_rules_are_pure_functions_of_day_course_and_catalogue() -> None:
    course = _course("X1", "intragam")  # not in the catalogue: rates cannot be checked
    day = r.InfusionDay.model_validate(
        {**day_data(), "patient_code": "X1", "course_number": 1, "product": None}
    )
    found = check_infusion_day(
        day, course, Diagnosis.POLYMYOSITIS, load_catalogue(), DEFAULT_SETTINGS
    )
    assert [(p.field, p.needs_confirmation) for p in found] == [("product", True)]
    assert "'intragam' has no per-kg maximum rate" in found[0].message
