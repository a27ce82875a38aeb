"""Statistical stopping rule for prioritised screening.

Callaghan MW, Müller-Hansen F. Statistical stopping criteria for automated screening in systematic
reviews. Syst Rev 2020;9:273. doi:10.1186/s13643-020-01521-4.

Null hypothesis: recall so far is below the target tau. With r_seen relevant records found, that
means at least K_tar = floor(r_seen / tau) + 1 relevant records exist. Treat the last n screened
records (for every n) as a sample drawn without replacement from the records that were unscreened
when that sample began (N - n_seen + n records, holding at least K_tar - r_before relevant ones,
r_before = relevant found before the sample). The p-value of seeing at most the k relevant records
actually found in the sample is the hypergeometric CDF. Prioritised screening finds relevant
records faster than random sampling, so treating its tail as a random sample is conservative.

Repeated testing. The authors' reference code (mcallaghan/rapid-screening) takes the smallest p
over every window and, used live, is re-run after every record; each single test is valid, but
the smallest of thousands of correlated p-values is not a p-value: in random orders it stopped
below the target about twice as often as 1 - confidence allows (benchmarks/
stopping_rule_false_stops.py, docs/review_screening.md). `stopping_test` therefore tests only at
pre-declared checkpoints (every N/K records, K = `n_checkpoints`) and only windows that begin at
an earlier checkpoint: at most K(K+1)/2 tests over the whole screen, each at level
alpha / (K(K+1)/2) (Bonferroni over the whole sequence of tests), so the chance that ANY of them
falsely allows stopping is at most alpha = 1 - confidence. `uncorrected_stopping_test` keeps the
old procedure only so the benchmark and tests can measure its false stops; nothing decides with
it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from myoivig.review.screening.events import ScreeningError
from myoivig.review.screening.stopping_defaults import (
    DEFAULT_CHECKPOINTS,
    DEFAULT_CONFIDENCE,
    DEFAULT_RECALL_TARGET,
)


@dataclass(frozen=True)
class StoppingTest:
    """Result of the hypergeometric test at one moment of screening."""

    n_total: int
    n_screened: int
    relevant_found: int
    recall_target: float
    confidence: float
    p_value: float
    sample_size: int  # the window (last n screened) giving the smallest p-value
    relevant_in_sample: int
    min_relevant_under_null: int  # K_tar
    tests_declared: int = 1  # Bonferroni factor: tests the procedure may make over the whole screen
    records_tested: int = 0  # records up to the checkpoint whose test gave p_value

    @property
    def can_stop(self) -> bool:
        """True when recall >= target is supported at the stated confidence."""
        return self.p_value < 1.0 - self.confidence


def _check_parameters(recall_target: float, confidence: float) -> None:
    if not 0.0 < recall_target < 1.0:
        raise ScreeningError(
            f"recall_target: must be strictly between 0 and 1, got {recall_target}"
        )
    if not 0.0 < confidence < 1.0:
        raise ScreeningError(f"confidence: must be strictly between 0 and 1, got {confidence}")


def min_relevant_under_null(relevant_found: int, recall_target: float) -> int:
    """K_tar = floor(r / tau) + 1, computed exactly (0.95 is 19/20, not a binary float)."""
    tau = Fraction(str(recall_target))
    return math.floor(Fraction(relevant_found) / tau) + 1


def hypergeom_p(
    in_sample: np.ndarray, population: np.ndarray, relevant: np.ndarray, sizes: np.ndarray
) -> np.ndarray:
    """P(at most in_sample relevant in a sample of `sizes` from `population` records holding
    `relevant`); 0 where H0 is impossible (more relevant than records), 1 for empty samples."""
    p = np.ones(np.shape(sizes))
    impossible = relevant > population
    p[impossible] = 0.0
    ok = ~impossible & (sizes > 0)
    from scipy.stats import hypergeom  # heavy (~1 s): loaded when a rule is first tested

    p[ok] = hypergeom.cdf(in_sample[ok], population[ok], relevant[ok], sizes[ok])
    return p


def _checked_labels(screened_labels: Sequence[int] | np.ndarray, n_total: int) -> np.ndarray:
    labels = np.asarray(screened_labels, dtype=np.int64)
    if labels.ndim != 1 or (labels.size and not ((labels == 0) | (labels == 1)).all()):
        raise ScreeningError("screened_labels: must be a flat sequence of 0 and 1")
    if n_total < labels.size:
        raise ScreeningError(
            f"n_total: {n_total} is smaller than the {labels.size} records screened"
        )
    return labels


def uncorrected_stopping_test(
    screened_labels: Sequence[int] | np.ndarray,
    n_total: int,
    recall_target: float = DEFAULT_RECALL_TARGET,
    confidence: float = DEFAULT_CONFIDENCE,
) -> StoppingTest:
    """The OLD procedure: smallest p over every window, no correction. Not for decisions.

    Kept so its excess false stops can be measured against `stopping_test`.
    """
    _check_parameters(recall_target, confidence)
    labels = _checked_labels(screened_labels, n_total)
    n_seen = int(labels.size)
    r_seen = int(labels.sum())
    k_tar = min_relevant_under_null(r_seen, recall_target)
    if n_seen == 0:
        return StoppingTest(n_total, 0, 0, recall_target, confidence, 1.0, 0, 0, k_tar)
    in_sample = np.cumsum(labels[::-1])  # relevant in the last 1, 2, ..., n_seen records
    sizes = np.arange(1, n_seen + 1)
    population = n_total - n_seen + sizes
    relevant_in_population = k_tar - (r_seen - in_sample)
    p = hypergeom_p(in_sample, population, relevant_in_population, sizes)
    best = int(np.argmin(p))
    return StoppingTest(
        n_total=n_total,
        n_screened=n_seen,
        relevant_found=r_seen,
        recall_target=recall_target,
        confidence=confidence,
        p_value=float(p[best]),
        sample_size=best + 1,
        relevant_in_sample=int(in_sample[best]),
        min_relevant_under_null=k_tar,
        records_tested=n_seen,
    )


def checkpoints(n_total: int, n_checkpoints: int = DEFAULT_CHECKPOINTS) -> np.ndarray:
    """Pre-declared test points: ceil(j * N / K) records screened, j = 1..K (distinct, N last)."""
    if n_checkpoints < 1:
        raise ScreeningError(f"n_checkpoints: must be at least 1, got {n_checkpoints}")
    if n_total < 1:
        return np.zeros(0, dtype=np.int64)
    j = np.arange(1, n_checkpoints + 1, dtype=np.int64)
    return np.unique(-((-j * n_total) // n_checkpoints))


def tests_declared(n_checkpoints: int = DEFAULT_CHECKPOINTS) -> int:
    """K(K+1)/2: one test per (checkpoint, earlier checkpoint or start) pair."""
    return n_checkpoints * (n_checkpoints + 1) // 2


def window_p_values(
    labels: np.ndarray, n_total: int, starts: np.ndarray, end: int, recall_target: float
) -> tuple[np.ndarray, int]:
    """Hypergeometric p of each window labels[start:end] (start in `starts`) and K_tar at `end`.

    The window is a sample from the N - start records unscreened when it began; under H0 they
    hold at least K_tar - r_before relevant records.
    """
    cumulative = np.concatenate(([0], np.cumsum(labels[:end])))
    r_seen = int(cumulative[end])
    k_tar = min_relevant_under_null(r_seen, recall_target)
    r_before = cumulative[starts]
    in_sample = r_seen - r_before
    sizes = end - starts
    population = n_total - starts
    return hypergeom_p(in_sample, population, k_tar - r_before, sizes), k_tar


@lru_cache(maxsize=16)
def _best_checkpoint_test(
    prefix: tuple[int, ...], n_total: int, recall_target: float, n_checkpoints: int
) -> tuple[float, int, int, int, int]:
    """The best of the tests at every checkpoint within `prefix` (the labels up to the last
    checkpoint reached). It depends on nothing after that checkpoint, so a live screen, asking
    after every record, computes it again only when a checkpoint is passed."""
    labels = np.asarray(prefix, dtype=np.int64)
    factor = tests_declared(n_checkpoints)
    points = checkpoints(n_total, n_checkpoints)
    reached = points[points <= labels.size]
    best = (1.0, 0, 0, 0, 0)
    smallest = np.inf
    for index, end in enumerate(reached):
        starts = np.concatenate(([0], reached[:index])).astype(np.int64)
        p, k_tar = window_p_values(labels, n_total, starts, int(end), recall_target)
        at = int(np.argmin(p))
        if p[at] < smallest:
            smallest = float(p[at])
            found = int(labels[starts[at] : end].sum())
            best = (min(1.0, smallest * factor), int(end), int(end - starts[at]), found, k_tar)
    return best


def stopping_test(
    screened_labels: Sequence[int] | np.ndarray,
    n_total: int,
    recall_target: float = DEFAULT_RECALL_TARGET,
    confidence: float = DEFAULT_CONFIDENCE,
    n_checkpoints: int = DEFAULT_CHECKPOINTS,
) -> StoppingTest:
    """Test H0 "recall < recall_target" at the pre-declared checkpoints reached so far.

    labels: 1 relevant, 0 not, in screening order. p_value is the Bonferroni-adjusted smallest
    p (times K(K+1)/2, capped at 1) over every test made at every checkpoint reached; stopping is
    allowed when it is below 1 - confidence, which keeps the chance of ever stopping below the
    recall target at most 1 - confidence when the order is random (and less when ranked).
    """
    _check_parameters(recall_target, confidence)
    labels = _checked_labels(screened_labels, n_total)
    n_seen = int(labels.size)
    r_seen = int(labels.sum())
    factor = tests_declared(n_checkpoints)
    points = checkpoints(n_total, n_checkpoints)
    reached = points[points <= n_seen]
    # (adjusted p, records tested, window size, relevant in window, K_tar) of the best test
    best = (1.0, 0, 0, 0, min_relevant_under_null(r_seen, recall_target))
    if reached.size:
        prefix = tuple(labels[: int(reached[-1])].tolist())
        best = _best_checkpoint_test(prefix, n_total, recall_target, n_checkpoints)
    adjusted, tested, sample, found, k_tar = best
    return StoppingTest(
        n_total=n_total,
        n_screened=n_seen,
        relevant_found=r_seen,
        recall_target=recall_target,
        confidence=confidence,
        p_value=adjusted,
        sample_size=sample,
        relevant_in_sample=found,
        min_relevant_under_null=k_tar,
        tests_declared=factor,
        records_tested=tested,
    )
