"""Infusion days through the pages and the API (SQLite and PostgreSQL): the rate-step grid and
reactions, a rate above the maximum refused next to its row with its source, the at-risk
maximum for a patient the record shows at risk (refused) or cannot tell (confirmed: always
when age, eGFR and BMI show no risk, since risk factors declared in the planner are not
stored), stale edits, who may read and write, CSRF, pseudonyms for researchers and escaping of
the new free text."""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from markupsafe import escape
from web_helpers import INJECTION, csrf_of

from myoivig.accounts.service import create_token
from myoivig.clinic.service import pseudonym
from myoivig.store import Store

Clients = Callable[[str | None], TestClient]
COURSE = {
    "course_number": 1,
    "product": "octagam-10",
    "start_date": "2024-04-01",
    "days": 3,
    "planned_daily_dose_g": 35,
    "weight_kg": 70,
}


def _token(store: Store, name: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + create_token(store, "test", name)}


def _patient_with_course(
    client: TestClient,
    store: Store,
    birth_year: int = 1974,
    egfr: float | None = 95,
    height_cm: float = 165,
) -> str:
    """A patient whose age, eGFR and BMI show no thrombosis or renal risk (50 in 2024, BMI 25.7,
    eGFR 95) unless an older birth year or a lower eGFR is given; no eGFR with `egfr=None`. The
    record still cannot tell: risk factors declared in the planner are not stored."""
    code = f"I{uuid.uuid4().hex[:8].upper()}"
    headers = _token(store, "carl")
    patient = {
        "code": code,
        "site_code": "NORTH",
        "sex": "F",
        "diagnosis": "dermatomyositis",
        "birth_year": birth_year,
        "height_cm": height_cm,
    }
    assert client.post("/api/v1/patients", json=patient, headers=headers).status_code == 201
    made = client.post(f"/api/v1/patients/{code}/courses", json=COURSE, headers=headers)
    assert made.status_code == 201, made.text
    if egfr is not None:
        lab = {"test": "egfr", "value": egfr, "unit": "mL/min/1.73m2", "sample_date": "2024-03-25"}
        added = client.post(f"/api/v1/patients/{code}/labs", json=lab, headers=headers)
        assert added.status_code == 201, added.text
    return code


