"""Statistical stopping rule for prioritised screening.

Callaghan MW, Müller-Hansen F. Statistical stopping criteria for automated screening in systematic
reviews. Syst Rev 2020;9:273. doi:10.1186/s13643-020-01521-4.

Null hypothesis: recall so far is below the target tau. With r_seen relevant records found, that
means at least K_tar = floor(r_seen / tau) + 1 relevant records exist. Treat the last n screened
records (for every n) as a sample drawn without replacement from the records that were unscreened
when that sample began (N - n_seen + n records, holding at least K_tar - r_before relevant ones,
r_before = relevant found before the sample). The p-value of seeing at most the k relevant records
actually found in the sample is the hypergeometric CDF; the rule takes the smallest p over all n
(as in the authors' reference implementation, mcallaghan/rapid-screening) and allows stopping when
p < 1 - confidence. Prioritised screening finds relevant records faster than random sampling, so
treating its tail as a random sample is conservative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from myoivig.review.screening.events import ScreeningError

if TYPE_CHECKING:  # NumPy is imported when the rule is tested, not when a command starts
    import numpy as np

DEFAULT_RECALL_TARGET = 0.95  # Callaghan & Müller-Hansen 2020 evaluate tau = 0.95 as the main case
DEFAULT_CONFIDENCE = 0.95  # ibid.: alpha = 0.05


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


def stopping_test(
    screened_labels: Sequence[int] | np.ndarray,
    n_total: int,
    recall_target: float = DEFAULT_RECALL_TARGET,
    confidence: float = DEFAULT_CONFIDENCE,
) -> StoppingTest:
    """Test H0 "recall < recall_target" given labels (1 relevant, 0 not) in screening order."""
    import numpy as np

    _check_parameters(recall_target, confidence)
    labels = np.asarray(screened_labels, dtype=np.int64)
    if labels.ndim != 1 or (labels.size and not np.isin(labels, (0, 1)).all()):
        raise ScreeningError("screened_labels: must be a flat sequence of 0 and 1")
    n_seen = int(labels.size)
    if n_total < n_seen:
        raise ScreeningError(f"n_total: {n_total} is smaller than the {n_seen} records screened")
    r_seen = int(labels.sum())
    k_tar = min_relevant_under_null(r_seen, recall_target)
    if n_seen == 0:
        return StoppingTest(n_total, 0, 0, recall_target, confidence, 1.0, 0, 0, k_tar)
    in_sample = np.cumsum(labels[::-1])  # relevant in the last 1, 2, ..., n_seen records
    sizes = np.arange(1, n_seen + 1)
    population = n_total - n_seen + sizes
    relevant_in_population = k_tar - (r_seen - in_sample)
    p = np.ones(n_seen)
    impossible = relevant_in_population > population  # H0 cannot hold: more relevant than records
    p[impossible] = 0.0
    ok = ~impossible
    from scipy.stats import hypergeom  # heavy: only when the rule is tested

    p[ok] = hypergeom.cdf(in_sample[ok], population[ok], relevant_in_population[ok], sizes[ok])
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
    )
