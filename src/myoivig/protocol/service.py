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
from datetime import date, datetime
from typing import Any

from myoivig.clinic.derived_cache import DERIVED, dossier_digest
from myoivig.clinic.service import Viewer, load_patient
from myoivig.domain.records import PatientDossier
from myoivig.domain.synthetic import is_synthetic
from myoivig.domain.vocab import Diagnosis
from myoivig.protocol.advice import Advice
from myoivig.protocol.catalogue import Catalogue, load_catalogue
from myoivig.protocol.dossier import advise_dossier, facts_from_dossier
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.inputs import PlanFields
from myoivig.protocol.planner import CoursePlan, PlanRequest, plan_course
from myoivig.protocol.regimens import CourseKind, RegimenBook, load_regimens
from myoivig.protocol.report import outcome_dict, plan_dict
from myoivig.protocol.safety import BLOCKING, Alert, Risk, sort_alerts
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings
from myoivig.protocol.settings_file import load_settings
from myoivig.protocol.tables import PlanApprovalRow, PlanOverrideRow
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
    plan_hash: str | None = None  # stored patients: the digest overrides are recorded under

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
    """SHA-256 of the plan's JSON and its start date (what an override or approval was given
    for: the same figures and alerts for another course are another plan)."""
    data = {**plan_dict(plan), "start_date": plan.request.start_date}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def plan_summary(plan: CoursePlan) -> str:
    dose = f"{plan.dose.dose_g:g} g" if plan.dose else "no dose"
    product = plan.product.key if plan.product else "no product"
    return (
        f"{plan.regimen.key} {plan.request.course.value}, {product}, {dose} over {plan.days} "
        f"day(s), start {plan.request.start_date or 'not set'}"
    )


def _load(store: Store, code: str, viewer: Viewer | None) -> PatientDossier:
    """The stored dossier; with a viewer, only a patient they may see (else not found)."""
    with store.session() as session:
        if viewer is None:
            return load_dossier(session, code)
        if viewer.pseudonymised:
            raise RecordNotFoundError(f"no patient with code {code!r}")
        return load_patient(session, viewer, code)


