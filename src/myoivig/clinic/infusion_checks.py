"""Rules for a recorded infusion day, checked against its course and the product catalogue.

Pure functions: they take the day, its course, the patient's diagnosis, the catalogue and the
site's protocol settings, and return field-named problems. An *error* is never saved (a day the
course does not have, a date outside the course, a rate above the applicable maximum); a
*confirmable* problem (a dose above the course's daily dose beyond the vial tolerance, a volume
that does not fit the dose, a rate that cannot be checked) is saved once the writer confirms.
"""

from __future__ import annotations

from dataclasses import dataclass

from myoivig.domain import records as r
from myoivig.domain.consistency import infusion_day_in_course
from myoivig.domain.vocab import Diagnosis, RateUnit
from myoivig.protocol.catalogue import Catalogue, Product
from myoivig.protocol.infusion import pump_rate_ml_per_h
from myoivig.protocol.rate_cap import RateCap, applicable_max_rate
from myoivig.protocol.settings import ProtocolSettings

RATE_EPSILON = 1e-9  # a rate equal to the cap, typed with rounding noise, is at the cap


@dataclass(frozen=True)
class DayProblem:
    field: str
    message: str
    needs_confirmation: bool = False


def day_product(day: r.InfusionDay, course: r.Course) -> str | None:
    """The product given that day: as recorded for the day, else the course's."""
    return day.product or course.product


def check_day_in_course(day: r.InfusionDay, course: r.Course) -> list[DayProblem]:
    """The day number is one of the course's planned days and its date lies in the course."""
    return [DayProblem(i.column, i.reason) for i in infusion_day_in_course(day, course)]


def check_dose(
    day: r.InfusionDay, course: r.Course, product: Product | None, settings: ProtocolSettings
) -> list[DayProblem]:
    """Dose above the course's daily dose beyond the vial rounding tolerance (setting
    `vial_tolerance_fraction`), or a volume that does not match dose / concentration."""
    problems = []
    daily = course.given_daily_dose_g or course.planned_daily_dose_g
    tolerance = settings.vial_tolerance_fraction
    if daily and day.dose_g > daily * (1 + tolerance) + RATE_EPSILON:
        problems.append(
            DayProblem(
                "dose_g",
                f"dose_g {day.dose_g:g} g is more than course {course.course_number}'s daily "
                f"dose {daily:g} g plus {tolerance * 100:g} % (setting vial_tolerance_fraction)",
                needs_confirmation=True,
            )
        )
    concentration = product.concentration_g_per_ml.value if product else None
    if day.volume_ml is not None and concentration:
        expected = day.dose_g / concentration
        if abs(day.volume_ml - expected) > expected * tolerance + RATE_EPSILON:
            problems.append(
                DayProblem(
                    "volume_ml",
                    f"volume_ml {day.volume_ml:g} mL does not fit {day.dose_g:g} g of "
                    f"{product.name if product else ''} ({concentration * 1000:g} mg/mL: "
                    f"{expected:g} mL expected)",
                    needs_confirmation=True,
                )
            )
    return problems


def rate_per_kg(step: r.RateStepGiven, weight_kg: float | None) -> float | None:
    """The step's rate in mL/kg/min (a pump rate needs the course weight; None without it)."""
    if step.unit is RateUnit.ML_PER_KG_MIN:
        return step.rate
    if not weight_kg:
        return None
    return step.rate / pump_rate_ml_per_h(weight_kg, 1.0)


def check_rates(
    day: r.InfusionDay, course: r.Course, product_name: str | None, cap: RateCap | None
) -> list[DayProblem]:
    """No step above the applicable maximum (an error naming the step, the value, the cap and
    its source); steps that cannot be checked need confirming."""
    if not day.rate_steps:
        return []
    if cap is None:
        return [
            DayProblem(
                "product",
                f"product {product_name!r} has no per-kg maximum rate in the catalogue: the rate "
                "steps cannot be checked against a maximum",
                needs_confirmation=True,
            )
        ]
    problems = []
    for index, step in enumerate(day.rate_steps):
        field = f"rate_steps.{index}.rate"
        per_kg = rate_per_kg(step, course.weight_kg)
        if per_kg is None:
            problems.append(
                DayProblem(
                    field,
                    f"step {index + 1}: {step.rate:g} mL/h cannot be checked against the "
                    f"maximum: course {course.course_number} has no weight",
                    needs_confirmation=True,
                )
            )
        elif per_kg > cap.max_ml_per_kg_min + RATE_EPSILON:
            shown = (
                f"{step.rate:g} mL/h = {per_kg:.3g} mL/kg/min"
                if step.unit is RateUnit.ML_PER_H
                else f"{step.rate:g} mL/kg/min"
            )
            problems.append(
                DayProblem(
                    field,
                    f"step {index + 1}: rate {shown} is above the maximum "
                    f"{cap.max_ml_per_kg_min:.3g} mL/kg/min for {cap.product_name} "
                    f"({cap.basis.replace('_', ' ')}); source: {cap.source}",
                )
            )
    return problems


def rate_cap_for(
    product_name: str | None,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings,
) -> RateCap | None:
    """The applicable maximum rate for a recorded product name (None: not in the catalogue, or
    no per-kg rates there)."""
    product = catalogue.find(product_name)
    return applicable_max_rate(product, diagnosis, catalogue, settings) if product else None


def check_infusion_day(
    day: r.InfusionDay,
    course: r.Course,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings,
) -> list[DayProblem]:
    """Every rule for one recorded infusion day (errors and confirmable problems)."""
    name = day_product(day, course)
    product = catalogue.find(name)
    cap = rate_cap_for(name, diagnosis, catalogue, settings)
    return [
        *check_day_in_course(day, course),
        *check_dose(day, course, product, settings),
        *check_rates(day, course, name, cap),
    ]
