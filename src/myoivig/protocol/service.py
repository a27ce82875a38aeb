"""The planning application layer: one set of functions for the CLI, web pages and the API.

A plan with a blocking alert (`block`, or an unanswered `ask`) is returned with `blocked=True`
and its blocking codes; it must not be printed or exported as ready to give. A prescriber can
go on only by overriding each blocking code with a reason; for a stored patient every override
is written through the audited store with the actor, before the plan is handed back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date

from myoivig.domain.synthetic import is_synthetic
from myoivig.domain.vocab import Diagnosis
from myoivig.protocol.catalogue import Catalogue, load_catalogue
from myoivig.protocol.dossier import facts_from_dossier
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.planner import CoursePlan, PlanRequest, plan_course
from myoivig.protocol.regimens import CourseKind, RegimenBook, load_regimens
from myoivig.protocol.report import plan_dict
from myoivig.protocol.safety import BLOCKING, Alert, Risk, sort_alerts
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings
from myoivig.protocol.tables import PlanOverrideRow
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError, load_dossier
from myoivig.store.tables import PatientRow

# Words a reason must at least contain; a bare "ok" is not a documented decision.
MIN_REASON_CHARS = 5


class OverrideError(ProtocolError):
    """An override that cannot be accepted (no reason, or not a blocking code); a usage error."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"override {code!r}: {reason}")


@dataclass(frozen=True)
class Override:
    """A prescriber's decision to go on despite one blocking alert, and why."""

    code: str
    reason: str


@dataclass(frozen=True)
class AppliedOverride:
    code: str
    reason: str
    severity: str
    message: str


def parse_override(text: str) -> Override:
    """`CODE=REASON` (one option carries both, so a reason can never pair with the wrong code)."""
    code, sep, reason = text.partition("=")
    code = code.strip()
    if not code:
        raise OverrideError(text, 'expected CODE=REASON, e.g. iga_not_measured="anti-IgA ..."')
    if not sep or not reason.strip():
        raise OverrideError(code, 'has no reason; write --override CODE="why it is safe"')
    return Override(code, reason.strip())


@dataclass(frozen=True)
class PlanOutcome:
    """A plan with every alert, the overrides applied and whether it may be given."""

    plan: CoursePlan
    alerts: tuple[Alert, ...]  # plan alerts and record notices, most severe first
    overrides: tuple[AppliedOverride, ...] = ()
    patient_code: str | None = None
    weight_source: str | None = None
    diagnosis: Diagnosis | None = None
    synthetic: bool = False  # a generated demo patient (myoivig.domain.synthetic)

    @property
    def blocking_alerts(self) -> tuple[Alert, ...]:
        """Blocking alerts that no override covers."""
        done = {o.code for o in self.overrides}
        return tuple(a for a in self.alerts if a.severity in BLOCKING and a.code not in done)

    @property
    def blocking_codes(self) -> tuple[str, ...]:
        return tuple(a.code for a in self.blocking_alerts)

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_alerts)


def check_overrides(
    alerts: tuple[Alert, ...], overrides: tuple[Override, ...]
) -> tuple[AppliedOverride, ...]:
    """Each override must name a blocking alert of this plan, once, with a reason."""
    blocking = {a.code: a for a in alerts if a.severity in BLOCKING}
    applied: list[AppliedOverride] = []
    seen: set[str] = set()
    for override in overrides:
        if override.code in seen:
            raise OverrideError(override.code, "is given twice")
        seen.add(override.code)
        if len(override.reason.strip()) < MIN_REASON_CHARS:
            raise OverrideError(
                override.code,
                f"reason {override.reason!r} is too short to document a decision "
                f"(at least {MIN_REASON_CHARS} characters)",
            )
        alert = blocking.get(override.code)
        if alert is None:
            known = ", ".join(sorted(blocking)) or "none"
            raise OverrideError(
                override.code,
                f"is not a blocking alert of this plan (blocking codes: {known})",
            )
        applied.append(
            AppliedOverride(override.code, override.reason, alert.severity.value, alert.message)
        )
    return tuple(applied)


def plan_request(
    request: PlanRequest,
    overrides: tuple[Override, ...] = (),
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    catalogue: Catalogue | None = None,
    regimens: RegimenBook | None = None,
) -> PlanOutcome:
    """Plan a stand-alone request (no stored patient): overrides are checked, not recorded."""
    plan = plan_course(request, catalogue, regimens, settings)
    return PlanOutcome(
        plan=plan,
        alerts=plan.alerts,
        overrides=check_overrides(plan.alerts, overrides),
        diagnosis=request.diagnosis,
    )


