"""The dose of one course: total and daily grams, rounding, vials per day and volume."""

from __future__ import annotations

import math
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


def _round_down(x: float, step: float) -> float:
    return float(int(x / step + 1e-9)) * step


# Grams of slack when comparing rounded grams with a ceiling (float noise, not dose).
_EPS_G = 1e-6


@dataclass(frozen=True)
class _Ceilings:
    """Hard limits in grams for this patient; infinite where no limit applies."""

    daily_g: float
    course_g: float


def _ceilings(
    weight_kg: float | None, product: Product, settings: ProtocolSettings, basis: Basis
) -> _Ceilings:
    if weight_kg is None:
        return _Ceilings(math.inf, math.inf)
    per_kg_day = settings.max_daily_dose_g_per_kg
    product_max = product.max_daily_dose_g_per_kg.value
    if product_max is not None:
        per_kg_day = min(per_kg_day, product_max)
    course = settings.max_course_dose_g_per_kg * weight_kg if basis is Basis.G_PER_KG else math.inf
    return _Ceilings(per_kg_day * weight_kg, course)


def split_course(total_g: float, days: int, step_g: float) -> list[float]:
    """Daily doses that sum to `total_g`: equal when that gives whole grams, otherwise multiples
    of `step_g` differing by at most one step, larger days first (145 g / 3 -> 50, 50, 45).

    Whole daily doses are what a pharmacy can dispense from 5/10/20 g vials without splitting
    a gram over days (review finding 7) [D].
    """
    equal = total_g / days
    if abs(equal - round(equal)) < 1e-9:
        return [float(round(equal))] * days
    units = round(total_g / step_g)
    if abs(units * step_g - total_g) > 1e-9:
        raise PlanningError("dose_g", total_g, f"is not a multiple of {step_g:g} g")
    base, extra = divmod(units, days)
    return [(base + (1 if i < extra else 0)) * step_g for i in range(days)]


def _nearest_step_doses(
    prescribed: float, days: int, step: float, ceilings: _Ceilings
) -> list[float]:
    """Ontario nearest-5 g rounding, then rounded down (a step at a time) while a limit is hit."""
    total = _round_half_up(prescribed, step)
    if total > ceilings.course_g + _EPS_G:
        total = _round_down(prescribed, step)
    while total > 0:
        for unit in (step, 1.0, 0.5):  # step multiples first, finer whole splits if they fit
            try:
                doses = split_course(total, days, unit)
            except PlanningError:
                continue
            if max(doses) <= ceilings.daily_g + _EPS_G:
                return doses
        total -= step
    raise PlanningError(
        "rounding",
        f"{step:g}g",
        f"no multiple of {step:g} g near {prescribed:.1f} g stays within the daily limit of "
        f"{ceilings.daily_g:.1f} g/day over {days} days",
    )


def _rounded_days(
    prescribed: float,
    days: int,
    sizes: list[float],
    settings: ProtocolSettings,
    ceilings: _Ceilings,
) -> tuple[list[float], list[VialSet], list[DoseWarning]]:
    """Per-day doses and vials under the rounding setting, never above a hard limit."""
    rounding = settings.rounding
    if rounding is Rounding.VIALS:
        top = min(ceilings.daily_g, ceilings.course_g / days)
        day_g = prescribed / days
        tolerance = settings.vial_tolerance_fraction
        try:
            vset = nearest_vials(day_g, sizes, tolerance, None if math.isinf(top) else top + _EPS_G)
        except PlanningError:
            # Only the limit is in the way if some combination lies within the tolerance above
            # it; otherwise this re-raises the plain "no combination within tolerance" error.
            over = nearest_vials(day_g, sizes, tolerance)
            exact = _exact_days(prescribed, days)
            warning = DoseWarning(
                "vial_rounding_exceeds_limit",
                f"Vial rounding to {over.total_g:g} g/day would exceed the limit of {top:.1f} "
                f"g/day and no vial combination within {tolerance:.0%} lies below it: the "
                f"unrounded {exact[0]:g} g/day is given (part-used vials discarded).",
                "protocol settings max_daily_dose_g_per_kg / max_course_dose_g_per_kg; "
                "vial_tolerance_fraction",
            )
            return exact, [covering_vials(d, sizes) for d in exact], [warning]
        return [vset.total_g] * days, [vset] * days, []
    if rounding is Rounding.NEAREST_5G:
        doses = _nearest_step_doses(prescribed, days, settings.rounding_step_g, ceilings)
    else:
        doses = _exact_days(prescribed, days)
    return doses, [covering_vials(d, sizes) for d in doses], []


