"""The Callaghan & Müller-Hansen hypergeometric stopping rule: hand-computed cases of the single
test (the old, uncorrected procedure) and of the corrected checkpoint procedure."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy.stats import hypergeom

from myoivig.review.screening.events import ScreeningError
from myoivig.review.screening.stopping import (
    checkpoints,
    min_relevant_under_null,
    stopping_test,
    uncorrected_stopping_test,
)


def test_k_tar_is_exact_for_decimal_targets() -> None:
    assert min_relevant_under_null(19, 0.95) == 21  # 19 / 0.95 = 20 exactly -> K > 20
    assert min_relevant_under_null(20, 0.95) == 22  # 21.05 -> 22
    assert min_relevant_under_null(0, 0.95) == 1
    assert min_relevant_under_null(9, 0.9) == 11  # 9 / 0.9 = 10 exactly


def test_hand_computed_case_not_stopping() -> None:
    # N = 100; 50 screened: 10 relevant first, then 40 irrelevant.
    # K_tar = floor(10/0.95)+1 = 11. A window of the last n <= 40 records (all irrelevant) was
    # drawn from 50+n records holding 1 relevant under H0: p = P(miss it) = 50/(50+n), smallest at
    # n = 40: 50/90. Windows reaching into the relevant records give p close to 1.
    labels = [1] * 10 + [0] * 40
    result = uncorrected_stopping_test(labels, 100)
    assert result.min_relevant_under_null == 11
    assert result.p_value == pytest.approx(50 / 90)
    assert result.sample_size == 40 and result.relevant_in_sample == 0
    assert not result.can_stop


def test_hand_computed_case_stopping() -> None:
    # N = 1000; 900 screened: 20 relevant first, then 880 irrelevant.
    # K_tar = floor(20/0.95)+1 = 22, so under H0 2 relevant records hide among the 980 records
    # left when the last-880 sample began: P(0 of 2 drawn in 880) = C(978,880)/C(980,880)
    # = 100*99/(980*979) = 0.01032 < 0.05.
    labels = [1] * 20 + [0] * 880
    result = uncorrected_stopping_test(labels, 1000)
    expected = comb(978, 880) / comb(980, 880)
    assert expected == pytest.approx(100 * 99 / (980 * 979))
    assert result.p_value == pytest.approx(expected)
    assert result.sample_size == 880
    assert result.can_stop
    assert not uncorrected_stopping_test(labels, 1000, confidence=0.99).can_stop  # 0.0103 > 0.01


def test_matches_scipy_window_by_window() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(200) < np.linspace(0.3, 0.0, 200)).astype(int)
    n_total, tau = 600, 0.9
    r = int(labels.sum())
    k_tar = min_relevant_under_null(r, tau)
    expected = []
    for n in range(1, labels.size + 1):
        k = int(labels[-n:].sum())
        population = n_total - labels.size + n
        relevant = k_tar - (r - k)
        expected.append(hypergeom.cdf(k, population, relevant, n))
    result = uncorrected_stopping_test(labels, n_total, recall_target=tau)
    assert result.p_value == pytest.approx(min(expected))


def test_everything_screened_allows_stopping() -> None:
    labels = [1, 0, 1, 0, 0]
    assert stopping_test(labels, 5).p_value == 0.0


def test_nothing_screened_and_bad_input() -> None:
    assert stopping_test([], 10).p_value == 1.0
    with pytest.raises(ScreeningError, match="recall_target"):
        stopping_test([0], 10, recall_target=1.0)
    with pytest.raises(ScreeningError, match="confidence"):
        stopping_test([0], 10, confidence=0.0)
    with pytest.raises(ScreeningError, match="smaller than"):
        stopping_test([0, 0], 1)
    with pytest.raises(ScreeningError, match="0 and 1"):
        stopping_test([0, 2], 10)


def test_checkpoints_are_every_twentieth_of_the_records() -> None:
    assert checkpoints(100).tolist() == list(range(5, 101, 5))
    assert checkpoints(7).tolist() == list(range(1, 8))  # fewer records than checkpoints
    assert checkpoints(1000, 4).tolist() == [250, 500, 750, 1000]


def test_corrected_rule_does_not_stop_where_the_old_one_did() -> None:
    # The old rule's stopping case above (p = 0.0103, one of 900 windows tested after every
    # record). The corrected rule tests at checkpoints 50, 100, ..., 900 only, windows starting
    # at a checkpoint: the best is the last 850 records, from the 950 unscreened at record 50
    # holding 2 relevant under H0: 100*99/(950*949) = 0.01098, times 210 declared tests.
    labels = [1] * 20 + [0] * 880
    result = stopping_test(labels, 1000)
    assert result.tests_declared == 210
    assert result.records_tested == 900
    assert result.sample_size == 850 and result.relevant_in_sample == 0
    assert result.p_value == pytest.approx(min(1.0, 210 * 100 * 99 / (950 * 949)))
    assert not result.can_stop
    assert uncorrected_stopping_test(labels, 1000).can_stop


def test_corrected_rule_stops_on_strong_evidence() -> None:
    # N = 1000, 40 relevant first, then 940 irrelevant; under H0 K_tar = 43, 3 relevant hide in
    # the 950 records left at checkpoint 50. The last checkpoint reached is 950 (records 951-980
    # are not tested yet): P(none of 3 in the 900 drawn) = C(947, 900) / C(950, 900)
    # = 50*49*48/(950*949*948) = 1.38e-4; times 210 = 0.029 < 0.05.
    labels = [1] * 40 + [0] * 940
    result = stopping_test(labels, 1000)
    expected = comb(947, 900) / comb(950, 900)
    assert expected == pytest.approx(50 * 49 * 48 / (950 * 949 * 948))
    assert result.records_tested == 950
    assert result.sample_size == 900
    assert result.p_value == pytest.approx(210 * expected)
    assert result.can_stop


def test_corrected_rule_ignores_records_between_checkpoints() -> None:
    labels = [1] * 20 + [0] * 880
    assert stopping_test(labels + [0] * 49, 1000).records_tested == 900


def test_corrected_rule_everything_screened_and_nothing_screened() -> None:
    assert stopping_test([1, 0, 1, 0, 0], 5).p_value == 0.0
    assert stopping_test([], 10).p_value == 1.0
    assert stopping_test([0, 0], 1000).records_tested == 0  # before the first checkpoint
    with pytest.raises(ScreeningError, match="n_checkpoints"):
        stopping_test([0], 10, n_checkpoints=0)
