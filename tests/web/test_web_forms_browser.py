"""Recording a patient's course of care in a real browser (Playwright, Debian's Chromium): a new
patient, three run-in assessments, a course and a follow-up, the criteria panel with TIS, an
adverse event, a concurrent therapy (refused stop date, then saved), a refused implausible value,
a stale edit from two browsers, the audit trail.
Screenshots go to test-artifacts/web/ (named `<backend>-forms-NN-*.png`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, browser, server  # noqa: F401 - fixtures of this module too
from web_helpers import INJECTION

from myoivig.store import Store

GROUPS = ("shoulder_abductors", "elbow_extensors", "hip_flexors", "knee_extensors")


def _tag(store: Store) -> str:
    return f"{store.engine.dialect.name}-forms"


def _assessment(
    visit: Visit, code: str, day: str, phase: str, force: float, grade: int, core: dict[str, str]
) -> None:
    page = visit.page
    page.click("text=Record assessment")
    page.wait_for_url(f"**/patients/{code}/assessments/new")
    page.fill("input[name=assessment_date]", day)
    page.select_option("select[name=phase]", phase)
    for i, group in enumerate(GROUPS):
        for side in ("left", "right"):
            page.fill(f"input[name=force__{group}__{side}]", f"{force + 15 * i:g}")
            page.select_option(f"select[name=grade__{group}__{side}]", str(grade))
    page.select_option("select[name=task__rise_from_chair_without_hands]", "false")
    page.select_option("select[name=task__walk_30m]", "true")
    page.fill("input[name=walk_time_s]", "31")
    for measure, value in core.items():
        if measure == "ck":
            continue
        page.fill(f"input[name=core__{measure}]", value)
    page.fill("input[name=enzyme__ck]", core.get("ck", "1500"))
    page.fill("input[name=uln__ck]", "200")
    page.click("button:text('Save assessment')")
    page.wait_for_url(f"**/patients/{code}")


def _fill(page: Any, values: dict[str, str]) -> None:
    """Types each value into the input of that name, or chooses it in a select."""
    for name, value in values.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


RUN_IN = {"physician_global": "6", "patient_global": "6", "extramuscular": "3", "haq": "1.5"}


def test_a_clinician_records_care_and_sees_the_criteria(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = _tag(clinic_store)
    code = f"W{uuid.uuid4().hex[:6].upper()}"
    visit = Visit(browser, server)
    page = visit.page
    visit.sign_in("carl")
    page.click("[data-testid=new-patient]")
    page.fill("input[name=code]", code)
    page.select_option("select[name=diagnosis]", "dermatomyositis")
    page.fill("input[name=birth_year]", "1961")
    page.fill("input[name=height_cm]", "166")
    page.fill("textarea[name=note]", "Referred for IVIg " + INJECTION)
    visit.shot(artifacts, f"{tag}-01-new-patient")
    page.click("button:text('Save')")
    page.wait_for_url(f"**/patients/{code}")
    assert INJECTION in page.locator("[data-testid=patient-note]").inner_text()  # shown as text

    for n, day in enumerate(("2024-01-08", "2024-02-05", "2024-03-04")):
        _assessment(visit, code, day, "run_in", 80 + n, 6, {**RUN_IN, "mmt8": "50"})
    expect(page.locator("text=Assessments (3)")).to_be_visible()

    page.click("text=Record course")
    _fill(
        page,
        {
            "course_number": "1",
            "product": "Octagam 10%",
            "start_date": "2024-03-11",
            "days": "5",
            "planned_daily_dose_g": "28",
            "weight_kg": "70",
            "note": "lot A123; rates 0.5/1/2/4 mL/kg/h; no reaction",
        },
    )
    page.click("button:text('Save')")
    page.wait_for_url(f"**/patients/{code}")

    # A typing slip is refused next to its input; what was typed stays in the form.
    page.click("text=Record assessment")
    page.fill("input[name=assessment_date]", "2024-04-08")
    page.select_option("select[name=phase]", "follow_up")
    page.fill("input[name=force__hip_flexors__left]", "5000")
    page.click("button:text('Save assessment')")
    error = page.locator("[data-testid='error-force__hip_flexors__left']")
    expect(error).to_contain_text("5000")
    assert page.input_value("input[name=assessment_date]") == "2024-04-08"
    visit.shot(artifacts, f"{tag}-02-assessment-refused")
    assert all("status of 422" in m for m in visit.console_errors)  # the refused post itself
    visit.console_errors.clear()
    page.click(f"text=← Patient {code}")

    better = {"physician_global": "2", "patient_global": "3", "extramuscular": "1", "haq": "0.5"}
    _assessment(
        visit, code, "2024-04-08", "follow_up", 110, 8, {**better, "mmt8": "70", "ck": "300"}
    )
    criteria = page.locator("[data-testid=criteria] tbody tr")
    expect(criteria).to_have_count(1)
    row = criteria.first.inner_text()
    assert "2024-04-08" in row and "%" in row
    tis_cell = criteria.first.locator("td").nth(6).inner_text()
    assert tis_cell.strip() not in {"", "—"} and "between" not in tis_cell, tis_cell
    page.locator("#timeline .main-svg").first.wait_for(state="visible", timeout=20_000)
    visit.shot(artifacts, f"{tag}-03-patient-page-criteria")

    page.click("text=Record adverse event")
    page.fill("input[name=term]", "Headache after day 2")
    page.fill("input[name=onset_date]", "2024-03-12")
    page.fill("input[name=course_number]", "1")
    page.select_option("select[name=serious]", "false")
    page.select_option("select[name=ctcae_grade]", "2")
    page.select_option("select[name=relation_to_ivig]", "probable")
    page.select_option("select[name=outcome]", "recovered")
    page.select_option("select[name=action]", "infusion_slowed")
    page.click("button:text('Save')")
    page.wait_for_url(f"**/patients/{code}")
    expect(page.locator("text=Adverse events (1)")).to_be_visible()
    event_row = page.locator("section:has(h2:text('Adverse events')) tbody tr").first
    expect(event_row).to_contain_text("probable")
    assert visit.dialogs == [], "injected script ran"

    # The prednisolone the patient takes alongside IVIg; a stop date before the start is
    # refused next to its input.
    page.click("text=Add concurrent therapy")
    page.wait_for_url(f"**/patients/{code}/therapies/new")
    _fill(
        page,
        {
            "drug": "prednisolone",
            "dose_mg_per_day": "12.5",
            "start_date": "2023-12-01",
            "stop_date": "2023-11-01",
            "timing": "concurrent",
        },
    )
    page.click("button:text('Save')")
    expect(page.locator("[data-testid='error-stop_date']")).to_contain_text("before start_date")
    assert page.input_value("input[name=dose_mg_per_day]") == "12.5"
    visit.shot(artifacts, f"{tag}-04-therapy-refused")
    assert all("status of 422" in m for m in visit.console_errors)
    visit.console_errors.clear()
    page.fill("input[name=stop_date]", "")
    page.click("button:text('Save')")
    page.wait_for_url(f"**/patients/{code}")
    therapy_row = page.locator("[data-testid=therapies] tbody tr").first
    expect(therapy_row).to_contain_text("prednisolone")
    expect(therapy_row).to_contain_text("12.5 mg/day")
    expect(therapy_row.locator("a", has_text="edit")).to_be_visible()
    page.locator("[data-testid=therapies]").scroll_into_view_if_needed()
    visit.shot(artifacts, f"{tag}-05-therapy-on-patient-page")

    page.click("[data-testid=patient-actions] >> text=Audit trail")
    expect(page.locator("[data-testid=audit] tbody tr").first).to_contain_text("carl")
    assert "adverse_events" in page.locator("[data-testid=audit]").inner_text()
    visit.shot(artifacts, f"{tag}-06-patient-audit")
    visit.close()


def test_a_stale_edit_in_two_browsers(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = _tag(clinic_store)
    nurse, physician = Visit(browser, server), Visit(browser, server)
    nurse.sign_in("carl")
    physician.sign_in("carl")
    for visit in (nurse, physician):
        visit.page.goto(f"{server}/patients/N003/edit")
    nurse.page.fill("input[name=height_cm]", "158")
    nurse.page.fill("textarea[name=note]", "Height measured today")
    nurse.page.click("button:text('Save')")
    nurse.page.wait_for_url(f"{server}/patients/N003")

    physician.page.fill("textarea[name=note]", "Plan: continue monthly courses")
    physician.page.click("button:text('Save')")
    stale = physician.page.locator("[data-testid=stale]")
    expect(stale).to_be_visible()
    # Field by field: your value, the value now stored (and that they changed it), as opened.
    note = physician.page.locator("[data-testid=stale] tr[data-field=note]")
    expect(note.locator("[data-testid=yours]")).to_have_text("Plan: continue monthly courses")
    expect(note.locator("[data-testid=theirs]")).to_have_text(
        "Height measured today (changed by them)"
    )
    expect(note.locator("[data-testid=opened]")).to_have_text("—")
    height = physician.page.locator("[data-testid=stale] tr[data-field=height_cm]")
    expect(height.locator("[data-testid=yours]")).to_have_text("—")
    expect(height.locator("[data-testid=theirs]")).to_contain_text("158.0")
    typed = physician.page.input_value("textarea[name=note]")
    assert typed == "Plan: continue monthly courses"
    physician.shot(artifacts, f"{tag}-07-stale-edit")
    physician.page.fill("input[name=height_cm]", "158")
    physician.page.click("button:text('Save')")
    physician.page.wait_for_url(f"{server}/patients/N003")
    expect(physician.page.locator("[data-testid=patient-note]")).to_have_text(
        "Plan: continue monthly courses"
    )
    assert all("status of 409" in m for m in physician.console_errors)  # the refused post
    physician.console_errors.clear()
    nurse.close()
    physician.close()
