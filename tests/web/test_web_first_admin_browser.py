"""The first admin's one-time password in a real browser (Playwright, Debian's Chromium).

`myoivig run` creates `admin` with a generated password (`ensure_first_admin`) in a database
without accounts; signing in with it leads to the change-password page, and only after the
change to the home page. On SQLite and PostgreSQL; screenshots in test-artifacts/web/.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from test_web_browser import Visit, _backend, assert_log_clean, browser  # noqa: F401 (fixture)
from web_helpers import free_port

from myoivig.accounts.service import find_user
from myoivig.store import Store
from myoivig.web.app import create_app
from myoivig.web.launch import ensure_first_admin
from myoivig.web.settings import WebSettings

CHOSEN = "the first admin's own passphrase"


@pytest.fixture
def first_run(store: Store, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An application with no account yet served on a free port, as `myoivig run` starts it:
    (base URL, the first admin's one-time password). The server log must not hold either
    password."""
    first = ensure_first_admin(store, "myoivig-run")
    assert first is not None
    port = free_port()
    app = create_app(WebSettings(database_url=store.url), store)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    log = tmp_path / "server.log"
    handler = logging.FileHandler(log, encoding="utf-8")
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    for logger in loggers:
        logger.addHandler(handler)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", first[1]
    server.should_exit = True
    thread.join(timeout=10)
    for logger in loggers:
        logger.removeHandler(handler)
    handler.close()
    assert_log_clean(log, [first[1], CHOSEN])


def test_first_admin_signs_in_with_the_one_time_password_and_must_change_it(
    browser: Any,  # noqa: F811
    first_run: tuple[str, str],
    store: Store,
    artifacts: Path,
) -> None:
    base, one_time = first_run
    tag = f"{_backend(store)}-first-admin"
    visit = Visit(browser, base)
    page = visit.page
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", one_time)
    page.click("button[type=submit]")
    page.wait_for_url("**/account/password?next=*")
    assert "one-time password" in page.locator("[data-testid=forced]").inner_text()
    visit.shot(artifacts, f"{tag}-01-change-password")

    page.goto(f"{base}/admin/users")  # no other page opens before the change
    page.wait_for_url("**/account/password?next=%2Fadmin%2Fusers")
    page.goto(f"{base}/patients")
    page.wait_for_url("**/account/password?next=%2Fpatients")

    page.fill("input[name=current_password]", one_time)
    page.fill("input[name=new_password]", CHOSEN)
    page.fill("input[name=new_password_again]", CHOSEN + "!")
    page.click("main button[type=submit]")
    alert = page.locator("[role=alert]")
    assert "new_password_again does not match new_password" in alert.inner_text()
    visit.shot(artifacts, f"{tag}-02-mismatch-refused")
    visit.console_errors.clear()  # Chromium logs the 422 of the refused form's page

    page.fill("input[name=current_password]", one_time)  # the refused form kept `next`
    page.fill("input[name=new_password]", CHOSEN)
    page.fill("input[name=new_password_again]", CHOSEN)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/patients")  # the admin's home page
    assert page.locator("[data-testid=who]").inner_text().startswith("admin · admin")
    visit.shot(artifacts, f"{tag}-03-home-after-change")
    with store.session() as session:
        admin = find_user(session, "admin")
    assert admin is not None and not admin.must_change_password
    visit.close()
