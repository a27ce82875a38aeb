"""Editing and deleting stored assessments, courses, labs, adverse events and concurrent
therapies (issue 12, item 4): forms and API through `clinic.recording`, stale edits with your /
stored / opened values, deletion with a confirmation and a reason kept in the audit trail, and
who may do it. Concurrent therapies are also added here (form and API)."""

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
    assert carl.get("/patients/N001/reported-outcome/1/edit").status_code == 404
    assert carl.get("/api/v1/patients/N001/courses/not-a-number").status_code == 422


# --- concurrent therapies (prednisolone and other immunosuppressants) ------------------------

PREDNISOLONE = {
    "drug": "prednisolone",
    "dose_mg_per_day": "20",
    "start_date": "2023-11-02",
    "timing": "concurrent",
    "note": "tapering planned",
}


def _new_therapy(client: TestClient, code: str, values: dict[str, str]) -> Any:
    page = client.get(f"/patients/{code}/therapies/new")
    assert page.status_code == 200, page.text
    fields = {**_form_fields(page.text), **values}
    return client.post(f"/patients/{code}/therapies/new", data=fields, follow_redirects=False)


def test_a_therapy_is_added_shown_edited_and_audited_through_the_forms(
    signed: Clients, clinic_store: Store
) -> None:
    carl = signed("carl")
    before = len(_items(carl, "N003", "therapies"))
    form = carl.get("/patients/N003/therapies/new").text
    drugs = re.search(r'<select name="drug">(.*?)</select>', form, re.S)
    assert drugs and 'value="methotrexate"' in drugs.group(1) and 'value="other"' in drugs.group(1)
    assert "mg/day, 0 to 2000" in form  # the unit and the range the record enforces
    assert _new_therapy(carl, "N003", PREDNISOLONE).status_code == 303
    stored = _items(carl, "N003", "therapies")
    assert len(stored) == before + 1
    therapy = stored[-1]
    assert (
        therapy["record"]["dose_mg_per_day"] == 20 and therapy["record"]["timing"] == "concurrent"
    )
    insert = _audit(clinic_store, "therapies", therapy["id"])
    assert [(e.action, e.actor) for e in insert] == [("insert", "carl")]
    page = carl.get("/patients/N003").text
    table = page[page.index('data-testid="therapies"') :]
    assert "prednisolone" in table and "20 mg/day" in table and "tapering planned" in table
    assert f'data-testid="edit-therapies-{therapy["id"]}"' in page
    assert f'data-testid="delete-therapies-{therapy["id"]}"' in page
    assert "Add concurrent therapy" in page

    url = f"/patients/N003/therapies/{therapy['id']}/edit"
    fields = _form_fields(carl.get(url).text)
    assert fields["dose_mg_per_day"] == "20" and fields["timing"] == "concurrent"
    fields["dose_mg_per_day"] = "7.5"
    fields["stop_date"] = "2024-02-01"
    assert carl.post(url, data=fields, follow_redirects=False).status_code == 303
    after = _items(carl, "N003", "therapies")[-1]
    assert after["version"] == therapy["version"] + 1
    assert (
        after["record"]["dose_mg_per_day"] == 7.5 and after["record"]["stop_date"] == "2024-02-01"
    )
    update = _audit(clinic_store, "therapies", therapy["id"])[-1]
    assert update.action == "update" and update.actor == "carl"
    assert update.changes["dose_mg_per_day"] == {"from": 20, "to": 7.5}
    assert "7.5 mg/day" in carl.get("/patients/N003").text


