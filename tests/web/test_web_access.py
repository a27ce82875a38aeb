"""Who may use which route: a role × route matrix generated from the application's route table.

A route added to the application without an entry in EXPECTED fails the first test, so no page
or API route can be forgotten. Each route is then called as every role (and signed out), with a
session cookie and, for the API, with a Bearer token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import Mount, Route
from web_helpers import ROLES_USERS, csrf_of

from myoivig.accounts.service import create_token
from myoivig.store import Store
from myoivig.store.tables import CourseRow, PatientRow

ROLES = (*ROLES_USERS, None)  # None: not signed in
READERS = {"admin", "clinician", "pharmacist", "researcher"}
WRITERS = {"clinician"}
PLANNERS = {"clinician", "pharmacist"}
RESEARCH = {"admin", "researcher"}
META = {"admin", "researcher", "reviewer"}
REVIEWS = {"admin", "reviewer"}
SCREENERS = {"admin", "reviewer"}


def _expect(allowed: set[str], ok: int, anonymous: int, denied: int = 403) -> dict[str | None, int]:
    table: dict[str | None, int] = {role: ok if role in allowed else denied for role in ROLES_USERS}
    table[None] = anonymous
    return table


PUBLIC = {role: 200 for role in ROLES}
INFUSION = "/patients/{code}/courses/{number}/infusion-days"
# (method, path) -> {role: status}; the patient code is N001 (site NORTH, the clinician's site).
EXPECTED: dict[tuple[str, str], dict[str | None, int]] = {
    ("GET", "/"): {role: 303 for role in ROLES},
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): {role: 303 for role in ROLES},
    ("POST", "/logout"): _expect(set(ROLES_USERS), 303, 303),
    # Changing one's own password (any role; forced after a one-time password): sent empty, the
    # form is refused naming current_password (422) without counting a failed sign-in.
    ("GET", "/account/password"): _expect(set(ROLES_USERS), 200, 303),
    ("POST", "/account/password"): _expect(set(ROLES_USERS), 422, 303),
    ("GET", "/patients"): _expect(READERS, 200, 303),
    # A researcher asks by pseudonym only: the clinic's code is "not found" for them.
    ("GET", "/patients/{code}"): {**_expect(READERS, 200, 303), "researcher": 404},
    ("GET", "/admin/users"): _expect({"admin"}, 200, 303),
    ("POST", "/admin/users"): _expect({"admin"}, 201, 303),
    ("GET", "/admin/audit"): _expect({"admin"}, 200, 303),
    ("GET", "/research"): _expect(RESEARCH, 200, 303),
    ("GET", "/research/export"): _expect(RESEARCH, 200, 303),
    ("GET", "/meta"): _expect(META, 200, 303),
    # A POST without a study table is refused on the page (422) for the roles that may run one.
    ("POST", "/meta"): _expect(META, 422, 303),
    ("GET", "/meta/plots/{job_id}"): _expect(META, 404, 303),  # no such plot job
    ("GET", "/prisma"): _expect(REVIEWS, 200, 303),
    # The matrix's database holds no review: the allowed roles get "no such review".
    ("GET", "/prisma/{review}"): _expect(REVIEWS, 404, 303),
    ("GET", "/prisma/{review}/download/{name}"): _expect(REVIEWS, 404, 303),
    ("GET", "/api/v1/patients"): _expect(READERS, 200, 401),
    ("GET", "/api/v1/patients/{code}"): {**_expect(READERS, 200, 401), "researcher": 404},
    # Record forms: clinicians of the patient's site; an empty form is refused field by field.
    ("GET", "/patients/new"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/new"): _expect(WRITERS, 422, 303),
    ("GET", "/patients/{code}/edit"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/{code}/edit"): _expect(WRITERS, 422, 303),
    ("GET", "/patients/{code}/assessments/new"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/{code}/assessments/new"): _expect(WRITERS, 422, 303),
    ("GET", "/patients/{code}/{kind}/new"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/{code}/{kind}/new"): _expect(WRITERS, 422, 303),
    # The audit trail holds names and free text: not for researchers.
    ("GET", "/patients/{code}/audit"): _expect(READERS - {"researcher"}, 200, 303),
    ("POST", "/api/v1/patients"): _expect(WRITERS, 422, 401),
    ("PUT", "/api/v1/patients/{code}"): _expect(WRITERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/assessments"): _expect(WRITERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/courses"): _expect(WRITERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/labs"): _expect(WRITERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/adverse-events"): _expect(WRITERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/therapies"): _expect(WRITERS, 422, 401),
    # Infusion days of course 1 of N001 (none recorded in the matrix's database: day 1 is
    # "not found" for the writers; an empty form or body is refused field by field).
    ("GET", f"{INFUSION}/new"): _expect(WRITERS, 200, 303),
    ("POST", f"{INFUSION}/new"): _expect(WRITERS, 422, 303),
    ("GET", f"{INFUSION}/{{day}}/edit"): _expect(WRITERS, 404, 303),
    ("POST", f"{INFUSION}/{{day}}/edit"): _expect(WRITERS, 404, 303),
    ("POST", f"{INFUSION}/{{day}}/delete"): _expect(WRITERS, 404, 303),
    ("GET", f"/api/v1{INFUSION}"): {**_expect(READERS, 200, 401), "researcher": 404},
    ("POST", f"/api/v1{INFUSION}"): _expect(WRITERS, 422, 401),
    ("PUT", f"/api/v1{INFUSION}/{{day}}"): _expect(WRITERS, 422, 401),
    ("DELETE", f"/api/v1{INFUSION}/{{day}}"): _expect(WRITERS, 422, 401),  # no version
    # Stored records (here N001's first course): edit and delete forms and API. Sent empty, an
    # edit names the missing fields and a deletion has no confirmation, reason or version (422).
    ("GET", "/patients/{code}/{kind:record_kind}/{record_id}/edit"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/{code}/{kind:record_kind}/{record_id}/edit"): _expect(WRITERS, 422, 303),
    ("GET", "/patients/{code}/{kind:record_kind}/{record_id}/delete"): _expect(WRITERS, 200, 303),
    ("POST", "/patients/{code}/{kind:record_kind}/{record_id}/delete"): _expect(WRITERS, 422, 303),
    ("GET", "/api/v1/patients/{code}/{kind:record_kind}"): _expect(WRITERS, 200, 401),
    ("GET", "/api/v1/patients/{code}/{kind:record_kind}/{record_id}"): _expect(WRITERS, 200, 401),
    ("PUT", "/api/v1/patients/{code}/{kind:record_kind}/{record_id}"): _expect(WRITERS, 422, 401),
    ("DELETE", "/api/v1/patients/{code}/{kind:record_kind}/{record_id}"): _expect(
        WRITERS, 422, 401
    ),
    # The dose planner: clinicians and pharmacists plan; only pharmacists override or approve.
    # Sent empty, an override names no code (422) and N001's default plan is blocked (422).
    ("GET", "/planner"): _expect(PLANNERS, 200, 303),
    ("GET", "/patients/{code}/plan"): _expect(PLANNERS, 200, 303),
    ("POST", "/patients/{code}/plan/overrides"): _expect({"pharmacist"}, 422, 303),
    ("POST", "/patients/{code}/plan/approve"): _expect({"pharmacist"}, 422, 303),
    ("GET", "/patients/{code}/plan/sheet"): _expect(PLANNERS, 409, 303),  # not approved
    ("POST", "/api/v1/plans"): _expect(PLANNERS, 422, 401),  # no body: nothing to plan
    ("POST", "/api/v1/patients/{code}/plan"): _expect(PLANNERS, 422, 401),
    ("POST", "/api/v1/patients/{code}/plan/overrides"): _expect({"pharmacist"}, 422, 401),
    ("POST", "/api/v1/patients/{code}/plan/approve"): _expect({"pharmacist"}, 422, 401),
    # Report downloads (issue 14): the patient report for whoever may see the patient (a
    # researcher asks by pseudonym); the infusion sheet needs a day (422 without one); the
    # matrix's database holds no trial outcomes and no review (404 for the allowed roles).
    ("GET", "/patients/{code}/report"): {**_expect(READERS, 200, 303), "researcher": 404},
    ("GET", "/patients/{code}/plan/report"): _expect(PLANNERS, 422, 303),
    ("GET", "/research/report"): _expect(RESEARCH, 404, 303),
    ("GET", "/prisma/{review}/report"): _expect(REVIEWS, 404, 303),
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # Screening (issue 13): reviewers and admin; the matrix's database holds no review, so the
    # allowed roles reach the page and are told "no such review" (404), or that the form is
    # incomplete (422); everyone else is refused before that (403).
    ("GET", "/reviews/{review}/screen"): _expect(SCREENERS, 404, 303),
    ("POST", "/reviews/{review}/screen"): _expect(SCREENERS, 422, 303),
    ("GET", "/reviews/{review}/undo"): _expect(SCREENERS, 404, 303),
    ("GET", "/reviews/{review}/conflicts"): _expect(SCREENERS, 404, 303),
    ("POST", "/reviews/{review}/conflicts"): _expect(SCREENERS, 422, 303),
    # Review projects: an empty protocol form is refused field by field (422); no review is
    # stored, so its page and import jobs are "not found"; an upload without a file is 422.
    ("GET", "/reviews"): _expect(REVIEWS, 200, 303),
    ("GET", "/reviews/new"): _expect(REVIEWS, 200, 303),
    ("POST", "/reviews/new"): _expect(REVIEWS, 422, 303),
    ("GET", "/reviews/{review}"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/imports"): _expect(REVIEWS, 422, 303),
    ("GET", "/reviews/{review}/imports/{job_id}"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/duplicates"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/duplicates/find"): _expect(REVIEWS, 404, 303),
    # merging nothing / undoing no merge is refused on the page (the review does not exist)
    ("POST", "/reviews/{review}/duplicates/merge"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/duplicates/unmerge"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/searches"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/searches/{job_id}"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/extraction"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/extraction/studies"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/extraction/{study_id}"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/extraction/{study_id}"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/extraction/{study_id}/reconcile"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/extraction/{study_id}/reconcile"): _expect(REVIEWS, 404, 303),
    ("GET", "/reviews/{review}/appraisal/{study_id}"): _expect(REVIEWS, 404, 303),
    # a preview only judges the posted answers (nothing stored, no review needed): 200
    ("POST", "/reviews/{review}/appraisal/{study_id}/preview"): _expect(REVIEWS, 200, 303),
    ("POST", "/reviews/{review}/appraisal/{study_id}"): _expect(REVIEWS, 422, 303),  # no tool
    ("GET", "/reviews/{review}/grade"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/grade/preview"): _expect(REVIEWS, 200, 303),
    ("POST", "/reviews/{review}/grade"): _expect(REVIEWS, 404, 303),
    ("POST", "/reviews/{review}/records/{record_id}/fulltext"): _expect(REVIEWS, 422, 303),
    ("GET", "/reviews/{review}/records/{record_id}/fulltext"): _expect(REVIEWS, 404, 303),
}


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the application answers, including included routers."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x keeps routers nested
            for context in route.effective_route_contexts():
                methods = getattr(context.original_route, "methods", None) or {"?"}
                found |= {(method, context.path) for method in methods}
        elif isinstance(route, Mount):
            found.add(("GET", route.path))
        elif isinstance(route, APIRoute | Route):
            found |= {(method, route.path) for method in route.methods or {"?"}}
        else:
            found.add(("?", repr(route)))
    return {(m, p) for m, p in found if m != "HEAD"}


def test_every_route_is_in_the_matrix(web_app: FastAPI) -> None:
    assert route_table(web_app) == set(EXPECTED), "add new routes to EXPECTED with their rights"


def _first_course_id(store: Store) -> int:
    """The row id of N001's first course (the record the matrix's edit routes ask for)."""
    with store.session() as session:
        found = session.scalar(
            select(func.min(CourseRow.id))
            .join(PatientRow, CourseRow.patient_id == PatientRow.id)
            .where(PatientRow.code == "N001")
        )
    assert found is not None
    return int(found)


def _url(path: str, record_id: int) -> str:
    """A route's path for patient N001: its first course (by row id for the edit routes, by
    number 1 for the infusion-day routes) and infusion day 1."""
    url = path.replace("{code}", "N001").replace("{number}", "1").replace("{day}", "1")
    url = url.replace("{kind}", "courses")
    url = url.replace("{kind:record_kind}", "courses")
    return url.replace("{record_id}", str(record_id))


def _call(client: TestClient, method: str, path: str, csrf: str | None, record_id: int) -> int:
    url = _url(path, record_id)
    url = url.replace("{review}", "no-review").replace("{name}", "prisma.svg")
    if path == "/static":
        url = "/static/app.css"
    if method == "GET":
        return client.get(url, follow_redirects=False).status_code
    if path == "/login":
        login_csrf = csrf_of(client.get("/login").text)
        data = {"name": "ada", "password": "correct horse battery staple", "csrf_token": login_csrf}
    elif path == "/admin/users":
        data = {"name": f"new-{uuid.uuid4().hex[:8]}", "role": "reviewer", "csrf_token": csrf or ""}
    else:
        data = {"csrf_token": csrf or ""}
    return client.request(method, url, data=data, follow_redirects=False).status_code


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "signed-out")
def test_role_matrix_with_session_cookie(
    role: str | None, clinic_store: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    record_id = _first_course_id(clinic_store)
    failures = []
    # Signing in again after the routes that end the session (sign-in, sign-out); those last.
    ending = {("POST", "/login"), ("POST", "/logout")}
    order = sorted(EXPECTED, key=lambda route: (route in ending, route))
    name = None if role is None else ROLES_USERS[role][0]
    client = client_for(name)
    for method, path in order:
        if (method, path) in ending:
            client = client_for(name)
        csrf = None
        if role is not None:
            csrf = csrf_of(client.get("/admin/users").text)  # the page, or the 403 page
        status = _call(client, method, path, csrf, record_id)
        expected = EXPECTED[(method, path)][role]
        if status != expected:
            failures.append(f"{method} {path} as {role}: {status}, expected {expected}")
    assert not failures, failures


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-token")
def test_role_matrix_with_api_token(
    role: str | None, clinic_store: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    client = client_for(None)
    headers = {}
    if role is not None:
        headers["Authorization"] = "Bearer " + create_token(
            clinic_store, "test", ROLES_USERS[role][0]
        )
    record_id = _first_course_id(clinic_store)
    for (method, path), expected in EXPECTED.items():
        if not path.startswith(("/api/v1/patients", "/api/v1/plans")):
            continue
        status = client.request(method, _url(path, record_id), headers=headers).status_code
        assert status == expected[role], f"{method} {path} as {role}: {status}"


def test_unknown_token_is_refused(client_for: Callable[[str | None], TestClient]) -> None:
    client = client_for(None)
    bad = client.get("/api/v1/patients", headers={"Authorization": "Bearer myo_not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


# The same routes for a patient of the other site (S001, SOUTH): 404 like an unknown code.
OTHER_SITE = {
    "admin": 200,
    "clinician": 404,
    "pharmacist": 404,
    "researcher": 404,
    "reviewer": 403,
}


@pytest.mark.parametrize("role", list(OTHER_SITE))
def test_patient_of_another_site_matrix(
    role: str, client_for: Callable[[str | None], TestClient]
) -> None:
    client = client_for(ROLES_USERS[role][0])
    for path in ("/patients/S001", "/api/v1/patients/S001"):
        status = client.get(path, follow_redirects=False).status_code
        assert status == OTHER_SITE[role], f"{path} as {role}: {status}"
