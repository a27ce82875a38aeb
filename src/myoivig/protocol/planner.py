"""One course plan: dosing weight, dose, vials, per-day rate schedule and safety alerts.

The planner composes the pure rules; missing patient data is reported as missing rather than
guessed, impossible data raises `PlanningError` and nothing is planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from myoivig.domain.vocab import AntibodyResult, BloodGroup, Sex
from myoivig.protocol.body_weight import DosingWeight, check_height, check_weight, dosing_weight
from myoivig.protocol.catalogue import Catalogue, Product, RateProfile, load_catalogue
from myoivig.protocol.dose import CourseDose, course_dose
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.infusion import InfusionDay, infusion_day
from myoivig.protocol.regimens import Basis, CourseKind, Regimen, RegimenBook, load_regimens
from myoivig.protocol.safety import (
    Alert,
    CourseFacts,
    PatientFacts,
    Risk,
    SafetyReview,
    Severity,
    review,
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
        return any(a.severity is Severity.BLOCK for a in self.alerts)


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


def _choose_product(request: PlanRequest, regimen: Regimen, catalogue: Catalogue) -> Product | None:
    key = request.product or regimen.product
    return None if key is None else catalogue.product(key)


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
    if gaps or request.weight_kg is None:
        return None
    return dosing_weight(request.sex or Sex.OTHER, request.weight_kg, request.height_cm, settings)


def _profile(product: Product) -> tuple[str | None, RateProfile | None]:
    if product.myositis_profile is None:
        return None, None
    return product.myositis_profile, product.rate_profiles[product.myositis_profile]


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
    label_src = catalogue.cite(profile.at_risk_max_ml_per_kg_min.source)
    basis = day.max_rate_basis
    if basis == "label_at_risk":
        return Alert(
            Severity.INFO,
            "at_risk_rate_cap",
            f"At-risk maximum {figure} from {product.name}'s label.",
            label_src,
        )
    if basis == "local_at_risk":
        return Alert(
            Severity.INFO,
            "at_risk_rate_cap",
            f"At-risk maximum {figure}: the site's cap (setting local_at_risk_max_ml_per_kg_min);"
            f" {product.name}'s label gives no numeric at-risk figure.",
            "local protocol setting local_at_risk_max_ml_per_kg_min [D]",
        )
    if basis == "class_at_risk_default":
        return Alert(
            Severity.WARNING,
            "at_risk_rate_cap",
            f"At-risk maximum {figure}: {product.name}'s label gives no numeric at-risk figure "
            '("minimum practicable rate"), so the class-wide default of '
            f"{settings.class_at_risk_max_mg_per_kg_min:g} mg/kg/min is used (a local cap can be "
            "set).",
            "class-wide default [D] from the Octagam 10 % US label (at risk: not to exceed "
            "3.3 mg/kg/min, 0.03 mL/kg/min; lower 3.0 used, notes §1) and the boxed warning's "
            "minimum infusion rate practicable (notes §3.1)",
        )
    return Alert(
        Severity.WARNING,
        "no_at_risk_rate_figure",
        f"Patient at risk, but {product.name}'s label gives no numeric at-risk maximum and no "
        f"class-wide or local cap is set: the label maximum {figure} is kept. Infuse at the "
        "minimum practicable rate (a local cap can be set).",
        label_src,
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
        dose = course_dose(spec, days, product, request.weight_kg, settings)
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
    )
    g_per_kg = dose.g_per_kg if dose else None
    course = CourseFacts(product, days, g_per_kg, request.start_date)
    safety = review(patient, course, catalogue, settings)

    notices: list[Alert] = [
        Alert(Severity.WARNING, w.code, w.message, w.source)
        for w in (dose.warnings if dose else ())
    ]
    profile_name, profile = _profile(product) if product else (None, None)
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
                product.note or "products.yaml: rate figures not found (notes §8)",
            )
        )
    elif dose is not None and dosing_kg is not None:
        volumes = [d.volume_ml for d in dose.per_day]
        if any(v is None for v in volumes):
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
    if product is not None and safety.at_risk and not infusion:
        notices.append(
            Alert(
                Severity.WARNING,
                "at_risk_rate_not_planned",
                f"Patient at risk of thrombosis or renal dysfunction, but no rate schedule is "
                f"planned for {product.name}: no at-risk maximum has been applied. Infuse at the "
                "minimum practicable rate following the leaflet.",
                "Boxed warning (all IVIg): minimum infusion rate practicable (notes §3.1)",
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
    order = {Severity.BLOCK: 0, Severity.WARNING: 1, Severity.INFO: 2}
    alerts = tuple(sorted([*safety.alerts, *notices], key=lambda a: order[a.severity]))
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
