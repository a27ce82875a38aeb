"""JSON API for dose plans: stand-alone, for a stored patient, pharmacist overrides and approval.

Every answer carries `blocked`, `blocking_codes` and `ready_to_give`; a blocked plan is never
ready to give. The same `protocol.service` functions serve the CLI (`dose`, `plan`) and pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from myoivig.accounts.roles import APPROVES_PLANS, PLANS_DOSES
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.inputs import PlanFields
from myoivig.protocol.report import outcome_dict
from myoivig.protocol.service import (
    ApprovalError,
    Override,
    approve_entered,
    override_entered,
    patient_plan_dict,
    plan_entered,
    review_entered,
)
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, require, store_of

router = APIRouter(tags=["plans"])
Planner = Annotated[Caller, Depends(require(*sorted(PLANS_DOSES)))]
Pharmacist = Annotated[Caller, Depends(require(*sorted(APPROVES_PLANS)))]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, description="A blocking alert code of this plan")
    reason: str = Field(max_length=2000, description="Why it is safe to go on")


class OverridesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: PlanFields = Field(default_factory=PlanFields)
    overrides: list[OverrideIn] = Field(min_length=1)


def _unusable(error: ProtocolError) -> HTTPException:
    return HTTPException(status_code=422, detail=f"{error}. Nothing was planned or recorded.")


def _missing(code: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no patient {code!r}")


@router.post("/plans")
def api_plan(caller: Planner, fields: Annotated[PlanFields, Body()]) -> dict[str, Any]:
    """Plan one course from entered facts (nothing is stored; overrides need a patient)."""
    try:
        outcome = plan_entered(fields)
    except ProtocolError as error:
        raise _unusable(error) from error
    return outcome_dict(outcome)


@router.post("/patients/{code}/plan")
def api_patient_plan(
    request: Request, caller: Planner, code: str, fields: Annotated[PlanFields, Body()]
) -> dict[str, Any]:
    """A stored patient's next course with the overrides and approval recorded for this plan."""
    try:
        reviewed = review_entered(store_of(request), code, fields, caller.viewer)
    except RecordNotFoundError as error:
        raise _missing(code) from error
    except ProtocolError as error:
        raise _unusable(error) from error
    return patient_plan_dict(reviewed)


@router.post("/patients/{code}/plan/overrides")
def api_override(
    request: Request, caller: Pharmacist, code: str, body: Annotated[OverridesIn, Body()]
) -> dict[str, Any]:
    """A pharmacist overrides blocking alerts with reasons (one audited unit of work)."""
    fields = body.plan
    try:
        reviewed = override_entered(
            store_of(request),
            code,
            fields,
            tuple(Override(o.code, o.reason.strip()) for o in body.overrides),
            caller.user.name,
            caller.viewer,
        )
    except RecordNotFoundError as error:
        raise _missing(code) from error
    except ProtocolError as error:
        raise _unusable(error) from error
    return patient_plan_dict(reviewed)


@router.post("/patients/{code}/plan/approve")
def api_approve(
    request: Request, caller: Pharmacist, code: str, fields: Annotated[PlanFields, Body()]
) -> dict[str, Any]:
    """A pharmacist marks the plan ready to give; 409 while a blocking alert is open."""
    try:
        reviewed = approve_entered(store_of(request), code, fields, caller.user.name, caller.viewer)
    except RecordNotFoundError as error:
        raise _missing(code) from error
    except ApprovalError as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    except ProtocolError as error:
        raise _unusable(error) from error
    return patient_plan_dict(reviewed)
