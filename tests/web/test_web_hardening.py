"""Hardening of the web application (issue 15): security headers on every kind of response,
HSTS only over TLS, no secret in the logs of a web session, and the audit pages saying whether
the audit trail's hash chain verifies."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from test_web_access import EXPECTED
from web_helpers import PASSWORD, csrf_of

from myoivig.accounts.service import create_token
from myoivig.store import Store
from myoivig.store.audit_chain import read_checkpoint
from myoivig.store.tables import AuditRow
from myoivig.web.app import create_app
from myoivig.web.auth import SESSION_COOKIE
from myoivig.web.settings import WebSettings

Clients = Callable[[str | None], TestClient]
TEMPLATES = Path(__file__).parents[2] / "src/myoivig/web/templates"


def _url(path: str) -> str:
    url = path.replace("{code}", "N001").replace("{kind}", "courses")
    url = url.replace("{review}", "no-review").replace("{name}", "prisma.svg")
    return "/static/app.css" if path == "/static" else url


def _assert_secure_headers(response: httpx.Response, what: str) -> None:
    headers = response.headers
    csp = dict(
        [*part.strip().split(" ", 1), ""][:2]
        for part in headers.get("content-security-policy", "").split(";")
        if part.strip()
    )
    assert csp.get("script-src") == "'self'" and csp.get("default-src") == "'self'", what
    assert csp.get("frame-ancestors") == "'none'", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "same-origin", what
    assert "strict-transport-security" not in headers, f"{what}: HSTS over plain HTTP"


@pytest.mark.parametrize("who", ["ada", "carl", None])
def test_every_route_kind_carries_the_security_headers(
    client_for: Clients, who: str | None
) -> None:
    """Pages, forms, API JSON, redirects, 401/403/404/422 errors, static files, OpenAPI."""
    client = client_for(who)
    csrf = csrf_of(client.get("/admin/users").text) if who else ""
    statuses = set()
    for method, path in sorted(EXPECTED):
        if path in ("/login", "/logout") and method == "POST":
            continue  # would end the session the other calls use
        response = client.request(
            method, _url(path), data={"csrf_token": csrf}, follow_redirects=False
        )
        statuses.add(response.status_code)
        _assert_secure_headers(response, f"{method} {path} as {who}: {response.status_code}")
    missing = client.get("/no/such/page")
    _assert_secure_headers(missing, "unknown path")
    assert missing.status_code == 404
    assert {200, 303}.issubset(statuses) or who is None


def test_hsts_only_over_tls(web_app: FastAPI, clinic_store: Store) -> None:
    plain = TestClient(web_app, base_url="http://127.0.0.1").get("/login")
    assert "strict-transport-security" not in plain.headers
    direct = TestClient(web_app, base_url="https://127.0.0.1").get("/login")
    assert direct.headers["strict-transport-security"].startswith("max-age=31536000")
    proxied = create_app(
        WebSettings(database_url=clinic_store.url, cookie_secure=True), clinic_store
    )
    behind = TestClient(proxied, base_url="http://127.0.0.1").get("/api/v1/openapi.json")
    assert behind.headers["strict-transport-security"].startswith("max-age=31536000")


def test_templates_have_no_inline_script_or_event_handler() -> None:
    """The CSP forbids inline scripts; a template that had one would silently lose it."""
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", source):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", source), f"{template.name}: inline handler"
        assert "hx-on" not in source and "javascript:" not in source, template.name


# --- no secret in the logs ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_logs_of_a_web_session_hold_no_password_token_or_session_id(
    web_app: FastAPI, clinic_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A real uvicorn server with its access log on, every logger at DEBUG: sign in (and fail
    once), use pages and forms, use the API with a token, sign out; none of the secrets appear."""
    caplog.set_level(logging.DEBUG)
    port = _free_port()
    config = uvicorn.Config(
        web_app, host="127.0.0.1", port=port, log_config=None, access_log=True, log_level="debug"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the test server did not start"
        base = f"http://127.0.0.1:{port}"
        token = create_token(clinic_store, "test", "carl")
        wrong = f"wrong-{uuid.uuid4().hex}"
        with httpx.Client(base_url=base) as browser:
            login = browser.get("/login")
            browser.post(
                "/login",
                data={"name": "carl", "password": wrong, "csrf_token": csrf_of(login.text)},
            )
            login = browser.get("/login")
            signed = browser.post(
                "/login",
                data={"name": "carl", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
            )
            assert signed.status_code in (200, 303)
            session_id = browser.cookies[SESSION_COOKIE]
            csrf = csrf_of(browser.get("/patients").text)
            browser.get("/patients/N001")
            browser.get("/patients/N001/audit")
            browser.post("/patients/N001/edit", data={"csrf_token": csrf})
            browser.post("/logout", data={"csrf_token": csrf})
        with httpx.Client(base_url=base) as api:
            auth = {"Authorization": f"Bearer {token}"}
            assert api.get("/api/v1/patients", headers=auth).status_code == 200
            api.get("/api/v1/patients", headers={"Authorization": "Bearer myo_forged"})
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    # the server's logs only: httpx/httpcore are this test's client, logging what it sends
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in server_side)
    assert "GET /patients/N001" in logged, "the access log was captured"
    for secret in (PASSWORD, wrong, token, session_id, csrf):
        assert secret not in logged, f"a secret appears in the logs: {secret[:6]}..."


# --- the audit pages say whether the chain verifies -------------------------------------------


def test_audit_pages_show_whether_the_chain_verifies(
    client_for: Clients, clinic_store: Store
) -> None:
    admin, carl = client_for("ada"), client_for("carl")
    for client, path in ((admin, "/admin/audit"), (carl, "/patients/N001/audit")):
        page = client.get(path)
        assert page.status_code == 200
        assert re.search(
            r'class="ok" data-testid="audit-chain">Whole audit trail verified \(\d+ entries\)',
            page.text,
        )
    with clinic_store.session() as session:
        target = session.scalars(select(AuditRow.id).order_by(AuditRow.id).offset(3)).first()
        actor = session.scalar(select(AuditRow.actor).where(AuditRow.id == target))
    with clinic_store.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET actor = 'nobody' WHERE id = :id"), {"id": target}
        )
    try:
        for client, path in ((admin, "/admin/audit"), (carl, "/patients/N001/audit")):
            page = client.get(path)
            assert 'class="error" data-testid="audit-chain"' in page.text
            assert f"entry {target} " in page.text and "was edited" in page.text
    finally:
        with clinic_store.engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_log SET actor = :actor WHERE id = :id"),
                {"id": target, "actor": actor},
            )
    assert "Whole audit trail verified" in admin.get("/admin/audit").text


def test_audit_pages_check_from_the_last_verified_point(
    client_for: Clients, clinic_store: Store
) -> None:
    """After a first view the pages verify incrementally from the checkpoint it recorded: the
    entry there must still have its verified hash, so an edit of it is named at once."""
    admin = client_for("ada")
    assert admin.get("/admin/audit").status_code == 200
    with clinic_store.session() as session:
        kept = read_checkpoint(session)
        head = session.scalar(select(AuditRow.id).order_by(AuditRow.chain_seq.desc()).limit(1))
        actor = session.scalar(select(AuditRow.actor).where(AuditRow.id == head))
    assert kept is not None and kept.seq > 0
    with clinic_store.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET actor = 'nobody' WHERE id = :id"), {"id": head}
        )
    try:
        page = admin.get("/admin/audit")
        assert 'class="error" data-testid="audit-chain"' in page.text
        assert f"entry {head} " in page.text and "was edited" in page.text
    finally:
        with clinic_store.engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_log SET actor = :actor WHERE id = :id"),
                {"id": head, "actor": actor},
            )
    assert "Whole audit trail verified" in admin.get("/admin/audit").text
