"""Plain-data (JSON-ready) views of plans; keys are snake_case and stable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from myoivig.protocol.advice import Advice
from myoivig.protocol.improvement import Judgement
from myoivig.protocol.planner import CoursePlan
from myoivig.protocol.safety import BLOCKING, Alert

if TYPE_CHECKING:
    from myoivig.protocol.service import PlanOutcome


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def alert_dict(alert: Alert) -> dict[str, str]:
    return {
        "severity": alert.severity.value,
        "code": alert.code,
        "message": alert.message,
        "source": alert.source,
    }


def plan_dict(plan: CoursePlan) -> dict[str, Any]:
    """The course plan as the `dose` and `plan` commands print it with --json."""
    w, dose = plan.weight, plan.dose
    return {
        "regimen": plan.regimen.key,
        "regimen_name": plan.regimen.name,
        "regimen_source": plan.regimen.source,
        "course": plan.request.course.value,
        "product": plan.product.key if plan.product else None,
        "product_name": plan.product.name if plan.product else None,
        "days": plan.days,
        "actual_weight_kg": _r(w.actual_kg, 1) if w else plan.request.weight_kg,
        "height_cm": plan.request.height_cm,
        "bmi": _r(w.bmi, 1) if w else None,
        "ideal_body_weight_kg": _r(w.ideal_kg, 1) if w else None,
        "adjusted_body_weight_kg": _r(w.adjusted_kg, 1) if w else None,
        "dosing_weight_kg": _r(w.dosing_kg, 1) if w else None,
        "weight_basis": w.basis.value if w else None,
        "weight_reason": w.reason if w else None,
        "prescribed_g": _r(dose.prescribed_g) if dose else None,
        "dose_g": _r(dose.dose_g) if dose else None,
        "dose_g_per_kg": _r(dose.g_per_kg, 3) if dose else None,
        "rounding": dose.rounding.value if dose else None,
        "daily_dose_g": [_r(d) for d in dose.daily_dose_g] if dose else None,
        "vials": (
            [
                {
                    "day": d.day,
                    "vials": [{"size_g": s, "count": n} for s, n in d.vials.counts],
                    "total_g": _r(d.vials.total_g),
                    "waste_g": _r(d.waste_g),
                    "volume_ml": _r(d.volume_ml, 1),
                }
                for d in dose.per_day
            ]
            if dose
            else None
        ),
        "rate_profile": plan.rate_profile,
        "infusion": (
            [
                {
                    "day": day.day,
                    "volume_ml": _r(day.volume_ml, 1),
                    "max_rate_ml_per_kg_min": day.max_rate_ml_per_kg_min,
                    "max_rate_basis": day.max_rate_basis,
                    "steps_basis": day.steps_basis,
                    "duration_h": _r(day.duration_h),
                    "steps": [
                        {
                            "start": s.start,
                            "rate_ml_per_kg_min": _r(s.rate_ml_per_kg_min, 4),
                            "pump_ml_per_h": _r(s.pump_ml_per_h, 1),
                            "duration_min": _r(s.duration_min, 1),
                            "volume_ml": _r(s.volume_ml, 1),
                        }
                        for s in day.steps
                    ],
                }
                for day in plan.infusion
            ]
            if plan.infusion is not None
            else None
        ),
        "thrombosis_risk": plan.safety.thrombosis_risk,
        "renal_risk": plan.safety.renal_risk,
        "blocked": plan.blocked,
        "blocking_codes": [a.code for a in plan.alerts if a.severity in BLOCKING],
        "missing": list(plan.missing),
        "alerts": [alert_dict(a) for a in plan.alerts],
    }


def outcome_dict(outcome: PlanOutcome) -> dict[str, Any]:
    """A plan outcome as `dose --json` / `plan --json` print it: the computed plan, every alert,
    the overrides, and whether it is blocked (a blocked plan is not ready to give)."""
    data = plan_dict(outcome.plan)
    data["alerts"] = [alert_dict(a) for a in outcome.alerts]
    data["blocked"] = outcome.blocked
    data["blocking_codes"] = list(outcome.blocking_codes)
    data["ready_to_give"] = not outcome.blocked
    data["overrides"] = [
        {"code": o.code, "severity": o.severity, "reason": o.reason} for o in outcome.overrides
    ]
    if outcome.patient_code is not None:
        data["weight_source"] = outcome.weight_source
    data["diagnosis"] = outcome.diagnosis.value if outcome.diagnosis else None
    return data


def _judgement(j: Judgement | None) -> dict[str, str] | None:
    return None if j is None else {"change": j.change.value, "reason": j.reason}


def advice_dict(advice: Advice) -> dict[str, Any]:
    """Continuation advice as `advise --json` prints it."""
    return {
        "action": advice.action.value,
        "rule": advice.rule,
        "message": advice.message,
        "source": advice.source,
        "courses_given": advice.courses_given,
        "improved": advice.improved,
        "flags": list(advice.flags),
        "flag_messages": list(advice.flag_messages),
        "evidence": [
            {
                "assessment_date": e.assessment_date.isoformat(),
                "courses_before": e.courses_before,
                "vs_baseline": _judgement(e.vs_baseline),
                "vs_previous": _judgement(e.vs_previous),
            }
            for e in advice.evidence
        ],
    }
