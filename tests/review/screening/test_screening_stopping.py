"""The Callaghan & Müller-Hansen hypergeometric stopping rule on hand-computed cases."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy.stats import hypergeom

from myoivig.review.screening.events import ScreeningError
from myoivig.review.screening.stopping import min_relevant_under_null, stopping_test


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
    result = stopping_test(labels, 100)
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
    result = stopping_test(labels, 1000)
    expected = comb(978, 880) / comb(980, 880)
    assert expected == pytest.approx(100 * 99 / (980 * 979))
    assert result.p_value == pytest.approx(expected)
    assert result.sample_size == 880
    assert result.can_stop
    assert not stopping_test(labels, 1000, confidence=0.99).can_stop  # 0.0103 > 0.01


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
    result = stopping_test(labels, n_total, recall_target=tau)
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