def _exact_days(prescribed: float, days: int) -> list[float]:
    """Milligram precision, rounded down so the sum never exceeds the prescription."""
    return [math.floor(prescribed / days * 1000 + 1e-6) / 1000] * days


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
    Limits are checked on the prescription and again on the rounded doses: rounding that would
    cross a hard limit rounds down instead (or is refused when nothing fits).
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
    _check_limits(
        prescribed, [prescribed / days] * days, product, dosing_weight_kg, settings, basis
    )

    sizes = product.vial_sizes_g.value
    if sizes is None:
        raise PlanningError("product", product.key, "vial sizes unknown in the catalogue")
    ceilings = _ceilings(dosing_weight_kg, product, settings, basis)
    day_doses, day_sets, warnings = _rounded_days(prescribed, days, sizes, settings, ceilings)
    given = sum(day_doses)
    # Safety net: the rounded doses must satisfy every hard limit too.
    warnings += _check_limits(given, day_doses, product, dosing_weight_kg, settings, basis)

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
    return CourseDose(
        basis=basis,
        prescribed_g=prescribed,
        dose_g=given,
        days=days,
        g_per_kg=None if dosing_weight_kg is None else given / dosing_weight_kg,
        rounding=settings.rounding,
        per_day=per_day,
        warnings=tuple(warnings),
    )


def _check_limits(
    course_g: float,
    day_doses: list[float],
    product: Product,
    weight_kg: float | None,
    settings: ProtocolSettings,
    basis: Basis,
) -> list[DoseWarning]:
    """Hard limits raise (naming the value); the fixed-gram per-course g/kg limit warns."""
    if weight_kg is None:
        return []  # fixed-gram course without a weight: per-kg limits cannot be checked
    course_per_kg = course_g / weight_kg
    top_day = max(day_doses)
    daily_per_kg = top_day / weight_kg
    warnings: list[DoseWarning] = []
    over_course = course_g > settings.max_course_dose_g_per_kg * weight_kg + _EPS_G
    if over_course and basis is Basis.FIXED_G:
        warnings.append(
            DoseWarning(
                "fixed_dose_above_per_kg_limit",
                f"The fixed {course_g:g} g course is {course_per_kg:.2f} g/kg of the actual "
                f"weight ({weight_kg:g} kg), above the protocol limit of "
                f"{settings.max_course_dose_g_per_kg:g} g/kg per course: the trial's fixed "
                "dose is about 2 g/kg only for a ~75 kg patient; consider a g/kg regimen.",
                "Mastaglia et al. 1998 (J Neurol Neurosurg Psychiatry 65:107-110), methods: "
                "30 g/day (about 2 g/kg); protocol setting "
                "max_course_dose_g_per_kg",
            )
        )
    elif over_course:
        raise PlanningError(
            "dose_g",
            round(course_g, 1),
            f"{course_per_kg:.2f} g/kg per course exceeds the protocol limit of "
            f"{settings.max_course_dose_g_per_kg:g} g/kg",
        )
    if top_day > settings.max_daily_dose_g_per_kg * weight_kg + _EPS_G:
        raise PlanningError(
            "daily_dose_g",
            round(top_day, 1),
            f"{daily_per_kg:.2f} g/kg/day exceeds the protocol limit of "
            f"{settings.max_daily_dose_g_per_kg:g} g/kg/day",
        )
    product_max = product.max_daily_dose_g_per_kg.value
    if product_max is not None and top_day > product_max * weight_kg + _EPS_G:
        raise PlanningError(
            "daily_dose_g",
            round(top_day, 1),
            f"{daily_per_kg:.2f} g/kg/day exceeds {product.name}'s limit of "
            f"{product_max:g} g/kg/day",
        )
    return warnings
