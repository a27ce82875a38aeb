"""The audit trail of one patient (who, when, what, old and new values), from the patient page.

Read-only: the trail is append-only and no route changes or deletes its rows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from myoivig.accounts.roles import Role
from myoivig.clinic.recording import audit_integrity, patient_audit_trail
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, ReadSession, require
from myoivig.web.routes.forms_records import no_such_patient
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
# Researchers are left out: old and new values carry names and free text.
AuditReader = Annotated[Caller, Depends(require(Role.ADMIN, Role.CLINICIAN, Role.PHARMACIST))]
PER_PAGE = 50


@router.get("/patients/{code}/audit")
def patient_audit(
    request: Request,
    caller: AuditReader,
    session: ReadSession,
    code: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    try:
        found = patient_audit_trail(
            session, caller.viewer, code, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code, "see")
    return templates.TemplateResponse(
        request,
        "patient_audit.html",
        {
            "caller": caller,
            "chain": audit_integrity(session),
            "code": code,
            "found": found,
            "page": page,
            "pages": max(1, -(-found.total // PER_PAGE)),
        },
    )
