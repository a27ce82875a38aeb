"""Review projects in the real browser (Playwright + Debian Chromium), on SQLite and PostgreSQL:
a reviewer signs in, lands on the review list, creates a review from the protocol form (after a
refused first try that keeps what was typed), uploads a RIS and a CNKI file and watches each
import finish with its problem list. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, _backend, browser, server  # noqa: F401  (fixtures)

from myoivig.review import projects
from myoivig.store import Store

FIXTURES = Path(__file__).parents[1] / "review" / "fixtures"


def _upload(visit: Visit, file: Path, source: str, fmt: str = "", encoding: str = "") -> None:
    page = visit.page
    page.set_input_files("[data-testid=upload-file]", str(file))
    page.fill("[data-testid=upload-source]", source)
    if fmt:
        page.select_option("[data-testid=upload-format]", fmt)
    if encoding:
        page.fill("input[name=encoding]", encoding)
    with page.expect_navigation():
        page.click("[data-testid=upload-submit]")
    status = page.locator("[data-testid=import-status]")
    expect(status).to_have_attribute("data-state", "finished", timeout=30_000)


def test_reviewer_creates_a_review_and_imports_ris_and_cnki(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = _backend(clinic_store)
    rob = Visit(browser, server)
    rob.sign_in("rob", start="/")
    assert rob.page.url.endswith("/reviews")
    rob.page.click("[data-testid=new-review]")
    name = f"ivig-{uuid.uuid4().hex[:6]}"
    page = rob.page
    page.fill("[data-testid=field-name]", name)
    page.fill("[data-testid=field-title]", "IVIg in adult polymyositis and dermatomyositis")
    page.fill("[data-testid=field-population]", "Adults with polymyositis or dermatomyositis")
    page.fill("[data-testid=field-intervention]", "Intravenous immunoglobulin")
    page.fill("[data-testid=field-outcomes]", "response rate\nadverse events")
    page.fill("[data-testid=field-inclusion_criteria]", "adults\nintravenous immunoglobulin")
    page.fill("[data-testid=field-reviewers]", "rob: screener, extractor")  # one screener: refused
    page.click("[data-testid=create-review]")
    expect(page.locator("[data-testid=form-error]")).to_contain_text("reviewers with the role")
    expect(page.locator("[data-testid=field-population]")).to_have_value(
        "Adults with polymyositis or dermatomyositis"
    )
    rob.shot(artifacts, f"{tag}-30-review-form-refused")
    assert rob.console_errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    rob.console_errors.clear()  # that refusal was the point; any other error still fails
    page.fill("[data-testid=field-reviewers]", "rob: screener, extractor\nada: screener, arbiter")
    with page.expect_navigation():
        page.click("[data-testid=create-review]")
    assert page.url.endswith(f"/reviews/{name}")
    expect(page.locator("[data-testid=protocol]")).to_contain_text("Intravenous immunoglobulin")

    _upload(rob, FIXTURES / "pubmed_export.ris", "MEDLINE")
    expect(page.locator("[data-testid=import-done]")).to_contain_text("3")
    expect(page.locator("[data-testid=import-problems]")).to_contain_text("truncated record")
    rob.shot(artifacts, f"{tag}-31-review-import-done")
    page.goto(f"{server}/prisma/{name}")  # no final decisions yet: said so, never a crash
    expect(page.locator("[data-testid=prisma-diagram]")).to_contain_text("review is in progress")
    page.goto(f"{server}/reviews/{name}")
    _upload(rob, FIXTURES / "cnki_refworks_gb18030.txt", "CNKI", "refworks", "gb18030")
    expect(page.locator("[data-testid=import-done]")).to_contain_text("CNKI")
    page.goto(f"{server}/reviews/{name}")
    expect(page.locator("[data-testid=imports] tbody tr")).to_have_count(2)
    page.goto(f"{server}/reviews/{name}")
    rob.shot(artifacts, f"{tag}-32-review-page")

    # duplicates: a same-DOI pair merges by itself, a similar-title pair waits side by side
    page.goto(f"{server}/reviews/{name}")
    _upload(rob, FIXTURES / "duplicates_small.ris", "Embase")
    page.goto(f"{server}/reviews/{name}/duplicates")
    with page.expect_navigation():
        page.click("[data-testid=find-duplicates]")
    expect(page.locator("[data-testid=queued-pair]")).to_have_count(1, timeout=30_000)
    expect(page.locator("[data-testid=merged-group]")).to_have_count(1)
    expect(page.locator("[data-testid=queued-pair] tr.differs").first).to_be_visible()
    rob.shot(artifacts, f"{tag}-33-review-duplicates")
    with page.expect_navigation():
        page.click("[data-testid=merge]")
    expect(page.locator("[data-testid=merged-group]")).to_have_count(2)
    with page.expect_navigation():
        page.locator("[data-testid=unmerge]").last.click()
    expect(page.locator("[data-testid=queued-pair]")).to_have_count(1)
    rob.close()
    overview = projects.review_overview(clinic_store, name)
    assert [b.source for b in overview.imports] == ["MEDLINE", "CNKI", "Embase"]


def _fill_extraction(visit: Visit, url: str, responders: str, ae_any: str) -> None:
    page = visit.page
    page.goto(url)
    page.fill("[data-testid=x-first_author]", "Dalakas")
    page.fill("[data-testid=x-year]", "1993")
    page.select_option("[data-testid=x-design]", "rct")
    page.fill("[data-testid=x-n_ivig]", "15")
    page.fill("[data-testid=x-diag_dm]", "15")
    page.fill("[data-testid=x-dose_g_per_kg]", "2")
    page.fill("[data-testid=x-r0_measure]", "improved MRC and function")
    page.fill("[data-testid=x-r0_responders]", responders)
    page.fill("[data-testid=x-r0_evaluated]", "12")
    page.fill("[data-testid=x-ae_any]", ae_any)
    with page.expect_navigation():
        page.click("[data-testid=extraction-save]")


def test_two_extractors_fill_blind_and_reconcile(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    from myoivig.review import extracting, repository

    tag = _backend(clinic_store)
    name = f"ex-{uuid.uuid4().hex[:6]}"
    form = projects.protocol_form_defaults() | {
        "title": "IVIg in dermatomyositis",
        "population": "Adults with dermatomyositis",
        "intervention": "IVIg",
        "outcomes": "response",
        "inclusion_criteria": "adults",
        "reviewers": "rob: screener, extractor\nada: screener, extractor, arbiter",
    }
    accounts = projects.reviewer_accounts(clinic_store)
    projects.create_review(
        clinic_store, name, projects.protocol_from_form(form, accounts), actor="rob"
    )
    request = projects.prepare_import(
        clinic_store, name, file_name="dups.ris",
        data=(FIXTURES / "duplicates_small.ris").read_bytes(), source="MEDLINE",
        kind="database", fmt=None, encoding=None, strict=False, again=False, actor="rob",
    )  # fmt: skip
    projects.run_import(request)
    with clinic_store.session() as session:
        first = repository.load_records(session, name)[0].record_id
    extracting.assign_study(clinic_store, name, "Dalakas1993", [first], actor="rob")
    url = f"{server}/reviews/{name}/extraction/Dalakas1993"

    rob = Visit(browser, server)
    rob.sign_in("rob", start="/")
    _fill_extraction(rob, url, "9", "3")
    rob.close()
    ada = Visit(browser, server)
    ada.sign_in("ada", start="/")
    ada.page.goto(url)
    expect(ada.page.locator("[data-testid=x-r0_responders]")).to_have_value("")  # blind
    _fill_extraction(ada, url, "8", "4")
    expect(ada.page.locator("[data-testid=reconcile-link]")).to_be_visible()
    ada.shot(artifacts, f"{tag}-34-extraction-list")
    with ada.page.expect_navigation():
        ada.page.click("[data-testid=reconcile-link]")
    expect(ada.page.locator("[data-testid=disagreements] tbody tr")).to_have_count(2)
    ada.shot(artifacts, f"{tag}-35-extraction-reconcile")
    ada.page.check("[data-testid=choose-responses-b]")
    ada.page.check("[data-testid=choose-adverse_events-a]")
    with ada.page.expect_navigation():
        ada.page.click("[data-testid=reconcile-save]")
    expect(ada.page.locator("[data-testid=agreed-stored]")).to_be_visible()
    ada.close()
    with clinic_store.session() as session:
        forms = {f.extractor: f for f in repository.load_extractions(session, name)}
    assert forms["agreed"].responses[0].responders == 9
    assert forms["agreed"].adverse_events.patients_any == 4


def test_rob2_judgements_appear_as_answers_are_given(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    artifacts: Path,
) -> None:
    tag = _backend(clinic_store)
    name = f"rb-{uuid.uuid4().hex[:6]}"
    form = projects.protocol_form_defaults() | {
        "title": "IVIg in dermatomyositis",
        "population": "Adults with dermatomyositis",
        "intervention": "IVIg",
        "outcomes": "response",
        "inclusion_criteria": "adults",
        "reviewers": "rob: screener, extractor\nada: screener, extractor, arbiter",
    }
    projects.create_review(
        clinic_store,
        name,
        projects.protocol_from_form(form, projects.reviewer_accounts(clinic_store)),
        actor="rob",
    )
    rob = Visit(browser, server)
    rob.sign_in("rob", start="/")
    page = rob.page
    page.goto(f"{server}/reviews/{name}/appraisal/Dalakas1993?tool=rob2")
    page.check("[data-testid='q1.1-Y']")
    page.check("[data-testid='q1.2-Y']")
    page.check("[data-testid='q1.3-N']")
    expect(page.locator("[data-testid=domain-D1]")).to_contain_text("low")
    expect(page.locator("[data-testid=overall]")).to_contain_text("not yet")
    answers = {"2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "N", "3.2": "N", "3.3": "Y",
               "3.4": "Y", "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N",
               "5.3": "N"}  # fmt: skip
    for question, answer in answers.items():
        page.check(f"[data-testid='q{question}-{answer}']")
    expect(page.locator("[data-testid=domain-D3]")).to_contain_text("high")
    expect(page.locator("[data-testid=overall]")).to_contain_text("high in D3")
    rob.shot(artifacts, f"{tag}-36-rob2-live")
    with page.expect_navigation():
        page.click("[data-testid=appraisal-save]")
    expect(page.locator("[data-testid=appraisal-saved]")).to_be_visible()
    rob.close()
