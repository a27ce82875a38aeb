"""Dosing weight: actual, ideal (Devine) and adjusted body weight.

Immunoglobulin distributes into body water rather than fat, so obese patients are dosed on an
adjusted weight (NBA BloodSTAR IBW/adjusted-weight calculator [C]; see docs/sources.md).

The rule is continuous in height and weight (no dose cliffs): below Devine's 60-inch anchor the
ideal weight is held at its anchor value instead of switching to the actual weight, and the
switch from actual to adjusted weight at the obesity BMI is blended over a narrow BMI band
(`obesity_transition_bmi`) instead of happening in one step. See docs/protocol.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from myoivig.domain.vocab import Sex
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings, WeightPolicy

# 1 cm = 0.393701 in, as the NBA BloodSTAR calculator converts [C].
INCHES_PER_CM = 0.393701
# Devine 1974 (Drug Intell Clin Pharm 8:650): men 50 kg, women 45.5 kg, plus 2.3 kg per inch over
# 60 inches [C], as used by the NBA BloodSTAR calculator.
DEVINE_BASE_KG = {Sex.MALE: 50.0, Sex.FEMALE: 45.5}
DEVINE_KG_PER_INCH = 2.3
DEVINE_ANCHOR_IN = 60.0

# Plausibility limits for adults; outside them the value is almost certainly a typing error [D].
HEIGHT_RANGE_CM = (100.0, 250.0)
WEIGHT_RANGE_KG = (20.0, 350.0)


class WeightBasis(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


@dataclass(frozen=True)
class DosingWeight:
    """The weights considered and the one chosen, with the reason (recorded with the order)."""

    actual_kg: float
    ideal_kg: float | None
    adjusted_kg: float | None
    bmi: float | None
    dosing_kg: float
    basis: WeightBasis
    reason: str


def check_height(height_cm: float) -> None:
    low, high = HEIGHT_RANGE_CM
    if not low <= height_cm <= high:
        raise PlanningError("height_cm", height_cm, f"must be between {low:g} and {high:g} cm")


def check_weight(weight_kg: float) -> None:
    low, high = WEIGHT_RANGE_KG
    if not low <= weight_kg <= high:
        raise PlanningError("weight_kg", weight_kg, f"must be between {low:g} and {high:g} kg")


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index in kg/m2."""
    check_weight(weight_kg)
    check_height(height_cm)
    return weight_kg / (height_cm / 100.0) ** 2


def ideal_body_weight_kg(sex: Sex, height_cm: float) -> float:
    """Devine ideal body weight; undefined for sex `X`, so that raises.

    Below the 60-inch anchor the formula is not extrapolated (Ontario does not apply it there):
    the ideal weight is held at its anchor value (50 / 45.5 kg), which keeps the dosing weight
    continuous at 152.4 cm instead of jumping to the actual weight [D].
    """
    check_height(height_cm)
    if sex not in DEVINE_BASE_KG:
        raise PlanningError("sex", str(sex), "Devine ideal weight needs sex F or M")
    inches = max(height_cm * INCHES_PER_CM, DEVINE_ANCHOR_IN)
    return DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * (inches - DEVINE_ANCHOR_IN)


def adjusted_body_weight_kg(
    ideal_kg: float, actual_kg: float, factor: float = DEFAULT_SETTINGS.adjusted_weight_factor
) -> float:
    """NBA dose-determining weight: IBW + factor x (actual - IBW)."""
    return ideal_kg + factor * (actual_kg - ideal_kg)


def dosing_weight(
    sex: Sex,
    weight_kg: float,
    height_cm: float | None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> DosingWeight:
    """Choose the dosing weight under the configured policy; never above the actual weight."""
    check_weight(weight_kg)
    if height_cm is None:
        if settings.weight_policy is WeightPolicy.ACTUAL:
            return DosingWeight(
                weight_kg, None, None, None, weight_kg, WeightBasis.ACTUAL, "policy: actual"
            )
        raise PlanningError("height_cm", None, "height is needed for ideal/adjusted weight")
    check_height(height_cm)
    body_mass_index = bmi(weight_kg, height_cm)
    ideal: float | None = None
    adjusted: float | None = None
    if sex in DEVINE_BASE_KG:
        ideal = ideal_body_weight_kg(sex, height_cm)
        adjusted = adjusted_body_weight_kg(ideal, weight_kg, settings.adjusted_weight_factor)

    def result(kg: float, basis: WeightBasis, reason: str) -> DosingWeight:
        return DosingWeight(weight_kg, ideal, adjusted, body_mass_index, kg, basis, reason)

    policy = settings.weight_policy
    if policy is WeightPolicy.ACTUAL:
        return result(weight_kg, WeightBasis.ACTUAL, "policy: actual weight")
    if policy is WeightPolicy.ADJUSTED_IF_OBESE and body_mass_index <= settings.obesity_bmi:
        return result(
            weight_kg,
            WeightBasis.ACTUAL,
            f"BMI {body_mass_index:.1f} <= {settings.obesity_bmi:g}: actual weight",
        )
    if ideal is None or adjusted is None:
        raise PlanningError("sex", str(sex), "Devine ideal weight needs sex F or M")
    short = height_cm < settings.devine_min_height_cm
    anchor = (
        f"; height below {settings.devine_min_height_cm:g} cm: Devine held at its 60-inch value"
        if short
        else ""
    )
    if policy is WeightPolicy.IDEAL:
        chosen, basis = ideal, WeightBasis.IDEAL
    else:
        chosen, basis = adjusted, WeightBasis.ADJUSTED
    if chosen >= weight_kg:
        return result(
            weight_kg, WeightBasis.ACTUAL, f"{basis} weight >= actual: actual weight used{anchor}"
        )
    band = settings.obesity_transition_bmi
    if policy is WeightPolicy.ADJUSTED_IF_OBESE and body_mass_index < settings.obesity_bmi + band:
        share = (body_mass_index - settings.obesity_bmi) / band
        blended = weight_kg + share * (chosen - weight_kg)
        return result(
            blended,
            WeightBasis.ADJUSTED,
            f"BMI {body_mass_index:.1f} in the transition band {settings.obesity_bmi:g}-"
            f"{settings.obesity_bmi + band:g}: {share:.0%} of the way from actual to adjusted "
            f"weight{anchor}",
        )
    why = (
        f"BMI {body_mass_index:.1f} > {settings.obesity_bmi:g}: adjusted weight"
        if policy is WeightPolicy.ADJUSTED_IF_OBESE
        else f"policy: {basis} weight"
    )
    return result(chosen, basis, why + anchor)
