"""Record forms for clinicians: a new patient, editing one, and adding assessments, courses,
labs, adverse events and concurrent therapies. Each handler reads the form, calls
`clinic.recording`, and shows the domain's field-named messages next to the inputs (the form
keeps everything typed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import Role
from myoivig.clinic import recording
from myoivig.clinic.record_fields import opened_values, record_fields
from myoivig.clinic.recording import RecordRejectedError, StaleEditError
from myoivig.store.repository import RecordNotFoundError, list_sites
from myoivig.web import forms
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Writer = Annotated[Caller, Depends(require(Role.CLINICIAN))]

FLAT_FORMS: dict[str, tuple[str, tuple[forms.Input, ...], Callable[..., Any]]] = {
    "courses": ("IVIg course", forms.COURSE_INPUTS, recording.add_course),
    "adverse-events": ("Adverse event", forms.ADVERSE_EVENT_INPUTS, recording.add_adverse_event),
    "labs": ("Laboratory result", forms.LAB_INPUTS, recording.add_lab),
    "therapies": ("Concurrent therapy", forms.THERAPY_INPUTS, recording.add_therapy),
}


async def posted_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def field_errors(
    problem: RecordRejectedError, where: dict[str, str] | None = None
) -> dict[str, str]:
    """Messages by input name (the record field, or the input it came from)."""
    shown: dict[str, str] = {}
    for item in problem.problems:
        name = (where or {}).get(item.field, item.field)
        shown[name] = f"{shown[name]}; {item.message}" if name in shown else item.message
    return shown


def no_such_patient(request: Request, caller: Caller, code: str, verb: str = "change") -> Response:
    """404 alike for an unknown patient and one of another site (existence does not leak)."""
    page = {"title": "No such patient", "message": f"There is no patient {code!r} you may {verb}."}
    return templates.TemplateResponse(
        request, "error.html", {"caller": caller, **page}, status_code=404
    )


def flat_page(
    request: Request,
    caller: Caller,
    *,
    title: str,
    action: str,
    inputs: tuple[forms.Input, ...],
    values: dict[str, Any],
    code: str | None = None,
    problem: RecordRejectedError | None = None,
    stale: StaleEditError | None = None,
    version: int | None = None,
    opened: str = "",
    status: int = 200,
) -> Response:
    site_choices: tuple[tuple[str, str], ...] = ()
    if any(i.name == "site_code" for i in inputs):
        with store_of(request).session() as session:
            site_choices = tuple(
                (s.site_code, f"{s.site_code} · {s.name}")
                for s in list_sites(session)
                if s.site_code in caller.user.site_codes
            )
    return templates.TemplateResponse(
        request,
        "record_form.html",
        {
            "caller": caller,
            "title": title,
            "action": action,
            "inputs": inputs,
            "values": values,
            "code": code,
            "errors": field_errors(problem) if problem else {},
            "confirmable": bool(problem and problem.confirmable),
            "stale": stale,
            "version": version,
            "opened": json.dumps(stale.current) if stale else opened,
            "site_choices": site_choices,
        },
        status_code=status,
    )


# --- patients --------------------------------------------------------------------------------


@router.get("/patients/new")
def new_patient_form(request: Request, caller: Writer) -> Response:
    sites = sorted(caller.user.site_codes)
    return flat_page(
        request,
        caller,
        title="New patient",
        action="/patients/new",
        inputs=forms.PATIENT_INPUTS,
        values={"site_code": sites[0] if len(sites) == 1 else ""},
    )


@router.post("/patients/new")
async def create_patient(request: Request, caller: Writer) -> Response:
    posted = await posted_fields(request)
    try:
        patient = recording.create_patient(
            store_of(request),
            caller.viewer,
            forms.flat_record(posted, forms.PATIENT_INPUTS),
            confirmed=posted.get("confirm") == "yes",
        )
    except RecordRejectedError as problem:
        return flat_page(
            request,
            caller,
            title="New patient",
            action="/patients/new",
            inputs=forms.PATIENT_INPUTS,
            values=posted,
            problem=problem,
            status=422,
        )
    return RedirectResponse(f"/patients/{patient.code}", status_code=303)


EDIT_INPUTS = tuple(i for i in forms.PATIENT_INPUTS if i.name not in {"code", "site_code"})


@router.get("/patients/{code}/edit")
def edit_patient_form(
    request: Request, caller: Writer, session: ReadSession, code: str
) -> Response:
    try:
        patient, version = recording.patient_for_edit(session, caller.viewer, code)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return flat_page(
        request,
        caller,
        title=f"Edit patient {code}",
        action=f"/patients/{code}/edit",
        inputs=EDIT_INPUTS,
        values=forms.flat_values(patient, EDIT_INPUTS),
        code=code,
        version=version,
        opened=json.dumps(record_fields(patient)),
    )


@router.post("/patients/{code}/edit")
async def update_patient(request: Request, caller: Writer, code: str) -> Response:
    posted = await posted_fields(request)
    version = int(posted["version"]) if posted.get("version", "").isdigit() else -1
    page: dict[str, Any] = {
        "title": f"Edit patient {code}",
        "action": f"/patients/{code}/edit",
        "inputs": EDIT_INPUTS,
        "values": posted,
        "code": code,
    }
    try:
        recording.update_patient(
            store_of(request),
            caller.viewer,
            code,
            forms.flat_record(posted, EDIT_INPUTS),
            version,
            confirmed=posted.get("confirm") == "yes",
            opened=opened_values(posted.get("opened")),
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except StaleEditError as stale:
        # Shown again with everything typed, against the version now stored: saving again
        # is a deliberate choice made after seeing the other person's values.
        return flat_page(
            request, caller, **page, stale=stale, version=stale.current_version, status=409
        )
    except RecordRejectedError as problem:
        return flat_page(
            request,
            caller,
            **page,
            problem=problem,
            version=version,
            opened=posted.get("opened", ""),
            status=422,
        )
    return RedirectResponse(f"/patients/{code}", status_code=303)


# --- assessments -----------------------------------------------------------------------------


def assessment_page(
    request: Request,
    caller: Caller,
    code: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    confirmable: bool = False,
    status: int = 200,
    *,
    edit: tuple[int, int, str] | None = None,
    stale: StaleEditError | None = None,
) -> Response:
    """The new-assessment form, or (with `edit` = record id, version, opened values) the edit
    form of a stored one."""
    record_id, version, opened = edit if edit else (None, None, "")
    return templates.TemplateResponse(
        request,
        "assessment_form.html",
        {
            "caller": caller,
            "code": code,
            "title": f"Edit assessment of {code}" if edit else f"Assessment for {code}",
            "action": (
                f"/patients/{code}/assessments/{record_id}/edit"
                if edit
                else f"/patients/{code}/assessments/new"
            ),
            "layout": forms.AssessmentLayout(groups=forms.groups_shown(values)),
            "values": values,
            "errors": errors or {},
            "confirmable": confirmable,
            "version": stale.current_version if stale else version,
            "opened": json.dumps(stale.current) if stale else opened,
            "stale": stale,
            # Next to each input the other writer changed: the value stored now.
            "stored_now": {
                forms.assessment_input(c.field): c.theirs
                for c in (stale.changes if stale else [])
                if c.changed_by_them
            },
        },
        status_code=status,
    )


@router.get("/patients/{code}/assessments/new")
def new_assessment_form(
    request: Request, caller: Writer, session: ReadSession, code: str
) -> Response:
    try:
        recording.patient_for_edit(session, caller.viewer, code)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return assessment_page(request, caller, code, {"phase": "run_in", "uln__ck": ""})


@router.post("/patients/{code}/assessments/new")
async def create_assessment(request: Request, caller: Writer, code: str) -> Response:
    posted = await posted_fields(request)
    data, where = forms.assessment_record(posted)
    try:
        recording.add_assessment(
            store_of(request),
            caller.viewer,
            code,
            {"assessor": caller.user.name, **data},
            confirmed=posted.get("confirm") == "yes",
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except RecordRejectedError as problem:
        return assessment_page(
            request, caller, code, posted, field_errors(problem, where), problem.confirmable, 422
        )
    return RedirectResponse(f"/patients/{code}", status_code=303)


# --- courses, labs, adverse events, concurrent therapies -------------------------------------


@router.get("/patients/{code}/{kind}/new")
def new_record_form(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: str
) -> Response:
    if kind not in FLAT_FORMS:
        return no_such_patient(request, caller, code)
    try:
        recording.patient_for_edit(session, caller.viewer, code)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    title, inputs, _ = FLAT_FORMS[kind]
    return flat_page(
        request,
        caller,
        title=f"{title} for {code}",
        action=f"/patients/{code}/{kind}/new",
        inputs=inputs,
        values={},
        code=code,
    )


@router.post("/patients/{code}/{kind}/new")
async def create_record(request: Request, caller: Writer, code: str, kind: str) -> Response:
    if kind not in FLAT_FORMS:
        return no_such_patient(request, caller, code)
    title, inputs, save = FLAT_FORMS[kind]
    posted = await posted_fields(request)
    try:
        save(
            store_of(request),
            caller.viewer,
            code,
            forms.flat_record(posted, inputs),
            confirmed=posted.get("confirm") == "yes",
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except RecordRejectedError as problem:
        return flat_page(
            request,
            caller,
            title=f"{title} for {code}",
            action=f"/patients/{code}/{kind}/new",
            inputs=inputs,
            values=posted,
            code=code,
            problem=problem,
            status=422,
        )
    return RedirectResponse(f"/patients/{code}", status_code=303)