@dataclass(frozen=True)
class PatientPlanOptions:
    """What a prescriber can choose or enter when planning a stored patient's next course."""

    regimen: str = "2g/kg"
    product: str | None = None
    course: CourseKind | None = None
    days: int | None = None
    extra_risks: frozenset[Risk] = frozenset()
    ruled_out: frozenset[Risk] = frozenset()
    weight_kg: float | None = None  # today's weight; default: the last recorded one
    height_cm: float | None = None  # today's height; default: the recorded one
    pre_pregnancy_weight_kg: float | None = None
    live_vaccine_given: date | None = None
    live_vaccine_due: date | None = None


def plan_hash(plan: CoursePlan) -> str:
    """SHA-256 of the plan's JSON (what the override was given for)."""
    data = plan_dict(plan)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def plan_summary(plan: CoursePlan) -> str:
    dose = f"{plan.dose.dose_g:g} g" if plan.dose else "no dose"
    product = plan.product.key if plan.product else "no product"
    return (
        f"{plan.regimen.key} {plan.request.course.value}, {product}, {dose} over {plan.days} "
        f"day(s), start {plan.request.start_date or 'not set'}"
    )


def plan_patient(
    store: Store,
    code: str,
    options: PatientPlanOptions = PatientPlanOptions(),
    overrides: tuple[Override, ...] = (),
    actor: str | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PlanOutcome:
    """Plan a stored patient's next course; overrides are written to the audit trail.

    Raises `RecordNotFoundError` for an unknown patient and `OverrideError` for a bad override;
    in both cases nothing is written. Overrides need an actor.
    """
    catalogue = load_catalogue()
    with store.session() as session:
        dossier = load_dossier(session, code)
    facts = facts_from_dossier(
        dossier,
        options.regimen,
        catalogue,
        product=options.product,
        course=options.course,
        days=options.days,
        extra_risks=options.extra_risks,
        today=today,
    )
    request = facts.request
    recorded_weight, recorded_height = request.weight_kg, request.height_cm
    request = replace(
        request,
        ruled_out=options.ruled_out,
        pre_pregnancy_weight_kg=options.pre_pregnancy_weight_kg,
        live_vaccine_given=options.live_vaccine_given,
        live_vaccine_due=options.live_vaccine_due,
    )
    weight_source = facts.weight_source
    if options.weight_kg is not None:
        request = replace(request, weight_kg=options.weight_kg, previous_weight_kg=recorded_weight)
        weight_source = "entered today"
    if options.height_cm is not None:
        request = replace(request, height_cm=options.height_cm, previous_height_cm=recorded_height)
    plan = plan_course(request, catalogue, load_regimens(), settings)
    alerts = sort_alerts([*plan.alerts, *facts.alerts])
    applied = check_overrides(alerts, overrides)
    if applied:
        if not actor or not actor.strip():
            raise OverrideError(applied[0].code, "an override needs the name of who makes it")
        _record_overrides(store, code, plan, applied, actor)
    return PlanOutcome(
        plan=replace(plan, alerts=alerts),
        alerts=alerts,
        overrides=applied,
        patient_code=code,
        weight_source=weight_source,
        diagnosis=dossier.patient.diagnosis,
        synthetic=is_synthetic(dossier.patient),
    )


def _record_overrides(
    store: Store, code: str, plan: CoursePlan, applied: tuple[AppliedOverride, ...], actor: str
) -> None:
    digest, summary = plan_hash(plan), plan_summary(plan)
    with store.unit_of_work(actor) as session:
        patient_id = session.query(PatientRow.id).filter(PatientRow.code == code).scalar()
        if patient_id is None:
            raise RecordNotFoundError(f"patient {code!r} not found")
        for override in applied:
            session.add(
                PlanOverrideRow(
                    patient_id=patient_id,
                    plan_hash=digest,
                    plan_summary=summary,
                    code=override.code,
                    severity=override.severity,
                    alert_message=override.message,
                    reason=override.reason,
                )
            )


def recorded_overrides(store: Store, code: str) -> list[dict[str, str]]:
    """The overrides on record for a patient, oldest first (for review and the audit view)."""
    with store.session() as session:
        rows = (
            session.query(PlanOverrideRow)
            .join(PatientRow, PatientRow.id == PlanOverrideRow.patient_id)
            .filter(PatientRow.code == code)
            .order_by(PlanOverrideRow.id)
            .all()
        )
        return [
            {
                "code": row.code,
                "reason": row.reason,
                "actor": row.updated_by,
                "at": row.created_at.isoformat(),
                "plan_hash": row.plan_hash,
                "plan_summary": row.plan_summary,
            }
            for row in rows
        ]