def test_therapy_rules_are_named_by_field_and_keep_what_was_typed(signed: Clients) -> None:
    carl = signed("carl")
    before = _items(carl, "N003", "therapies")
    backwards = _new_therapy(carl, "N003", {**PREDNISOLONE, "stop_date": "2023-10-01"})
    assert backwards.status_code == 422
    assert 'data-testid="error-stop_date"' in backwards.text
    assert "is before start_date 2023-11-02" in backwards.text
    kept = _form_fields(backwards.text)
    assert kept["start_date"] == "2023-11-02" and kept["note"] == "tapering planned"
    unnamed = _new_therapy(carl, "N003", {"drug": "other", "dose_mg_per_day": "5"})
    assert unnamed.status_code == 422 and 'data-testid="error-drug_label"' in unnamed.text
    huge = _new_therapy(carl, "N003", {**PREDNISOLONE, "dose_mg_per_day": "5000"})
    assert huge.status_code == 422 and 'data-testid="error-dose_mg_per_day"' in huge.text
    assert "5000" in huge.text and "2000" in huge.text
    future = _new_therapy(carl, "N003", {**PREDNISOLONE, "start_date": "2999-01-01"})
    assert future.status_code == 422 and 'data-testid="error-start_date"' in future.text
    assert _items(carl, "N003", "therapies") == before  # nothing saved
    # The same rule on an edit, by the form and by the API.
    assert _new_therapy(carl, "N003", {"drug": "azathioprine"}).status_code == 303
    therapy = _items(carl, "N003", "therapies")[-1]
    url = f"/patients/N003/therapies/{therapy['id']}/edit"
    fields = {**_form_fields(carl.get(url).text), "start_date": "2024-05-01"}
    fields["stop_date"] = "2024-04-01"
    refused = carl.post(url, data=fields, follow_redirects=False)
    assert refused.status_code == 422 and 'data-testid="error-stop_date"' in refused.text
    api = carl.put(
        f"/api/v1/patients/N003/therapies/{therapy['id']}",
        json={**therapy["record"], "dose_mg_per_day": -1, "version": therapy["version"]},
    )
    assert api.status_code == 422
    assert [e["field"] for e in api.json()["errors"]] == ["dose_mg_per_day"]
    assert _items(carl, "N003", "therapies")[-1] == therapy


def test_a_stale_therapy_edit_shows_both_values_and_loses_nothing(
    signed: Clients, cora: str
) -> None:
    carl, other = signed("carl"), signed(cora)
    assert _new_therapy(carl, "N003", {"drug": "methotrexate", "note": "weekly"}).status_code == 303
    therapy = _items(carl, "N003", "therapies")[-1]
    url = f"/patients/N003/therapies/{therapy['id']}/edit"
    mine = _form_fields(carl.get(url).text)
    theirs = _form_fields(other.get(url).text)
    theirs["stop_date"] = "2024-03-01"
    assert other.post(url, data=theirs, follow_redirects=False).status_code == 303
    mine["note"] = "weekly, 15 mg orally"
    refused = carl.post(url, data=mine, follow_redirects=False)
    assert refused.status_code == 409 and 'data-testid="stale"' in refused.text
    table = refused.text[refused.text.index('data-testid="stale-changes"') :]
    row = re.search(r'data-field="stop_date">(.*?)</tr>', table, re.S)
    assert row, table[:2000]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]
    assert cells == ["stop date", "—", "2024-03-01 (changed by them)", "—"]
    kept = _form_fields(refused.text)
    assert kept["note"] == "weekly, 15 mg orally"
    assert int(kept["version"]) == therapy["version"] + 1
    assert _items(carl, "N003", "therapies")[-1]["record"]["note"] == "weekly"
    kept["stop_date"] = "2024-03-01"  # keeping their stop date too, knowingly
    assert carl.post(url, data=kept, follow_redirects=False).status_code == 303
    saved = _items(carl, "N003", "therapies")[-1]["record"]
    assert saved["note"] == "weekly, 15 mg orally" and saved["stop_date"] == "2024-03-01"


