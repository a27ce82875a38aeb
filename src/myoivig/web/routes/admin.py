"""Administration pages: the user list, and adding a user (an audited write by the admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from myoivig.accounts.roles import Role
from myoivig.accounts.service import AccountError, add_user, generate_password, list_users
from myoivig.clinic.recording import (
    AuditFilterError,
    audit_integrity,
    audit_patient_records,
    audit_window,
)
from myoivig.store.audit_log import audit_entries, audited_tables
from myoivig.store.repository import list_sites
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]


def _users_page(
    request: Request,
    caller: Caller,
    status: int = 200,
    error: str | None = None,
    created: tuple[str, str] | None = None,
) -> Response:
    with store_of(request).session() as session:
        users = list_users(session)
        sites = list_sites(session)
    return templates.TemplateResponse(
        request,
        "admin_users.html",
        {
            "caller": caller,
            "users": users,
            "sites": sites,
            "roles": [r.value for r in Role],
            "error": error,
            "created": created,
        },
        status_code=status,
    )


@router.get("/admin/users")
def users_page(request: Request, caller: Admin) -> Response:
    return _users_page(request, caller)


@router.post("/admin/users")
def create_user(
    request: Request,
    caller: Admin,
    name: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form(max_length=16)],
    site: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Adds a user with a generated password, shown once on the page that answers; the user
    must change it at their first sign-in."""
    password = generate_password()
    try:
        user = add_user(
            store_of(request),
            caller.user.name,
            name.strip(),
            role,
            list(site or []),
            password,
            must_change_password=True,
        )
    except AccountError as error:
        return _users_page(request, caller, 422, str(error))
    return _users_page(request, caller, 201, created=(user.name, password))


AUDIT_PAGE = 50


@router.get("/admin/audit")
def audit_page(
    request: Request,
    caller: Admin,
    session: ReadSession,
    actor: Annotated[str, Query(max_length=128)] = "",
    table: Annotated[str, Query(max_length=64)] = "",
    patient: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The whole audit trail for admins, newest first, filtered by who, table, patient and
    date range (UTC days, both included)."""
    error = None
    try:
        window = audit_window(since, until)
        records = audit_patient_records(session, patient)
    except AuditFilterError as problem:
        error, window, records = str(problem), (None, None), None
    found = audit_entries(
        session,
        actor=actor or None,
        table_name=table or None,
        since=window[0],
        before=window[1],
        records=records,
        limit=AUDIT_PAGE,
        offset=(page - 1) * AUDIT_PAGE,
    )
    return templates.TemplateResponse(
        request,
        "admin_audit.html",
        {
            "caller": caller,
            "chain": audit_integrity(session),
            "found": found,
            "tables": audited_tables(session),
            "actor": actor,
            "table": table,
            "patient": patient,
            "since": since,
            "until": until,
            "error": error,
            "page": page,
            "pages": max(1, -(-found.total // AUDIT_PAGE)),
        },
        status_code=422 if error else 200,
    )
