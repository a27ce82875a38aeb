"""Dose planner pages: stand-alone and for a stored patient, pharmacist overrides and approval,
and the printable infusion sheet of an approved plan.

Routes read the form, call `protocol.service` and render; whether a plan is blocked, which
overrides apply and whether it is approved is decided there. Writes (overrides, approval) run
in one audited unit of work with the signed-in user as the actor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import APPROVES_PLANS, PLANS_DOSES
from myoivig.domain.vocab import AntibodyResult, Diagnosis, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.inputs import PlanFields
from myoivig.protocol.regimens import CourseKind, load_regimens
from myoivig.protocol.safety import BLOCKING, Risk
from myoivig.protocol.service import (
    ApprovalError,
    Override,
    PatientPlan,
    PlanOutcome,
    approve_entered,
    override_entered,
    plan_entered,
    review_entered,
)
from myoivig.protocol.settings import Rounding
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, require, store_of
from myoivig.web.routes.patients import no_such_patient
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Planner = Annotated[Caller, Depends(require(*sorted(PLANS_DOSES)))]
Pharmacist = Annotated[Caller, Depends(require(*sorted(APPROVES_PLANS)))]


def _choices() -> dict[str, Any]:
    catalogue = load_catalogue()
    return {
        "products": sorted((p.key, p.name) for p in catalogue.products.values()),
        "regimens": sorted(load_regimens().regimens),
        "risks": [r.value for r in Risk],
        "roundings": [r.value for r in Rounding],
        "course_kinds": [k.value for k in CourseKind],
        "diagnoses": [d.value for d in Diagnosis] + ["unknown"],
        "sexes": [s.value for s in Sex],
        "antibody_results": [a.value for a in AntibodyResult],
    }


def _page(
    request: Request,
    caller: Caller,
    fields: PlanFields | None,
    outcome: PlanOutcome | None,
    reviewed: PatientPlan | None = None,
    code: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    outcome = reviewed.outcome if reviewed is not None else outcome
    blocking = outcome.blocking_alerts if outcome else ()
    overridden = {o.code: o for o in reviewed.overrides} if reviewed else {}
    others = [a for a in outcome.alerts if a not in blocking] if outcome else []
    query = urlencode(fields.pairs()) if fields else ""
    return templates.TemplateResponse(
        request,
        "planner.html",
        {
            "caller": caller,
            "code": code,
            "fields": fields or PlanFields(),
            "pairs": fields.pairs() if fields else [],
            "query": query,
            "outcome": outcome,
            "reviewed": reviewed,
            "blocking": blocking,
            "overridden": overridden,
            "others": others,
            "block_severities": {s.value for s in BLOCKING},
            "may_approve": caller.user.role in APPROVES_PLANS,
            "error": error,
            **_choices(),
        },
        status_code=status,
    )


@router.get("/planner")
def standalone_planner(request: Request, caller: Planner) -> Response:
    """The stand-alone planner: the form, and the plan once the form was sent."""
    if "regimen" not in request.query_params:
        return _page(request, caller, None, None)
    try:
        fields = PlanFields.from_form(request.query_params.multi_items())
        outcome = plan_entered(fields)
    except ProtocolError as problem:
        return _page(request, caller, None, None, error=str(problem), status=422)
    return _page(request, caller, fields, outcome)


@router.get("/patients/{code}/plan")
def patient_planner(request: Request, caller: Planner, code: str) -> Response:
    """A stored patient's next course with the overrides and approval recorded for it."""
    try:
        fields = PlanFields.from_form(request.query_params.multi_items()).dated()
        reviewed = review_entered(store_of(request), code, fields, caller.viewer)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except ProtocolError as problem:
        return _page(request, caller, None, None, code=code, error=str(problem), status=422)
    return _page(request, caller, fields, None, reviewed, code)


def _back(code: str, fields: PlanFields) -> RedirectResponse:
    return RedirectResponse(f"/patients/{code}/plan?{urlencode(fields.pairs())}", status_code=303)


