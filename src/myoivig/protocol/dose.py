"""The dose of one course: total and daily grams, rounding, vials per day and volume."""

from __future__ import annotations

from dataclasses import dataclass

from myoivig.protocol.catalogue import Product
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.regimens import Basis, CourseSpec
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings, Rounding
from myoivig.protocol.vials import VialSet, covering_vials, nearest_vials


@dataclass(frozen=True)
class DayDose:
    day: int
    dose_g: float
    vials: VialSet
    waste_g: float
    volume_ml: float | None  # None when the product's concentration is unknown


@dataclass(frozen=True)
class DoseWarning:
    """A limit that is exceeded but does not block (fixed-gram regimens), with the figure."""

    code: str
    message: str
    source: str


@dataclass(frozen=True)
class CourseDose:
    basis: Basis
    prescribed_g: float  # before rounding
    dose_g: float  # after rounding, what is given
    days: int
    # g/kg regimens: of the dosing weight; fixed-gram regimens: of the ACTUAL weight (the
    # caller passes it); None if the weight is unknown
    g_per_kg: float | None
    rounding: Rounding
    per_day: tuple[DayDose, ...]
    warnings: tuple[DoseWarning, ...] = ()

    @property
    def daily_dose_g(self) -> list[float]:
        return [d.dose_g for d in self.per_day]


def _round_half_up(x: float, step: float) -> float:
    return float(int(x / step + 0.5 + 1e-9)) * step


def course_dose(
    spec: CourseSpec,
    days: int,
    product: Product,
    dosing_weight_kg: float | None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> CourseDose:
    """Plan one course; refuses doses above the product's or the protocol's limits.

    `dosing_weight_kg` is the dosing weight for g/kg regimens and the patient's ACTUAL weight
    for fixed-gram regimens: a fixed dose is not scaled to the weight, so its g/kg is what the
    patient really receives. For fixed-gram regimens the protocol's per-course g/kg limit gives
    a warning instead of a refusal (the trial's 150 g is "about 2 g/kg" only at ~75 kg, seed
    000); the protocol's g/kg/day limit and the product's label limit still refuse.
    """
    spec.check_days(days)
    if spec.dose_g_per_kg is not None:
        if dosing_weight_kg is None:
            raise PlanningError("weight_kg", None, "a g/kg regimen needs the patient's weight")
        basis = Basis.G_PER_KG
        prescribed = spec.dose_g_per_kg * dosing_weight_kg
    else:
        assert spec.daily_g is not None
        basis = Basis.FIXED_G
        prescribed = spec.daily_g * days
    warnings = _check_limits(prescribed, days, product, dosing_weight_kg, settings, basis)

    sizes = product.vial_sizes_g.value
    if sizes is None:
        raise PlanningError("product", product.key, "vial sizes unknown in the catalogue")
    rounding = settings.rounding
    if rounding is Rounding.VIALS:
        day_sets = [
            nearest_vials(prescribed / days, sizes, settings.vial_tolerance_fraction)
        ] * days
        day_doses = [s.total_g for s in day_sets]
    else:
        total = prescribed
        if rounding is Rounding.NEAREST_5G:
            total = _round_half_up(prescribed, settings.rounding_step_g)
        day_doses = [round(total / days, 3)] * days
        day_sets = [covering_vials(d, sizes) for d in day_doses]

    conc = product.concentration_g_per_ml.value
    per_day = tuple(
        DayDose(
            day=i + 1,
            dose_g=dose,
            vials=vset,
            waste_g=round(vset.total_g - dose, 3) if vset.total_g > dose else 0.0,
            volume_ml=None if conc is None else dose / conc,
        )
        for i, (dose, vset) in enumerate(zip(day_doses, day_sets, strict=True))
    )
    given = sum(d.dose_g for d in per_day)
    return CourseDose(
        basis=basis,
        prescribed_g=prescribed,
        dose_g=given,
        days=days,
        g_per_kg=None if dosing_weight_kg is None else given / dosing_weight_kg,
        rounding=rounding,
        per_day=per_day,
        warnings=tuple(warnings),
    )


def _check_limits(
    prescribed_g: float,
    days: int,
    product: Product,
    weight_kg: float | None,
    settings: ProtocolSettings,
    basis: Basis,
) -> list[DoseWarning]:
    if weight_kg is None:
        return []  # fixed-gram course without a weight: per-kg limits cannot be checked
    course_per_kg = prescribed_g / weight_kg
    daily_per_kg = course_per_kg / days
    warnings: list[DoseWarning] = []
    over_course = course_per_kg > settings.max_course_dose_g_per_kg + 1e-9
    if over_course and basis is Basis.FIXED_G:
        warnings.append(
            DoseWarning(
                "fixed_dose_above_per_kg_limit",
                f"The fixed {prescribed_g:g} g course is {course_per_kg:.2f} g/kg of the actual "
                f"weight ({weight_kg:g} kg), above the protocol limit of "
                f"{settings.max_course_dose_g_per_kg:g} g/kg per course: the trial's fixed "
                "dose is about 2 g/kg only for a ~75 kg patient; consider a g/kg regimen.",
                "Mastaglia 1998 (seed 000), methods: 30 g/day (about 2 g/kg); protocol setting "
                "max_course_dose_g_per_kg",
            )
        )
    elif over_course:
        raise PlanningError(
            "dose_g",
            round(prescribed_g, 1),
            f"{course_per_kg:.2f} g/kg per course exceeds the protocol limit of "
            f"{settings.max_course_dose_g_per_kg:g} g/kg",
        )
    if daily_per_kg > settings.max_daily_dose_g_per_kg + 1e-9:
        raise PlanningError(
            "daily_dose_g",
            round(prescribed_g / days, 1),
            f"{daily_per_kg:.2f} g/kg/day exceeds the protocol limit of "
            f"{settings.max_daily_dose_g_per_kg:g} g/kg/day",
        )
    product_max = product.max_daily_dose_g_per_kg.value
    if product_max is not None and daily_per_kg > product_max + 1e-9:
        raise PlanningError(
            "daily_dose_g",
            round(prescribed_g / days, 1),
            f"{daily_per_kg:.2f} g/kg/day exceeds {product.name}'s limit of "
            f"{product_max:g} g/kg/day",
        )
    return warnings
