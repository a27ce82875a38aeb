"""ProDERM confirmed deterioration: two consecutive visits, exact thresholds."""

from __future__ import annotations

import pytest

from myoivig.outcomes.proderm import CoreSetVisit, PercentBasis, confirmed_deterioration

BASELINE = CoreSetVisit(physician_global=3, patient_global=3, extramuscular=2, haq=1, mmt8=120)


def test_criterion_a_on_two_consecutive_visits_is_confirmed() -> None:
    worse = CoreSetVisit(physician_global=5, patient_global=3, extramuscular=2, haq=1, mmt8=96)
    result = confirmed_deterioration(BASELINE, [BASELINE, worse, worse], 150)
    assert result.met_per_visit == (False, True, True)
    assert result.confirmed and result.confirmed_at_visit == 2


def test_single_visit_is_not_confirmed() -> None:
    worse = CoreSetVisit(physician_global=3, patient_global=3, extramuscular=4, haq=1, mmt8=120)
    result = confirmed_deterioration(BASELINE, [worse, BASELINE, worse], 150)
    assert result.met_per_visit == (True, False, True)
    assert not result.confirmed


def test_mmt_just_under_20_percent_does_not_meet_a() -> None:
    visit = CoreSetVisit(physician_global=5, patient_global=3, extramuscular=2, haq=1, mmt8=96.5)
    assert not confirmed_deterioration(BASELINE, [visit, visit], 150).confirmed


def test_criterion_c_three_of_five_by_30_percent() -> None:
    visit = CoreSetVisit(
        physician_global=3.9, patient_global=3.9, extramuscular=2, haq=1.3, mmt8=120
    )
    assert confirmed_deterioration(BASELINE, [visit, visit], 150).confirmed
    # on the scale basis, +0.9 cm is only 9 % of 10 cm
    assert not confirmed_deterioration(BASELINE, [visit, visit], 150, PercentBasis.SCALE).confirmed


def test_missing_inputs_are_reported_and_bad_scale_rejected() -> None:
    result = confirmed_deterioration(BASELINE, [CoreSetVisit(physician_global=9)], 150)
    assert result.incomplete_visits == (0,)
    with pytest.raises(ValueError, match="mmt8_max"):
        confirmed_deterioration(BASELINE, [], 100)


def test_proderm_responder_needs_tis_20_and_no_confirmed_deterioration() -> None:
    from myoivig.outcomes.proderm import proderm_responder

    stable = confirmed_deterioration(BASELINE, [BASELINE, BASELINE], 150)
    worse = CoreSetVisit(physician_global=3, patient_global=3, extramuscular=4, haq=1, mmt8=120)
    deteriorated = confirmed_deterioration(BASELINE, [worse, worse], 150)
    assert proderm_responder(20, 20, stable) is True
    assert proderm_responder(19.5, 19.5, stable) is False
    assert proderm_responder(60, 60, deteriorated) is False
    assert proderm_responder(15, 35, stable) is None


def test_missing_visit_data_cannot_prove_no_deterioration() -> None:
    from myoivig.outcomes.proderm import proderm_responder

    gap = CoreSetVisit(physician_global=BASELINE.physician_global)  # the rest not recorded
    unknown = confirmed_deterioration(BASELINE, [gap, gap], 150)
    assert not unknown.confirmed and not unknown.ruled_out
    assert proderm_responder(60, 60, unknown) is None
    one_gap = confirmed_deterioration(BASELINE, [BASELINE, gap, BASELINE], 150)
    assert one_gap.ruled_out  # a single incomplete visit cannot make two consecutive ones
    assert proderm_responder(60, 60, one_gap) is True
