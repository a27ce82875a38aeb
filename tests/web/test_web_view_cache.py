"""The patient page's body is kept under its key (`web.patient_page`: record version, day,
settings, role, code) in the process and in the database, and its derived views (criteria panel,
next-course plan, advice) are kept per process by the dossier's content (`clinic.derived_cache`):
a repeat view reuses them, and any
write — through the API, the forms, a pharmacist's override, or another process with its own
store — shows at once. A blocked plan stays NOT READY TO GIVE when it comes from the cache.
Runs on SQLite and PostgreSQL (the `clinic_store` fixture)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from myoivig.accounts.service import create_token
from myoivig.clinic.derived_cache import DERIVED, DerivedViews, dossier_digest
from myoivig.clinic.recording import add_assessment
from myoivig.clinic.service import CLI_OPERATOR, load_patient
from myoivig.protocol.service import Override, plan_patient
from myoivig.store import Store
from myoivig.web.patient_page import PAGES

Client = Callable[[str | None], TestClient]
PATIENT = "N002"  # polymyositis at NORTH, no IgA recorded: its default plan is blocked
STATUS = re.compile(r'data-testid="next-status">(.*?)</p>', re.S)


def _status(html: str) -> str:
    found = STATUS.search(html)
    assert found, "the page has no next-course status"
    return found.group(1)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """The cache is per process and keyed by content only: the SQLite run's views of the same
    records would serve the PostgreSQL run (correctly, but the counts below would differ)."""
    DERIVED.clear()
    PAGES.clear()


def _criteria_rows(html: str) -> int:
    section = html.split('data-testid="criteria"')[1].split("</section>")[0]
    return section.count("<tr>") - 1  # less the header row


def _counts() -> tuple[int, int]:
    return DERIVED.hits, DERIVED.misses


def test_a_repeat_view_reuses_the_views_and_a_blocked_plan_stays_blocked(
    client_for: Client,
) -> None:
    carl = client_for("carl")
    first = carl.get(f"/patients/{PATIENT}")
    assert first.status_code == 200
    assert "NOT READY TO GIVE" in _status(first.text)
    assert "iga_not_measured" in _status(first.text)
    hits, misses = _counts()
    pages = PAGES.hits
    again = carl.get(f"/patients/{PATIENT}")
    assert PAGES.hits == pages + 1  # the kept body: nothing derived again
    assert _counts() == (hits, misses)
    assert "NOT READY TO GIVE" in _status(again.text)
    assert 'data-testid="next-pump-rates"' not in again.text
    assert _criteria_rows(again.text) == _criteria_rows(first.text) > 0


def test_a_lab_written_through_the_api_changes_the_plan_at_once(
    client_for: Client, clinic_store: Store
) -> None:
    carl = client_for("carl")
    before = _status(carl.get(f"/patients/{PATIENT}").text)
    assert "iga_not_measured" in before
    headers = {"Authorization": "Bearer " + create_token(clinic_store, "test", "carl")}
    lab = {"test": "iga", "value": 2.1, "unit": "g/L", "sample_date": "2024-03-01"}
    made = carl.post(f"/api/v1/patients/{PATIENT}/labs", json=lab, headers=headers)
    assert made.status_code == 201, made.text
    misses = DERIVED.misses
    after = carl.get(f"/patients/{PATIENT}").text
    assert DERIVED.misses == misses + 2  # a new content: criteria and plan computed again
    assert "iga_not_measured" not in _status(after)


def test_an_assessment_saved_by_another_process_shows_at_once(
    client_for: Client, clinic_store: Store
) -> None:
    carl = client_for("carl")
    page = carl.get("/patients/N003").text
    assert "2024-12-02" not in page
    other = Store.from_url(clinic_store.url)  # another worker: its own engine and cache
    try:
        data = {
            "assessment_date": "2024-12-02",
            "phase": "follow_up",
            "myometry": [
                {"muscle_group": "shoulder_abductors", "side": "left", "force_n": 90.0},
                {"muscle_group": "shoulder_abductors", "side": "right", "force_n": 88.0},
            ],
        }
        add_assessment(other, CLI_OPERATOR, "N003", data)
    finally:
        other.dispose()
    again = carl.get("/patients/N003").text
    assert "2024-12-02" in again
    assert _criteria_rows(again) == _criteria_rows(page) + 1


def test_a_pharmacists_override_shows_on_the_cached_plan(
    client_for: Client, clinic_store: Store
) -> None:
    """Overrides and approvals are read on every view, never kept with the plan."""
    carl = client_for("carl")
    blocked = _status(carl.get("/patients/N001").text)
    assert "NOT READY TO GIVE" in blocked
    codes = re.search(r"blocked by ([a-z_, ]+)", blocked)
    assert codes is not None
    reason = "checked with the laboratory"
    overrides = tuple(Override(c.strip(), reason) for c in codes.group(1).split(","))
    outcome = plan_patient(clinic_store, "N001", overrides=overrides, actor="pharmacist-test")
    assert not outcome.blocked
    hits = DERIVED.hits
    page = carl.get("/patients/N001").text
    assert DERIVED.hits == hits + 2  # the plan itself (and the criteria) came from the cache
    assert "NOT READY TO GIVE" not in _status(page)
    assert "awaiting a pharmacist" in _status(page)


def test_the_key_is_the_content(clinic_store: Store) -> None:
    with clinic_store.session() as session:
        one = load_patient(session, CLI_OPERATOR, "N001")
        same = load_patient(session, CLI_OPERATOR, "N001")
    assert dossier_digest(one) == dossier_digest(same)
    changed = one.model_copy(update={"patient": one.patient.model_copy(update={"note": "x"})})
    assert dossier_digest(changed) != dossier_digest(one)
    views = DerivedViews(max_entries=2)
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key

    for key in ("a", "b", "a", "c", "b"):
        views.get((key,), functools.partial(compute, key))
    assert calls == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
    assert len(views) == 2
