"""Research, meta-analysis and PRISMA pages in Chromium (Playwright), screenshots kept.

Uses the browser and server fixtures of test_web_browser (one server per module and backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_web_browser import Visit, browser, server  # noqa: F401  (fixtures)
from test_web_evidence import BCG, REVIEW

from myoivig.demo import load_trial_cohort
from myoivig.review.example.load import load_example
from myoivig.store import Store
from myoivig.store.repository import existing_patient_codes


@pytest.fixture(scope="module", autouse=True)
def evidence_data(clinic_store: Store) -> None:
    load_trial_cohort(clinic_store)
    with clinic_store.unit_of_work(actor="test") as session:
        load_example(session, REVIEW)


def _tag(store: Store) -> str:
    return store.engine.dialect.name


def _signed_in(browser: Any, server: str, name: str) -> Visit:  # noqa: F811
    visit = Visit(browser, server)
    visit.sign_in(name)
    visit.console_errors.clear()  # a reviewer lands on /patients, whose 403 Chromium logs
    return visit


def test_researcher_opens_the_research_page_and_sees_no_codes(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    with clinic_store.session() as session:
        real_codes = existing_patient_codes(session)
    visit = _signed_in(browser, server, "rita")
    visit.page.click("text=Cohort research")
    visit.page.locator("[data-testid=research-table]").wait_for()
    text = visit.page.locator("main").inner_text()
    assert "Pseudonymised view" in text and "16 have a reported outcome" in text
    assert not [code for code in real_codes if code in text]
    visit.shot(artifacts, f"{_tag(clinic_store)}-20-research-researcher")
    visit.page.select_option("select[name=diagnosis]", "dermatomyositis")
    visit.page.click("form.filters button")
    visit.page.locator("[data-testid=research-count]").wait_for()
    assert "diagnosis=dermatomyositis" in visit.page.url
    with visit.page.expect_download() as download:
        visit.page.click("[data-testid=download-xlsx]")
    assert download.value.suggested_filename == "cohort-all.xlsx"
    visit.close()


def test_reviewer_runs_a_meta_analysis_and_downloads_the_forest_plot(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    table = tmp_path / "bcg.csv"
    BCG.to_csv(table, index=False)
    visit = _signed_in(browser, server, "rob")
    visit.page.click("text=Meta-analysis")
    visit.page.set_input_files("input[name=table]", str(table))
    visit.page.select_option("select[name=measure]", "RR")
    visit.page.fill("input[name=by]", "alloc")
    visit.page.click("form[data-testid=meta-form] button[type=submit]")
    visit.page.locator("[data-testid=meta-forest] img").wait_for()
    summary = visit.page.locator("[data-testid=meta-summary]").inner_text()
    assert f"RR, REML, test z, k = {len(BCG)}" in summary and "τ²" in summary
    assert visit.page.locator("[data-testid=meta-leave1out] tbody tr").count() == len(BCG)
    visit.shot(artifacts, f"{_tag(clinic_store)}-21-meta-analysis")
    with visit.page.expect_download() as download:
        visit.page.click("[data-testid=download-forest-png]")
    saved = tmp_path / "forest.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "forest.png"
    assert saved.read_bytes().startswith(b"\x89PNG") and saved.stat().st_size > 20_000
    # Re-run with other options on the kept table, without uploading again.
    visit.page.select_option("select[name=method]", "DL")
    visit.page.click("form[data-testid=meta-form] button[type=submit]")
    visit.page.locator(f"text=RR, DL, test z, k = {len(BCG)}").wait_for()
    visit.close()


def test_reviewer_sees_the_prisma_page(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    visit = _signed_in(browser, server, "rob")
    visit.page.click("header >> text=PRISMA")
    visit.page.click(f"text={REVIEW}")
    image = visit.page.locator("[data-testid=prisma-diagram] img")
    image.wait_for()
    assert visit.page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 500
    assert visit.page.locator("[data-testid=included-studies] tbody tr").count() > 0
    visit.shot(artifacts, f"{_tag(clinic_store)}-22-prisma")
    visit.close()


def test_a_clinician_opens_neither_research_nor_reviews(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
) -> None:
    visit = _signed_in(browser, server, "carl")
    nav = visit.page.locator("header nav").inner_text()
    assert "Cohort research" not in nav and "PRISMA" not in nav and "Meta-analysis" not in nav
    for path in ("/research", "/meta", "/prisma", f"/prisma/{REVIEW}"):
        response = visit.page.goto(f"{server}{path}")
        assert response is not None and response.status == 403, path
    visit.console_errors.clear()  # Chromium logs each refused document
    visit.close()
