"""JSON API for recording clinic data (clinicians of the patient's site): the same
`clinic.recording` functions as the forms. A refused record answers 422 with one entry per
field; a stale edit answers 409 with what changed; a patient the caller may not change is 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from myoivig.accounts.roles import Role
from myoivig.clinic import recording
from myoivig.clinic.recording import FieldProblem, RecordRejectedError, StaleEditError
from myoivig.domain import records as r
from myoivig.store.repository import RecordNotFoundError
from myoivig.web import paths  # noqa: F401 - registers {kind:record_kind}
from myoivig.web.auth import Caller, ReadSession, require, store_of

router = APIRouter(tags=["records"])
Writer = Annotated[Caller, Depends(require(Role.CLINICIAN))]

REJECTED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Not saved: `errors` lists each field, its message and whether the "
        'value is merely implausible (send again with `"confirm": true` to keep it)',
        "content": {
            "application/json": {
                "example": {
                    "detail": "patient N001 course 3: weight_kg: ...",
                    "confirmable": True,
                    "errors": [
                        {"field": "weight_kg", "message": "...", "needs_confirmation": True}
                    ],
                }
            }
        },
    },
    404: {"description": "No such patient, or one the caller may not change"},
}
STALE: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Someone else saved the record after `version`: nothing was written; "
        "`changes` lists field, their (stored) value and yours, `version` the current one",
    }
}


def _body(record: type[r.Record], extra: str = "") -> Any:
    fields = ", ".join(n for n in record.model_fields if n != "patient_code")
    return Body(
        description=f'The {record.__name__} fields ({fields}){extra}; add `"confirm": true` '
        "to keep values the plausibility rules flag as implausible",
        examples=[{}],
    )


def _rejected(problem: RecordRejectedError) -> JSONResponse:
    return JSONResponse(
        {
            "detail": str(problem),
            "confirmable": problem.confirmable,
            "errors": [
                {"field": p.field, "message": p.message, "needs_confirmation": p.needs_confirmation}
                for p in problem.problems
            ],
        },
        status_code=422,
    )


def _missing(code: str) -> JSONResponse:
    return JSONResponse({"detail": f"no patient {code!r}"}, status_code=404)


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    body = dict(data)
    confirm = body.pop("confirm", False) is True
    return body, confirm


@router.post("/patients", status_code=201, responses=REJECTED)
def api_create_patient(
    request: Request,
    caller: Writer,
    data: Annotated[dict[str, Any], _body(r.Patient, " including code and site_code")],
) -> Any:
    """Records a new patient at one of the caller's sites."""
    body, confirm = _split(data)
    try:
        patient = recording.create_patient(store_of(request), caller.viewer, body, confirm)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return JSONResponse({"patient": patient.model_dump(mode="json"), "version": 1}, 201)


@router.put("/patients/{code}", responses={**REJECTED, **STALE})
def api_update_patient(
    request: Request,
    caller: Writer,
    code: str,
    data: Annotated[
        dict[str, Any],
        _body(r.Patient, " and `version` as read (optionally `opened`: the values as read)"),
    ],
) -> Any:
    """Replaces the patient's facts (not the code or site) if nobody saved since `version`."""
    body, confirm = _split(data)
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        return version_required(f"patient {code}", version)
    body.pop("code", None)
    body.pop("site_code", None)
    opened = body.pop("opened", None)
    try:
        patient, new_version = recording.update_patient(
            store_of(request),
            caller.viewer,
            code,
            body,
            version,
            confirm,
            opened if isinstance(opened, dict) else None,
        )
    except RecordNotFoundError:
        return _missing(code)
    except StaleEditError as stale:
        return stale_answer(stale)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return {"patient": patient.model_dump(mode="json"), "version": new_version}


def version_required(record: str, version: Any) -> JSONResponse:
    """422 for an edit sent without the version it was read at."""
    return _rejected(
        RecordRejectedError(
            record, [FieldProblem("version", f"the version you read is required, got {version!r}")]
        )
    )


def stale_answer(stale: StaleEditError) -> JSONResponse:
    """409: nothing written; what changed (field, their stored value, yours, and the value when
    the form was opened where known), every value stored now, and the version."""
    return JSONResponse(
        {
            "detail": str(stale),
            "version": stale.current_version,
            "current": stale.current,
            "changes": [
                {"field": c.field, "theirs": c.theirs, "yours": c.yours}
                | ({"opened": c.opened} if c.opened_known else {})
                for c in stale.changes
            ],
        },
        status_code=409,
    )


def _add(
    request: Request,
    caller: Caller,
    code: str,
    data: dict[str, Any],
    save: Callable[..., r.Record],
) -> Any:
    body, confirm = _split(data)
    body.pop("patient_code", None)
    try:
        saved = save(store_of(request), caller.viewer, code, body, confirm)
    except RecordNotFoundError:
        return _missing(code)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return JSONResponse(saved.model_dump(mode="json"), status_code=201)


# One POST route per kind, each with its own body description in the OpenAPI document.
ADDS: tuple[tuple[str, type[r.Record], Callable[..., r.Record], str], ...] = (
    (
        "assessments",
        r.Assessment,
        recording.add_assessment,
        "Records an assessment (myometry and grades per group and side, tasks, core set, enzymes).",
    ),
    ("courses", r.Course, recording.add_course, "Records an IVIg course."),
    ("labs", r.LabResult, recording.add_lab, "Records a laboratory result."),
    ("adverse-events", r.AdverseEvent, recording.add_adverse_event, "Records an adverse event."),
    (
        "therapies",
        r.Therapy,
        recording.add_therapy,
        "Records a concurrent immunotherapy (drug, prednisolone-equivalent dose in mg/day, "
        "start and stop dates or the timing when they are not known).",
    ),
)


