"""The infusion sheet for one day of a stored patient's next course.

The plan is the protocol service's (`plan_patient`); a blocked plan gives no sheet unless each
blocking code has an override recorded for this very plan (`with_recorded_overrides`), and the
sheet then prints every override with who made it, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from myoivig.domain.synthetic import SYNTHETIC_LABEL, is_synthetic
from myoivig.protocol.report import alert_dict
from myoivig.protocol.safety import SRC_BOXED
from myoivig.protocol.service import (
    PatientPlanOptions,
    PlanOutcome,
    plan_patient,
    recorded_overrides,
    with_recorded_overrides,
)
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings
from myoivig.reports.patient import words
from myoivig.reports.render import ReportError
from myoivig.store import Store
from myoivig.store.repository import load_dossier

# Bedside checks. Each names where it comes from; none adds a clinical number of its own.
BEDSIDE_CHECKS: tuple[tuple[str, str], ...] = (
    ("Patient identity confirmed against this sheet (name, date of birth, code)", "local policy"),
    (
        "Product, vial sizes and vial count match this sheet; lot number and expiry written "
        "below for every vial",
        "IVIg product labels: traceability of name and batch",
    ),
    ("Patient adequately hydrated before the infusion", SRC_BOXED),
    (
        "Vital signs (blood pressure, pulse, temperature) recorded before the start and at each "
        "rate change",
        SRC_BOXED,
    ),
    (
        "Pump set to the rate of each step at the time shown; rate not raised early",
        "this plan's rate schedule (product label titration)",
    ),
    (
        "Watched for headache, chills, chest pain, breathlessness, limb swelling or pain; "
        "infusion slowed or stopped and the prescriber called if they occur",
        SRC_BOXED,
    ),
)
SIGNATURES = (
    "Prescriber (plan reviewed)",
    "Nurse preparing the infusion",
    "Second checker",
    "Nurse giving the infusion",
)


class SheetBlocked(Exception):
    """The plan is blocked and not every blocking code has a recorded override (exit 3)."""

    def __init__(self, outcome: PlanOutcome) -> None:
        self.outcome = outcome
        codes = ", ".join(outcome.blocking_codes)
        self.explanation = (
            f"The plan is blocked by {codes} and no override is recorded for this plan. Resolve "
            "the alert, or a pharmacist records an override with a reason for this very plan. "
            "No sheet was made"
        )
        super().__init__(
            f"the plan is blocked by {codes} and no override is recorded for this plan; "
            "resolve the alert or record an override with `myoivig plan CODE --override "
            'CODE="reason"`. No sheet was written'
        )


@dataclass(frozen=True)
class SheetRequest:
    code: str
    course: int | None  # None: the next course (the only one a sheet is printed for)
    day: int
    options: PatientPlanOptions = field(default_factory=PatientPlanOptions)
    settings: ProtocolSettings = DEFAULT_SETTINGS


def _override_rows(store: Store, outcome: PlanOutcome) -> list[dict[str, str]]:
    recorded = {
        row["code"]: row
        for row in recorded_overrides(store, outcome.patient_code or "")
        if row["plan_hash"] == outcome.plan_hash
    }
    rows = []
    for o in outcome.overrides:
        row = recorded.get(o.code, {})
        rows.append(
            {
                "code": o.code,
                "severity": o.severity,
                "message": o.message,
                "reason": o.reason,
                "actor": row.get("actor", "not recorded"),
                "at": row.get("at", "")[:16].replace("T", " "),
            }
        )
    return rows


def infusion_context(
    store: Store, request: SheetRequest, today: date | None = None
) -> dict[str, Any]:
    """The sheet's content; raises SheetBlocked, ReportError or RecordNotFoundError."""
    today = today or date.today()
    with store.session() as session:
        dossier = load_dossier(session, request.code)
    numbers = [c.course_number for c in dossier.courses]
    next_course = max(numbers, default=0) + 1
    if request.course is not None and request.course != next_course:
        raise ReportError(
            f"course {request.course}: an infusion sheet is printed for the next course of "
            f"{request.code}, which is course {next_course} "
            f"({len(numbers)} course(s) recorded)"
        )
    outcome = plan_patient(
        store, request.code, request.options, settings=request.settings, today=today
    )
    outcome = with_recorded_overrides(store, outcome)
    if outcome.blocked:
        raise SheetBlocked(outcome)
    plan = outcome.plan
    if plan.dose is None or plan.infusion is None or plan.product is None or plan.weight is None:
        missing = ", ".join(plan.missing) or "dose or rate schedule"
        raise ReportError(f"the plan has no dose and rate schedule (missing: {missing})")
    if not 1 <= request.day <= plan.days:
        raise ReportError(f"day {request.day}: this course has days 1 to {plan.days}")
    dose_day = plan.dose.per_day[request.day - 1]
    rate_day = plan.infusion[request.day - 1]
    patient = dossier.patient
    overridden = {o.code for o in outcome.overrides}
    alerts = [alert_dict(a) for a in outcome.alerts if a.code not in overridden]
    checks = [{"text": text, "source": source} for text, source in BEDSIDE_CHECKS]
    checks += [
        {"text": f"Alert read and acted on: {a['message']}", "source": a["source"]}
        for a in alerts
        if a["severity"] == "warning"
    ]
    return {
        "title": f"Infusion sheet {request.code} course {next_course} day {request.day}",
        "generated": today.isoformat(),
        "synthetic_banner": SYNTHETIC_LABEL if is_synthetic(patient) else "",
        "patient": {
            "code": patient.code,
            "synthetic": is_synthetic(patient),
            "synthetic_label": SYNTHETIC_LABEL,
            "sex": patient.sex.value,
            "diagnosis": words(patient.diagnosis),
            "height_cm": plan.request.height_cm,
        },
        "course": next_course,
        "course_kind": plan.request.course.value,
        "day": request.day,
        "days": plan.days,
        "regimen": plan.regimen.name,
        "regimen_source": plan.regimen.source,
        "product": plan.product.name,
        "concentration_g_per_ml": plan.product.concentration_g_per_ml.value,
        "weight": {
            "actual_kg": plan.weight.actual_kg,
            "dosing_kg": plan.weight.dosing_kg,
            "basis": words(plan.weight.basis),
            "reason": plan.weight.reason,
            "source": outcome.weight_source or "entered",
        },
        "course_dose_g": plan.dose.dose_g,
        "g_per_kg": plan.dose.g_per_kg,
        "day_dose_g": dose_day.dose_g,
        "vials": [{"size_g": s, "count": n} for s, n in dose_day.vials.counts],
        "vials_total_g": dose_day.vials.total_g,
        "waste_g": dose_day.waste_g,
        "volume_ml": dose_day.volume_ml,
        "max_rate": rate_day.max_rate_ml_per_kg_min,
        "max_rate_basis": words(rate_day.max_rate_basis),
        "steps": [
            {
                "start": s.start,
                "rate": s.rate_ml_per_kg_min,
                "pump": s.pump_ml_per_h,
                "minutes": s.duration_min,
                "volume": s.volume_ml,
            }
            for s in rate_day.steps
        ],
        "duration_h": rate_day.duration_h,
        "uncertain_figures": list(rate_day.uncertain_figures),
        "overrides": _override_rows(store, outcome),
        "alerts": alerts,
        "checks": checks,
        "signatures": SIGNATURES,
    }
