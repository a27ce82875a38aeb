"""Security of the web application: CSRF, session fixation, idle timeout, throttling, site
isolation, pseudonymisation, escaping of free text, injection attempts in search and filters,
tokens and passwords at rest, and the audit of writes made through the pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_web_access import route_table
from web_helpers import INJECTION, NAME_IN_NOTE, PASSWORD, SOUTH_CLINICIAN, Clinic, csrf_of, sign_in

from myoivig.accounts.service import (
    Throttle,
    add_user,
    app_secret,
    create_token,
    find_user,
    resume_session,
    start_session,
)
from myoivig.accounts.tables import ApiTokenRow, AppSecretRow, UserRow, WebSessionRow
from myoivig.store import Store
from myoivig.store.tables import AuditRow
from myoivig.web.auth import SESSION_COOKIE

Clients = Callable[[str | None], TestClient]


def _new_user(store: Store, role: str = "clinician", sites: list[str] | None = None) -> str:
    name = f"u-{uuid.uuid4().hex[:8]}"
    add_user(store, "test", name, role, ["NORTH"] if sites is None else sites, PASSWORD)
    return name


# --- CSRF ------------------------------------------------------------------------------------


def test_a_write_without_or_with_a_wrong_csrf_token_is_refused(
    client_for: Clients, clinic_store: Store
) -> None:
    admin = client_for("ada")
    token = csrf_of(admin.get("/admin/users").text)
    for sent in (None, "forged", token[:-2] + "xx"):
        name = f"csrf-{uuid.uuid4().hex[:6]}"
        data = {"name": name, "role": "reviewer"} | ({} if sent is None else {"csrf_token": sent})
        response = admin.post("/admin/users", data=data)
        assert response.status_code == 403 and "Form refused" in response.text
        with clinic_store.session() as session:
            assert find_user(session, name) is None, "a refused form must not write"
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    ok = admin.post("/admin/users", data={"name": name, "role": "reviewer", "csrf_token": token})
    assert ok.status_code == 201 and "shown once" in ok.text
    header = admin.post(
        "/logout", headers={"X-CSRF-Token": token}, follow_redirects=False
    )  # htmx sends the token as a header
    assert header.status_code == 303


def test_sign_in_form_needs_its_own_csrf_token(client_for: Clients) -> None:
    client = client_for(None)
    client.get("/login")
    refused = client.post(
        "/login", data={"name": "ada", "password": PASSWORD, "csrf_token": "guess"}
    )
    assert refused.status_code == 403
    assert SESSION_COOKIE not in client.cookies


# --- sessions --------------------------------------------------------------------------------


def test_signing_in_issues_a_new_session_and_ends_the_planted_one(client_for: Clients) -> None:
    victim = client_for("carl")
    planted = victim.cookies[SESSION_COOKIE]
    sign_in(victim, "carl")  # signing in again (as after a planted cookie) must rotate the id
    fresh = victim.cookies[SESSION_COOKIE]
    assert fresh != planted
    attacker = client_for(None)
    attacker.cookies.set(SESSION_COOKIE, planted)
    response = attacker.get("/patients", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert victim.get("/patients").status_code == 200


def test_session_cookie_flags_and_tampering(client_for: Clients) -> None:
    client = client_for(None)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"name": "carl", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v
    )
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    forged = client_for(None)
    forged.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE][:-3] + "abc")
    assert forged.get("/patients", follow_redirects=False).status_code == 303


def test_idle_session_expires(clinic_store: Store) -> None:
    with clinic_store.session() as session:
        user = find_user(session, "carl")
    assert user is not None
    start = datetime.now(UTC)
    browser = start_session(clinic_store, user, now=start)
    idle = timedelta(minutes=30)
    at = [start + timedelta(minutes=m) for m in (29, 58, 89)]
    assert resume_session(clinic_store, browser.token, idle, now=at[0])  # activity moves the
    assert resume_session(clinic_store, browser.token, idle, now=at[1])  # idle clock on
    assert resume_session(clinic_store, browser.token, idle, now=at[2]) is None  # 31 min idle
    assert resume_session(clinic_store, browser.token, idle, now=at[1]) is None  # ended for good


def test_login_is_throttled_per_name(client_for: Clients, clinic_store: Store) -> None:
    name = _new_user(clinic_store)
    client = client_for(None)
    limit = Throttle().max_failures
    for _ in range(limit):
        page = client.get("/login")
        wrong = client.post(
            "/login", data={"name": name, "password": "nope", "csrf_token": csrf_of(page.text)}
        )
        assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    page = client.get("/login")
    blocked = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
    sign_in(client_for(None), "carl")  # other names are not affected


# --- site isolation and pseudonymisation ------------------------------------------------------


def test_a_clinician_cannot_open_a_patient_of_another_site(
    client_for: Clients, clinic: Clinic
) -> None:
    carl = client_for("carl")  # NORTH
    listed = carl.get("/api/v1/patients").json()
    assert {p["code"] for p in listed["items"]} == set(clinic.north_codes)
    other = clinic.south_codes[0]
    page = carl.get(f"/patients/{other}")
    unknown = carl.get("/patients/NO-SUCH")
    assert page.status_code == unknown.status_code == 404
    api = carl.get(f"/api/v1/patients/{other}")
    assert api.status_code == 404 and api.json() == {"detail": f"no patient '{other}'"}
    assert carl.get("/api/v1/patients?site=SOUTH").json()["total"] == 0
    sam = client_for(SOUTH_CLINICIAN)
    assert sam.get(f"/api/v1/patients/{other}").status_code == 200
    assert sam.get(f"/api/v1/patients/{clinic.north_codes[0]}").status_code == 404


def test_a_researcher_sees_pseudonyms_and_no_names_notes_or_birth_years(
    client_for: Clients, clinic: Clinic
) -> None:
    rita = client_for("rita")
    listed = rita.get("/api/v1/patients?per_page=200").json()
    codes = [p["code"] for p in listed["items"]]
    assert len(codes) == len(clinic.north_codes) + len(clinic.south_codes)
    assert all(code.startswith("R-") for code in codes)
    page = rita.get("/patients")
    for real in clinic.north_codes + clinic.south_codes:
        assert real not in page.text
    dossier = rita.get(f"/api/v1/patients/{codes[0]}")
    assert dossier.status_code == 200
    body = dossier.text
    assert NAME_IN_NOTE not in body and "1969" not in body and "Dr Who" not in body
    assert dossier.json()["patient"]["birth_year"] is None
    for code in codes:
        html = rita.get(f"/patients/{code}").text
        assert NAME_IN_NOTE not in html and "1969" not in html and "Dr Strange" not in html
    assert rita.get("/api/v1/patients?search=N001").json()["total"] == 0


# --- escaping and injection -----------------------------------------------------------------


def test_free_text_is_rendered_escaped(client_for: Clients) -> None:
    carl = client_for("carl")
    html = carl.get("/patients/N001").text
    assert INJECTION not in html and "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # note, assessment, AE term
    searched = carl.get("/patients", params={"search": INJECTION})
    assert searched.status_code == 200 and "<script>alert" not in searched.text
    assert "No patient matches." in searched.text


SQL_ATTEMPTS = (
    "' OR '1'='1",
    "'; DROP TABLE patients; --",
    "N00%",
    "_",
    "\\",
    "N001' UNION SELECT password_hash FROM users --",
)


@pytest.mark.parametrize("attempt", SQL_ATTEMPTS)
def test_injection_attempts_in_search_and_filters_are_plain_text(
    attempt: str, client_for: Clients, clinic_store: Store
) -> None:
    carl = client_for("carl")
    for params in ({"search": attempt}, {"site": attempt}):
        listed = carl.get("/api/v1/patients", params=params)
        assert listed.status_code == 200 and listed.json()["total"] == 0, params
        assert carl.get("/patients", params=params).status_code == 200
    refused = carl.get("/api/v1/patients", params={"diagnosis": attempt})
    assert refused.status_code == 422 and "diagnosis" in refused.json()["detail"]
    assert carl.get("/patients", params={"diagnosis": attempt}).status_code == 422
    assert carl.get("/api/v1/patients/" + attempt.replace("/", "")).status_code == 404
    assert carl.get("/api/v1/patients").json()["total"] == 3  # nothing was dropped


def test_search_filter_and_pagination(client_for: Clients) -> None:
    ada = client_for("ada")
    assert ada.get("/api/v1/patients").json()["total"] == 5
    assert [p["code"] for p in ada.get("/api/v1/patients?search=s00").json()["items"]] == [
        "S001",
        "S002",
    ]
    page2 = ada.get("/api/v1/patients?per_page=2&page=2").json()
    assert [p["code"] for p in page2["items"]] == ["N003", "S001"] and page2["pages"] == 3
    assert ada.get("/api/v1/patients?diagnosis=polymyositis").json()["total"] == 2
    html = ada.get("/patients?site=SOUTH", headers={"HX-Request": "true"}).text
    assert "<html" not in html and "S001" in html and "N001" not in html  # htmx partial


# --- secrets at rest and audit ---------------------------------------------------------------


def test_passwords_and_tokens_are_hashed_and_redacted_from_the_audit(
    client_for: Clients, clinic_store: Store
) -> None:
    token = create_token(clinic_store, "test", "phil")
    with clinic_store.session() as session:
        hashes = session.scalars(select(ApiTokenRow.token_hash)).all()
        assert token not in hashes and all(len(h) == 64 for h in hashes)
        password_hash = session.scalar(select(UserRow.password_hash).where(UserRow.name == "phil"))
        assert password_hash and password_hash.startswith("$argon2id$")
        sessions = session.scalars(select(WebSessionRow.token_hash)).all()
        audit = session.scalars(
            select(AuditRow.changes).where(AuditRow.table_name == "users")
        ).all()
    assert all(len(h) == 64 for h in sessions)
    assert audit and all(changes["password_hash"] == "[redacted]" for changes in audit)
    assert (
        client_for(None)
        .get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )


def test_a_write_through_the_pages_is_audited_with_the_signed_in_user(
    client_for: Clients, clinic_store: Store
) -> None:
    admin = client_for("ada")
    name = f"audited-{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/admin/users",
        data={
            "name": name,
            "role": "clinician",
            "site": ["NORTH", "SOUTH"],
            "csrf_token": csrf_of(admin.get("/admin/users").text),
        },
    )
    assert created.status_code == 201
    with clinic_store.session() as session:
        user = find_user(session, name)
        tables = sorted(
            session.scalars(select(AuditRow.table_name).where(AuditRow.actor == "ada")).all()
        )
    assert user is not None and user.site_codes == {"NORTH", "SOUTH"}
    assert "users" in tables and tables.count("user_sites") >= 2
    bad = admin.post(
        "/admin/users",
        data={
            "name": name,
            "role": "clinician",
            "site": "NORTH",
            "csrf_token": csrf_of(created.text),
        },
    )
    assert bad.status_code == 422 and "already exists" in bad.text


def test_openapi_documents_the_api_only(client_for: Clients, web_app: FastAPI) -> None:
    spec = client_for(None).get("/api/v1/openapi.json").json()
    # OpenAPI writes `{kind:record_kind}` (a path convertor) as `{kind}`.
    api = {
        re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        for _, path in route_table(web_app)
        if path.startswith("/api/v1/")
    }
    api.discard("/api/v1/openapi.json")  # the document itself is not an operation
    assert {"/api/v1/patients", "/api/v1/patients/{code}", "/api/v1/plans"} <= api
    assert {"/api/v1/patients/{code}/plan", "/api/v1/patients/{code}/plan/overrides"} <= api
    assert set(spec["paths"]) == api  # every API route, and no page


def test_generated_secrets_are_kept_and_not_fixed(store: Store) -> None:
    first = app_secret(store)
    assert first == app_secret(store) and len(first) >= 60
    assert app_secret(store, "pseudonym-key") != first
    with store.unit_of_work("test") as session:  # an existing secret is used, never replaced
        session.add(AppSecretRow(name="raced", value="theirs"))
    assert app_secret(store, "raced") == "theirs"


def test_admin_audit_trail_filters_and_escapes(client_for: Clients) -> None:
    ada = client_for("ada")
    patients = ada.get("/admin/audit", params={"table": "patients"})
    assert patients.status_code == 200
    assert "<script>alert" not in patients.text and "&lt;script&gt;alert" in patients.text
    assert "5 entries" in patients.text  # the five patients inserted by the setup
    by_setup = ada.get("/admin/audit", params={"actor": "setup", "table": "users"}).text
    assert "6 entries" in by_setup and "password_hash=[redacted]" in by_setup
    assert "$argon2" not in by_setup
    for attempt in SQL_ATTEMPTS:
        assert "0 entries" in ada.get("/admin/audit", params={"actor": attempt}).text
    assert client_for("carl").get("/admin/audit").status_code == 403
