"""Hand-worked TIS examples (research notes myositis_outcomes.md §1.7) and edge values."""

from __future__ import annotations

from fractions import Fraction

import pytest

from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.core_set import (
    CoreSetChange,
    CoreSetError,
    EnzymeRule,
    EnzymeValues,
    Pair,
    ScoringSettings,
    most_abnormal_enzyme,
)
from myoivig.outcomes.tis import band_index, total_improvement_score
from myoivig.outcomes.tis_table import (
    POINTS_TABLE,
    Population,
    TisCategory,
    TisMeasure,
    category_for,
)

RANGE_RULE = ScoringSettings(enzyme_rule=EnzymeRule.ULN_RANGE)


def change(
    phys: tuple[float | None, float | None],
    pat: tuple[float | None, float | None],
    mmt: tuple[float | None, float | None],
    haq: tuple[float | None, float | None],
    extra: tuple[float | None, float | None],
    ck: tuple[float | None, float | None] | None = None,
    mmt_max: int | None = 150,
    population: Population = Population.ADULT,
) -> CoreSetChange:
    enzymes = {} if ck is None else {Enzyme.CK: EnzymeValues(ck[0], ck[1], 200.0)}
    return CoreSetChange(
        population=population,
        physician_global=Pair(*phys),
        patient_global=Pair(*pat),
        mmt8=Pair(*mmt),
        mmt8_max=mmt_max,
        haq=Pair(*haq),
        extramuscular=Pair(*extra),
        enzymes=enzymes,
    )


EXAMPLE_1 = change((6.0, 3.5), (7.0, 5.0), (120, 135), (1.5, 1.125), (4.0, 1.0), (2400, 1200))
EXAMPLE_2 = change((5.0, 4.5), (5, 5), (130, 133), (1.0, 1.25), (2, 2), (300, 280))
EXAMPLE_3 = change((7, 2), (8, 3), (100, 140), (2.0, 0.75), (5, 1), (5000, 300))


def test_points_table_sums_to_100_and_matches_table_3() -> None:
    assert sum(r.max_half_points for r in POINTS_TABLE.values()) == 200
    assert POINTS_TABLE[TisMeasure.MMT8].edges_pct == (2, 10, 20, 30)
    assert POINTS_TABLE[TisMeasure.HAQ].half_points == (0, 10, 15, 15, 20)


def test_example_1_moderate_under_both_enzyme_rules() -> None:
    for settings in (ScoringSettings(), RANGE_RULE):
        result = total_improvement_score(EXAMPLE_1, settings)
        points = {m: s.points_min for m, s in result.measures.items()}
        assert points == {
            TisMeasure.PHYSICIAN_GLOBAL: 15,
            TisMeasure.PATIENT_GLOBAL: 5,
            TisMeasure.MMT8: 10,
            TisMeasure.HAQ: 5,
            TisMeasure.ENZYME: 7.5,
            TisMeasure.EXTRAMUSCULAR: 15,
        }
        assert result.tis == 57.5
        assert result.category is TisCategory.MODERATE
    juvenile = change((6.0, 3.5), (7.0, 5.0), (120, 135), (1.5, 1.125), (4.0, 1.0), (2400, 1200),
                      population=Population.JUVENILE)  # fmt: skip
    assert total_improvement_score(juvenile).category is TisCategory.MODERATE


def test_example_2_edges_in_first_band_and_enzyme_rule_matters() -> None:
    relative = total_improvement_score(EXAMPLE_2)
    assert relative.measures[TisMeasure.PHYSICIAN_GLOBAL].improvement_pct == 5
    assert relative.measures[TisMeasure.PHYSICIAN_GLOBAL].points_min == 0
    assert relative.measures[TisMeasure.MMT8].improvement_pct == 2
    assert relative.measures[TisMeasure.MMT8].points_min == 0
    assert relative.measures[TisMeasure.ENZYME].improvement_pct == Fraction(20, 3)
    assert relative.tis == 2.5
    assert total_improvement_score(EXAMPLE_2, RANGE_RULE).tis == 0
    assert relative.category is TisCategory.NONE


def test_example_3_major_and_exact_40_in_25_40_band() -> None:
    result = total_improvement_score(EXAMPLE_3)
    assert result.measures[TisMeasure.EXTRAMUSCULAR].points_min == 15
    assert result.measures[TisMeasure.MMT8].points_min == 27.5
    assert result.tis == 90
    assert result.category is TisCategory.MAJOR


