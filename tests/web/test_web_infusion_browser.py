"""Recording an infusion day in a real browser (Playwright, Debian's Chromium): the course's
rate cap shown with its source, a step above it refused next to its row, then the day saved with
two rate steps and a reaction and listed on the patient page. Screenshots go to
test-artifacts/web/ (`<backend>-infusion-NN-*.png`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, browser, server  # noqa: F401 - fixtures of this module too

from myoivig.clinic import recording
from myoivig.clinic.service import Viewer
from myoivig.store import Store

CARL = Viewer(name="carl", all_sites=False, site_codes=frozenset({"NORTH"}))


def _patient(store: Store) -> str:
    code = f"B{uuid.uuid4().hex[:6].upper()}"
    recording.create_patient(
        store,
        CARL,
        {
            "code": code,
            "site_code": "NORTH",
            "sex": "F",
            "diagnosis": "dermatomyositis",
            # 50 on the day, BMI 25.7, eGFR 95: no risk found, but the risk factors declared
            # in the planner are not stored, so the record cannot tell.
            "birth_year": 1974,
            "height_cm": 165,
        },
    )
    recording.add_lab(
        store,
        CARL,
        code,
        {"test": "egfr", "value": 95, "unit": "mL/min/1.73m2", "sample_date": "2024-04-29"},
    )
    recording.add_course(
        store,
        CARL,
        code,
        {
            "course_number": 1,
            "product": "octagam-10",
            "start_date": "2024-05-06",
            "days": 2,
            "planned_daily_dose_g": 35,
            "weight_kg": 70,
        },
    )
    return code


def test_a_nurse_records_an_infusion_day_with_two_steps_and_a_reaction(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = f"{clinic_store.engine.dialect.name}-infusion"
    code = _patient(clinic_store)
    visit = Visit(browser, server)
    page = visit.page
    visit.sign_in("carl")
    page.goto(f"{server}/patients/{code}")
    page.click("[data-testid=record-infusion-day-1]")
    page.wait_for_url(f"**/patients/{code}/courses/1/infusion-days/new")
    expect(page.locator("[data-testid=rate-cap]")).to_contain_text("0.04 mL/kg/min")
    expect(page.locator("[data-testid=rate-cap]")).to_contain_text("168 mL/h at 70.0 kg")
    assert page.input_value("input[name=day_number]") == "1"
    page.fill("input[name=infusion_date]", "2024-05-06")
    page.fill("input[name=lot_number]", "A1234B")
    page.fill("input[name=dose_g]", "35")
    page.fill("input[name=volume_ml]", "350")
    page.fill("input[name=step__1__rate]", "0.01")
    page.fill("input[name=step__1__minutes]", "30")
    page.fill("input[name=step__2__rate]", "0.06")  # above the label maximum
    page.fill("input[name=step__2__minutes]", "80")
    page.fill("input[name=reaction__1__type]", "Chills")
    page.select_option("select[name=reaction__1__grade]", "2")
    page.select_option("select[name=reaction__1__action]", "paused")
    page.click("button:text('Save')")
    error = page.locator("[data-testid='error-step__2__rate']")
    expect(error).to_contain_text("step 2: rate 0.06 mL/kg/min is above the maximum 0.04")
    expect(error).to_contain_text("Octagam 10 % US prescribing information")
    assert page.input_value("input[name=reaction__1__type]") == "Chills"  # nothing typed lost
    expect(page.locator("[data-testid=rate-steps] tbody tr")).to_have_count(6)  # no row added
    visit.shot(artifacts, f"{tag}-01-rate-above-cap-refused")
    assert all("status of 422" in m for m in visit.console_errors)  # the refused post itself
    visit.console_errors.clear()

    # The label maximum 0.04 is above the at-risk 0.03: saved only once the nurse confirms.
    expect(page.locator("[data-testid=at-risk-cap]")).to_contain_text("0.03 mL/kg/min")
    page.fill("input[name=step__2__rate]", "0.04")
    page.click("button:text('Save')")
    asked = page.locator("[data-testid='error-step__2__rate']")
    expect(asked).to_contain_text("step 2: rate 0.04 mL/kg/min is above the at-risk maximum 0.03")
    expect(asked).to_contain_text("not stored in the record")
    assert page.input_value("input[name=reaction__1__type]") == "Chills"
    visit.shot(artifacts, f"{tag}-02-above-at-risk-cap-asks-to-confirm")
    assert all("status of 422" in m for m in visit.console_errors)
    visit.console_errors.clear()
    page.check("[data-testid=confirm]")
    page.click("button:text('Save')")
    page.wait_for_url(f"**/patients/{code}#course-1")
    row = page.locator("[data-testid=infusion-day-1-1]")
    expect(row).to_contain_text("A1234B")
    expect(row).to_contain_text("0.01 mL/kg/min × 30 → 0.04 mL/kg/min × 80")
    expect(row).to_contain_text("Chills (grade 2, paused)")
    expect(page.locator("#course-1")).to_contain_text("1 of 2")
    page.locator("[data-testid=courses]").scroll_into_view_if_needed()
    visit.shot(artifacts, f"{tag}-03-patient-page-infusion-days")
    page.locator("[data-testid=courses]").screenshot(
        path=str(artifacts / f"{tag}-04-courses-card.png")
    )
    visit.close()
