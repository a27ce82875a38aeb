"""Editing and deleting stored assessments, courses, labs and adverse events (issue 12, item 4):
forms and API through `clinic.recording`, stale edits with your / stored / opened values,
deletion with a confirmation and a reason kept in the audit trail, and who may do it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import PASSWORD, csrf_of

from myoivig.accounts.service import add_user
from myoivig.store import Store
from myoivig.store.tables import AuditRow

Clients = Callable[[str | None], TestClient]
SECOND_NORTH_CLINICIAN = "cora"


@pytest.fixture(scope="module")
def cora(clinic_store: Store) -> str:
    """A second clinician of NORTH: the 'someone else' of a stale edit."""
    add_user(clinic_store, "setup", SECOND_NORTH_CLINICIAN, "clinician", ["NORTH"], PASSWORD)
    return SECOND_NORTH_CLINICIAN


@pytest.fixture
def signed(client_for: Clients) -> Clients:
    """A signed-in client that also sends its session's CSRF token with API writes."""

    def make(name: str | None) -> TestClient:
        client = client_for(name)
        client.headers["X-CSRF-Token"] = csrf_of(client.get("/admin/users").text)
        return client

    return make


def _items(client: TestClient, code: str, kind: str) -> list[dict]:
    answer = client.get(f"/api/v1/patients/{code}/{kind}")
    assert answer.status_code == 200, answer.text
    items: list[dict] = answer.json()["items"]
    return items


def _follow_up(client: TestClient, code: str) -> dict:
    return next(
        i for i in _items(client, code, "assessments") if i["record"]["phase"] == "follow_up"
    )


