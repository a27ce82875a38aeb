"""Screening-performance metrics of a labelled screening order.

Definitions are pinned here (and in tests) because implementations disagree (asreview-insights
computes WSS from a discretised random curve). All positions count every screened record, including
the prior (starting) records.

* recall after n: relevant found in the first n screened / all relevant.
* WSS@r (Cohen AM et al., J Am Med Inform Assoc 2006;13:206-219): (N - n_r) / N - (1 - r), where
  n_r is the number of records screened when ceil(r * R) relevant records have been found.
* share to the last relevant: n_R / N, the work needed to find every relevant record.
* ATD (average time to discovery, Ferdinands et al. 2023, Syst Rev 12:100): mean position at which
  the relevant records were found, as a share of N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from myoivig.review.screening.events import ScreeningError


def _labels(order_labels: Sequence[int] | np.ndarray) -> np.ndarray:
    labels = np.asarray(order_labels, dtype=np.int64)
    if labels.ndim != 1 or (labels.size and not np.isin(labels, (0, 1)).all()):
        raise ScreeningError("order_labels: must be a flat sequence of 0 and 1")
    return labels


def records_to_find(n_relevant: int, recall: float) -> int:
    """ceil(recall * R), computed exactly for decimal recall targets such as 0.95."""
    if not 0.0 < recall <= 1.0:
        raise ScreeningError(f"recall: must be in (0, 1], got {recall}")
    return math.ceil(Fraction(str(recall)) * n_relevant)


def screened_to_reach(order_labels: Sequence[int] | np.ndarray, k: int) -> int | None:
    """How many records were screened when the k-th relevant one was found (None if never)."""
    labels = _labels(order_labels)
    if k <= 0:
        return 0
    hits = np.flatnonzero(labels == 1)
    return int(hits[k - 1]) + 1 if hits.size >= k else None


def wss(
    order_labels: Sequence[int] | np.ndarray, n_total: int, n_relevant: int, recall: float = 0.95
) -> float | None:
    """Work saved over sampling at a recall level (Cohen 2006); None if it is not reached."""
    if n_relevant <= 0:
        raise ScreeningError("wss: the dataset has no relevant records")
    n_r = screened_to_reach(order_labels, records_to_find(n_relevant, recall))
    if n_r is None:
        return None
    return (n_total - n_r) / n_total - (1.0 - recall)


def recall_at(order_labels: Sequence[int] | np.ndarray, n_screened: int, n_relevant: int) -> float:
    """Recall after screening the first n_screened records."""
    labels = _labels(order_labels)
    if n_relevant <= 0:
        raise ScreeningError("recall: the dataset has no relevant records")
    return float(labels[:n_screened].sum()) / n_relevant


def share_to_last_relevant(
    order_labels: Sequence[int] | np.ndarray, n_total: int, n_relevant: int
) -> float | None:
    """Share of all records screened when the last relevant record was found."""
    n_last = screened_to_reach(order_labels, n_relevant)
    return None if n_last is None else n_last / n_total


def average_time_to_discovery(
    order_labels: Sequence[int] | np.ndarray, n_total: int, n_relevant: int
) -> float | None:
    """Mean discovery position of the relevant records as a share of N (None if any is unfound)."""
    labels = _labels(order_labels)
    positions = np.flatnonzero(labels == 1) + 1
    if positions.size < n_relevant:
        return None
    return float(positions.mean()) / n_total


def recall_curve(
    order_labels: Sequence[int] | np.ndarray, n_relevant: int, points: int = 20
) -> list[tuple[int, float]]:
    """(records screened, recall) at ``points`` evenly spaced positions plus the end."""
    labels = _labels(order_labels)
    if labels.size == 0:
        return []
    found = np.cumsum(labels)
    marks = sorted({max(1, round(labels.size * i / points)) for i in range(1, points + 1)})
    return [(m, float(found[m - 1]) / n_relevant) for m in marks]
