"""Recording through the pages and the API: field-named messages from the domain rules,
confirmation of implausible values, stale edits, site isolation, the audit trail of each save,
CSRF and escaping of every new free-text field."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_web_access import route_table
from web_helpers import INJECTION, csrf_of

from myoivig.accounts.service import create_token
from myoivig.store import Store
from myoivig.store.repository import load_dossier
from myoivig.store.tables import AuditRow, PatientRow

Clients = Callable[[str | None], TestClient]


def _code() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    form_page = client.get(path)
    assert form_page.status_code == 200, form_page.text
    return client.post(
        path, data={**data, "csrf_token": csrf_of(form_page.text)}, follow_redirects=False
    )


def _new_patient(client: TestClient, code: str, **extra: str) -> None:
    data = {"code": code, "site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis"}
    response = _post(client, "/patients/new", {**data, **extra})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/patients/{code}"


def _visit(day: str, phase: str, force: float, **extra: str) -> dict[str, str]:
    data = {"assessment_date": day, "phase": phase, "enzyme__ck": "900", "uln__ck": "200"}
    for i, group in enumerate(("shoulder_abductors", "elbow_extensors", "hip_flexors")):
        for side in ("left", "right"):
            data[f"force__{group}__{side}"] = str(force + 10 * i)
            data[f"grade__{group}__{side}"] = "7"
    data["force__knee_extensors__left"] = str(force + 40)
    data["force__knee_extensors__right"] = "NP"
    return {**data, **extra}


def test_a_clinician_records_a_patient_and_assessments_each_audited(
    client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code, note="first visit", birth_year="1960")
    for n, day in enumerate(("2024-01-08", "2024-02-05", "2024-03-04")):
        response = _post(carl, f"/patients/{code}/assessments/new", _visit(day, "run_in", 100 + n))
        assert response.status_code == 303, response.text
    with clinic_store.session() as session:
        dossier = load_dossier(session, code)
        patient_id = session.scalar(select(PatientRow.id).where(PatientRow.code == code))
        actors = set(
            session.scalars(
                select(AuditRow.actor).where(
                    AuditRow.table_name == "patients", AuditRow.record_id == patient_id
                )
            )
        )
    assert actors == {"carl"}
    first = min(dossier.assessments, key=lambda a: a.assessment_date)
    assert len(dossier.assessments) == 3 and first.assessor == "carl"
    forces = {(m.muscle_group.value, m.side.value): m.force_n for m in first.myometry}
    assert forces[("shoulder_abductors", "left")] == 100
    assert str(forces[("knee_extensors", "right")]) == "NP"
    assert {g.kendall_grade for g in first.muscle_grades} == {7}
    page = carl.get(f"/patients/{code}")
    assert "Assessments (3)" in page.text


def test_domain_rules_name_the_field_and_keep_what_was_typed(client_for: Clients) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code)
    bad = _visit("2024-01-08", "run_in", 100, force__hip_flexors__left="5000")
    bad["grade__elbow_extensors__right"] = "11"
    response = _post(carl, f"/patients/{code}/assessments/new", bad)
    assert response.status_code == 422
    assert 'data-testid="error-force__hip_flexors__left"' in response.text
    assert 'data-testid="error-grade__elbow_extensors__right"' in response.text
    assert "5000" in response.text and "2000" in response.text  # the value and the limit
    assert 'value="120"' in response.text  # another group's typed force is kept
    future = _post(carl, f"/patients/{code}/assessments/new", _visit("2999-01-01", "run_in", 1))
    assert future.status_code == 422 and 'data-testid="error-assessment_date"' in future.text
    other_site = _post(
        carl,
        "/patients/new",
        {"code": _code(), "site_code": "SOUTH", "sex": "F", "diagnosis": "polymyositis"},
    )
    assert other_site.status_code == 422 and 'data-testid="error-site_code"' in other_site.text
    overlap = _post(
        carl,
        "/patients/new",
        {"code": _code(), "site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis"}
        | {"overlap_disease": "systemic_sclerosis"},
    )
    assert overlap.status_code == 422 and 'data-testid="error-overlap_disease"' in overlap.text


def test_an_implausible_weight_needs_the_confirm_tick(
    client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code, height_cm="165")
    path = f"/patients/{code}/courses/new"
    first = {"course_number": "1", "days": "5", "weight_kg": "70", "product": "octagam-10"}
    assert _post(carl, path, first).status_code == 303
    slip = {"course_number": "2", "days": "3", "weight_kg": "154.3", "product": "octagam-10"}
    refused = _post(carl, path, slip)
    assert refused.status_code == 422
    assert 'data-testid="confirm"' in refused.text and "in pounds" in refused.text
    assert 'data-testid="error-weight_kg"' in refused.text
    confirmed = _post(carl, path, {**slip, "confirm": "yes"})
    assert confirmed.status_code == 303
    impossible = _post(carl, path, {"course_number": "3", "days": "9"})
    assert impossible.status_code == 422 and 'data-testid="confirm"' not in impossible.text
    with clinic_store.session() as session:
        assert [c.weight_kg for c in load_dossier(session, code).courses] == [70, 154.3]


def test_a_stale_edit_shows_what_changed_and_keeps_what_was_typed(
    client_for: Clients, clinic_store: Store
) -> None:
    first, second = client_for("carl"), client_for("carl")
    code = _code()
    _new_patient(first, code, note="before", height_cm="160")
    path = f"/patients/{code}/edit"
    page_one, page_two = first.get(path).text, second.get(path).text
    common = {"sex": "F", "diagnosis": "polymyositis", "version": "1"}
    saved = first.post(
        path,
        data={**common, "note": "theirs", "height_cm": "161", "csrf_token": csrf_of(page_one)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    stale = second.post(
        path,
        data={**common, "note": "mine typed", "height_cm": "160", "csrf_token": csrf_of(page_two)},
        follow_redirects=False,
    )
    assert stale.status_code == 409
    assert 'data-testid="stale"' in stale.text
    rows = stale.text.split('data-testid="stale"')[1].split("</table>")[0]
    cells = {
        found[0]: found[1:]
        for row in rows.split("<tr")[2:]
        if (
            found := [
                re.sub(r"<[^>]+>", "", c).strip()
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            ]
        )
    }
    # Field: your value, the value now stored, and (not posted here) the value when opened.
    assert cells["note"] == ["mine typed", "theirs", "not known"]
    assert cells["height cm"] == ["160.0", "161.0", "not known"]
    assert ">mine typed</textarea>" in stale.text  # nothing typed is lost
    assert 'name="version" value="2"' in stale.text  # saving again is a deliberate choice
    with clinic_store.session() as session:
        assert load_dossier(session, code).patient.note == "theirs"
    again = second.post(
        path,
        data={**common, "version": "2", "note": "mine typed", "csrf_token": csrf_of(page_two)},
        follow_redirects=False,
    )
    assert again.status_code == 303
    with clinic_store.session() as session:
        assert load_dossier(session, code).patient.note == "mine typed"


def test_forms_refuse_a_missing_csrf_token_and_other_sites(client_for: Clients) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code)
    for path in (
        "/patients/new",
        f"/patients/{code}/edit",
        f"/patients/{code}/assessments/new",
        f"/patients/{code}/courses/new",
        f"/patients/{code}/labs/new",
        f"/patients/{code}/adverse-events/new",
    ):
        refused = carl.post(path, data={"term": "x", "serious": "false"}, follow_redirects=False)
        assert refused.status_code == 403 and "Form refused" in refused.text, path
    for path in ("/patients/S001/edit", "/patients/S001/courses/new", "/patients/S001/audit"):
        assert carl.get(path).status_code == 404, path
    token = csrf_of(carl.get("/patients").text)
    south = carl.post(
        "/patients/S001/adverse-events/new",
        data={"term": "Rash", "serious": "false", "csrf_token": token},
    )
    assert south.status_code == 404


def test_api_writes_validate_lock_and_isolate(client_for: Clients, clinic_store: Store) -> None:
    api = client_for(None)
    headers = {"Authorization": "Bearer " + create_token(clinic_store, "test", "carl")}
    code = _code()
    patient = {"code": code, "site_code": "NORTH", "sex": "M", "diagnosis": "dermatomyositis"}
    created = api.post("/api/v1/patients", json=patient, headers=headers)
    assert created.status_code == 201 and created.json()["version"] == 1
    bad = api.post(
        f"/api/v1/patients/{code}/courses",
        json={"course_number": 1, "days": 9, "planned_daily_dose_g": 500},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"days", "planned_daily_dose_g"}
    course = {"course_number": 1, "days": 5, "planned_daily_dose_g": 30, "start_date": "2024-04-01"}
    assert (
        api.post(f"/api/v1/patients/{code}/courses", json=course, headers=headers).status_code
        == 201
    )
    event = {"term": "Headache", "serious": False, "ctcae_grade": 2, "course_number": 1}
    guess = {**event, "relation_to_ivig": "maybe"}
    refused = api.post(f"/api/v1/patients/{code}/adverse-events", json=guess, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "relation_to_ivig"
    event["relation_to_ivig"] = "probable"
    made = api.post(f"/api/v1/patients/{code}/adverse-events", json=event, headers=headers)
    assert made.status_code == 201 and made.json()["course_number"] == 1
    stored = api.get(f"/api/v1/patients/{code}", headers=headers).json()
    assert stored["adverse_events"][0]["relation_to_ivig"] == "probable"
    lab = {"test": "iga", "value": 0.1, "unit": "mg/dL", "sample_date": "2024-03-01"}
    wrong_unit = api.post(f"/api/v1/patients/{code}/labs", json=lab, headers=headers)
    assert wrong_unit.status_code == 422 and wrong_unit.json()["errors"][0]["field"] == "unit"
    edit = {"sex": "M", "diagnosis": "dermatomyositis", "note": "v1 edit", "version": 1}
    assert api.put(f"/api/v1/patients/{code}", json=edit, headers=headers).json()["version"] == 2
    stale = api.put(f"/api/v1/patients/{code}", json={**edit, "note": "late"}, headers=headers)
    assert stale.status_code == 409
    assert stale.json()["changes"] == [{"field": "note", "theirs": "v1 edit", "yours": "late"}]
    assert stale.json()["version"] == 2
    for method, path in (
        ("PUT", "/api/v1/patients/S001"),
        ("POST", "/api/v1/patients/S001/courses"),
        ("POST", "/api/v1/patients/NOPE/labs"),
    ):
        response = api.request(method, path, json={**edit, **course}, headers=headers)
        assert response.status_code == 404, (method, path)
    spec = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"409", "422"} <= set(spec["/api/v1/patients/{code}"]["put"]["responses"])
    assert "422" in spec["/api/v1/patients/{code}/assessments"]["post"]["responses"]


def test_patient_audit_trail_and_admin_filters(client_for: Clients) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code, note="old note")
    page = carl.get(f"/patients/{code}/edit").text
    carl.post(
        f"/patients/{code}/edit",
        data={"sex": "F", "diagnosis": "polymyositis", "note": "new note", "version": "1"}
        | {"csrf_token": csrf_of(page)},
    )
    trail = carl.get(f"/patients/{code}/audit")
    assert trail.status_code == 200
    assert "note: old note → new note" in trail.text and "<td>carl</td>" in trail.text
    assert f'href="/patients/{code}/audit"' in carl.get(f"/patients/{code}").text
    assert client_for("rita").get(f"/patients/{code}/audit").status_code == 403
    admin = client_for("ada")
    by_patient = admin.get("/admin/audit", params={"patient": code})
    assert (
        by_patient.status_code == 200 and 'data-testid="audit-count">2 entries' in by_patient.text
    )
    none_yet = admin.get(
        "/admin/audit", params={"patient": code, "since": "2000-01-01", "until": "2000-01-02"}
    )
    assert 'data-testid="audit-count">0 entries' in none_yet.text
    wrong = admin.get("/admin/audit", params={"since": "yesterday"})
    assert wrong.status_code == 422 and "from: &#39;yesterday&#39; is not a date" in wrong.text
    unknown = admin.get("/admin/audit", params={"patient": "NOPE"})
    assert unknown.status_code == 422


def test_no_route_can_change_the_audit_trail(web_app: FastAPI) -> None:
    writes = {(m, p) for m, p in route_table(web_app) if m != "GET" and "audit" in p}
    assert writes == set()


def test_free_text_in_every_new_form_is_rendered_escaped(client_for: Clients) -> None:
    carl = client_for("carl")
    code = _code()
    _new_patient(carl, code, note=INJECTION)
    assessment = _visit("2024-01-08", "run_in", 90, note=INJECTION)
    assert _post(carl, f"/patients/{code}/assessments/new", assessment).status_code == 303
    course = {"course_number": "1", "days": "5", "product": "p" + INJECTION[:60], "note": INJECTION}
    assert _post(carl, f"/patients/{code}/courses/new", course).status_code == 303
    event = {"term": INJECTION, "serious": "true", "note": INJECTION, "onset_date": "2024-01-10"}
    assert _post(carl, f"/patients/{code}/adverse-events/new", event).status_code == 303
    rejected = _post(
        carl, f"/patients/{code}/labs/new", {"test": "blood_group", "text_value": INJECTION}
    )
    assert rejected.status_code == 422
    for text in (
        carl.get(f"/patients/{code}").text,
        carl.get(f"/patients/{code}/audit").text,
        rejected.text,
        client_for("ada").get("/admin/audit").text,
    ):
        assert INJECTION not in text and "<script>alert" not in text
        assert "onerror=alert(1)>" not in text
    assert html.escape(INJECTION, quote=False) in carl.get(f"/patients/{code}").text.replace(
        "&#34;", '"'
    )