@router.post("/patients/{code}/plan/overrides")
async def record_overrides(request: Request, caller: Pharmacist, code: str) -> Response:
    """A pharmacist overrides blocking alerts, each with a reason (one audited unit of work)."""
    form = await request.form()
    try:
        fields = PlanFields.from_form((k, str(v)) for k, v in form.multi_items())
        overrides = tuple(
            Override(str(c), str(form.get(f"reason_{c}", "")).strip())
            for c in form.getlist("override_code")
        )
        override_entered(
            store_of(request), code, fields, overrides, caller.user.name, caller.viewer
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except ProtocolError as problem:
        return _rejected(request, caller, code, form, str(problem))
    return _back(code, fields)


def _rejected(request: Request, caller: Caller, code: str, form: Any, message: str) -> Response:
    """The plan again, with the refusal (nothing was written)."""
    try:
        fields = PlanFields.from_form((k, str(v)) for k, v in form.multi_items())
        reviewed = review_entered(store_of(request), code, fields, caller.viewer)
    except ProtocolError:
        return _page(request, caller, None, None, code=code, error=message, status=422)
    return _page(request, caller, fields, None, reviewed, code, error=message, status=422)


@router.post("/patients/{code}/plan/approve")
async def approve(request: Request, caller: Pharmacist, code: str) -> Response:
    """A pharmacist marks a plan ready to give; refused while any blocking alert is open."""
    form = await request.form()
    try:
        fields = PlanFields.from_form((k, str(v)) for k, v in form.multi_items())
        approve_entered(store_of(request), code, fields, caller.user.name, caller.viewer)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except (ApprovalError, ProtocolError) as problem:
        return _rejected(request, caller, code, form, str(problem))
    return _back(code, fields)


def clock_times(start: str, minutes: list[float]) -> list[str]:
    """Clock times of the rate steps for an infusion starting at `start` (HH:MM)."""
    hours, mins = (int(x) for x in start.split(":"))
    day_start = datetime(2000, 1, 1, hours, mins)
    return [(day_start + timedelta(minutes=m)).strftime("%H:%M") for m in minutes]


@router.get("/patients/{code}/plan/sheet")
def infusion_sheet(
    request: Request,
    caller: Planner,
    code: str,
    clock: Annotated[str, Query(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:00",
) -> Response:
    """The nurse's printable sheet, only for a plan a pharmacist approved and nothing blocks."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "clock"]
    try:
        fields = PlanFields.from_form(pairs)
        reviewed = review_entered(store_of(request), code, fields, caller.viewer)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except ProtocolError as problem:
        return _page(request, caller, None, None, code=code, error=str(problem), status=422)
    if not reviewed.approved:
        why = (
            "it is blocked: " + ", ".join(reviewed.outcome.blocking_codes)
            if not reviewed.ready_to_give
            else "no pharmacist has marked this plan ready to give"
        )
        return _page(
            request,
            caller,
            fields,
            None,
            reviewed,
            code,
            error=f"No infusion sheet: {why}.",
            status=409,
        )
    infusion = reviewed.outcome.plan.infusion or ()
    clocks = {day.day: clock_times(clock, [s.start_min for s in day.steps]) for day in infusion}
    ends = {day.day: clock_times(clock, [day.duration_min])[0] for day in infusion}
    start = reviewed.outcome.plan.request.start_date
    dates = {
        n: (start + timedelta(days=n - 1)).isoformat() if start else None
        for n in range(1, reviewed.outcome.plan.days + 1)
    }
    return templates.TemplateResponse(
        request,
        "infusion_sheet.html",
        {
            "caller": caller,
            "code": code,
            "reviewed": reviewed,
            "plan": reviewed.outcome.plan,
            "clock": clock,
            "clocks": clocks,
            "ends": ends,
            "dates": dates,
            "query": urlencode(fields.pairs()),
            "pairs": fields.pairs(),
        },
    )
