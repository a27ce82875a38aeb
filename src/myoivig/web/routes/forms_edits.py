"""Edit and delete forms for stored assessments, courses, labs, adverse events and concurrent
therapies (clinicians of the patient's site). Each handler reads the form and calls
`clinic.recording`; a stale edit comes back (409) with everything typed and a table of your
value / now stored / when you opened it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.clinic import recording
from myoivig.clinic.record_fields import opened_values
from myoivig.clinic.recording import RecordRejectedError, StaleEditError, StoredRecord
from myoivig.domain import records as r
from myoivig.store.repository import RecordNotFoundError
from myoivig.web import (
    forms,
    paths,  # noqa: F401 - registers {kind:record_kind}
)
from myoivig.web.auth import Caller, ReadSession, store_of
from myoivig.web.routes.forms_records import (
    FLAT_FORMS,
    Writer,
    assessment_page,
    field_errors,
    flat_page,
    no_such_patient,
    posted_fields,
)
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)


def _version(posted: dict[str, str]) -> int:
    return int(posted["version"]) if posted.get("version", "").isdigit() else -1


def _title(kind: str, code: str) -> str:
    return f"Edit {FLAT_FORMS[kind][0].lower()} of {code}"


def _edit_page(
    request: Request,
    caller: Caller,
    code: str,
    kind: str,
    record_id: int,
    values: dict[str, str],
    *,
    version: int,
    opened: str,
    problem: RecordRejectedError | None = None,
    stale: StaleEditError | None = None,
    status: int = 200,
) -> Response:
    action = f"/patients/{code}/{kind}/{record_id}/edit"
    if kind == "assessments":
        where = forms.assessment_record(values)[1]
        return assessment_page(
            request,
            caller,
            code,
            values,
            field_errors(problem, where) if problem else None,
            bool(problem and problem.confirmable),
            status,
            edit=(record_id, version, opened),
            stale=stale,
        )
    return flat_page(
        request,
        caller,
        title=_title(kind, code),
        action=action,
        inputs=FLAT_FORMS[kind][1],
        values=values,
        code=code,
        problem=problem,
        stale=stale,
        version=stale.current_version if stale else version,
        opened=opened,
        status=status,
    )


def _form_values(kind: str, stored: StoredRecord) -> dict[str, str]:
    if isinstance(stored.record, r.Assessment):
        return forms.assessment_values(stored.record)
    return forms.flat_values(stored.record, FLAT_FORMS[kind][1])


@router.get("/patients/{code}/{kind:record_kind}/{record_id}/edit")
def edit_record_form(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: str, record_id: int
) -> Response:
    try:
        stored = recording.stored_record(session, caller.viewer, code, kind, record_id)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return _edit_page(
        request,
        caller,
        code,
        kind,
        record_id,
        _form_values(kind, stored),
        version=stored.version,
        opened=json.dumps(stored.fields),
    )


def _record_data(kind: str, posted: dict[str, str]) -> dict[str, Any]:
    if kind == "assessments":
        return forms.assessment_record(posted)[0]
    return forms.flat_record(posted, FLAT_FORMS[kind][1])


@router.post("/patients/{code}/{kind:record_kind}/{record_id}/edit")
async def update_record(
    request: Request, caller: Writer, code: str, kind: str, record_id: int
) -> Response:
    if kind not in recording.KINDS:
        return no_such_patient(request, caller, code)
    posted = await posted_fields(request)
    version, opened = _version(posted), posted.get("opened", "")
    try:
        recording.update_record(
            store_of(request),
            caller.viewer,
            code,
            kind,
            record_id,
            _record_data(kind, posted),
            version,
            confirmed=posted.get("confirm") == "yes",
            opened=opened_values(opened),
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except (StaleEditError, RecordRejectedError) as refused:
        # The form again with what was typed: what changed meanwhile (409), or why (422).
        stale = refused if isinstance(refused, StaleEditError) else None
        problem = None if isinstance(refused, StaleEditError) else refused
        return _edit_page(
            request,
            caller,
            code,
            kind,
            record_id,
            posted,
            version=version,
            opened=opened,
            stale=stale,
            problem=problem,
            status=409 if stale else 422,
        )
    return RedirectResponse(f"/patients/{code}", status_code=303)


def _delete_page(
    request: Request,
    caller: Caller,
    code: str,
    stored: StoredRecord,
    *,
    reason: str = "",
    error: str = "",
    stale: StaleEditError | None = None,
    status: int = 200,
) -> Response:
    kind = recording.KINDS[stored.kind]
    return templates.TemplateResponse(
        request,
        "delete_form.html",
        {
            "caller": caller,
            "code": code,
            "title": f"Delete {kind.noun} of {code}",
            "action": f"/patients/{code}/{stored.kind}/{stored.record_id}/delete",
            "fields": stored.fields,
            "version": stored.version,
            "opened": json.dumps(stored.fields),
            "reason": reason,
            "error": error,
            "stale": stale,
            "min_reason": recording.MIN_REASON,
        },
        status_code=status,
    )


@router.get("/patients/{code}/{kind:record_kind}/{record_id}/delete")
def delete_record_form(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: str, record_id: int
) -> Response:
    try:
        stored = recording.stored_record(session, caller.viewer, code, kind, record_id)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return _delete_page(request, caller, code, stored)


@router.post("/patients/{code}/{kind:record_kind}/{record_id}/delete")
async def delete_record(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: str, record_id: int
) -> Response:
    posted = await posted_fields(request)
    reason = posted.get("reason", "")
    try:
        stored = recording.stored_record(session, caller.viewer, code, kind, record_id)
        if posted.get("confirm") != "yes":
            return _delete_page(
                request,
                caller,
                code,
                stored,
                reason=reason,
                error="Tick the confirmation to delete this record.",
                status=422,
            )
        recording.delete_record(
            store_of(request),
            caller.viewer,
            code,
            kind,
            record_id,
            _version(posted),
            reason,
            opened=opened_values(posted.get("opened")),
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except StaleEditError as stale:
        # Shown again as stored now: deleting is confirmed against what the user sees.
        return _delete_page(request, caller, code, stored, reason=reason, stale=stale, status=409)
    except RecordRejectedError as problem:
        message = "; ".join(f"{p.field}: {p.message}" for p in problem.problems)
        return _delete_page(request, caller, code, stored, reason=reason, error=message, status=422)
    return RedirectResponse(f"/patients/{code}", status_code=303)
