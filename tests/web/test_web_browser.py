"""The clinic in a real browser: Playwright for Python driving Debian's Chromium.

The application is served by uvicorn on 127.0.0.1 (a free port) for the two-site clinic on each
database backend. Screenshots are written to test-artifacts/web/. Any request the pages make to
another host fails the test (the application must work offline), and so does any error in the
browser console (for example a script refused by the Content-Security-Policy).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy import select
from web_helpers import NAME_IN_NOTE, PASSWORD, free_port

from myoivig.store import Store
from myoivig.store.tables import PatientRow
from myoivig.web.auth import SESSION_COOKIE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


SESSION_IDS: list[str] = []
"""Session cookies the browser visits held (read after sign-in and on close): the server's log
must not contain them."""
QUIET = ("httpx", "httpcore")  # this process's HTTP clients, not the server


class _ServerOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(QUIET)


@pytest.fixture(scope="module")
def server(
    web_app: FastAPI, clinic_store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The application on a free port; its log (uvicorn's and the application's, at the level
    the browser tests run it) goes to a file that is searched at the end of the module for the
    password, the session cookies and the patient codes and name used (issue 15, item 7)."""
    port = free_port()
    config = uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning")
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    handler = logging.FileHandler(log, encoding="utf-8")
    handler.addFilter(_ServerOnly())
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    for logger in loggers:  # after uvicorn.Config, which configures its loggers
        logger.addHandler(handler)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)
    for logger in loggers:
        logger.removeHandler(handler)
    handler.close()
    with clinic_store.session() as session:
        codes = list(session.scalars(select(PatientRow.code)))
    assert_log_clean(log, [PASSWORD, NAME_IN_NOTE, *SESSION_IDS, *codes])


