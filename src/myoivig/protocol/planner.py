"""One course plan: dosing weight, dose, vials, per-day rate schedule and safety alerts.

The planner composes the pure rules; missing patient data is reported as missing rather than
guessed, impossible data raises `PlanningError` and nothing is planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from myoivig.domain.plausibility import (
    Check,
    check_bmi,
    check_height_change,
    check_weight_change,
)
from myoivig.domain.vocab import AntibodyResult, BloodGroup, Diagnosis, Sex
from myoivig.protocol.body_weight import DosingWeight, check_height, check_weight, dosing_weight
from myoivig.protocol.catalogue import Catalogue, Product, RateProfile, load_catalogue
from myoivig.protocol.dose import CourseDose, course_dose
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.infusion import InfusionDay, infusion_day
from myoivig.protocol.rate_cap import (
    cap_source,
    dermatomyositis_cap,
    dermatomyositis_cap_applies,
    myositis_profile,
)
from myoivig.protocol.regimens import Basis, CourseKind, Regimen, RegimenBook, load_regimens
from myoivig.protocol.safety import (
    BLOCKING,
    SRC_BOXED,
    SRC_DM_CAP,
    SRC_PREGNANCY,
    Alert,
    CourseFacts,
    PatientFacts,
    Risk,
    SafetyReview,
    Severity,
    review,
    sort_alerts,
)
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings, WeightPolicy

AGE_RANGE = (0, 120)


@dataclass(frozen=True)
class PlanRequest:
    regimen: str
    sex: Sex | None = None
    age: int | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    course: CourseKind = CourseKind.INDUCTION
    days: int | None = None  # None = the regimen's default for this course
    product: str | None = None  # None = the regimen's own product, if it names one
    iga_g_per_l: float | None = None
    anti_iga: AntibodyResult | None = None
    egfr: float | None = None
    egfr_date: date | None = None
    blood_group: BloodGroup | None = None
    risks: frozenset[Risk] = field(default_factory=frozenset)
    start_date: date | None = None
    diagnosis: Diagnosis | None = None  # None: unknown (asks; the DM rate cap applies)
    ruled_out: frozenset[Risk] = field(default_factory=frozenset)  # asked, and absent
    pre_pregnancy_weight_kg: float | None = None  # dosing basis when pregnant
    live_vaccine_given: date | None = None
    live_vaccine_due: date | None = None
    previous_weight_kg: float | None = None  # last recorded weight, to catch slips and jumps
    previous_height_cm: float | None = None  # recorded height, when a new one is entered


@dataclass(frozen=True)
class CoursePlan:
    request: PlanRequest
    regimen: Regimen
    product: Product | None  # None: not chosen (listed in `missing`)
    days: int
    weight: DosingWeight | None
    dose: CourseDose | None
    rate_profile: str | None
    infusion: tuple[InfusionDay, ...] | None
    safety: SafetyReview
    alerts: tuple[Alert, ...]  # safety alerts plus plan-level notices, most severe first
    missing: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        """Any `block` or `ask` alert: the plan must not be shown as ready to give."""
        return any(a.severity in BLOCKING for a in self.alerts)


def _validate(request: PlanRequest) -> None:
    if request.weight_kg is not None:
        check_weight(request.weight_kg)
    if request.height_cm is not None:
        check_height(request.height_cm)
    if request.age is not None and not AGE_RANGE[0] <= request.age <= AGE_RANGE[1]:
        raise PlanningError(
            "age", request.age, f"must be between {AGE_RANGE[0]} and {AGE_RANGE[1]}"
        )
    if request.iga_g_per_l is not None and not 0 <= request.iga_g_per_l <= 30:
        raise PlanningError("iga_g_per_l", request.iga_g_per_l, "must be between 0 and 30 g/L")
    if request.egfr is not None and not 0 <= request.egfr <= 200:
        raise PlanningError("egfr", request.egfr, "must be between 0 and 200 mL/min/1.73 m2")
    for name in ("pre_pregnancy_weight_kg", "previous_weight_kg"):
        value = getattr(request, name)
        if value is not None:
            try:
                check_weight(value)
            except PlanningError as error:
                raise PlanningError(name, value, error.reason) from None
    overlap = request.risks & request.ruled_out
    if overlap:
        names = ", ".join(sorted(r.value for r in overlap))
        raise PlanningError("ruled_out", names, "declared both present (--risk) and ruled out")


def _choose_product(request: PlanRequest, regimen: Regimen, catalogue: Catalogue) -> Product | None:
    key = request.product or regimen.product
    return None if key is None else catalogue.product(key)


SRC_PLAUSIBILITY = (
    "myoivig plausibility settings (ProtocolSettings.plausibility): local data-quality policy"
)


def plausibility_alerts(request: PlanRequest, settings: ProtocolSettings) -> list[Alert]:
    """Entered weight/height that need confirming before a dose is based on them (`ask`)."""
    rules = settings.plausibility
    checks: list[Check] = []
    if request.weight_kg is not None and request.previous_weight_kg is not None:
        checks += check_weight_change(request.previous_weight_kg, request.weight_kg, rules)
    if request.weight_kg is not None and request.height_cm is not None:
        checks += check_bmi(request.weight_kg, request.height_cm, rules)
    if request.height_cm is not None and request.previous_height_cm is not None:
        checks += check_height_change(
            request.previous_height_cm, request.height_cm, request.age, rules
        )
    return [
        Alert(
            Severity.ASK,
            check.code,
            f"{check.column} = {check.value}: {check.reason}. Re-measure, correct it, or confirm "
            "it with an override and a reason.",
            SRC_PLAUSIBILITY,
        )
        for check in checks
    ]


def _pregnant_weight(request: PlanRequest) -> float | None:
    """The weight the dose is based on: pre-pregnancy weight when pregnant and recorded."""
    if Risk.PREGNANCY in request.risks and request.pre_pregnancy_weight_kg is not None:
        return request.pre_pregnancy_weight_kg
    return request.weight_kg


def _weight(
    request: PlanRequest, settings: ProtocolSettings, missing: list[str]
) -> DosingWeight | None:
    needs_height = settings.weight_policy is not WeightPolicy.ACTUAL
    gaps = [
        name
        for name, absent in (
            ("weight_kg", request.weight_kg is None),
            ("height_cm", needs_height and request.height_cm is None),
            ("sex", needs_height and request.sex is None),
        )
        if absent
    ]
    missing.extend(gaps)
    basis = _pregnant_weight(request)
    if gaps or basis is None:
        return None
    return dosing_weight(request.sex or Sex.OTHER, basis, request.height_cm, settings)


def _at_risk_cap_alert(
    product: Product,
    profile: RateProfile,
    day: InfusionDay,
    catalogue: Catalogue,
    settings: ProtocolSettings,
) -> Alert:
    """Say which at-risk maximum the schedule uses and where it comes from."""
    cap = day.max_rate_ml_per_kg_min
    conc = product.concentration_g_per_ml.value
    mg = f" ({cap * conc * 1000:.1f} mg/kg/min)" if conc is not None else ""
    figure = f"{cap:.3g} mL/kg/min{mg}"
    basis = day.max_rate_basis
    source = cap_source(basis, profile, catalogue)
    if basis == "label_at_risk":
        return Alert(
            Severity.INFO,
            "at_risk_rate_cap",
            f"At-risk maximum {figure} from {product.name}'s label.",
            source,
        )
    if basis == "local_at_risk":
        return Alert(
            Severity.INFO,
            "at_risk_rate_cap",
            f"At-risk maximum {figure}: the site's cap (setting local_at_risk_max_ml_per_kg_min);"
            f" {product.name}'s label gives no numeric at-risk figure.",
            source,
        )
    if basis == "dermatomyositis_cap":
        return Alert(
            Severity.INFO,
            "at_risk_rate_cap",
            f"At-risk maximum {figure}: the dermatomyositis cap, lower than any at-risk figure "
            f"available for {product.name}.",
            SRC_DM_CAP,
        )
    if basis == "class_at_risk_default":
        return Alert(
            Severity.WARNING,
            "at_risk_rate_cap",
            f"At-risk maximum {figure}: {product.name}'s label gives no numeric at-risk figure "
            '("minimum practicable rate"), so the class-wide default of '
            f"{settings.class_at_risk_max_mg_per_kg_min:g} mg/kg/min is used (a local cap can be "
            "set).",
            source,
        )
    return Alert(
        Severity.WARNING,
        "no_at_risk_rate_figure",
        f"Patient at risk, but {product.name}'s label gives no numeric at-risk maximum and no "
        f"class-wide or local cap is set: the label maximum {figure} is kept. Infuse at the "
        "minimum practicable rate (a local cap can be set).",
        source,
    )


def _dermatomyositis_alert(
    product: Product,
    request: PlanRequest,
    dm_cap: float | None,
    infusion: tuple[InfusionDay, ...] | None,
    settings: ProtocolSettings,
) -> Alert:
    """Say that the dermatomyositis cap applies, its figure for this product and its basis."""
    who = (
        "Diagnosis unknown" if request.diagnosis is None else f"Diagnosis {request.diagnosis.value}"
    )
    mg = settings.dermatomyositis_max_mg_per_kg_min
    if dm_cap is None:
        return Alert(
            Severity.WARNING,
            "dermatomyositis_rate_cap",
            f"{who}: do not exceed {mg:g} mg/kg/min; {product.name}'s concentration is not "
            "fixed, so the cap cannot be converted to mL/kg/min here: apply it by hand.",
            SRC_DM_CAP,
        )
    used = infusion[0].max_rate_ml_per_kg_min if infusion else None
    lowered = infusion is not None and infusion[0].max_rate_basis == "dermatomyositis_cap"
    tail = (
        "it lowers the label maximum for this product."
        if lowered
        else f"the plan's maximum ({used:.3g} mL/kg/min) is already at or below it."
        if used is not None
        else "no rate schedule is planned."
    )
    return Alert(
        Severity.INFO,
        "dermatomyositis_rate_cap",
        f"{who}: class-wide dermatomyositis cap {mg:g} mg/kg/min = {dm_cap:.3g} mL/kg/min of "
        f"{product.name}; {tail}",
        SRC_DM_CAP,
    )


def plan_course(
    request: PlanRequest,
    catalogue: Catalogue | None = None,
    regimens: RegimenBook | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> CoursePlan:
    """Plan one course of a regimen for one patient."""
    catalogue = catalogue or load_catalogue()
    regimens = regimens or load_regimens()
    _validate(request)
    regimen = regimens.get(request.regimen)
    spec = regimen.course(request.course)
    days = request.days if request.days is not None else spec.days_default
    spec.check_days(days)
    product = _choose_product(request, regimen, catalogue)

    missing: list[str] = []
    weight = _weight(request, settings, missing)
    dosing_kg = weight.dosing_kg if weight else None
    if product is None:
        missing.append("product")
    dose: CourseDose | None = None
    if product is not None and regimen.basis is Basis.FIXED_G:
        # A fixed dose is not scaled to the weight: its g/kg is judged on the actual weight.
        dose = course_dose(spec, days, product, _pregnant_weight(request), settings)
    elif product is not None and dosing_kg is not None:
        dose = course_dose(spec, days, product, dosing_kg, settings)
    if request.age is None:
        missing.append("age")

    patient = PatientFacts(
        age=request.age,
        iga_g_per_l=request.iga_g_per_l,
        anti_iga=request.anti_iga,
        egfr=request.egfr,
        egfr_date=request.egfr_date,
        blood_group=request.blood_group,
        risks=request.risks,
        ruled_out=request.ruled_out,
        diagnosis=request.diagnosis,
        bmi=weight.bmi if weight else None,
        live_vaccine_given=request.live_vaccine_given,
        live_vaccine_due=request.live_vaccine_due,
    )
    g_per_kg = dose.g_per_kg if dose else None
    per_kg_weight = dosing_kg if regimen.basis is Basis.G_PER_KG else _pregnant_weight(request)
    daily_g_per_kg = (
        max(dose.daily_dose_g) / per_kg_weight if dose is not None and per_kg_weight else None
    )
    volumes = [d.volume_ml for d in dose.per_day if d.volume_ml is not None] if dose else []
    course = CourseFacts(
        product,
        days,
        g_per_kg,
        request.start_date,
        daily_g_per_kg=daily_g_per_kg,
        daily_volume_ml=max(volumes) if volumes else None,
    )
    safety = review(patient, course, catalogue, settings)
    dm_cap = (
        dermatomyositis_cap(product, request.diagnosis, settings) if product is not None else None
    )

    notices: list[Alert] = [
        Alert(Severity.WARNING, w.code, w.message, w.source)
        for w in (dose.warnings if dose else ())
    ]
    notices += plausibility_alerts(request, settings)
    profile_name, profile = myositis_profile(product) if product else (None, None)
    infusion: tuple[InfusionDay, ...] | None = None
    if product is None:
        pass
    elif profile is None:
        notices.append(
            Alert(
                Severity.WARNING,
                "no_rate_schedule",
                f"The catalogue has no per-kg rate schedule for {product.name}: follow the "
                "product leaflet and local protocol for rates.",
                product.note
                or f"{product.name} label: no per-kg rate figures found (catalogue status unknown)",
            )
        )
    elif dose is not None and dosing_kg is not None:
        if any(d.volume_ml is None for d in dose.per_day):
            notices.append(
                Alert(
                    Severity.WARNING,
                    "no_rate_schedule",
                    f"{product.name}'s concentration is not fixed (reconstituted product): "
                    "volumes and pump rates depend on local reconstitution.",
                    catalogue.cite(product.concentration_g_per_ml.source),
                )
            )
        else:
            infusion = tuple(
                infusion_day(
                    d.day,
                    float(d.volume_ml or 0),
                    dosing_kg,
                    profile,
                    safety.at_risk,
                    settings,
                    product.concentration_g_per_ml.value,
                    dm_cap,
                )
                for d in dose.per_day
            )
    if product is not None and profile is not None:
        if profile_name != "dermatomyositis":
            notices.append(
                Alert(
                    Severity.INFO,
                    "no_myositis_rate_label",
                    f"{product.name} has no myositis-specific rate label; the "
                    f"{profile.indication} rates are used.",
                    catalogue.cite(profile.max_ml_per_kg_min.source),
                )
            )
        if infusion and safety.at_risk:
            notices.append(_at_risk_cap_alert(product, profile, infusion[0], catalogue, settings))
        if infusion and infusion[0].uncertain_figures:
            notices.append(
                Alert(
                    Severity.INFO,
                    "uncertain_rate_figures",
                    "Some rate figures are unconfirmed ("
                    + ", ".join(infusion[0].uncertain_figures)
                    + "): check them against the product leaflet.",
                    "products.yaml status: uncertain",
                )
            )
        if infusion and infusion[0].steps_basis == "derived_doubling":
            notices.append(
                Alert(
                    Severity.INFO,
                    "derived_titration_steps",
                    "The label gives no titration steps: the rate doubles every "
                    f"{settings.default_step_interval_min} min up to the maximum (local default).",
                    "myoivig protocol setting default_step_interval_min [D]",
                )
            )
    if product is not None and dermatomyositis_cap_applies(request.diagnosis, settings):
        notices.append(_dermatomyositis_alert(product, request, dm_cap, infusion, settings))
    if Risk.PREGNANCY in request.risks and request.pre_pregnancy_weight_kg is None:
        notices.append(
            Alert(
                Severity.ASK,
                "pre_pregnancy_weight_unknown",
                "Pregnant, and no pre-pregnancy weight recorded: the dose is based on the "
                "pre-pregnancy weight. Record it (--pre-pregnancy-weight-kg); the dose shown "
                "uses the current weight.",
                SRC_PREGNANCY,
            )
        )
    if product is not None and safety.at_risk and not infusion:
        notices.append(
            Alert(
                Severity.WARNING,
                "at_risk_rate_not_planned",
                f"Patient at risk of thrombosis or renal dysfunction, but no rate schedule is "
                f"planned for {product.name}: no at-risk maximum has been applied. Infuse at the "
                "minimum practicable rate following the leaflet.",
                f"{SRC_BOXED}: minimum infusion rate practicable",
            )
        )
    if product is not None and product.historical:
        notices.append(
            Alert(
                Severity.INFO,
                "historical_product",
                f"{product.name} is a historical product kept for the trial record.",
                catalogue.cite(product.stabiliser.source),
            )
        )
    if missing:
        notices.append(
            Alert(
                Severity.WARNING,
                "missing_patient_data",
                "Missing: "
                + ", ".join(missing)
                + ". The plan is incomplete (no dose, vials or pump rates that depend on them): "
                "record these before the course.",
                "myoivig protocol planner",
            )
        )
    alerts = sort_alerts([*safety.alerts, *notices])
    return CoursePlan(
        request=request,
        regimen=regimen,
        product=product,
        days=days,
        weight=weight,
        dose=dose,
        rate_profile=profile_name,
        infusion=infusion,
        safety=safety,
        alerts=alerts,
        missing=tuple(missing),
    )