def _add_route(kind: str, model: type[r.Record], save: Callable[..., r.Record], doc: str) -> None:
    def add(request: Request, caller: Writer, code: str, data: dict[str, Any]) -> Any:
        return _add(request, caller, code, data, save)

    # The body's description names this kind's fields (set as an object: the module's
    # annotations are strings, and `model` is not a name FastAPI could resolve in them).
    add.__annotations__["data"] = Annotated[dict[str, Any], _body(model)]
    router.post(
        f"/patients/{{code}}/{kind}",
        status_code=201,
        responses=REJECTED,
        name=f"api_add_{kind.replace('-', '_')}",
        description=doc,
    )(add)


for _kind, _model, _save, _doc in ADDS:
    _add_route(_kind, _model, _save, _doc)


# --- stored records of every kind: read with version, edit, delete ---------------------------

KIND_DOC = "assessments, courses, labs, adverse-events or therapies"
Kind = Annotated[str, Path(description=f"The kind of record: {KIND_DOC}")]


def _stored(found: recording.StoredRecord) -> dict[str, Any]:
    return {
        "id": found.record_id,
        "version": found.version,
        "record": found.record.model_dump(mode="json"),
    }


def _required_version(record: str, body: dict[str, Any]) -> int | JSONResponse:
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        return _rejected(
            RecordRejectedError(
                record,
                [FieldProblem("version", f"the version you read is required, got {version!r}")],
            )
        )
    return version


@router.get("/patients/{code}/{kind:record_kind}", responses={404: REJECTED[404]})
def api_stored_records(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: Kind
) -> Response:
    """The patient's stored records of one kind (`kind`: assessments, courses, labs,
    adverse-events or therapies), each with the `id` and `version` an edit or delete needs."""
    try:
        found = recording.stored_records(session, caller.viewer, code, kind)
    except RecordNotFoundError:
        return _missing(code)
    # answered here, with the read session open (see tests/web/test_web_session_release.py)
    return JSONResponse(jsonable_encoder({"items": [_stored(s) for s in found]}))


@router.get("/patients/{code}/{kind:record_kind}/{record_id}", responses={404: REJECTED[404]})
def api_stored_record(
    request: Request, caller: Writer, session: ReadSession, code: str, kind: Kind, record_id: int
) -> Response:
    """One stored record with its `id` and `version`."""
    try:
        found = recording.stored_record(session, caller.viewer, code, kind, record_id)
    except RecordNotFoundError:
        return JSONResponse({"detail": f"no {kind} record {record_id} of {code!r}"}, 404)
    return JSONResponse(jsonable_encoder(_stored(found)))


@router.put("/patients/{code}/{kind:record_kind}/{record_id}", responses={**REJECTED, **STALE})
def api_update_record(
    request: Request,
    caller: Writer,
    code: str,
    kind: Kind,
    record_id: int,
    data: Annotated[
        dict[str, Any],
        Body(
            description=f"The record's fields ({KIND_DOC}: as for POST) and `version` as read; "
            'optionally `"opened"`: the flat values as read, so a 409 lists them too; '
            '`"confirm": true` keeps implausible values',
            examples=[{}],
        ),
    ],
) -> Any:
    """Replaces a stored record if nobody saved it since `version` (409 otherwise, listing each
    field: stored now, yours, and as opened when `opened` was sent)."""
    body, confirm = _split(data)
    body.pop("patient_code", None)
    version = _required_version(f"patient {code} {kind} {record_id}", body)
    if isinstance(version, JSONResponse):
        return version
    opened = body.pop("opened", None)
    try:
        saved = recording.update_record(
            store_of(request),
            caller.viewer,
            code,
            kind,
            record_id,
            body,
            version,
            confirm,
            opened if isinstance(opened, dict) else None,
        )
    except RecordNotFoundError:
        return JSONResponse({"detail": f"no {kind} record {record_id} of {code!r}"}, 404)
    except StaleEditError as stale:
        return stale_answer(stale)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return _stored(saved)


@router.delete("/patients/{code}/{kind:record_kind}/{record_id}", responses={**REJECTED, **STALE})
def api_delete_record(
    request: Request,
    caller: Writer,
    code: str,
    kind: Kind,
    record_id: int,
    data: Annotated[
        dict[str, Any],
        Body(
            description="`version` as read and `reason` (at least 5 characters; kept in the "
            "audit trail with the deleted values)",
            examples=[{"version": 1, "reason": "entered for the wrong patient"}],
        ),
    ] = {},  # noqa: B006 - FastAPI reads the default, never mutates it
) -> Any:
    """Deletes a stored record (409 if it changed since `version`; 422 without a reason)."""
    body = dict(data)
    record = f"patient {code} {kind} {record_id}"
    version = _required_version(record, body)
    if isinstance(version, JSONResponse):
        return version
    reason = body.get("reason")
    try:
        recording.delete_record(
            store_of(request),
            caller.viewer,
            code,
            kind,
            record_id,
            version,
            reason if isinstance(reason, str) else "",
        )
    except RecordNotFoundError:
        return JSONResponse({"detail": f"no {kind} record {record_id} of {code!r}"}, 404)
    except StaleEditError as stale:
        return stale_answer(stale)
    except RecordRejectedError as problem:
        return _rejected(problem)
    return {"deleted": {"kind": kind, "id": record_id}}