def plan_dossier(
    dossier: PatientDossier,
    options: PatientPlanOptions = PatientPlanOptions(),
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PlanOutcome:
    """The next course of a patient whose dossier is at hand, without overrides."""
    catalogue = load_catalogue()
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
    final = replace(plan, alerts=alerts)
    return PlanOutcome(
        plan=final,
        alerts=alerts,
        patient_code=dossier.patient.code,
        weight_source=weight_source,
        diagnosis=dossier.patient.diagnosis,
        synthetic=is_synthetic(dossier.patient),
        plan_hash=plan_hash(final),  # the digest overrides and approvals are recorded under
    )


def plan_patient(
    store: Store,
    code: str,
    options: PatientPlanOptions = PatientPlanOptions(),
    overrides: tuple[Override, ...] = (),
    actor: str | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
    viewer: Viewer | None = None,
) -> PlanOutcome:
    """Plan a stored patient's next course; overrides are written to the audit trail.

    Raises `RecordNotFoundError` for an unknown patient (or one the viewer may not see) and
    `OverrideError` for a bad override; in both cases nothing is written. Overrides need an actor.
    """
    outcome = plan_dossier(_load(store, code, viewer), options, settings, today)
    applied = check_overrides(outcome.alerts, overrides)
    if applied:
        if not actor or not actor.strip():
            raise OverrideError(applied[0].code, "an override needs the name of who makes it")
        _record_overrides(store, code, outcome.plan, applied, actor)
    return replace(outcome, overrides=applied)


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


def with_recorded_overrides(store: Store, outcome: PlanOutcome) -> PlanOutcome:
    """The outcome with the overrides already on record for this very plan (same digest).

    A sheet printed later (by a nurse) may rely on a prescriber's recorded decision, but only
    for the plan it was made for: a changed dose, weight or product is a new plan.
    """
    if outcome.patient_code is None or outcome.plan_hash is None:
        return outcome
    blocking = {a.code: a for a in outcome.blocking_alerts}
    chosen: dict[str, dict[str, str]] = {}
    for row in recorded_overrides(store, outcome.patient_code):
        if row["plan_hash"] == outcome.plan_hash and row["code"] in blocking:
            chosen[row["code"]] = row  # the latest decision per code
    applied = tuple(
        AppliedOverride(code, row["reason"], blocking[code].severity.value, blocking[code].message)
        for code, row in chosen.items()
    )
    return replace(outcome, overrides=(*outcome.overrides, *applied))


# --- review, overrides and approval of a stored patient's plan (pages, API) ------------------


class ApprovalError(ProtocolError):
    """A plan that cannot be approved (still blocked); nothing is written."""


@dataclass(frozen=True)
class Decision:
    """A recorded override or approval: what, who and when."""

    code: str
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class PatientPlan:
    """A stored patient's plan with the decisions recorded for exactly this plan (same hash)."""

    outcome: PlanOutcome  # its overrides are the recorded ones
    plan_hash: str
    overrides: tuple[Decision, ...]
    approval: Decision | None

    @property
    def ready_to_give(self) -> bool:
        """No blocking alert is left uncovered by a recorded override."""
        return not self.outcome.blocked

    @property
    def approved(self) -> bool:
        """Ready, and marked ready by a pharmacist: only then is an infusion sheet printed."""
        return self.ready_to_give and self.approval is not None


def _decisions(store: Store, code: str, digest: str) -> tuple[list[Decision], Decision | None]:
    with store.session() as session:
        patient_id = session.query(PatientRow.id).filter(PatientRow.code == code).scalar()
        overrides = (
            session.query(PlanOverrideRow)
            .filter(PlanOverrideRow.patient_id == patient_id, PlanOverrideRow.plan_hash == digest)
            .order_by(PlanOverrideRow.id)
            .all()
        )
        approval = (
            session.query(PlanApprovalRow)
            .filter(PlanApprovalRow.patient_id == patient_id, PlanApprovalRow.plan_hash == digest)
            .order_by(PlanApprovalRow.id.desc())
            .first()
        )
        found = [Decision(o.code, o.reason, o.updated_by, o.created_at) for o in overrides]
        approved = (
            None
            if approval is None
            else Decision(
                "approved", approval.plan_summary, approval.updated_by, approval.created_at
            )
        )
    return found, approved


def review_dossier_plan(
    store: Store,
    dossier: PatientDossier,
    options: PatientPlanOptions = PatientPlanOptions(),
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PatientPlan:
    """Plan the next course and apply the overrides and approval recorded for this very plan."""
    return with_decisions(store, plan_dossier(dossier, options, settings, today))


def with_decisions(store: Store, outcome: PlanOutcome) -> PatientPlan:
    """A stored patient's plan with the overrides and approval recorded for exactly this plan
    (read from the store on every call: they are never cached)."""
    if outcome.patient_code is None:
        raise ValueError("with_decisions needs the plan of a stored patient")
    digest = plan_hash(outcome.plan)
    recorded, approval = _decisions(store, outcome.patient_code, digest)
    latest = {d.code: d for d in recorded}  # the newest decision per code
    blocking = {a.code: a for a in outcome.alerts if a.severity in BLOCKING}
    applied = tuple(
        AppliedOverride(c, d.reason, blocking[c].severity.value, blocking[c].message)
        for c, d in latest.items()
        if c in blocking
    )
    return PatientPlan(
        replace(outcome, overrides=applied),
        digest,
        tuple(d for d in latest.values() if d.code in blocking),
        approval,
    )


def review_patient_plan(
    store: Store,
    code: str,
    options: PatientPlanOptions = PatientPlanOptions(),
    viewer: Viewer | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PatientPlan:
    """A stored patient's plan with its recorded decisions (only a patient the viewer may see)."""
    return review_dossier_plan(store, _load(store, code, viewer), options, settings, today)


@dataclass(frozen=True)
class NextCourse:
    """What the patient page shows: the default next-course plan and the continuation advice."""

    plan: PatientPlan | None
    plan_error: str | None  # why no plan could be made from the record
    advice: Advice


def next_course(
    store: Store,
    dossier: PatientDossier,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> NextCourse:
    """The next course with default options (open safety alerts, dose, pump rates) and advice.

    The advice and the plan are pure functions of the dossier, the settings and the day, so they
    are computed once per content of the dossier (`clinic.derived_cache`: any write changes the
    content, hence the key); the recorded overrides and approval are read on every call."""
    today = today or date.today()
    key = ("next_course", dossier_digest(dossier), settings.model_dump_json(), today)
    advice, planned = DERIVED.get(key, lambda: _advice_and_plan(dossier, settings, today))
    if isinstance(planned, str):
        return NextCourse(None, planned, advice)
    return NextCourse(with_decisions(store, planned), None, advice)


def _advice_and_plan(
    dossier: PatientDossier, settings: ProtocolSettings, today: date
) -> tuple[Advice, PlanOutcome | str]:
    advice = advise_dossier(dossier, settings=settings)
    try:
        return advice, plan_dossier(dossier, settings=settings, today=today)
    except ProtocolError as error:
        return advice, str(error)


def override_patient_plan(
    store: Store,
    code: str,
    options: PatientPlanOptions,
    overrides: tuple[Override, ...],
    actor: str,
    viewer: Viewer | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PatientPlan:
    """Record overrides (one audited unit of work, `actor` as who) and review the plan again."""
    if not overrides:
        raise OverrideError("-", "no override given: name a blocking code and a reason")
    plan_patient(store, code, options, overrides, actor, settings, today, viewer)
    return review_patient_plan(store, code, options, viewer, settings, today)


def approve_patient_plan(
    store: Store,
    code: str,
    options: PatientPlanOptions,
    actor: str,
    viewer: Viewer | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> PatientPlan:
    """Mark a plan ready to give (audited, `actor` as who); refused while anything blocks it."""
    reviewed = review_patient_plan(store, code, options, viewer, settings, today)
    if not reviewed.ready_to_give:
        codes = ", ".join(reviewed.outcome.blocking_codes)
        raise ApprovalError(
            f"the plan is not ready to give: blocked by {codes}; each blocking alert needs a "
            "pharmacist's override with a reason first"
        )
    if reviewed.approval is not None:
        return reviewed
    with store.unit_of_work(actor) as session:
        patient_id = session.query(PatientRow.id).filter(PatientRow.code == code).scalar()
        session.add(
            PlanApprovalRow(
                patient_id=patient_id,
                plan_hash=reviewed.plan_hash,
                plan_summary=plan_summary(reviewed.outcome.plan),
                overridden_codes=",".join(o.code for o in reviewed.overrides),
            )
        )
    return review_patient_plan(store, code, options, viewer, settings, today)


def patient_plan_dict(reviewed: PatientPlan) -> dict[str, Any]:
    """The plan as the API returns it: the outcome, the plan hash and the recorded decisions."""
    data = outcome_dict(reviewed.outcome)
    data["patient_code"] = reviewed.outcome.patient_code
    data["plan_hash"] = reviewed.plan_hash
    data["overrides"] = [
        {"code": d.code, "reason": d.reason, "by": d.actor, "at": d.at.isoformat()}
        for d in reviewed.overrides
    ]
    data["approval"] = (
        None
        if reviewed.approval is None
        else {"by": reviewed.approval.actor, "at": reviewed.approval.at.isoformat()}
    )
    return data


def advise_patient(
    store: Store,
    code: str,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    viewer: Viewer | None = None,
) -> tuple[PatientDossier, Advice]:
    """Continuation advice for a stored patient (the CLI's `advise` and the patient page)."""
    dossier = _load(store, code, viewer)
    return dossier, advise_dossier(dossier, settings=settings)


def patient_options(fields: PlanFields) -> PatientPlanOptions:
    """The planner's fields as options for a stored patient (its facts come from the record)."""
    return PatientPlanOptions(
        regimen=fields.regimen,
        product=fields.product,
        course=fields.course,
        days=fields.days,
        extra_risks=frozenset(fields.risks),
        ruled_out=frozenset(fields.ruled_out),
        weight_kg=fields.weight_kg,
        height_cm=fields.height_cm,
        pre_pregnancy_weight_kg=fields.pre_pregnancy_weight_kg,
        live_vaccine_given=fields.live_vaccine_given,
        live_vaccine_due=fields.live_vaccine_due,
    )


def _entered(fields: PlanFields) -> tuple[PatientPlanOptions, ProtocolSettings, date | None]:
    """Options, site settings (with the entered rounding) and start date from planner fields."""
    return patient_options(fields), fields.settings(load_settings()), fields.start_date


def review_entered(
    store: Store, code: str, fields: PlanFields, viewer: Viewer | None = None
) -> PatientPlan:
    """`review_patient_plan` for what was entered in the planner page or the API."""
    options, settings, start = _entered(fields)
    return review_patient_plan(store, code, options, viewer, settings, start)


def override_entered(
    store: Store,
    code: str,
    fields: PlanFields,
    overrides: tuple[Override, ...],
    actor: str,
    viewer: Viewer | None = None,
) -> PatientPlan:
    """`override_patient_plan` for what was entered in the planner page or the API."""
    options, settings, start = _entered(fields)
    return override_patient_plan(store, code, options, overrides, actor, viewer, settings, start)


def approve_entered(
    store: Store, code: str, fields: PlanFields, actor: str, viewer: Viewer | None = None
) -> PatientPlan:
    """`approve_patient_plan` for what was entered in the planner page or the API."""
    options, settings, start = _entered(fields)
    return approve_patient_plan(store, code, options, actor, viewer, settings, start)


def plan_entered(fields: PlanFields) -> PlanOutcome:
    """`plan_request` for a stand-alone plan entered in the planner page or the API."""
    return plan_request(fields.request(), (), fields.settings(load_settings()))
