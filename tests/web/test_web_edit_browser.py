"""Editing a stored follow-up assessment in a real browser (Playwright, Debian's Chromium) while
another clinician changes the same grade grid: the stale-edit view shows your value, the value
now stored and the value when the form was opened, keeps everything typed, and saving again
keeps yours. Then a deletion with its reason. Screenshots: test-artifacts/web/
`<backend>-edit-NN-*.png`."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, browser, server  # noqa: F401 - fixtures of this module too
from web_helpers import PASSWORD

from myoivig.accounts.service import add_user
from myoivig.clinic.recording import add_course, create_patient
from myoivig.clinic.service import Viewer
from myoivig.store import Store


def _open_follow_up_edit(visit: Visit, code: str) -> None:
    page = visit.page
    page.goto(f"{visit.base}/patients/{code}")
    row = page.locator("tr", has_text="follow-up").last
    row.locator("a", has_text="edit").click()
    page.wait_for_url(f"**/patients/{code}/assessments/*/edit")


def test_a_stale_grade_grid_edit_loses_nothing(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = f"{clinic_store.engine.dialect.name}-edit"
    add_user(clinic_store, "setup", "cora", "clinician", ["NORTH"], PASSWORD)
    physician, colleague = Visit(browser, server), Visit(browser, server)
    physician.sign_in("carl")
    colleague.sign_in("cora")
    _open_follow_up_edit(physician, "N002")
    edit_url = physician.page.url
    hip, shoulder = (
        "select[name=grade__hip_flexors__left]",
        "select[name=grade__shoulder_abductors__right]",
    )
    physician.page.select_option(hip, "8")
    physician.page.select_option(shoulder, "9")
    physician.page.fill("input[name=force__knee_extensors__left]", "123.5")
    physician.page.fill("textarea[name=note]", "Grades re-checked with the patient seated")
    physician.shot(artifacts, f"{tag}-01-editing-grade-grid")

    # Meanwhile the colleague saves another grade for the same group and side.
    colleague.page.goto(edit_url)
    colleague.page.select_option(hip, "4")
    colleague.page.click("button:text('Save assessment')")
    colleague.page.wait_for_url(f"{server}/patients/N002")

    physician.page.click("button:text('Save assessment')")
    stale = physician.page.locator("[data-testid=stale]")
    expect(stale).to_be_visible()
    row = physician.page.locator("tr[data-field='grade hip_flexors left']")
    expect(row.locator("[data-testid=yours]")).to_have_text("8")
    expect(row.locator("[data-testid=theirs]")).to_contain_text("4")
    expect(row.locator("[data-testid=theirs]")).to_contain_text("changed by them")
    expect(row.locator("[data-testid=opened]")).to_have_text("—")  # not graded before
    mine = physician.page.locator("tr[data-field='grade shoulder_abductors right']")
    expect(mine.locator("[data-testid=yours]")).to_have_text("9")
    # In the grid, next to the select the colleague changed: the value stored now.
    expect(
        physician.page.locator("[data-testid=stored-now-grade__hip_flexors__left]")
    ).to_have_text("now stored: 4")
    # Nothing typed is lost.
    assert physician.page.input_value(hip) == "8"
    assert physician.page.input_value(shoulder) == "9"
    assert physician.page.input_value("input[name=force__knee_extensors__left]") == "123.5"
    assert (
        physician.page.input_value("textarea[name=note]")
        == "Grades re-checked with the patient seated"
    )
    physician.shot(artifacts, f"{tag}-02-stale-grade-grid")

    # Saving again, knowingly, keeps the physician's values.
    physician.page.click("button:text('Save assessment')")
    physician.page.wait_for_url(f"{server}/patients/N002")
    physician.page.goto(edit_url)
    assert physician.page.input_value(hip) == "8"
    assert physician.page.input_value("input[name=force__knee_extensors__left]") == "123.5"
    assert all("status of 409" in m for m in physician.console_errors)  # the refused post
    physician.console_errors.clear()

    # Deleting the adverse event: confirmation and reason, then gone, reason in the audit.
    page = physician.page
    page.goto(f"{server}/patients/N002")
    physician.shot(artifacts, f"{tag}-03-patient-page-edit-links")
    page.locator("tr", has_text="Headache").locator("a", has_text="delete").click()
    page.fill("textarea[name=reason]", "Recorded for the wrong patient")
    page.check("[data-testid=confirm-delete]")
    physician.shot(artifacts, f"{tag}-04-delete-confirmation")
    page.click("button:text('Delete')")
    page.wait_for_url(f"{server}/patients/N002")
    expect(page.locator("text=Adverse events (0)")).to_be_visible()
    page.goto(f"{server}/patients/N002/audit")
    expect(page.locator("[data-testid=audit]")).to_contain_text("Recorded for the wrong patient")

    # The list filtered to patients whose next course is overdue (one made for it here).
    writer = Viewer(name="carl", all_sites=False, site_codes=frozenset({"NORTH"}))
    create_patient(
        clinic_store, writer, {"code": "N-LATE", "site_code": "NORTH", "sex": "M",
                               "diagnosis": "dermatomyositis"},
    )  # fmt: skip
    started = (date.today() - timedelta(days=35)).isoformat()
    add_course(
        clinic_store, writer, "N-LATE", {"course_number": 1, "days": 5, "start_date": started}
    )
    page.goto(f"{server}/patients")
    page.select_option("[data-testid=filter-due]", "overdue")
    expect(page.locator("[data-testid=count]")).to_have_text("1 patient")
    expect(page.locator("[data-testid=patients]")).to_contain_text("N-LATE")
    expect(page.locator("[data-testid=patients]")).to_contain_text("overdue")
    assert "due=overdue" in page.url  # htmx pushed the filter into the address
    physician.shot(artifacts, f"{tag}-05-list-filtered-overdue")
    physician.close()
    colleague.close()