def _form(**extra: str) -> dict[str, str]:
    data = {
        "day_number": "1",
        "infusion_date": "2024-04-01",
        "lot_number": "A1234B",
        "dose_g": "35",
        "volume_ml": "350",
        "given_by": "Nurse Hana",
        "step__1__rate": "0.01",
        "step__1__unit": "ml_per_kg_min",
        "step__1__minutes": "30",
        "step__2__rate": "0.03",  # the at-risk maximum: saved without a question
        "step__2__unit": "ml_per_kg_min",
        "step__2__minutes": "110",
        "reaction__1__type": "Headache",
        "reaction__1__grade": "1",
        "reaction__1__action": "slowed",
    }
    data.update(extra)
    return data


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(
        path, data={**data, "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )


def test_a_nurse_records_a_day_with_steps_and_a_reaction(
    client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    form = carl.get(new).text
    assert 'data-testid="rate-steps"' in form and 'data-testid="reactions"' in form
    assert "Maximum rate for Octagam 10 % in this patient: <strong>0.04 mL/kg/min</strong>" in form
    assert "(= 168 mL/h at 70.0 kg)" in form
    saved = _post(carl, new, _form())
    assert saved.status_code == 303 and saved.headers["location"] == f"/patients/{code}#course-1"
    page = carl.get(f"/patients/{code}").text
    row = page.split('data-testid="infusion-day-1-1"')[1].split("</tr>")[0]
    assert "<code>A1234B</code>" in row and "octagam-10" in row
    assert "0.01 mL/kg/min × 30 → 0.03 mL/kg/min × 110" in row
    assert "Headache (grade 1, slowed)" in row and "Nurse Hana" in row
    assert "1 of 3" in page and 'data-testid="record-infusion-day-1"' in page
    for day in ("2", "3"):
        date = f"2024-04-0{day}"
        saved = _post(carl, new, _form(day_number=day, infusion_date=date, total_minutes="141"))
        assert saved.status_code == 303, saved.text
    complete = carl.get(f"/patients/{code}").text
    assert "3 of 3" in complete and 'data-testid="record-infusion-day-1"' not in complete
    edit = carl.get(f"/patients/{code}/courses/1/infusion-days/3/edit").text
    assert 'name="total_minutes" type="number" step="any" value="141"' in edit
    # The audit trail of the patient lists the insert.
    assert "infusion_days" in carl.get(f"/patients/{code}/audit").text


def test_a_rate_above_the_maximum_is_refused_next_to_its_row(
    client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    # Row 3 of the grid (rows 1-2 empty) is the record's first step.
    refused = _post(
        carl,
        new,
        _form(
            step__1__rate="",
            step__1__minutes="",
            step__2__rate="",
            step__2__minutes="",
            step__3__rate="0.08",
            step__3__minutes="60",
        ),
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert 'data-testid="error-step__3__rate"' in text
    message = text.split('data-testid="error-step__3__rate">')[1].split("</small>")[0]
    assert "step 1: rate 0.08 mL/kg/min is above the maximum 0.04 mL/kg/min" in message
    assert "Octagam 10 % US prescribing information (2021), section 2.3" in message
    no_lot = _post(carl, new, _form(lot_number=" "))
    assert no_lot.status_code == 422 and 'data-testid="error-lot_number"' in no_lot.text
    assert "Field required" in no_lot.text.split('data-testid="error-lot_number">')[1]
    assert 'name="step__3__rate" type="number" step="any" min="0" size="7" value="0.08"' in text
    assert "I have checked these values" not in text  # an error, not a confirmation
    with clinic_store.session() as session:
        from myoivig.store.repository import load_dossier

        assert load_dossier(session, code).infusion_days == []


def test_a_stale_edit_shows_their_values_and_keeps_mine(
    client_for: Clients, clinic_store: Store
) -> None:
    first, second = client_for("carl"), client_for("carl")
    code = _patient_with_course(first, clinic_store)
    assert _post(first, f"/patients/{code}/courses/1/infusion-days/new", _form()).status_code == 303
    edit = f"/patients/{code}/courses/1/infusion-days/1/edit"
    page_one, page_two = first.get(edit).text, second.get(edit).text
    assert 'name="version" value="1"' in page_one and 'value="A1234B"' in page_one
    ok = first.post(
        edit,
        data={**_form(lot_number="THEIRS9"), "version": "1", "csrf_token": csrf_of(page_one)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    stale = second.post(
        edit,
        data={**_form(lot_number="MINE77"), "version": "1", "csrf_token": csrf_of(page_two)},
        follow_redirects=False,
    )
    assert stale.status_code == 409
    rows = stale.text.split('data-testid="stale"')[1].split("</table>")[0]
    assert "<td>lot_number</td><td>THEIRS9</td><td>MINE77</td>" in rows
    assert 'value="MINE77"' in stale.text and 'name="version" value="2"' in stale.text
    gone = second.post(
        f"/patients/{code}/courses/1/infusion-days/1/delete",
        data={"version": "2", "csrf_token": csrf_of(page_two)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert 'data-testid="infusion-days"' not in second.get(f"/patients/{code}").text


def test_forms_need_csrf_and_the_patients_site(client_for: Clients, clinic_store: Store) -> None:
    carl, sam = client_for("carl"), client_for("sam")
    code = _patient_with_course(carl, clinic_store)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    refused = carl.post(new, data=_form(), follow_redirects=False)
    assert refused.status_code == 403 and "Form refused" in refused.text
    assert sam.get(new).status_code == 404  # another site's clinician
    token = csrf_of(sam.get("/patients").text)
    assert sam.post(new, data={**_form(), "csrf_token": token}).status_code == 404
    assert carl.get(f"/patients/{code}/courses/9/infusion-days/new").status_code == 404


def test_a_rate_above_the_at_risk_maximum_is_refused_for_a_patient_at_risk(
    client_for: Clients, clinic_store: Store
) -> None:
    """75 years old on the day (thrombosis and renal risk): Octagam 10 %'s at-risk maximum of
    0.03 mL/kg/min applies, not the dermatomyositis maximum of 0.04 (form and API)."""
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store, birth_year=1949)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    form = html.unescape(carl.get(new).text)
    cap = form.split('data-testid="rate-cap">')[1].split("</p>")[0]
    assert "in this patient: <strong>0.03 mL/kg/min</strong> (= 126 mL/h at 70.0 kg)" in cap
    assert "label at-risk figure: the patient is at risk" in cap and "(age 75)" in cap
    refused = _post(carl, new, _form(step__2__rate="0.04"))
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    message = text.split('data-testid="error-step__2__rate">')[1].split("</small>")[0]
    assert (
        "step 2: rate 0.04 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min for "
        "Octagam 10 % (label at-risk figure): the patient is at risk of thrombosis or renal "
        "dysfunction (age 75); source: Octagam 10 % US prescribing information (2021), "
        "section 2.3 dermatomyositis"
    ) in message
    assert "I have checked these values" not in text  # an error: confirming cannot save it
    confirmed = _post(carl, new, _form(step__2__rate="0.04", confirm="yes"))
    assert confirmed.status_code == 422
    api = client_for(None)
    path = f"/api/v1/patients/{code}/courses/1/infusion-days"
    body = {
        "day_number": 1,
        "infusion_date": "2024-04-01",
        "lot_number": "B5555C",
        "dose_g": 35,
        "rate_steps": [{"rate": 130, "unit": "ml_per_h", "minutes": 30}],
    }
    headers = _token(clinic_store, "carl")
    refused_api = api.post(path, json={**body, "confirm": True}, headers=headers)
    assert refused_api.status_code == 422, refused_api.text
    [error] = refused_api.json()["errors"]
    assert error["field"] == "rate_steps.0.rate"
    assert "130 mL/h = 0.031 mL/kg/min is above the at-risk maximum 0.03" in error["message"]
    with clinic_store.session() as session:
        from myoivig.store.repository import load_dossier

        assert load_dossier(session, code).infusion_days == []
    at_cap = {**body, "rate_steps": [{"rate": 126, "unit": "ml_per_h", "minutes": 30}]}
    assert api.post(path, json=at_cap, headers=headers).status_code == 201


def test_a_rate_above_the_at_risk_maximum_needs_confirming_without_an_egfr(
    client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store, egfr=None)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    form = html.unescape(carl.get(new).text)
    note = form.split('data-testid="at-risk-cap">')[1].split("</p>")[0]
    assert "0.03 mL/kg/min (= 126 mL/h), label at-risk figure" in note
    assert "(not known: eGFR; declared risk factors (previous thrombosis," in note
    asked = _post(carl, new, _form(step__2__rate="0.04"))
    assert asked.status_code == 422
    text = html.unescape(asked.text)
    message = text.split('data-testid="error-step__2__rate">')[1].split("</small>")[0]
    assert "above the at-risk maximum 0.03 mL/kg/min" in message
    assert "cannot be told from the record (not known: eGFR; declared risk factors" in message
    assert "I have checked these values" in text
    saved = _post(carl, new, _form(step__2__rate="0.04", confirm="yes"))
    assert saved.status_code == 303, saved.text


def test_no_risk_in_age_egfr_and_bmi_still_needs_confirming_above_the_at_risk_maximum(
    client_for: Clients, clinic_store: Store
) -> None:
    """The defect: 40 years old, eGFR 90, BMI 24.2 and a step at 0.035 mL/kg/min, between the
    at-risk (0.03) and the label (0.04) maximum, was saved silently; the patient may be at risk
    through a factor only the planner asks about. Now the form and the API ask to confirm."""
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store, birth_year=1984, egfr=90, height_cm=170)
    new = f"/patients/{code}/courses/1/infusion-days/new"
    form = html.unescape(carl.get(new).text)
    note = form.split('data-testid="at-risk-cap">')[1].split("</p>")[0]
    assert "The record cannot tell whether this patient is at risk (not known: declared" in note
    assert "entered in the dose planner, not stored in the record)" in note
    asked = _post(carl, new, _form(step__2__rate="0.035"))
    assert asked.status_code == 422
    text = html.unescape(asked.text)
    message = text.split('data-testid="error-step__2__rate">')[1].split("</small>")[0]
    assert "step 2: rate 0.035 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min" in message
    assert "diabetes" in message and "not stored in the record" in message
    assert "I have checked these values" in text
    with clinic_store.session() as session:
        from myoivig.store.repository import load_dossier

        assert load_dossier(session, code).infusion_days == []
    saved = _post(carl, new, _form(step__2__rate="0.035", confirm="yes"))
    assert saved.status_code == 303, saved.text
    api = client_for(None)
    path = f"/api/v1/patients/{code}/courses/1/infusion-days"
    headers = _token(clinic_store, "carl")
    body = {
        "day_number": 2,
        "infusion_date": "2024-04-02",
        "lot_number": "B5555C",
        "dose_g": 35,
        "rate_steps": [{"rate": 147, "unit": "ml_per_h", "minutes": 30}],  # 0.035 mL/kg/min
    }
    unconfirmed = api.post(path, json=body, headers=headers)
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert unconfirmed.json()["errors"][0]["field"] == "rate_steps.0.rate"
    assert api.post(path, json={**body, "confirm": True}, headers=headers).status_code == 201
    above_label = {**body, "day_number": 3, "infusion_date": "2024-04-03"}
    above_label["rate_steps"] = [{"rate": 0.045, "minutes": 30}]
    refused = api.post(path, json={**above_label, "confirm": True}, headers=headers)
    assert refused.status_code == 422
    assert "above the maximum 0.04 mL/kg/min" in refused.json()["errors"][0]["message"]


def test_api_roles_stale_edits_and_pseudonyms(client_for: Clients, clinic_store: Store) -> None:
    api = client_for(None)
    carl = _token(clinic_store, "carl")
    code = _patient_with_course(api, clinic_store)
    path = f"/api/v1/patients/{code}/courses/1/infusion-days"
    body = {
        "day_number": 1,
        "infusion_date": "2024-04-01",
        "lot_number": "B5555C",
        "dose_g": 35,
        "rate_steps": [{"rate": 42, "unit": "ml_per_h", "minutes": 30}],
        "reactions": [{"type": "Chills", "ctcae_grade": 2, "action": "paused"}],
        "given_by": "Nurse Hana",
        "note": "Mrs Example felt cold",
    }
    too_fast = {**body, "rate_steps": [{"rate": 0.05, "minutes": 30}]}
    refused = api.post(path, json=too_fast, headers=carl)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "rate_steps.0.rate" and "0.05 mL/kg/min" in error["message"]
    assert "Octagam 10 % US prescribing information" in error["message"]
    made = api.post(path, json=body, headers=carl)
    assert made.status_code == 201 and made.json()["version"] == 1
    assert made.json()["product"] == "octagam-10"

    for name in ("phil", "ada"):
        items = api.get(path, headers=_token(clinic_store, name)).json()["items"]
        assert items[0]["given_by"] == "Nurse Hana" and items[0]["lot_number"] == "B5555C"
    rita = _token(clinic_store, "rita")
    assert api.get(path, headers=rita).status_code == 404  # the clinic's code is not theirs
    key = api.app.state.pseudonym_key  # type: ignore[attr-defined]
    alias = pseudonym(code, key)
    seen = api.get(f"/api/v1/patients/{alias}/courses/1/infusion-days", headers=rita).json()
    [item] = seen["items"]
    assert item["patient_code"] == alias and item["given_by"] is None and item["note"] is None
    assert "Nurse Hana" not in str(seen) and code not in str(seen)
    dossier = api.get(f"/api/v1/patients/{alias}", headers=rita).json()
    assert dossier["infusion_days"][0]["given_by"] is None
    for name in ("phil", "rita", "ada"):
        assert api.post(path, json=body, headers=_token(clinic_store, name)).status_code == 403
    sam = _token(clinic_store, "sam")
    assert api.get(path, headers=sam).status_code == 404
    assert api.post(path, json=body, headers=sam).status_code == 404

    edited = api.put(f"{path}/1", json={**body, "lot_number": "B6666C", "version": 1}, headers=carl)
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = api.put(f"{path}/1", json={**body, "lot_number": "LATE1", "version": 1}, headers=carl)
    assert stale.status_code == 409 and stale.json()["version"] == 2
    assert stale.json()["changes"] == [
        {"field": "lot_number", "theirs": "B6666C", "yours": "LATE1"}
    ]
    no_version = api.put(f"{path}/1", json=body, headers=carl)
    assert no_version.status_code == 422 and no_version.json()["errors"][0]["field"] == "version"
    assert api.delete(f"{path}/1?version=1", headers=carl).status_code == 409
    assert api.delete(f"{path}/1?version=2", headers=carl).status_code == 204
    assert api.get(path, headers=carl).json() == {"items": []}
    assert (
        api.get(f"/api/v1/patients/{code}/courses/7/infusion-days", headers=carl).status_code == 404
    )
    spec = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"409", "422"} <= set(
        spec["/api/v1/patients/{code}/courses/{number}/infusion-days/{day}"]["put"]["responses"]
    )


def test_free_text_of_a_day_is_rendered_escaped(client_for: Clients, clinic_store: Store) -> None:
    carl = client_for("carl")
    code = _patient_with_course(carl, clinic_store)
    lot = '<b>L1"</b>'
    saved = _post(
        carl,
        f"/patients/{code}/courses/1/infusion-days/new",
        _form(lot_number=lot, reaction__1__type=INJECTION, given_by=INJECTION),
    )
    assert saved.status_code == 303
    page = carl.get(f"/patients/{code}").text
    assert INJECTION not in page and lot not in page
    assert str(escape(INJECTION)) in page  # the text shown as text, as Jinja escapes it
