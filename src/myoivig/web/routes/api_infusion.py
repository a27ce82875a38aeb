"""JSON API for the infusion days of a patient's course: the same `clinic.recording` and
`clinic.service` functions as the forms and the patient page. Clinicians of the patient's site
write; every patient reader reads (researchers by pseudonym, without who gave the infusion or
notes); 404 for a patient the caller may not see or change, or a course that is not recorded."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from myoivig.accounts.roles import READS_PATIENTS, Role
from myoivig.clinic import recording
from myoivig.clinic.recording import RecordRejectedError, StaleEditError
from myoivig.clinic.service import course_infusion_days
from myoivig.domain import records as r
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.routes.api_records import (
    REJECTED,
    STALE,
    _rejected,
    _split,
    stale_answer,
    version_required,
)

router = APIRouter(tags=["infusion days"])
Writer = Annotated[Caller, Depends(require(Role.CLINICIAN))]
Reader = Annotated[Caller, Depends(require(*sorted(READS_PATIENTS)))]
PATH = "/patients/{code}/courses/{number}/infusion-days"
FIXED = ("patient_code", "course_number")
DAY_BODY = Body(
    description="The InfusionDay fields ("
    + ", ".join(n for n in r.InfusionDay.model_fields if n not in FIXED)
    + '). `rate_steps`: [{"rate", "unit": "ml_per_kg_min" | "ml_per_h", "minutes"}]; '
    '`reactions`: [{"type", "ctcae_grade": 1-5, "action": "slowed" | "paused" | "stopped" | '
    '"premedication"}]. Add `"confirm": true` to keep values flagged as needing confirmation',
    examples=[{}],
)


def _missing(error: RecordNotFoundError) -> JSONResponse:
    return JSONResponse({"detail": str(error).replace("with code ", "")}, status_code=404)


def _body(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    body, confirm = _split(data)
    for name in FIXED:
        body.pop(name, None)
    return body, confirm


@router.get(PATH)
def api_infusion_days(caller: Reader, session: ReadSession, code: str, number: int) -> Response:
    """The recorded infusion days of one course, each with the `version` an edit is sent with."""
    try:
        days = course_infusion_days(session, caller.viewer, code, number)
    except RecordNotFoundError as error:
        return _missing(error)
    # answered here, with the read session open (see tests/web/test_web_session_release.py)
    items = [{**day.model_dump(mode="json"), "version": version} for day, version in days]
    return JSONResponse({"items": items})


@router.post(PATH, status_code=201, responses=REJECTED)
def api_add_infusion_day(
    request: Request,
    caller: Writer,
    code: str,
    number: int,
    data: Annotated[dict[str, Any], DAY_BODY],
) -> Any:
    """Records one infusion day of the course (lot, dose, rate steps given, reactions)."""
    body, confirm = _body(data)
    try:
        day = recording.add_infusion_day(
            store_of(request), caller.viewer, code, number, body, confirm
        )
    except RecordNotFoundError as error:
        return _missing(error)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return JSONResponse({**day.model_dump(mode="json"), "version": 1}, status_code=201)


@router.put(PATH + "/{day}", responses={**REJECTED, **STALE})
def api_update_infusion_day(
    request: Request,
    caller: Writer,
    code: str,
    number: int,
    day: int,
    data: Annotated[dict[str, Any], DAY_BODY],
) -> Any:
    """Replaces the day's values if nobody saved it since `version` (the day number is its key)."""
    body, confirm = _body(data)
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        return version_required(f"patient {code} course {number} infusion day {day}", version)
    body.pop("day_number", None)
    try:
        saved, new_version = recording.update_infusion_day(
            store_of(request), caller.viewer, code, number, day, body, version, confirm
        )
    except RecordNotFoundError as error:
        return _missing(error)
    except StaleEditError as stale:
        return stale_answer(stale)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return {**saved.model_dump(mode="json"), "version": new_version}


@router.delete(
    PATH + "/{day}", status_code=204, responses=STALE, response_class=Response, response_model=None
)
def api_delete_infusion_day(
    request: Request,
    caller: Writer,
    code: str,
    number: int,
    day: int,
    version: Annotated[int, Query(ge=1, description="the version you read")],
) -> Any:
    """Removes a day recorded in error, if nobody changed it since `version` (audited)."""
    try:
        recording.delete_infusion_day(store_of(request), caller.viewer, code, number, day, version)
    except RecordNotFoundError as error:
        return _missing(error)
    except StaleEditError as stale:
        return stale_answer(stale)
    return Response(status_code=204)
