"""False stops: the corrected rule keeps 'recall >= target with 95 % confidence' in random orders;
the old one (every record, smallest p over every window) does not."""

from __future__ import annotations

import numpy as np
import pytest

from myoivig.review.screening.stopping import stopping_test, uncorrected_stopping_test
from myoivig.review.screening.stopping_audit import (
    first_stop_checkpoints,
    first_stop_uncorrected,
    recall_below_target,
)


def _brute_first_stop(labels: np.ndarray, rule: object) -> int:
    for n in range(1, labels.size + 1):
        if rule(labels[:n], labels.size).can_stop:  # type: ignore[operator]
            return n
    return labels.size


@pytest.mark.parametrize("seed", range(6))
def test_fast_first_stop_matches_testing_after_every_record(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.zeros(120, dtype=np.int64)
    labels[rng.choice(120, 6 + seed, replace=False)] = 1
    if seed % 2:  # a ranked-looking order: relevant records early
        labels = labels[np.argsort(-labels + rng.random(120) * 1.5, kind="stable")]
    assert first_stop_uncorrected(labels, 0.95, 0.95) == _brute_first_stop(
        labels, uncorrected_stopping_test
    )
    assert first_stop_checkpoints(labels, 0.95, 0.95) == _brute_first_stop(labels, stopping_test)


def test_recall_below_target_is_exact() -> None:
    labels = np.array([1] * 19 + [0] * 5 + [1])  # 20 relevant; 19/20 = 0.95 exactly
    assert not recall_below_target(labels, 19, 0.95)
    assert recall_below_target(labels, 18, 0.95)


def _false_stop_counts(runs: int, seed: int, tau: float, conf: float) -> tuple[int, int]:
    """Random orders of 300 records with 40 relevant (a seeded small simulation)."""
    rng = np.random.default_rng(seed)
    base = np.zeros(300, dtype=np.int64)
    base[:40] = 1
    old = new = 0
    for _ in range(runs):
        labels = base[rng.permutation(base.size)]
        old += recall_below_target(labels, first_stop_uncorrected(labels, tau, conf), tau)
        new += recall_below_target(labels, first_stop_checkpoints(labels, tau, conf), tau)
    return old, new


def test_old_rule_stops_falsely_too_often_and_the_corrected_one_does_not() -> None:
    # Recall target 90 % at a stated confidence of 80 %: at most 20 % of random orders may stop
    # below 90 % recall. With 300 orders and a true rate of 20 %, more than 74 false stops happen
    # with probability < 2.5 % (binomial), so the old rule's count above 74 is a broken promise.
    runs = 300
    old, new = _false_stop_counts(runs, seed=1, tau=0.9, conf=0.8)
    assert old > 74, f"old rule: {old}/{runs} false stops"
    assert new <= 74, f"corrected rule: {new}/{runs} false stops"
