"""Rules for a recorded infusion day, checked against its course and the product catalogue.

Pure functions: they take the day, its course, the patient's diagnosis and at-risk status, the
catalogue and the site's protocol settings, and return field-named problems. An *error* is never
saved (a day the course does not have, a date outside the course, a rate above the applicable
maximum, or above the at-risk maximum for a patient at risk of thrombosis or renal dysfunction);
a *confirmable* problem (a dose above the course's daily dose beyond the vial tolerance, a volume
that does not fit the dose, a rate that cannot be checked, a rate above the at-risk maximum when
the record cannot tell whether the patient is at risk) is saved once the writer confirms.

The at-risk status is the planner's own rule (`protocol.safety.at_risk_status`) on what the
record holds that day (`protocol.dossier.record_at_risk`): age, the latest eGFR and the BMI. The
risk factors declared in the planner (diabetes, previous thrombosis, ...) are not stored, so the
record shows a patient at risk or cannot tell, never "not at risk": a step above the at-risk
maximum is refused for a patient at risk and otherwise saved only once the writer confirms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from myoivig.domain import records as r
from myoivig.domain.consistency import infusion_day_in_course
from myoivig.domain.vocab import Diagnosis, RateUnit
from myoivig.protocol.catalogue import Catalogue, Product
from myoivig.protocol.dossier import record_at_risk
from myoivig.protocol.infusion import pump_rate_ml_per_h
from myoivig.protocol.rate_cap import RateCap, applicable_max_rate, basis_name
from myoivig.protocol.safety import AtRisk
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


@dataclass(frozen=True)
class RateCaps:
    """The maxima a recorded day's rates are checked against: the applicable maximum, the lower
    at-risk maximum (thrombosis or renal risk) and whether the patient is at risk that day."""

    cap: RateCap | None  # None: the product has no per-kg rates in the catalogue
    at_risk_cap: RateCap | None
    risk: AtRisk

    @property
    def for_patient(self) -> RateCap | None:
        """The maximum that applies to this patient: the at-risk one when at risk."""
        return self.at_risk_cap if self.risk.at_risk is True else self.cap


def day_at_risk(
    patient: r.Patient,
    labs: Iterable[r.LabResult],
    day: r.InfusionDay,
    course: r.Course,
    settings: ProtocolSettings,
) -> AtRisk:
    """The patient's at-risk status on the day given (`protocol.dossier.record_at_risk`, the
    planner's rule): age that day, the latest eGFR taken by then and the course weight's BMI."""
    on = day.infusion_date or course.start_date or date.today()
    return record_at_risk(patient, labs, on, course.weight_kg, settings)


def _shown(step: r.RateStepGiven, per_kg: float) -> str:
    if step.unit is RateUnit.ML_PER_H:
        return f"{step.rate:g} mL/h = {per_kg:.3g} mL/kg/min"
    return f"{step.rate:g} mL/kg/min"


def _above(cap: RateCap, per_kg: float) -> bool:
    return per_kg > cap.max_ml_per_kg_min + RATE_EPSILON


def _step_problem(
    index: int, step: r.RateStepGiven, per_kg: float, caps: RateCaps
) -> DayProblem | None:
    """A step above the maximum for this patient (error), or above the at-risk maximum when the
    record cannot tell whether the patient is at risk (confirmable)."""
    field = f"rate_steps.{index}.rate"
    cap, at_risk_cap, risk = caps.cap, caps.at_risk_cap, caps.risk
    assert cap is not None
    lower = at_risk_cap is not None and at_risk_cap.max_ml_per_kg_min < cap.max_ml_per_kg_min
    where = f"step {index + 1}: rate {_shown(step, per_kg)}"
    if risk.at_risk is True and at_risk_cap is not None and lower and _above(at_risk_cap, per_kg):
        return DayProblem(
            field,
            f"{where} is above the at-risk maximum {at_risk_cap.max_ml_per_kg_min:.3g} mL/kg/min "
            f"for {at_risk_cap.product_name} ({basis_name(at_risk_cap.basis)}): the patient is "
            f"at risk of thrombosis or renal dysfunction ({', '.join(risk.reasons)}); "
            f"source: {at_risk_cap.source}",
        )
    if _above(cap, per_kg):
        return DayProblem(
            field,
            f"{where} is above the maximum {cap.max_ml_per_kg_min:.3g} mL/kg/min for "
            f"{cap.product_name} ({basis_name(cap.basis)}); source: {cap.source}",
        )
    if risk.at_risk is None and at_risk_cap is not None and lower and _above(at_risk_cap, per_kg):
        return DayProblem(
            field,
            f"{where} is above the at-risk maximum {at_risk_cap.max_ml_per_kg_min:.3g} mL/kg/min "
            f"for {at_risk_cap.product_name} ({basis_name(at_risk_cap.basis)}; source: "
            f"{at_risk_cap.source}), and whether the patient is at risk of thrombosis or renal "
            f"dysfunction cannot be told from the record (not known: {'; '.join(risk.unknown)})",
            needs_confirmation=True,
        )
    return None


def check_rates(
    day: r.InfusionDay, course: r.Course, product_name: str | None, caps: RateCaps
) -> list[DayProblem]:
    """No step above the maximum for this patient (an error naming the step, the value, the
    maximum, its basis and its source; the at-risk maximum for a patient at risk); steps that
    cannot be checked need confirming, as does a step above the at-risk maximum when the
    record cannot tell whether the patient is at risk."""
    if not day.rate_steps:
        return []
    if caps.cap is None:
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
        per_kg = rate_per_kg(step, course.weight_kg)
        if per_kg is None:
            problems.append(
                DayProblem(
                    f"rate_steps.{index}.rate",
                    f"step {index + 1}: {step.rate:g} mL/h cannot be checked against the "
                    f"maximum: course {course.course_number} has no weight",
                    needs_confirmation=True,
                )
            )
            continue
        found = _step_problem(index, step, per_kg, caps)
        if found is not None:
            problems.append(found)
    return problems


def rate_cap_for(
    product_name: str | None,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    at_risk: bool = False,
) -> RateCap | None:
    """The applicable maximum rate for a recorded product name (None: not in the catalogue, or
    no per-kg rates there); the at-risk maximum with `at_risk`."""
    product = catalogue.find(product_name)
    if product is None:
        return None
    return applicable_max_rate(product, diagnosis, catalogue, settings, at_risk=at_risk)


def rate_caps_for(
    product_name: str | None,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    risk: AtRisk,
) -> RateCaps:
    """The applicable and the at-risk maximum for a recorded product name and this patient."""
    return RateCaps(
        rate_cap_for(product_name, diagnosis, catalogue, settings),
        rate_cap_for(product_name, diagnosis, catalogue, settings, at_risk=True),
        risk,
    )


def check_infusion_day(
    day: r.InfusionDay,
    course: r.Course,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    risk: AtRisk,
) -> list[DayProblem]:
    """Every rule for one recorded infusion day (errors and confirmable problems); `risk` is the
    patient's at-risk status that day (`day_at_risk`)."""
    name = day_product(day, course)
    product = catalogue.find(name)
    caps = rate_caps_for(name, diagnosis, catalogue, settings, risk)
    return [
        *check_day_in_course(day, course),
        *check_dose(day, course, product, settings),
        *check_rates(day, course, name, caps),
    ]
