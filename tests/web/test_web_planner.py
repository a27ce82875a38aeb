"""The dose planner in the web application and the plan API, on SQLite and PostgreSQL.

A block stops the plan (no pump rates, no sheet); only a pharmacist overrides a blocking alert,
with a reason, recorded with their name in the audit trail; the infusion sheet exists only for a
plan a pharmacist approved, and never for a different plan than the one approved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import INJECTION, csrf_of

from myoivig.accounts.service import create_token
from myoivig.protocol.tables import PlanApprovalRow, PlanOverrideRow
from myoivig.store import Store
from myoivig.store.tables import AuditRow

Client = Callable[[str | None], TestClient]
# N002 is a polymyositis patient of NORTH without IgA, eGFR or recorded weight.
PATIENT = "N002"
PLAN = f"/patients/{PATIENT}/plan"
FIELDS = {"weight_kg": "70", "height_cm": "165", "start_date": "2026-12-07"}
QUERY = "regimen=2g%2Fkg&start_date=2026-12-07&weight_kg=70.0&height_cm=165.0"


def _overrides(store: Store) -> list[PlanOverrideRow]:
    with store.session() as session:
        return list(session.scalars(select(PlanOverrideRow)))


def _csrf(client: TestClient, path: str = PLAN) -> str:
    return csrf_of(client.get(path).text)


def test_a_blocked_plan_is_not_ready_and_shows_no_pump_rates(client_for: Client) -> None:
    page = client_for("carl").get(PLAN, params=FIELDS)
    assert page.status_code == 200
    html = page.text
    assert "NOT READY TO GIVE" in html
    blocking = html.split('data-testid="blocking-alerts"')[1].split("</ul>")[0]
    assert 'data-code="iga_not_measured"' in blocking and "Source:" in blocking
    assert html.index("NOT READY TO GIVE") < html.index('data-testid="other-alerts"')
    assert 'data-testid="pump-rates"' not in html and 'data-testid="vials"' not in html
    assert 'data-testid="override-form"' not in html  # a clinician plans, never overrides
    assert "Only a pharmacist can override" in html
    assert "sheet-link" not in html
    undated = client_for("carl").get(PLAN).text  # the start date is fixed to today, so a
    assert f'name="start_date" type="date" value="{date.today()}"' in undated  # plan stays one


def test_a_clinician_cannot_override(client_for: Client, clinic_store: Store) -> None:
    before = len(_overrides(clinic_store))
    client = client_for("carl")
    data = {
        **FIELDS,
        "csrf_token": _csrf(client),
        "override_code": "iga_not_measured",
        "reason_iga_not_measured": "IgA measured elsewhere, normal",
    }
    assert client.post(f"{PLAN}/overrides", data=data).status_code == 403
    assert client.post(f"{PLAN}/approve", data=data).status_code == 403
    assert len(_overrides(clinic_store)) == before


def test_override_needs_csrf_and_a_reason(client_for: Client, clinic_store: Store) -> None:
    before = len(_overrides(clinic_store))
    client = client_for("phil")
    data = {**FIELDS, "override_code": "iga_not_measured", "reason_iga_not_measured": "fine!"}
    assert client.post(f"{PLAN}/overrides", data=data).status_code == 403  # no CSRF token
    assert client.post(f"{PLAN}/approve", data=FIELDS).status_code == 403
    data["csrf_token"] = _csrf(client)
    data["reason_iga_not_measured"] = "ok"
    short = client.post(f"{PLAN}/overrides", data=data)
    assert short.status_code == 422 and "too short" in short.text
    data["override_code"] = "not_a_code"
    data["reason_not_a_code"] = "a reason long enough"
    wrong = client.post(f"{PLAN}/overrides", data=data)
    assert wrong.status_code == 422 and "not a blocking alert" in wrong.text
    assert len(_overrides(clinic_store)) == before


def test_pharmacist_override_then_approval_then_sheet(
    client_for: Client, clinic_store: Store
) -> None:
    client = client_for("phil")
    assert client.get(f"{PLAN}/sheet", params=FIELDS).status_code == 409  # blocked: no sheet
    reason = "IgA 2.1 g/L at the referring hospital " + INJECTION
    data = {
        **FIELDS,
        "csrf_token": _csrf(client),
        "override_code": "iga_not_measured",
        "reason_iga_not_measured": reason,
    }
    done = client.post(f"{PLAN}/overrides", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{PLAN}?{QUERY}"
    page = client.get(done.headers["location"]).text
    assert "NOT READY TO GIVE" not in page and "awaiting a pharmacist" in page
    assert '<script>alert("x")' not in page and "&lt;script&gt;alert(" in page
    assert 'data-testid="pump-rates"' in page and "(not yet approved)" in page
    with clinic_store.session() as session:
        row = session.scalars(select(PlanOverrideRow).where(PlanOverrideRow.reason == reason)).one()
        assert row.updated_by == "phil" and row.code == "iga_not_measured"
        audit = session.scalars(
            select(AuditRow).where(AuditRow.table_name == "plan_overrides")
        ).all()
        assert any(a.actor == "phil" and a.changes.get("reason") == reason for a in audit)
    assert client.get(f"{PLAN}/sheet", params=FIELDS).status_code == 409  # not approved yet

    approve = {**FIELDS, "csrf_token": _csrf(client)}
    assert client.post(f"{PLAN}/approve", data=approve, follow_redirects=False).status_code == 303
    page = client.get(PLAN, params=FIELDS).text
    assert "READY TO GIVE — approved by phil" in page and "sheet-link" in page
    with clinic_store.session() as session:
        approval = session.scalars(select(PlanApprovalRow)).all()
        assert [a.updated_by for a in approval] == ["phil"]
        assert approval[0].overridden_codes == "iga_not_measured"

    sheet = client_for("carl").get(f"{PLAN}/sheet", params={**FIELDS, "clock": "10:30"})
    assert sheet.status_code == 200
    html = sheet.text
    assert "IVIg infusion sheet — patient N002" in html and "Pharmacist: phil" in html
    assert "ends about" in html and "(2026-12-11)" in html
    steps = html.split('data-testid="sheet-steps"')[1].split("</table>")[0]
    assert re.search(r"<td>10:30</td><td><strong>\d+</strong>", steps)
    assert "Second nurse checking" in html and "Lot number" in html
    assert "&lt;script&gt;" in html and '<script>alert("x")' not in html
    assert "@media print" in client.get("/static/plan.css").text

    # The approval belongs to that plan only: another weight is a new plan, blocked again.
    other = {**FIELDS, "weight_kg": "72"}
    assert client.get(f"{PLAN}/sheet", params=other).status_code == 409
    assert "NOT READY TO GIVE" in client.get(PLAN, params=other).text


def test_standalone_planner_page(client_for: Client) -> None:
    client = client_for("carl")
    assert 'data-testid="plan-form"' in client.get("/planner").text
    params = {
        "regimen": "2g/kg",
        "product": "octagam-10",
        "diagnosis": "dermatomyositis",
        "sex": "F",
        "age": "50",
        "weight_kg": "70",
        "height_cm": "165",
        "iga_g_per_l": "2.0",
        "egfr": "90",
        "egfr_date": "2026-11-30",
        "start_date": "2026-12-07",
    }
    page = client.get("/planner", params=params)
    assert page.status_code == 200 and "NOT READY TO GIVE" not in page.text
    assert 'data-testid="pump-rates"' in page.text and "dermatomyositis_rate_cap" in page.text
    bad = client.get("/planner", params={**params, "weight_kg": "-3"})
    assert bad.status_code == 422 and "weight_kg" in bad.text
    blocked = client.get("/planner", params={**params, "iga_g_per_l": ""})
    assert "NOT READY TO GIVE" in blocked.text and "pump-rates" not in blocked.text


def test_patient_page_shows_open_alerts_next_course_and_advice(client_for: Client) -> None:
    html = client_for("carl").get("/patients/N001").text
    section = html.split('data-testid="next-course"')[1].split("</section>")[0]
    assert 'data-code="iga_not_measured"' in section
    assert "NOT READY TO GIVE" in section and "next-pump-rates" not in section
    assert 'data-testid="advice-rule"' in section and "Source:" in section
    assert 'href="/patients/N001/plan"' in section


def test_plan_api(clinic_store: Store, client_for: Client) -> None:
    client = client_for(None)
    carl = {"Authorization": "Bearer " + create_token(clinic_store, "test", "carl")}
    phil = {"Authorization": "Bearer " + create_token(clinic_store, "test", "phil")}
    body = {
        "diagnosis": "polymyositis",
        "weight_kg": 70,
        "height_cm": 165,
        "sex": "F",
        "age": 50,
        "product": "octagam-10",
    }
    standalone = client.post("/api/v1/plans", json=body, headers=carl).json()
    assert standalone["blocked"] is True and standalone["ready_to_give"] is False
    assert "iga_not_measured" in standalone["blocking_codes"]
    bad = client.post("/api/v1/plans", json={**body, "weight_kg": 900}, headers=carl)
    assert bad.status_code == 422 and "weight_kg" in bad.text

    fields = {"weight_kg": 80, "height_cm": 170, "start_date": "2026-12-14"}
    plan = client.post("/api/v1/patients/N003/plan", json=fields, headers=carl).json()
    assert plan["blocked"] and plan["blocking_codes"] == ["iga_not_measured"]
    assert plan["approval"] is None and len(plan["plan_hash"]) == 64
    override = {"plan": fields, "overrides": [{"code": "iga_not_measured", "reason": "IgA 2 g/L"}]}
    url = "/api/v1/patients/N003/plan/overrides"
    assert client.post(url, json=override, headers=carl).status_code == 403
    done = client.post(url, json=override, headers=phil).json()
    assert done["blocked"] is False and done["ready_to_give"] is True
    assert done["overrides"][0]["by"] == "phil"
    approved = client.post("/api/v1/patients/N003/plan/approve", json=fields, headers=phil)
    assert approved.json()["approval"]["by"] == "phil"
    again = client.post("/api/v1/patients/N003/plan", json=fields, headers=carl).json()
    assert again["approval"]["by"] == "phil" and again["plan_hash"] == plan["plan_hash"]
    other_site = client.post("/api/v1/patients/S001/plan", json=fields, headers=phil)
    assert other_site.status_code == 404
    blocked = client.post(
        "/api/v1/patients/N001/plan/approve", json={"weight_kg": 70}, headers=phil
    )
    assert blocked.status_code == 409 and "iga_not_measured" in blocked.text


def test_a_patient_of_another_site_cannot_be_planned(client_for: Client) -> None:
    for name in ("carl", "phil"):
        client = client_for(name)
        assert client.get("/patients/S001/plan").status_code == 404
        assert client.get("/patients/S001/plan/sheet").status_code == 404
    phil = client_for("phil")
    data = {
        "csrf_token": _csrf(phil),
        "override_code": "iga_not_measured",
        "reason_iga_not_measured": "measured elsewhere",
    }
    assert phil.post("/patients/S001/plan/overrides", data=data).status_code == 404
