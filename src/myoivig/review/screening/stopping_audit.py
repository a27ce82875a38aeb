"""Where would a stopping rule first fire in a fully labelled screening order?

Used to measure false stops (the rule fired while recall was still below the target) over many
orders, so both procedures must be cheap per order:

* the uncorrected rule is tested after every record, over every window. Two facts make it cheap
  exactly: (1) among windows holding the same number of relevant records the longest has the
  smallest p (a longer sample with the same finds is stronger evidence), so only windows that
  start right after a relevant record (or at the start) matter; (2) between two relevant records
  every such window only grows, so each p falls, and the smallest p in a gap is at its end. The
  rule fires in the first gap whose end has a p below alpha; a binary search finds the record.
* the corrected rule (`stopping.stopping_test`) is tested at its K checkpoints only.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from myoivig.review.screening.stopping import (
    DEFAULT_CHECKPOINTS,
    checkpoints,
    hypergeom_p,
    min_relevant_under_null,
    tests_declared,
    window_p_values,
)


def _k_tar(found: np.ndarray, recall_target: float) -> np.ndarray:
    """Vector K_tar = floor(r / tau) + 1 in exact integer arithmetic."""
    tau = Fraction(str(recall_target))
    return (found * tau.denominator) // tau.numerator + 1


def _gap_min_p(
    positions: np.ndarray, gap: int, at: int, n_total: int, recall_target: float
) -> float:
    """Smallest window p after `at` records screened, `gap` relevant found so far."""
    j = np.arange(gap + 1)
    starts = np.where(j == 0, 0, positions[np.maximum(j - 1, 0)] + 1)
    k_tar = min_relevant_under_null(gap, recall_target)
    sizes = at - starts
    population = n_total - starts
    return float(hypergeom_p(gap - j, population, k_tar - j, sizes).min())


def first_stop_uncorrected(
    labels_in_order: np.ndarray, recall_target: float, confidence: float
) -> int:
    """Records screened when the uncorrected rule (every record, every window) first fires."""
    labels = np.asarray(labels_in_order, dtype=np.int64)
    n_total = int(labels.size)
    alpha = 1.0 - confidence
    positions = np.flatnonzero(labels == 1)
    n_rel = positions.size
    # gap g: g relevant found; runs from g-th relevant screened to just before the (g+1)-th
    gap_end = np.append(positions, n_total)  # records screened at the end of gap g
    gap_start = np.concatenate(([0], positions + 1))
    g_idx, j_idx = np.tril_indices(n_rel + 1)  # window after the j-th relevant, in gap g
    starts = np.where(j_idx == 0, 0, positions[np.maximum(j_idx - 1, 0)] + 1)
    k_tar = _k_tar(g_idx, recall_target)
    sizes = gap_end[g_idx] - starts
    population = n_total - starts
    p = hypergeom_p(g_idx - j_idx, population, k_tar - j_idx, sizes)
    gap_min = np.full(n_rel + 1, np.inf)
    np.minimum.at(gap_min, g_idx, p)
    firing = np.flatnonzero(gap_min < alpha)
    if firing.size == 0:
        return n_total
    gap = int(firing[0])
    low, high = int(gap_start[gap]), int(gap_end[gap])  # fires at `high`; find the first
    while low < high:
        middle = (low + high) // 2
        if _gap_min_p(positions, gap, middle, n_total, recall_target) < alpha:
            high = middle
        else:
            low = middle + 1
    return low


def first_stop_checkpoints(
    labels_in_order: np.ndarray,
    recall_target: float,
    confidence: float,
    n_checkpoints: int = DEFAULT_CHECKPOINTS,
) -> int:
    """Records screened when the corrected rule first allows stopping (always by the end)."""
    labels = np.asarray(labels_in_order, dtype=np.int64)
    n_total = int(labels.size)
    level = (1.0 - confidence) / tests_declared(n_checkpoints)
    points = checkpoints(n_total, n_checkpoints)
    for index, end in enumerate(points):
        starts = np.concatenate(([0], points[:index])).astype(np.int64)
        p, _ = window_p_values(labels, n_total, starts, int(end), recall_target)
        if p.min() < level:
            return int(end)
    return n_total


def recall_below_target(labels_in_order: np.ndarray, stopped_at: int, recall_target: float) -> bool:
    """True when fewer than recall_target of the relevant records were found by `stopped_at`."""
    labels = np.asarray(labels_in_order, dtype=np.int64)
    tau = Fraction(str(recall_target))
    found = int(labels[:stopped_at].sum())
    return found * tau.denominator < tau.numerator * int(labels.sum())
