"""Dosing weight: the NBA worked examples and the policy edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from myoivig.domain.vocab import Sex
from myoivig.protocol.body_weight import (
    WeightBasis,
    adjusted_body_weight_kg,
    bmi,
    dosing_weight,
    ideal_body_weight_kg,
)
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.settings import ProtocolSettings, WeightPolicy


def test_notes_worked_example_woman_165_cm_95_kg() -> None:
    # Notes §2.3: woman 165 cm, 95 kg, BMI 34.9 -> IBW 56.9 kg -> DDW 72.1 kg.
    w = dosing_weight(Sex.FEMALE, 95, 165)
    assert w.bmi == pytest.approx(34.9, abs=0.05)
    assert w.ideal_kg == pytest.approx(56.9, abs=0.05)
    assert w.adjusted_kg == pytest.approx(72.1, abs=0.05)
    assert w.basis is WeightBasis.ADJUSTED
    assert w.dosing_kg == w.adjusted_kg


def test_notes_worked_example_man_175_cm_100_kg() -> None:
    # Notes §2.3 (matches the onlycalculators example): IBW 70.5 kg, DDW 82.3 kg.
    assert ideal_body_weight_kg(Sex.MALE, 175) == pytest.approx(70.5, abs=0.05)
    assert adjusted_body_weight_kg(70.5, 100) == pytest.approx(82.3, abs=0.05)
    assert dosing_weight(Sex.MALE, 100, 175).dosing_kg == pytest.approx(82.3, abs=0.05)


def test_devine_anchor_at_60_inches() -> None:
    assert ideal_body_weight_kg(Sex.MALE, 152.4) == pytest.approx(50.0, abs=0.01)
    assert ideal_body_weight_kg(Sex.FEMALE, 152.4) == pytest.approx(45.5, abs=0.01)


def test_bmi_30_or_below_uses_actual_weight() -> None:
    w = dosing_weight(Sex.FEMALE, 70, 165)  # BMI 25.7
    assert w.basis is WeightBasis.ACTUAL and w.dosing_kg == 70


def test_short_patient_keeps_devine_at_its_anchor() -> None:
    # Below 60 in the ideal weight is held at 45.5 kg (not extrapolated, no switch to actual).
    w = dosing_weight(Sex.FEMALE, 80, 150)
    assert w.ideal_kg == pytest.approx(45.5)
    assert w.basis is WeightBasis.ADJUSTED and "152.4" in w.reason
    assert w.dosing_kg == pytest.approx(45.5 + 0.4 * (80 - 45.5))


def test_no_dose_cliff_at_60_inches() -> None:
    # Issue 9: a 90 kg woman got 180 g at 152.0 cm and 126.6 g at 152.4 cm.
    low = dosing_weight(Sex.FEMALE, 90, 152.0).dosing_kg
    high = dosing_weight(Sex.FEMALE, 90, 152.4).dosing_kg
    assert abs(2 * low - 2 * high) < 1.0


def test_no_dose_cliff_at_bmi_30() -> None:
    # 170 cm woman: BMI 30 is 86.7 kg; 1 kg more must not cut the dosing weight by a quarter.
    below = dosing_weight(Sex.FEMALE, 86.5, 170).dosing_kg
    above = dosing_weight(Sex.FEMALE, 87.5, 170).dosing_kg
    assert abs(above - below) < 4.5


def test_policy_ideal_and_actual() -> None:
    ideal = dosing_weight(Sex.FEMALE, 95, 165, ProtocolSettings(weight_policy=WeightPolicy.IDEAL))
    assert ideal.basis is WeightBasis.IDEAL and ideal.dosing_kg == pytest.approx(56.9, abs=0.05)
    actual = dosing_weight(Sex.FEMALE, 95, 165, ProtocolSettings(weight_policy=WeightPolicy.ACTUAL))
    assert actual.dosing_kg == 95


def test_underweight_never_gets_weight_above_actual() -> None:
    w = dosing_weight(Sex.MALE, 50, 190, ProtocolSettings(weight_policy=WeightPolicy.ADJUSTED))
    assert w.dosing_kg == 50 and w.basis is WeightBasis.ACTUAL


@pytest.mark.parametrize(
    ("weight", "height", "field"),
    [(70, 17, "height_cm"), (0, 165, "weight_kg"), (-3, 165, "weight_kg")],
)
def test_impossible_values_name_the_field(weight: float, height: float, field: str) -> None:
    with pytest.raises(PlanningError) as err:
        dosing_weight(Sex.FEMALE, weight, height)
    assert err.value.field == field
    assert str(weight if field == "weight_kg" else height) in str(err.value)


def test_sex_x_cannot_use_devine_when_obese() -> None:
    with pytest.raises(PlanningError, match="sex"):
        dosing_weight(Sex.OTHER, 120, 170)


@given(
    sex=st.sampled_from([Sex.FEMALE, Sex.MALE]),
    weight=st.floats(min_value=30, max_value=300),
    height=st.floats(min_value=140, max_value=220),
    policy=st.sampled_from(list(WeightPolicy)),
)
def test_dosing_weight_never_exceeds_actual(
    sex: Sex, weight: float, height: float, policy: WeightPolicy
) -> None:
    w = dosing_weight(sex, weight, height, ProtocolSettings(weight_policy=policy))
    assert 0 < w.dosing_kg <= weight
    assert w.bmi == pytest.approx(bmi(weight, height))