def test_a_therapy_is_deleted_with_a_reason_kept_in_the_audit(
    signed: Clients, clinic_store: Store
) -> None:
    carl = signed("carl")
    assert _new_therapy(carl, "N003", {"drug": "tacrolimus"}).status_code == 303
    therapy = _items(carl, "N003", "therapies")[-1]
    url = f"/patients/N003/therapies/{therapy['id']}/delete"
    page = carl.get(url)
    assert page.status_code == 200 and "tacrolimus" in page.text
    fields = _form_fields(page.text)
    short = carl.post(url, data={**fields, "reason": "oops", "confirm": "yes"})
    assert short.status_code == 422 and "reason" in short.text
    done = carl.post(
        url,
        data={**fields, "reason": "other patient's drug", "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert therapy["id"] not in [t["id"] for t in _items(carl, "N003", "therapies")]
    entry = _audit(clinic_store, "therapies", therapy["id"])[-1]
    assert entry.action == "delete" and entry.changes["change_reason"] == "other patient's drug"
    assert entry.changes["drug"] == "tacrolimus"
    assert "other patient&#39;s drug" in carl.get("/patients/N003/audit").text


def test_therapies_by_api_add_read_edit_stale_and_delete(signed: Clients) -> None:
    carl = signed("carl")
    body = {"drug": "mycophenolate", "drug_label": "CellCept", "timing": "started_during_ivig"}
    added = carl.post("/api/v1/patients/N002/therapies", json=body)
    assert added.status_code == 201, added.text
    assert added.json()["drug_label"] == "CellCept" and added.json()["patient_code"] == "N002"
    refused = carl.post(
        "/api/v1/patients/N002/therapies",
        json={"drug": "prednisone", "start_date": "2024-02-01", "stop_date": "2024-01-01"},
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["stop_date"]
    unknown = carl.post("/api/v1/patients/N002/therapies", json={"drug": "aspirin"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "drug"
    therapy = _items(carl, "N002", "therapies")[-1]
    assert therapy["record"]["drug"] == "mycophenolate"
    url = f"/api/v1/patients/N002/therapies/{therapy['id']}"
    assert carl.get(url).json() == therapy
    edited = carl.put(
        url, json={**therapy["record"], "note": "2 g/day", "version": therapy["version"]}
    )
    assert edited.status_code == 200 and edited.json()["version"] == therapy["version"] + 1
    late = carl.put(
        url,
        json={**therapy["record"], "note": "1 g/day", "version": therapy["version"]}
        | {"opened": {"note": None}},
    )
    assert late.status_code == 409
    note = next(c for c in late.json()["changes"] if c["field"] == "note")
    assert note == {"field": "note", "theirs": "2 g/day", "yours": "1 g/day", "opened": None}
    no_reason = carl.request("DELETE", url, json={"version": therapy["version"] + 1})
    assert no_reason.status_code == 422
    gone = carl.request(
        "DELETE", url, json={"version": therapy["version"] + 1, "reason": "stopped in 2019"}
    )
    assert gone.status_code == 200 and gone.json() == {
        "deleted": {"kind": "therapies", "id": therapy["id"]}
    }
    assert carl.get(url).status_code == 404
    spec = carl.get("/api/v1/openapi.json").json()["paths"]
    post = spec["/api/v1/patients/{code}/therapies"]["post"]
    assert {"422", "404"} <= set(post["responses"])
    body = post["requestBody"]["content"]["application/json"]["schema"]["description"]
    assert "dose_mg_per_day" in body and "timing" in body


def test_only_clinicians_of_the_site_write_therapies(signed: Clients) -> None:
    carl = signed("carl")
    north = carl.post("/api/v1/patients/N002/therapies", json={"drug": "rituximab"})
    assert north.status_code == 201
    therapy = _items(carl, "N002", "therapies")[-1]
    sam = signed("sam")  # a clinician of SOUTH
    assert (
        sam.post("/api/v1/patients/S001/therapies", json={"drug": "rituximab"}).status_code == 201
    )
    south = _items(sam, "S001", "therapies")[-1]
    for path in (
        "/patients/N002/therapies/new",
        f"/patients/N002/therapies/{therapy['id']}/edit",
        f"/patients/N002/therapies/{therapy['id']}/delete",
        f"/api/v1/patients/N002/therapies/{therapy['id']}",
        "/api/v1/patients/N002/therapies",
        f"/patients/S001/therapies/{therapy['id']}/edit",  # N002's record under S001
    ):
        assert sam.get(path).status_code == 404, path
    assert sam.post("/api/v1/patients/N002/therapies", json={"drug": "other"}).status_code == 404
    assert (
        sam.put(
            f"/api/v1/patients/N002/therapies/{therapy['id']}",
            json={**therapy["record"], "version": therapy["version"]},
        ).status_code
        == 404
    )
    token = csrf_of(sam.get("/patients").text)
    form = sam.post("/patients/N002/therapies/new", data={"drug": "rituximab", "csrf_token": token})
    assert form.status_code == 404
    assert carl.get(f"/patients/N002/therapies/{south['id']}/edit").status_code == 404
    for name in ("phil", "rita"):  # pharmacist, researcher: no writing
        other = signed(name)
        token = csrf_of(other.get("/patients").text)
        assert other.get("/patients/N002/therapies/new").status_code == 403, name
        posted = other.post(
            "/patients/N002/therapies/new", data={"drug": "rituximab", "csrf_token": token}
        )
        assert posted.status_code == 403, name
        api = other.post("/api/v1/patients/N002/therapies", json={"drug": "rituximab"})
        assert api.status_code == 403, name
        deleted = other.request(
            "DELETE",
            f"/api/v1/patients/N002/therapies/{therapy['id']}",
            json={"version": therapy["version"], "reason": "not mine to delete"},
        )
        assert deleted.status_code == 403, name
    assert _items(carl, "N002", "therapies")[-1] == therapy
    phil_page = signed("phil").get("/patients/N002").text
    assert "rituximab" in phil_page and "Add concurrent therapy" not in phil_page
    assert f"/patients/N002/therapies/{therapy['id']}/edit" not in phil_page