def _form_fields(html: str) -> dict[str, str]:
    """The values a form would post: inputs, selected options, textareas."""
    fields = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
        if 'type="checkbox"' not in m.group(0)
    }
    for select_match in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select_match.group(2))
        fields[select_match.group(1)] = chosen.group(1) if chosen else ""
    for area in re.finditer(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[area.group(1)] = area.group(2)
    import html as html_lib

    return {k: html_lib.unescape(v) for k, v in fields.items()}


def _audit(store: Store, table: str, record_id: int) -> list[Any]:
    """(action, actor, changes) of the record's audit entries, oldest first."""
    with store.session() as session:
        return list(
            session.execute(
                select(AuditRow.action, AuditRow.actor, AuditRow.changes)
                .where(AuditRow.table_name == table, AuditRow.record_id == record_id)
                .order_by(AuditRow.id)
            )
        )


def test_course_edit_form_saves_and_audits_old_and_new(
    signed: Clients, clinic_store: Store
) -> None:
    carl = signed("carl")
    course = _items(carl, "N002", "courses")[0]
    page = carl.get(f"/patients/N002/courses/{course['id']}/edit")
    assert page.status_code == 200 and 'name="version"' in page.text
    fields = _form_fields(page.text)
    assert fields["days"] == str(course["record"]["days"]) and fields["product"] == "octagam-10"
    fields["given_daily_dose_g"] = "28.5"
    saved = carl.post(
        f"/patients/N002/courses/{course['id']}/edit", data=fields, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    after = _items(carl, "N002", "courses")[0]
    assert after["record"]["given_daily_dose_g"] == 28.5
    assert after["version"] == course["version"] + 1
    update = _audit(clinic_store, "courses", course["id"])[-1]
    assert update.action == "update" and update.actor == "carl"
    assert update.changes["given_daily_dose_g"] == {"from": None, "to": 28.5}
    patient_page = carl.get("/patients/N002").text
    assert f"/patients/N002/courses/{course['id']}/edit" in patient_page


def test_follow_up_grade_grid_edit_by_api_updates_cells_in_place(
    signed: Clients, clinic_store: Store
) -> None:
    carl = signed("carl")
    visit = _follow_up(carl, "N003")
    record = visit["record"]
    record["muscle_grades"] = [
        {"muscle_group": "shoulder_abductors", "side": "left", "kendall_grade": 7},
        {"muscle_group": "shoulder_abductors", "side": "right", "kendall_grade": "NP"},
    ]
    record["myometry"][0]["force_n"] = 99.5
    answer = carl.put(
        f"/api/v1/patients/N003/assessments/{visit['id']}",
        json={**record, "version": visit["version"]},
    )
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert saved["version"] == visit["version"] + 1
    grades = {
        (g["muscle_group"], g["side"]): g["kendall_grade"] for g in saved["record"]["muscle_grades"]
    }
    assert grades == {("shoulder_abductors", "left"): 7, ("shoulder_abductors", "right"): "NP"}
    assert saved["record"]["myometry"][0]["force_n"] == 99.5
    with clinic_store.session() as session:
        force_updates = session.scalars(
            select(AuditRow.changes).where(
                AuditRow.table_name == "myometry_readings", AuditRow.action == "update"
            )
        ).all()
    assert any(c.get("force_n", {}).get("to") == 99.5 for c in force_updates)
    # A second edit with the old version is stale: nothing written, both values returned.
    stale = carl.put(
        f"/api/v1/patients/N003/assessments/{visit['id']}",
        json={
            **record,
            "version": visit["version"],
            "opened": {"grade shoulder_abductors left": None},
        },
    )
    assert stale.status_code == 409 and stale.json()["version"] == visit["version"] + 1


def test_stale_assessment_form_shows_yours_theirs_opened_and_keeps_everything_typed(
    signed: Clients, cora: str
) -> None:
    carl, other = signed("carl"), signed(cora)
    visit = _follow_up(carl, "N001")
    url = f"/patients/N001/assessments/{visit['id']}/edit"
    opened_page = carl.get(url)
    assert opened_page.status_code == 200
    mine = _form_fields(opened_page.text)
    opened = json.loads(mine["opened"])
    # Someone else saves a grade in between.
    theirs = _form_fields(other.get(url).text)
    theirs["grade__hip_flexors__left"] = "6"
    assert other.post(url, data=theirs, follow_redirects=False).status_code == 303
    mine["grade__hip_flexors__left"] = "9"
    mine["core__physician_global"] = "3.5"
    mine["note"] = "typed before the clash"
    refused = carl.post(url, data=mine, follow_redirects=False)
    assert refused.status_code == 409
    table = refused.text[refused.text.index('data-testid="stale-changes"') :]
    row = re.search(r'data-field="grade hip_flexors left">(.*?)</tr>', table, re.S)
    assert row, table[:2000]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[1].strip() == "9" and cells[2].startswith("6")
    assert cells[3].strip() == str(opened.get("grade hip_flexors left", "—"))
    kept = _form_fields(refused.text)
    assert kept["grade__hip_flexors__left"] == "9" and kept["core__physician_global"] == "3.5"
    assert kept["note"] == "typed before the clash"
    assert int(kept["version"]) == visit["version"] + 1
    # Saving again is a deliberate choice against the version now stored.
    assert carl.post(url, data=kept, follow_redirects=False).status_code == 303
    grades = {
        (g["muscle_group"], g["side"]): g["kendall_grade"]
        for g in _follow_up(carl, "N001")["record"]["muscle_grades"]
    }
    assert grades[("hip_flexors", "left")] == 9


def test_delete_needs_confirmation_and_reason_and_keeps_the_reason(
    signed: Clients, clinic_store: Store
) -> None:
    carl = signed("carl")
    event = _items(carl, "N002", "adverse-events")[0]
    url = f"/patients/N002/adverse-events/{event['id']}/delete"
    page = carl.get(url)
    assert page.status_code == 200 and "Headache" in page.text
    fields = _form_fields(page.text)
    no_tick = carl.post(url, data={**fields, "reason": "entered twice"}, follow_redirects=False)
    assert no_tick.status_code == 422 and "confirmation" in no_tick.text
    short = carl.post(url, data={**fields, "reason": "dup", "confirm": "yes"})
    assert short.status_code == 422 and "reason" in short.text
    assert len(_items(carl, "N002", "adverse-events")) == 1
    done = carl.post(
        url, data={**fields, "reason": "entered twice", "confirm": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _items(carl, "N002", "adverse-events") == []
    entry = _audit(clinic_store, "adverse_events", event["id"])[-1]
    assert entry.action == "delete" and entry.changes["change_reason"] == "entered twice"
    assert entry.changes["term"] == "Headache"
    trail = carl.get("/patients/N002/audit").text
    assert "entered twice" in trail


def test_course_with_adverse_events_is_not_deleted(signed: Clients) -> None:
    carl = signed("carl")
    course = _items(carl, "N003", "courses")[0]
    refused = carl.request(
        "DELETE",
        f"/api/v1/patients/N003/courses/{course['id']}",
        json={"version": course["version"], "reason": "wrong course"},
    )
    assert refused.status_code == 422 and "adverse event" in refused.text
    stale = carl.request(
        "DELETE",
        f"/api/v1/patients/N003/courses/{course['id']}",
        json={"version": course["version"] - 1 or 99, "reason": "wrong course"},
    )
    assert stale.status_code == 409
    second = _items(carl, "N003", "courses")[1]
    gone = carl.request(
        "DELETE",
        f"/api/v1/patients/N003/courses/{second['id']}",
        json={"version": second["version"], "reason": "course never given"},
    )
    assert gone.status_code == 200 and len(_items(carl, "N003", "courses")) == 1


def test_lab_edit_and_refused_value(signed: Clients) -> None:
    carl = signed("carl")
    added = carl.post(
        "/api/v1/patients/N002/labs",
        json={"test": "iga", "sample_date": "2024-03-01", "value": 1.2, "unit": "g/L"},
    )
    assert added.status_code == 201, added.text
    lab = _items(carl, "N002", "labs")[-1]
    bad = carl.put(
        f"/api/v1/patients/N002/labs/{lab['id']}",
        json={**lab["record"], "value": -4, "version": lab["version"]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "value"
    page = carl.get(f"/patients/N002/labs/{lab['id']}/edit")
    fields = _form_fields(page.text)
    fields["value"] = "0.05"
    saved = carl.post(f"/patients/N002/labs/{lab['id']}/edit", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    assert _items(carl, "N002", "labs")[-1]["record"]["value"] == 0.05


def test_only_clinicians_of_the_site_edit_or_delete(signed: Clients, client_for: Clients) -> None:
    carl = signed("carl")
    north = _items(carl, "N002", "courses")[0]
    sam = signed("sam")  # SOUTH
    south = _items(sam, "S001", "courses")[0]
    for path in (
        f"/patients/N002/courses/{north['id']}/edit",
        f"/patients/N002/courses/{north['id']}/delete",
        f"/api/v1/patients/N002/courses/{north['id']}",
        "/api/v1/patients/N002/courses",
        # Another patient's record under a patient the caller may change: not found either.
        f"/patients/S001/courses/{north['id']}/edit",
    ):
        assert sam.get(path).status_code == 404, path
    assert carl.get(f"/patients/N002/courses/{south['id']}/edit").status_code == 404
    put = carl.put(
        f"/api/v1/patients/N002/courses/{south['id']}",
        json={**south["record"], "version": south["version"]},
    )
    assert put.status_code == 404
    for name in ("ada", "phil", "rita", "rob"):
        other = signed(name)
        assert other.get(f"/patients/N002/courses/{north['id']}/edit").status_code == 403, name
        assert other.get("/api/v1/patients/N002/courses").status_code == 403, name
    # No CSRF token (a plain cookie client): refused before anything is read.
    plain = client_for("carl")
    fields = _form_fields(plain.get(f"/patients/N002/courses/{north['id']}/delete").text)
    fields.pop("csrf_token")
    refused = plain.post(
        f"/patients/N002/courses/{north['id']}/delete",
        data={**fields, "reason": "csrf test", "confirm": "yes"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert len(_items(carl, "N002", "courses")) == 2
    # Edit links only for the clinician.
    link = f"/patients/N002/courses/{north['id']}/edit"
    assert link in carl.get("/patients/N002").text
    assert link not in signed("phil").get("/patients/N002").text


def test_deleted_assessment_and_its_measurements_stay_in_the_patient_audit(
    signed: Clients, clinic_store: Store
) -> None:
    from myoivig.clinic.service import CLI_OPERATOR
    from myoivig.store.audit_log import patient_records

    carl = signed("carl")
    first = _items(carl, "N002", "assessments")[0]
    gone = carl.request(
        "DELETE",
        f"/api/v1/patients/N002/assessments/{first['id']}",
        json={"version": first["version"], "reason": "visit of another patient"},
    )
    assert gone.status_code == 200, gone.text
    assert first["id"] not in [i["id"] for i in _items(carl, "N002", "assessments")]
    with clinic_store.session() as session:
        keys = patient_records(session, "N002")
        assert keys is not None and first["id"] in keys["assessments"]
        assert keys["myometry_readings"]  # the deleted visit's readings
        from myoivig.clinic.recording import patient_audit_trail

        trail = patient_audit_trail(session, CLI_OPERATOR, "N002", limit=200)
    deleted = [
        e
        for e in trail.entries
        if e.action == "delete"
        and (e.record_id == first["id"] or e.changes.get("assessment_id") == first["id"])
    ]
    tables = {e.table_name for e in deleted}
    assert {"assessments", "myometry_readings", "core_set_values"} <= tables
    assert all(e.changes["change_reason"] == "visit of another patient" for e in deleted)


def test_stale_api_edit_lists_the_opened_values_and_the_current_record(signed: Clients) -> None:
    carl = signed("carl")
    lab = carl.post("/api/v1/patients/N001/labs", json={"test": "igg", "value": 9.5, "unit": "g/L"})
    assert lab.status_code == 201
    stored = _items(carl, "N001", "labs")[-1]
    url = f"/api/v1/patients/N001/labs/{stored['id']}"
    first = carl.put(url, json={**stored["record"], "value": 10.1, "version": stored["version"]})
    assert first.status_code == 200
    opened = {"test": "igg", "value": 9.5, "unit": "g/L"}
    late = carl.put(
        url,
        json={**stored["record"], "value": 8.8, "version": stored["version"], "opened": opened},
    )
    assert late.status_code == 409
    body = late.json()
    value = next(c for c in body["changes"] if c["field"] == "value")
    assert value == {"field": "value", "theirs": 10.1, "yours": 8.8, "opened": 9.5}
    assert body["current"]["value"] == 10.1 and body["version"] == stored["version"] + 1


def test_edit_routes_match_only_editable_kinds(signed: Clients) -> None:
    """Other addresses under a patient are left to other routes (here: none, so 404)."""
    carl = signed("carl")
    assert carl.get("/api/v1/patients/N001/infusion-days").status_code == 404
    assert carl.get("/patients/N001/therapies/1/edit").status_code == 404
    assert carl.get("/api/v1/patients/N001/courses/not-a-number").status_code == 422