def test_exact_15_percent_lands_in_5_15_band_despite_float_error() -> None:
    # The example (5.0 - 3.5) / 10 * 100 happens to round to 15.0 in IEEE doubles;
    # 2.2 -> 0.7 does not (15.000000000000002), and 1.1 -> 0.6 gives 5.000000000000001.
    assert (2.2 - 0.7) / 10 * 100 > 15
    assert (1.1 - 0.6) / 10 * 100 > 5
    for bl, fu, points in ((5.0, 3.5, 7.5), (2.2, 0.7, 7.5), (1.1, 0.6, 0), (1.11, 0.6, 7.5)):
        result = total_improvement_score(change((bl, fu), (5, 5), (100, 100), (1, 1), (1, 1)))
        assert result.measures[TisMeasure.PHYSICIAN_GLOBAL].points_min == points, (bl, fu)
    result = total_improvement_score(change((2.2, 0.7), (5, 5), (100, 100), (1, 1), (1, 1)))
    assert result.measures[TisMeasure.PHYSICIAN_GLOBAL].improvement_pct == 15


def test_haq_decimal_edge_and_mmt_unilateral() -> None:
    # HAQ 1.2 -> 0.75 is exactly 15 % of 3 -> 5 points (upper edge of >5-15 %)
    result = total_improvement_score(
        change((1, 1), (1, 1), (64, 70), (1.2, 0.75), (1, 1), None, 80)
    )
    assert result.measures[TisMeasure.HAQ].points_min == 5
    assert result.measures[TisMeasure.MMT8].improvement_pct == Fraction(15, 2)
    assert result.measures[TisMeasure.MMT8].points_min == 10


def test_all_top_bands_give_exactly_100() -> None:
    result = total_improvement_score(change((10, 0), (10, 0), (0, 150), (3, 0), (10, 0), (5000, 0)))
    assert result.tis == 100


def test_worsening_scores_zero_not_negative() -> None:
    result = total_improvement_score(change((0, 10), (0, 10), (150, 0), (0, 3), (0, 10), (0, 900)))
    assert result.tis == 0
    assert result.category is TisCategory.NONE


def test_missing_measures_give_bounds_and_category_only_when_agreed() -> None:
    no_ck = change((7, 2), (8, 3), (100, 140), (2.0, 0.75), (5, 1), None)
    result = total_improvement_score(no_ck)
    assert (result.tis, result.tis_min, result.tis_max) == (None, 82.5, 90)
    assert result.category is TisCategory.MAJOR
    assert result.missing == (TisMeasure.ENZYME,)

    only_physician = change((6.0, 3.5), (None, None), (None, None), (None, None), (None, None))
    result = total_improvement_score(only_physician)
    assert result.tis_min == 15
    assert result.tis_max == 15 + 10 + 32.5 + 10 + 7.5 + 20
    assert result.category is None


def test_missing_follow_up_upper_bound_uses_known_baseline() -> None:
    # physician baseline 1 cm: at best a 10 % improvement -> at most 7.5 points
    c = change((1.0, None), (1, 1), (150, 150), (0, 0), (0, 0), (100, 100))
    result = total_improvement_score(c)
    assert result.measures[TisMeasure.PHYSICIAN_GLOBAL].points_max == 7.5
    assert (result.tis_min, result.tis_max) == (0, 7.5)
    assert result.category is TisCategory.NONE


def test_out_of_range_values_are_named() -> None:
    with pytest.raises(CoreSetError, match=r"physician_global_fu=10.5: outside 0-10"):
        total_improvement_score(change((5, 10.5), (1, 1), (1, 1), (1, 1), (1, 1)))
    with pytest.raises(CoreSetError, match="mmt8_max"):
        total_improvement_score(change((5, 1), (1, 1), (1, 1), (1, 1), (1, 1), mmt_max=100))
    bad_uln = CoreSetChange(enzymes={Enzyme.LDH: EnzymeValues(300, 200, None)})
    with pytest.raises(CoreSetError, match="ldh_uln"):
        total_improvement_score(bad_uln)


def test_most_abnormal_enzyme_by_ratio_to_uln_not_raw_value() -> None:
    c = CoreSetChange(
        enzymes={
            Enzyme.CK: EnzymeValues(400, 300, 200),  # 2 x ULN
            Enzyme.ALDOLASE: EnzymeValues(24, 10, 8),  # 3 x ULN
            Enzyme.LDH: EnzymeValues(600, 500, 200),  # 3 x ULN, tie -> earlier (aldolase)
        }
    )
    assert most_abnormal_enzyme(c) is Enzyme.ALDOLASE


def test_band_index_and_categories() -> None:
    assert band_index(5, 100, (5, 15, 25, 40)) == 0
    assert band_index(6, 100, (5, 15, 25, 40)) == 1
    assert band_index(41, 100, (5, 15, 25, 40)) == 4
    assert band_index(-3, 0, (5, 15, 25, 40)) == 0
    assert category_for(39, Population.ADULT) is TisCategory.NONE
    assert category_for(40, Population.ADULT) is TisCategory.MINIMAL
    assert category_for(120, Population.ADULT) is TisCategory.MAJOR
    assert category_for(40, Population.JUVENILE) is TisCategory.NONE
    assert category_for(60, Population.JUVENILE) is TisCategory.MINIMAL
    assert category_for(139, Population.JUVENILE) is TisCategory.MODERATE
