"""Simulation: replay a fully labelled dataset through active-learning screening.

Like ASReview's simulate mode: start from prior records (default one relevant and one irrelevant,
drawn with a seed), then repeatedly refit the model, screen the top-ranked record and reveal its
known label. At each of the stopping rule's pre-declared checkpoints it is tested (testing it after
every record is what made the old procedure stop too early); the run continues until the
rule has fired and every relevant record has been found (or all records are screened), so both
"where the rule stopped" and "where the last relevant record was" are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from myoivig.review.screening import metrics
from myoivig.review.screening.events import ScreeningError
from myoivig.review.screening.ranking import ModelSettings, rank_pool
from myoivig.review.screening.stopping import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RECALL_TARGET,
    checkpoints,
    stopping_test,
)


@dataclass(frozen=True)
class SimulationSettings:
    """How to run one simulation."""

    model: ModelSettings = field(default_factory=ModelSettings)
    recall_target: float = DEFAULT_RECALL_TARGET
    confidence: float = DEFAULT_CONFIDENCE
    run_to_end: bool = False  # screen every record even after the rule fired and all were found


@dataclass(frozen=True)
class SimulationResult:
    """The screening order and the figures derived from it."""

    n_total: int
    n_relevant: int
    priors: tuple[int, ...]
    order: tuple[int, ...]  # row indices in screening order, priors first
    order_labels: tuple[int, ...]
    stopped_at: int | None  # records screened when the stopping rule first allowed stopping
    p_value_at_stop: float | None
    recall_target: float
    confidence: float

    @property
    def recall_at_stop(self) -> float | None:
        """Recall when the stopping rule fired."""
        if self.stopped_at is None:
            return None
        return metrics.recall_at(self.order_labels, self.stopped_at, self.n_relevant)

    def wss(self, recall: float) -> float | None:
        """WSS at a recall level (Cohen 2006)."""
        return metrics.wss(self.order_labels, self.n_total, self.n_relevant, recall)

    @property
    def share_to_last_relevant(self) -> float | None:
        """Share screened when the last relevant record was found."""
        return metrics.share_to_last_relevant(self.order_labels, self.n_total, self.n_relevant)

    @property
    def atd(self) -> float | None:
        """Average time to discovery as a share of N."""
        return metrics.average_time_to_discovery(self.order_labels, self.n_total, self.n_relevant)

    def summary(self, curve_points: int = 20) -> dict[str, object]:
        """Stable snake_case figures for reports and --json output."""
        stop_share = None if self.stopped_at is None else self.stopped_at / self.n_total
        return {
            "n_records": self.n_total,
            "n_relevant": self.n_relevant,
            "prior_rows": list(self.priors),
            "n_screened": len(self.order),
            "wss_95": self.wss(0.95),
            "wss_100": self.wss(1.0),
            "share_screened_to_last_relevant": self.share_to_last_relevant,
            "atd": self.atd,
            "recall_at_10pct": metrics.recall_at(
                self.order_labels, max(1, round(0.1 * self.n_total)), self.n_relevant
            ),
            "stop_recall_target": self.recall_target,
            "stop_confidence": self.confidence,
            "stopped_at": self.stopped_at,
            "stopped_at_share": stop_share,
            "recall_at_stop": self.recall_at_stop,
            "p_value_at_stop": self.p_value_at_stop,
            "recall_curve": [
                {"screened": n, "recall": r}
                for n, r in metrics.recall_curve(self.order_labels, self.n_relevant, curve_points)
            ],
        }


def choose_priors(
    labels: np.ndarray, n_included: int = 1, n_excluded: int = 1, seed: int = 0
) -> np.ndarray:
    """Draw the starting records: n_included relevant and n_excluded irrelevant rows (seeded)."""
    rng = np.random.default_rng(seed)
    relevant = np.flatnonzero(labels == 1)
    irrelevant = np.flatnonzero(labels == 0)
    if relevant.size < n_included or irrelevant.size < n_excluded:
        raise ScreeningError(
            f"priors: asked for {n_included} relevant and {n_excluded} irrelevant records, "
            f"dataset has {relevant.size} and {irrelevant.size}"
        )
    chosen = np.concatenate(
        [
            rng.choice(relevant, size=n_included, replace=False),
            rng.choice(irrelevant, size=n_excluded, replace=False),
        ]
    )
    return chosen.astype(np.int64)


def simulate(
    features: sp.csr_matrix,
    labels: np.ndarray,
    priors: Sequence[int] | np.ndarray,
    settings: SimulationSettings | None = None,
) -> SimulationResult:
    """Replay screening of a labelled corpus from the given prior rows."""
    settings = settings or SimulationSettings()
    labels = np.asarray(labels, dtype=np.int64)
    n_total = int(labels.size)
    if features.shape[0] != n_total:
        raise ScreeningError(f"features have {features.shape[0]} rows, labels {n_total}")
    n_relevant = int(labels.sum())
    if n_relevant == 0:
        raise ScreeningError("simulation: the dataset has no relevant records")
    prior_rows = [int(p) for p in priors]
    if len(set(prior_rows)) != len(prior_rows) or any(not 0 <= p < n_total for p in prior_rows):
        raise ScreeningError(f"priors: invalid or repeated rows {prior_rows}")
    order: list[int] = list(prior_rows)
    found = int(labels[prior_rows].sum())
    stopped_at: int | None = None
    p_at_stop: float | None = None
    test_points = set(checkpoints(n_total - len(prior_rows)).tolist())
    while len(order) < n_total:
        if not settings.run_to_end and stopped_at is not None and found == n_relevant:
            break
        labelled = np.asarray(order, dtype=np.int64)
        ranked = rank_pool(features, labelled, labels[labelled], settings.model)
        row = int(ranked[0])
        order.append(row)
        found += int(labels[row])
        if stopped_at is None and len(order) - len(prior_rows) in test_points:
            test = stopping_test(
                labels[np.asarray(order[len(prior_rows) :], dtype=np.int64)],
                n_total - len(prior_rows),
                settings.recall_target,
                settings.confidence,
            )
            if test.can_stop:
                stopped_at, p_at_stop = len(order), test.p_value
    order_arr = np.asarray(order, dtype=np.int64)
    return SimulationResult(
        n_total=n_total,
        n_relevant=n_relevant,
        priors=tuple(prior_rows),
        order=tuple(int(i) for i in order_arr),
        order_labels=tuple(int(v) for v in labels[order_arr]),
        stopped_at=stopped_at,
        p_value_at_stop=p_at_stop,
        recall_target=settings.recall_target,
        confidence=settings.confidence,
    )
