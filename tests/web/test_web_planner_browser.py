"""The dose planner in a real browser (Playwright + Debian's Chromium), on SQLite and PostgreSQL.

A clinician plans a dose and sees a block stop it (IgA not measured) with no pump rates and no
way to override; the pharmacist overrides with a reason (an injected script stays text), marks
the plan ready, and the nurse's infusion sheet prints without the menu. Screenshots go to
test-artifacts/web/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, browser, server  # noqa: F401  (fixtures)
from web_helpers import INJECTION

from myoivig.store import Store


def _tag(store: Store) -> str:
    return store.engine.dialect.name


def test_clinician_plans_and_a_block_stops_the_plan(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    visit = Visit(browser, server)
    tag = _tag(clinic_store)
    visit.sign_in("carl")
    visit.page.goto(f"{server}/patients/N001")
    section = visit.page.locator("[data-testid=next-course]")
    expect(section.locator("[data-code=iga_not_measured]")).to_have_count(1)
    assert "NOT READY TO GIVE" in section.inner_text()
    assert "rule" in section.locator("[data-testid=advice]").inner_text()
    section.screenshot(path=str(artifacts / f"{tag}-10-patient-next-course.png"))

    visit.page.click("[data-testid=open-planner]")
    visit.page.fill("input[name=weight_kg]", "70")
    visit.page.fill("input[name=height_cm]", "165")
    visit.page.fill("input[name=start_date]", "2026-12-07")
    visit.page.click("button:text('Plan')")
    expect(visit.page.locator("[data-testid=status]")).to_have_text("NOT READY TO GIVE")
    blocking = visit.page.locator("[data-testid=blocking-alerts] li")
    expect(blocking).to_have_count(1)
    assert "iga_not_measured" in blocking.first.inner_text()
    assert visit.page.locator("[data-testid=pump-rates]").count() == 0
    assert visit.page.locator("[data-testid=override-form]").count() == 0
    assert "Only a pharmacist" in visit.page.content()
    visit.shot(artifacts, f"{tag}-11-planner-blocked-clinician")
    assert visit.page.locator("[data-testid=sheet-downloads]").count() == 0
    # asked for directly, the sheet of a blocked plan is a refusal page, never a file
    refused = visit.page.goto(
        f"{visit.page.url.split('?')[0]}/report?{visit.page.url.split('?')[1]}&day=1"
    )
    assert refused is not None and refused.status == 409
    expected = "Failed to load resource: the server responded with a status of 409 (Conflict)"
    visit.console_errors.remove(expected)  # the refusal's own status, nothing else
    expect(visit.page.locator("[data-testid=blocking-alerts] li")).to_have_count(1)
    visit.shot(artifacts, f"{tag}-11b-sheet-refused-blocked")

    visit.page.goto(f"{server}/planner")
    visit.page.select_option("select[name=diagnosis]", "dermatomyositis")
    visit.page.select_option("select[name=product]", "octagam-10")
    visit.page.select_option("select[name=sex]", "F")
    for name, value in (("age", "52"), ("weight_kg", "68"), ("height_cm", "163")):
        visit.page.fill(f"input[name={name}]", value)
    visit.page.fill("input[name=iga_g_per_l]", "1.9")
    visit.page.fill("input[name=egfr]", "85")
    visit.page.fill("input[name=egfr_date]", "2026-11-30")
    visit.page.check("input[name=ruled_out][value=migraine]")
    visit.page.click("button:text('Plan')")
    expect(visit.page.locator("[data-testid=pump-rates]").first).to_be_visible()
    alerts = visit.page.locator("[data-testid=other-alerts]").inner_text()
    assert "dermatomyositis_rate_cap" in alerts and "Source:" in alerts
    visit.shot(artifacts, f"{tag}-12-planner-standalone")
    visit.close()


def test_pharmacist_overrides_approves_and_prints_the_sheet(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    visit = Visit(browser, server)
    tag = _tag(clinic_store)
    visit.sign_in("phil")
    query = "weight_kg=70&height_cm=165&start_date=2026-12-07"
    visit.page.goto(f"{server}/patients/N002/plan?{query}")
    expect(visit.page.locator("[data-testid=status]")).to_have_text("NOT READY TO GIVE")
    visit.shot(artifacts, f"{tag}-13-planner-blocked-pharmacist")
    form = visit.page.locator("[data-testid=override-form]")
    form.locator("input[value=iga_not_measured]").check()
    reason = "IgA 2.1 g/L at the referring hospital, 2026-11 " + INJECTION
    form.locator("textarea[name=reason_iga_not_measured]").fill(reason)
    form.locator("button").click()
    expect(visit.page.locator("[data-testid=status]")).to_contain_text("awaiting")
    expect(visit.page.locator("[data-testid=override-reason]")).to_have_text(reason)
    assert visit.dialogs == [], "the injected script ran"
    expect(visit.page.locator("[data-testid=pump-rates]").first).to_be_visible()
    visit.shot(artifacts, f"{tag}-14-planner-overridden")

    visit.page.click("[data-testid=approve-form] button")
    expect(visit.page.locator("[data-testid=status]")).to_contain_text(
        "READY TO GIVE — approved by phil"
    )
    downloads = visit.page.locator("[data-testid=sheet-downloads]")
    expect(downloads).to_contain_text("day 1 PDF")
    visit.shot(artifacts, f"{tag}-14b-planner-approved-downloads")
    with visit.page.expect_download() as fetched:
        downloads.locator("a", has_text="PDF").first.click()
    sheet_file = artifacts / f"{tag}-14c-{fetched.value.suggested_filename}"
    assert fetched.value.suggested_filename == "infusion-sheet-N002-course-3-day-1.pdf"
    fetched.value.save_as(sheet_file)
    assert sheet_file.read_bytes().startswith(b"%PDF")
    visit.page.click("[data-testid=sheet-link]")
    visit.page.fill("input[name=clock]", "08:30")
    visit.page.click("button:text('Update clock times')")
    sheet = visit.page.locator("[data-testid=sheet]")
    expect(sheet.locator("[data-testid=sheet-steps] tbody tr").first).to_contain_text("08:30")
    assert "Pharmacist: phil" in sheet.inner_text()
    visit.shot(artifacts, f"{tag}-15-infusion-sheet")
    visit.page.emulate_media(media="print")
    assert not visit.page.locator("header.top").is_visible()
    visit.page.pdf(path=str(artifacts / f"{tag}-16-infusion-sheet.pdf"), format="A4")
    visit.shot(artifacts, f"{tag}-16-infusion-sheet-print")
    visit.close()
