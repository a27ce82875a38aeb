"""Patient list filters (issue 12, item 5): status, next course due and the trial responder at
the latest visit, on the page, the API and the CLI; values checked with messages naming the
parameter and value; injection strings harmless; the responder follows edits (cache keyed by
the assessments' data version)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from myoivig.accounts.service import create_token
from myoivig.cli import app as cli_app
from myoivig.clinic.list_filters import CourseState, course_state, due_matches
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS
from myoivig.store import Store

Clients = Callable[[str | None], TestClient]


def _today(cohort: dict[str, str]) -> date:
    """The day the cohort was made (its courses are dated from it, and the server counts days
    to the next course from the day it answers): read at fixture time, not at import, so a run
    that passes midnight between collecting and running the tests does not shift it."""
    return date.fromisoformat(cohort["today"])


def _visit(day: date, phase: str, grade: int, able: bool) -> dict[str, Any]:
    return {
        "assessment_date": day.isoformat(),
        "phase": phase,
        "muscle_grades": [
            {"muscle_group": g.value, "side": side, "kendall_grade": grade}
            for g in TRIAL_MUSCLE_GROUPS
            for side in ("left", "right")
        ],
        "functional_tasks": [{"task": "rise_from_squat", "able": able}],
    }


@pytest.fixture(scope="module")
def cohort(clinic_store: Store, web_app: Any) -> dict[str, str]:
    """Four NORTH patients made through the API: on IVIg (due in 8 days, a responder), on IVIg
    and overdue (a non-responder), run-in only, and with an undated course."""
    client = TestClient(web_app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = "Bearer " + create_token(clinic_store, "test", "carl")
    codes = {"due": "F-DUE", "overdue": "F-LATE", "run_in": "F-RUNIN", "undated": "F-UNDATED"}
    for code in codes.values():
        made = client.post(
            "/api/v1/patients",
            json={"code": code, "site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis"},
        )
        assert made.status_code == 201, made.text
    today = date.today()
    starts = {"due": today - timedelta(days=20), "overdue": today - timedelta(days=35)}
    for key, start in starts.items():
        course = {"course_number": 1, "days": 5, "start_date": start.isoformat()}
        assert client.post(f"/api/v1/patients/{codes[key]}/courses", json=course).status_code == 201
    undated = {"course_number": 1, "days": 5}
    assert (
        client.post(f"/api/v1/patients/{codes['undated']}/courses", json=undated).status_code == 201
    )
    for key, improves in (("due", True), ("overdue", False)):
        before = starts[key] - timedelta(days=14)
        for n, visit in enumerate(
            (
                _visit(before, "run_in", 5, False),
                _visit(
                    starts[key] + timedelta(days=10), "follow_up", 7 if improves else 5, improves
                ),
            )
        ):
            saved = client.post(f"/api/v1/patients/{codes[key]}/assessments", json=visit)
            assert saved.status_code == 201, (n, saved.text)
    client.close()
    return codes | {"today": today.isoformat()}


def _codes(client: TestClient, **params: str) -> set[str]:
    answer = client.get("/api/v1/patients", params={"per_page": "200", **params})
    assert answer.status_code == 200, answer.text
    return {p["code"] for p in answer.json()["items"]}


def test_course_state_rules() -> None:
    today = date(2025, 3, 1)
    assert course_state(0, None, today, 28) == CourseState("run_in", None)
    assert course_state(2, None, today, 28) == CourseState("undated", None)
    assert course_state(1, date(2025, 2, 1), today, 28) == CourseState("on_ivig", date(2025, 3, 1))
    assert course_state(1, date(2025, 1, 4), today, 28).status == "on_ivig"  # 56 days: not yet
    assert course_state(1, date(2025, 1, 3), today, 28).status == "stopped"
    on = CourseState("on_ivig", date(2025, 3, 8))
    assert due_matches("7", on, today) and not due_matches("6", on, today)
    assert not due_matches("overdue", on, today)
    assert due_matches("overdue", CourseState("on_ivig", date(2025, 2, 28)), today)
    assert not due_matches("overdue", CourseState("stopped", None), today)


def test_status_due_and_responder_filters(client_for: Clients, cohort: dict[str, str]) -> None:
    carl = client_for("carl")
    assert _codes(carl, status="on_ivig") == {cohort["due"], cohort["overdue"]}
    # The built clinic's courses are from 2024: stopped.
    assert _codes(carl, status="stopped") == {"N001", "N002", "N003"}
    assert _codes(carl, status="run_in") == {cohort["run_in"]}
    assert _codes(carl, status="undated") == {cohort["undated"]}
    assert _codes(carl, due="overdue") == {cohort["overdue"]}
    assert _codes(carl, due="7") == set()
    assert _codes(carl, due="8") == {cohort["due"]}
    assert _codes(carl, responder="yes") == {cohort["due"]}
    assert _codes(carl, responder="no") == {cohort["overdue"]}
    assert cohort["run_in"] in _codes(carl, responder="undetermined")
    assert _codes(carl, status="on_ivig", responder="yes", search="due") == {cohort["due"]}
    assert _codes(carl, diagnosis="dermatomyositis", status="on_ivig") == set()
    listed = carl.get("/api/v1/patients", params={"search": "F-DUE"}).json()["items"][0]
    expected_due = (_today(cohort) + timedelta(days=8)).isoformat()
    assert listed["status"] == "on_ivig" and listed["next_course_due"] == expected_due
    assert listed["responder"] == "yes"
    # The researcher filters too, and sees pseudonyms only.
    rita = client_for("rita")
    found = rita.get("/api/v1/patients", params={"responder": "yes"}).json()["items"]
    assert len(found) == 1 and found[0]["code"].startswith("R-")
    # The page: filters kept in the form and the pagination links, columns shown.
    page = carl.get("/patients", params={"status": "on_ivig", "due": "overdue"})
    assert page.status_code == 200 and cohort["overdue"] in page.text
    assert cohort["due"] not in page.text and "overdue</strong>" in page.text
    assert '<option value="overdue" selected>' in page.text


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "active"),
        ("responder", "maybe"),
        ("due", "soon"),
        ("due", "400"),
        ("status", "on_ivig' OR '1'='1"),
        ("due", "1; DROP TABLE patients --"),
    ],
)
def test_unknown_filter_values_are_refused_naming_parameter_and_value(
    client_for: Clients, param: str, value: str
) -> None:
    carl = client_for("carl")
    refused = carl.get("/api/v1/patients", params={param: value})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"{param}: {value!r}")
    page = carl.get("/patients", params={param: value})
    assert page.status_code == 422 and f"{param}:" in page.text
    assert carl.get("/api/v1/patients").json()["total"] >= 3  # nothing was dropped


def test_responder_follows_an_edit_of_the_latest_visit(
    client_for: Clients, clinic_store: Store, cohort: dict[str, str]
) -> None:
    carl = client_for("carl")
    carl.headers["Authorization"] = "Bearer " + create_token(clinic_store, "test", "carl")
    code = cohort["overdue"]
    assert code in _codes(carl, responder="no")
    visits = carl.get(f"/api/v1/patients/{code}/assessments").json()["items"]
    latest = visits[-1]
    record = {
        **latest["record"],
        **_visit(_today(cohort) - timedelta(days=25), "follow_up", 7, True),
    }
    saved = carl.put(
        f"/api/v1/patients/{code}/assessments/{latest['id']}",
        json={**record, "version": latest["version"]},
    )
    assert saved.status_code == 200, saved.text
    assert code in _codes(carl, responder="yes")
    removed = carl.request(
        "DELETE",
        f"/api/v1/patients/{code}/assessments/{latest['id']}",
        json={"version": saved.json()["version"], "reason": "visit entered twice"},
    )
    assert removed.status_code == 200
    assert code in _codes(carl, responder="undetermined")


def test_cli_filters_match_the_api(
    clinic_store: Store, cohort: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", clinic_store.url)
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["patients", "list", "--json", "--status", "on_ivig"])
    assert listed.exit_code == 0, listed.output
    import json

    rows = json.loads(listed.output)
    assert {r["code"] for r in rows} == {cohort["due"], cohort["overdue"]}
    assert {r["code"]: r["status"] for r in rows}[cohort["due"]] == "on_ivig"
    refused = runner.invoke(cli_app, ["patients", "list", "--due", "soon"])
    assert refused.exit_code == 2 and "due: 'soon'" in refused.output
