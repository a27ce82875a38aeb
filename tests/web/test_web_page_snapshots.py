"""Patient pages kept in the database (`web.patient_page`, table `page_snapshots`) and built
ahead of their readers (`web.page_warming`). A kept page is served only under its exact key
(record version, day, settings, role, code); any write shows at once; roles see their own
page. Runs on SQLite and PostgreSQL (the `clinic_store` fixture)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from myoivig.accounts.roles import Role
from myoivig.clinic.recording import add_lab
from myoivig.clinic.service import CLI_OPERATOR, Viewer
from myoivig.store import Store
from myoivig.store.page_snapshots import PageSnapshotRow, pack, unpack
from myoivig.web.app import create_app
from myoivig.web.page_warming import reader_roles, warm_pages
from myoivig.web.patient_page import PAGES, PatientPage, patient_page
from myoivig.web.settings import WebSettings

Client = Callable[[str | None], TestClient]
KEY = b"k" * 32


@pytest.fixture(autouse=True)
def nothing_kept(clinic_store: Store) -> None:
    PAGES.clear()
    with clinic_store.engine.begin() as connection:
        connection.execute(delete(PageSnapshotRow))


def _kept(store: Store, code: str) -> dict[str, str]:
    with store.session() as session:
        rows = session.execute(
            select(PageSnapshotRow.variant, PageSnapshotRow.page_key).where(
                PageSnapshotRow.patient_code == code
            )
        )
        return {variant: key for variant, key in rows}


def _page(
    store: Store, role: Role, code: str, today: date | None = None, viewer: Viewer = CLI_OPERATOR
) -> PatientPage:
    with store.session() as session:
        return patient_page(store, session, viewer, role, code, today)


def test_a_page_built_by_one_worker_is_served_from_the_database_by_another(
    clinic_store: Store,
) -> None:
    first = _page(clinic_store, Role.CLINICIAN, "N001")
    assert first.built and "clinician" in _kept(clinic_store, "N001")
    PAGES.clear()  # another process: nothing in its memory
    again = _page(clinic_store, Role.CLINICIAN, "N001")
    assert not again.built
    assert again.body == first.body
    assert "Patient N001" in again.body


def test_a_kept_page_under_another_key_is_never_served(clinic_store: Store) -> None:
    _page(clinic_store, Role.CLINICIAN, "N001")
    PAGES.clear()
    with clinic_store.engine.begin() as connection:  # as if built from an older record
        connection.execute(
            update(PageSnapshotRow).values(page_key="0" * 64, body=pack("STALE PAGE"))
        )
    page = _page(clinic_store, Role.CLINICIAN, "N001")
    assert page.built and "STALE PAGE" not in page.body
    with clinic_store.session() as session:
        body = session.scalar(
            select(PageSnapshotRow.body).where(PageSnapshotRow.patient_code == "N001")
        )
    assert body is not None and "STALE PAGE" not in unpack(body)  # replaced


def test_a_write_by_another_process_shows_at_once(clinic_store: Store) -> None:
    before = _page(clinic_store, Role.CLINICIAN, "N003")
    assert "2024-05-04" not in before.body
    other = Store.from_url(clinic_store.url)
    try:
        lab = {"test": "iga", "value": 2.4, "unit": "g/L", "sample_date": "2024-05-04"}
        add_lab(other, CLI_OPERATOR, "N003", lab)
    finally:
        other.dispose()
    after = _page(clinic_store, Role.CLINICIAN, "N003")
    assert after.built and "2024-05-04" in after.body


def test_the_day_is_part_of_the_key(clinic_store: Store) -> None:
    today = date.today()
    _page(clinic_store, Role.PHARMACIST, "N002", today)
    assert not _page(clinic_store, Role.PHARMACIST, "N002", today).built
    assert _page(clinic_store, Role.PHARMACIST, "N002", today + timedelta(days=1)).built


def test_each_role_sees_its_own_page(client_for: Client) -> None:
    carl = client_for("carl").get("/patients/N001").text
    phil = client_for("phil").get("/patients/N001").text
    assert "Record assessment" in carl and 'data-testid="edit-courses-' in carl
    assert "Record assessment" not in phil and "edit-courses-" not in phil
    assert "Open the dose planner" in phil
    ada = client_for("ada").get("/patients/N001").text
    assert "Open the dose planner" not in ada and "Audit trail" in ada
    rita = client_for("rita")
    listed = rita.get("/patients").text
    alias = re.search(r"/patients/(R-[0-9A-F]{12})", listed)
    assert alias is not None
    seen = rita.get(f"/patients/{alias.group(1)}").text
    assert "N001" not in seen and "N002" not in seen and "N003" not in seen
    assert "(pseudonymised)" in seen and "Audit trail" not in seen
    # the signed-in user's own layout around the kept body
    assert ">carl<" in carl or "carl" in carl.split("<main")[0]


def test_a_patient_the_reader_may_not_see_is_not_served_from_what_is_kept(
    client_for: Client, clinic_store: Store
) -> None:
    assert client_for("sam").get("/patients/S001").status_code == 200  # SOUTH clinician
    assert "clinician" in _kept(clinic_store, "S001")  # kept for clinicians
    assert client_for("carl").get("/patients/S001").status_code == 404  # carl is NORTH only


def test_the_warm_up_builds_what_is_missing_and_then_nothing(clinic_store: Store) -> None:
    roles = reader_roles(clinic_store)
    assert set(roles) == {Role.ADMIN, Role.CLINICIAN, Role.PHARMACIST, Role.RESEARCHER}
    first = warm_pages(clinic_store, KEY, roles=(Role.CLINICIAN, Role.RESEARCHER), seed=1)
    assert (first.patients, first.built, first.current) == (5, 20, 0)  # pages and documents
    PAGES.clear()
    again = warm_pages(clinic_store, KEY, roles=(Role.CLINICIAN, Role.RESEARCHER), seed=2)
    assert (again.built, again.current) == (0, 20)
    add_lab(
        clinic_store,
        CLI_OPERATOR,
        "S002",
        {"test": "iga", "value": 2.0, "unit": "g/L", "sample_date": "2024-06-02"},
    )
    third = warm_pages(clinic_store, KEY, roles=(Role.CLINICIAN,), seed=3)
    assert (third.built, third.current) == (2, 8)
    tomorrow = warm_pages(
        clinic_store, KEY, roles=(Role.CLINICIAN,), today=date.today() + timedelta(days=1)
    )
    assert (tomorrow.built, tomorrow.current) == (5, 5)  # documents do not depend on the day


def test_the_server_warms_pages_in_the_background(clinic_store: Store) -> None:
    app: FastAPI = create_app(
        WebSettings(database_url=clinic_store.url, warm_pages=True), clinic_store
    )
    with TestClient(app):
        warmer = app.state.page_warmer
        assert warmer.done.wait(60), "the warm-up did not finish"
    kept = _kept(clinic_store, "N002")
    assert {"admin", "clinician", "pharmacist", "researcher-pseudonymised"} <= set(kept)
    assert {"api-json", "api-json-pseudonymised"} <= set(kept)


def test_the_api_document_is_kept_and_follows_writes(
    client_for: Client, clinic_store: Store
) -> None:
    carl = client_for("carl")
    first = carl.get("/api/v1/patients/N001")
    assert first.status_code == 200 and first.json()["patient"]["code"] == "N001"
    assert "api-json" in _kept(clinic_store, "N001")
    PAGES.clear()
    assert carl.get("/api/v1/patients/N001").json() == first.json()  # from the database
    add_lab(
        clinic_store,
        CLI_OPERATOR,
        "N001",
        {"test": "iga", "value": 1.9, "unit": "g/L", "sample_date": "2024-07-03"},
    )
    labs = carl.get("/api/v1/patients/N001").json()["labs"]
    assert any(lab["sample_date"] == "2024-07-03" for lab in labs)
    rita = client_for("rita").get("/api/v1/patients").json()["items"]
    alias = rita[0]["code"]
    assert alias.startswith("R-")
    seen = client_for("rita").get(f"/api/v1/patients/{alias}").json()
    assert seen["patient"]["code"] == alias and seen["patient"].get("birth_year") is None