def assert_log_clean(log: Path, secrets: list[str]) -> None:
    """None of `secrets` (passwords, session ids, patient codes and names) is in the log."""
    text = log.read_text(encoding="utf-8")
    found = sorted({s for s in secrets if s and s in text})
    assert not found, f"the server log {log} holds {len(found)} secrets or identifiers"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Visit:
    """One browser context (its own cookies) that records outside requests and console errors."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.context.route("**/*", self._only_local)

    def _only_local(self, route: Any) -> None:
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def sign_in(self, name: str, start: str = "/patients") -> None:
        """Open `start` signed out (sent to sign-in), sign in, land on `start` ("/": home)."""
        self.page.goto(f"{self.base}{start}")
        assert "/login" in self.page.url
        self.page.fill("input[name=name]", name)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(lambda url: "/login" not in url)
        self._remember_session()

    def _remember_session(self) -> None:
        SESSION_IDS.extend(
            c["value"] for c in self.context.cookies() if c["name"] == SESSION_COOKIE
        )

    def shot(self, folder: Path, name: str) -> None:
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self._remember_session()
        self.context.close()
        assert self.outside == [], f"pages tried to reach other hosts: {self.outside}"
        assert self.console_errors == [], f"browser console errors: {self.console_errors}"
        assert self.dialogs == [], f"a script opened dialogs: {self.dialogs}"


def _backend(store: Store) -> str:
    return store.engine.dialect.name


def test_clinician_signs_in_lists_searches_and_opens_a_patient_page(
    browser: Any, server: str, clinic_store: Store, artifacts: Path
) -> None:
    visit = Visit(browser, server)
    tag = _backend(clinic_store)
    visit.page.goto(f"{server}/login")
    visit.shot(artifacts, f"{tag}-01-login")
    visit.sign_in("carl")
    rows = visit.page.locator("[data-testid=patients] tbody tr")
    assert rows.count() == 3
    assert visit.page.locator("[data-testid=who]").inner_text().startswith("carl · clinician")
    visit.shot(artifacts, f"{tag}-02-patient-list")

    visit.page.fill("input[name=search]", "N002")  # htmx swaps the table in place
    expect(rows).to_have_count(1)
    assert "N002" in rows.first.inner_text()
    assert "search=N002" in visit.page.url  # hx-push-url keeps the filter in the address

    visit.page.goto(f"{server}/patients/N001")
    chart = visit.page.locator("#timeline .main-svg").first
    chart.wait_for(state="visible", timeout=20_000)
    legend = visit.page.locator("#timeline .legend").first.text_content() or ""
    for series in ("Mean myometry force (N)", "MMT-8 total", "CK × ULN"):
        assert series in legend
    assert visit.page.locator("#timeline .shapelayer path, #timeline .layer-below path").count()
    groups = visit.page.locator("#force-groups .main-svg").first
    groups.wait_for(state="visible")
    group_legend = visit.page.locator("#force-groups .legend").first.text_content() or ""
    assert "elbow extensors (left)" in group_legend and "knee extensors (right)" in group_legend
    criteria = visit.page.locator("[data-testid=criteria] tbody tr")
    expect(criteria).to_have_count(3)  # one row per follow-up visit
    assert "between 17.5 and 77.5" in criteria.first.inner_text()  # TIS bounds, measures missing
    assert "+10.0 %" in criteria.first.inner_text()
    assert "C1 30 g/d × 5" in (visit.page.locator("#timeline").text_content() or "")
    assert NAME_IN_NOTE in visit.page.locator("[data-testid=patient-note]").inner_text()
    assert visit.dialogs == [], "injected script ran"
    visit.shot(artifacts, f"{tag}-03-patient-page")
    visit.close()


def test_a_clinician_of_one_site_cannot_open_a_patient_of_another(
    browser: Any, server: str, clinic_store: Store, artifacts: Path
) -> None:
    visit = Visit(browser, server)
    visit.sign_in("carl")
    response = visit.page.goto(f"{server}/patients/S001")
    assert response is not None and response.status == 404
    assert "No such patient" in visit.page.content()
    visit.shot(artifacts, f"{_backend(clinic_store)}-04-other-site-refused")
    visit.console_errors.clear()  # the 404 of the document itself is logged by Chromium
    visit.close()


def test_a_researcher_sees_no_names(
    browser: Any, server: str, clinic_store: Store, artifacts: Path
) -> None:
    visit = Visit(browser, server)
    visit.sign_in("rita")
    table = visit.page.locator("[data-testid=patients]").inner_text()
    assert "R-" in table and "N001" not in table and "S001" not in table
    assert "Pseudonymised view" in visit.page.content()
    visit.shot(artifacts, f"{_backend(clinic_store)}-05-researcher-list")
    for i in range(visit.page.locator("[data-testid=patients] tbody tr").count()):
        visit.page.locator("[data-testid=patients] tbody tr a").nth(i).click()
        visit.page.locator("#timeline .main-svg").first.wait_for(state="visible")
        html = visit.page.content()
        assert NAME_IN_NOTE not in html and "Dr Who" not in html and "1969" not in html
        assert visit.page.locator("[data-testid=birth-year]").count() == 0
        if i == 0:
            visit.shot(artifacts, f"{_backend(clinic_store)}-06-researcher-patient")
        visit.page.go_back()
    visit.close()


def test_admin_sees_the_user_list(
    browser: Any, server: str, clinic_store: Store, artifacts: Path
) -> None:
    visit = Visit(browser, server)
    visit.sign_in("ada")
    visit.page.click("text=Users")
    names = visit.page.locator("[data-testid=users] tbody").inner_text()
    for name in ("ada", "carl", "phil", "rita", "rob", "sam"):
        assert name in names
    visit.shot(artifacts, f"{_backend(clinic_store)}-07-admin-users")
    visit.page.click("text=Audit trail")
    visit.page.select_option("select[name=table]", "patients")
    visit.page.click("button:text('Filter')")
    visit.page.wait_for_url("**/admin/audit?*table=patients*")
    assert "5 entries" in visit.page.locator("[data-testid=audit-count]").inner_text()
    visit.shot(artifacts, f"{_backend(clinic_store)}-08-admin-audit")
    visit.page.click("text=Sign out")
    visit.page.wait_for_url(f"{server}/login")
    visit.page.goto(f"{server}/admin/users")
    assert "/login" in visit.page.url
    visit.close()
