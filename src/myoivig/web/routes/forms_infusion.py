"""Infusion-day forms for clinicians: record a day of a course (rate-step grid, reactions),
edit it against the version it was opened at, or remove a day recorded in error. Each handler
reads the form, calls `clinic.recording`, and shows the field-named messages next to the inputs
(everything typed is kept)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import Role
from myoivig.clinic import recording
from myoivig.clinic.recording import RecordRejectedError, StaleEditError
from myoivig.store.repository import RecordNotFoundError
from myoivig.web import forms
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.routes.forms_records import field_errors, no_such_patient, posted_fields
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Writer = Annotated[Caller, Depends(require(Role.CLINICIAN))]
BASE = "/patients/{code}/courses/{number}/infusion-days"


def _page(
    request: Request,
    caller: Caller,
    code: str,
    number: int,
    *,
    action: str,
    values: dict[str, str],
    day: int | None = None,
    where: dict[str, str] | None = None,
    problem: RecordRejectedError | None = None,
    stale: StaleEditError | None = None,
    version: int | None = None,
    status: int = 200,
) -> Response:
    """The form, with the course it belongs to and the maximum rate that applies."""
    with store_of(request).session() as session:
        try:
            about = recording.course_for_infusion(session, caller.viewer, code, number)
        except RecordNotFoundError:
            return no_such_patient(request, caller, code)
    title = (
        f"Infusion day {day} of course {number}" if day else f"Record infusion day, course {number}"
    )
    return templates.TemplateResponse(
        request,
        "infusion_day_form.html",
        {
            "caller": caller,
            "code": code,
            "title": f"{title} for {code}",
            "action": action,
            "about": about,
            "layout": forms.InfusionDayLayout(
                step_rows=forms.grid_rows(values, "step", forms.STEP_ROWS),
                reaction_rows=forms.grid_rows(values, "reaction", forms.REACTION_ROWS),
            ),
            "values": values,
            "day": day,
            "errors": field_errors(problem, where) if problem else {},
            "confirmable": bool(problem and problem.confirmable),
            "stale": stale,
            "version": version,
        },
        status_code=status,
    )


@router.get(BASE + "/new")
def new_infusion_day_form(
    request: Request, caller: Writer, session: ReadSession, code: str, number: int
) -> Response:
    try:
        about = recording.course_for_infusion(session, caller.viewer, code, number)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    free = [d for d in range(1, about.course.days + 1) if d not in about.recorded_days]
    values: dict[str, str] = {"given_by": caller.user.name}
    if free:
        values["day_number"] = str(free[0])
    return _page(request, caller, code, number, action=f"{_base(code, number)}/new", values=values)


def _base(code: str, number: int) -> str:
    return BASE.format(code=code, number=number)


@router.post(BASE + "/new")
async def create_infusion_day(request: Request, caller: Writer, code: str, number: int) -> Response:
    posted = await posted_fields(request)
    data, where = forms.infusion_day_record(posted)
    try:
        recording.add_infusion_day(
            store_of(request),
            caller.viewer,
            code,
            number,
            data,
            confirmed=posted.get("confirm") == "yes",
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except RecordRejectedError as problem:
        return _page(
            request,
            caller,
            code,
            number,
            action=f"{_base(code, number)}/new",
            values=posted,
            where=where,
            problem=problem,
            status=422,
        )
    return RedirectResponse(f"/patients/{code}#course-{number}", status_code=303)


@router.get(BASE + "/{day}/edit")
def edit_infusion_day_form(
    request: Request, caller: Writer, session: ReadSession, code: str, number: int, day: int
) -> Response:
    try:
        stored, version = recording.infusion_day_for_edit(session, caller.viewer, code, number, day)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return _page(
        request,
        caller,
        code,
        number,
        action=f"{_base(code, number)}/{day}/edit",
        values=forms.infusion_day_values(stored),
        day=day,
        version=version,
    )


def _version(posted: dict[str, str]) -> int:
    return int(posted["version"]) if posted.get("version", "").isdigit() else -1


@router.post(BASE + "/{day}/edit")
async def update_infusion_day(
    request: Request, caller: Writer, code: str, number: int, day: int
) -> Response:
    posted = await posted_fields(request)
    data, where = forms.infusion_day_record(posted)
    data.pop("day_number", None)  # the day's key: fixed by the address
    page: dict[str, Any] = {"action": f"{_base(code, number)}/{day}/edit", "values": posted}
    try:
        recording.update_infusion_day(
            store_of(request),
            caller.viewer,
            code,
            number,
            day,
            data,
            _version(posted),
            confirmed=posted.get("confirm") == "yes",
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except StaleEditError as stale:
        # Shown again with everything typed, against the version now stored.
        return _page(
            request,
            caller,
            code,
            number,
            **page,
            day=day,
            stale=stale,
            version=stale.current_version,
            status=409,
        )
    except RecordRejectedError as problem:
        return _page(
            request,
            caller,
            code,
            number,
            **page,
            day=day,
            where=where,
            problem=problem,
            version=_version(posted),
            status=422,
        )
    return RedirectResponse(f"/patients/{code}#course-{number}", status_code=303)


@router.post(BASE + "/{day}/delete")
async def delete_infusion_day(
    request: Request, caller: Writer, code: str, number: int, day: int
) -> Response:
    posted = await posted_fields(request)
    try:
        recording.delete_infusion_day(
            store_of(request), caller.viewer, code, number, day, _version(posted)
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except StaleEditError as stale:
        with store_of(request).session() as session:
            stored, version = recording.infusion_day_for_edit(
                session, caller.viewer, code, number, day
            )
        return _page(
            request,
            caller,
            code,
            number,
            action=f"{_base(code, number)}/{day}/edit",
            values=forms.infusion_day_values(stored),
            day=day,
            stale=stale,
            version=version,
            status=409,
        )
    return RedirectResponse(f"/patients/{code}#course-{number}", status_code=303)
