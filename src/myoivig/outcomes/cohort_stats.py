"""Cohort statistics: responder proportions with exact and Wilson intervals, CK before/after
tests, myometry change summaries, adverse-event rates.

Intervals: Clopper-Pearson ("exact") and Wilson score intervals as implemented by
`scipy.stats.binomtest(...).proportion_ci(method="exact" | "wilson")` (Clopper CJ, Pearson ES,
Biometrika 1934;26:404; Wilson EB, JASA 1927;22:209). CK is compared on the log scale with a
paired t test (CK is right-skewed) and with the Wilcoxon signed-rank test, exact when there are
no ties or zero differences (scipy chooses the exact null distribution for small n).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95  # conventional 95 % intervals (issue 3)


@dataclass(frozen=True)
class Proportion:
    successes: int
    total: int
    clopper_pearson: tuple[float, float] | None  # None when total == 0
    wilson: tuple[float, float] | None

    @property
    def estimate(self) -> float | None:
        return self.successes / self.total if self.total else None


def proportion(successes: int, total: int, confidence: float = CONFIDENCE) -> Proportion:
    """k of n with Clopper-Pearson and Wilson intervals."""
    if total < 0 or not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total, got {successes} of {total}")
    if total == 0:
        return Proportion(0, 0, None, None)
    from scipy import stats  # heavy: loaded by the first cohort statistic, not at start-up

    test = stats.binomtest(successes, total)
    exact = test.proportion_ci(confidence_level=confidence, method="exact")
    wilson = test.proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(
        successes,
        total,
        (float(exact.low), float(exact.high)),
        (float(wilson.low), float(wilson.high)),
    )


@dataclass(frozen=True)
class PairedCkTests:
    n_pairs: int
    geometric_mean_before: float
    geometric_mean_after: float
    ratio_after_to_before: float  # geometric mean of after/before
    ratio_ci: tuple[float, float] | None
    t_statistic: float | None
    t_p_value: float | None
    wilcoxon_statistic: float | None
    wilcoxon_p_value: float | None
    wilcoxon_method: str | None


def ck_before_after(
    pairs: Sequence[tuple[float, float]], confidence: float = CONFIDENCE
) -> PairedCkTests:
    """Paired t test on log CK and Wilcoxon signed-rank on the CK differences."""
    for i, (before, after) in enumerate(pairs):
        if not (before > 0 and after > 0):
            raise ValueError(
                f"CK pair {i}: values must be > 0 for the log scale, got {before}, {after}"
            )
    n = len(pairs)
    if n == 0:
        raise ValueError("no CK pairs")
    logs_b = [math.log(b) for b, _ in pairs]
    logs_a = [math.log(a) for _, a in pairs]
    diffs = [a - b for b, a in zip(logs_b, logs_a, strict=True)]
    mean_diff = sum(diffs) / n
    ci = None
    t_stat = t_p = None
    from scipy import stats

    if n >= 2 and len(set(diffs)) > 1:
        res = stats.ttest_rel(logs_a, logs_b)
        t_stat, t_p = float(res.statistic), float(res.pvalue)
        se = statistics.stdev(diffs) / math.sqrt(n)
        t_crit = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
        ci = (math.exp(mean_diff - t_crit * se), math.exp(mean_diff + t_crit * se))
    w_stat = w_p = None
    method = None
    raw_diffs = [a - b for b, a in pairs]
    if any(d != 0 for d in raw_diffs):
        has_ties = len({abs(d) for d in raw_diffs}) < len(raw_diffs) or 0 in raw_diffs
        method = "approx" if has_ties or n > 50 else "exact"
        w = stats.wilcoxon([a for _, a in pairs], [b for b, _ in pairs], method=method)
        w_stat, w_p = float(w.statistic), float(w.pvalue)
    return PairedCkTests(
        n_pairs=n,
        geometric_mean_before=math.exp(sum(logs_b) / n),
        geometric_mean_after=math.exp(sum(logs_a) / n),
        ratio_after_to_before=math.exp(mean_diff),
        ratio_ci=ci,
        t_statistic=t_stat,
        t_p_value=t_p,
        wilcoxon_statistic=w_stat,
        wilcoxon_p_value=w_p,
        wilcoxon_method=method,
    )


@dataclass(frozen=True)
class ChangeSummary:
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    improved_significant: int  # change > 0 and flagged significant
    worsened_significant: int
    not_significant: int
    significance_unknown: int


def summarise_changes(
    changes: Sequence[tuple[float, bool | None]],
) -> ChangeSummary:
    """Percent changes (e.g. myometer score) with their significance flag (None = unknown)."""
    values = [c for c, _ in changes]
    n = len(values)
    return ChangeSummary(
        n=n,
        mean=sum(values) / n if n else None,
        sd=statistics.stdev(values) if n >= 2 else None,
        median=statistics.median(values) if n else None,
        minimum=min(values) if n else None,
        maximum=max(values) if n else None,
        improved_significant=sum(1 for c, s in changes if s is True and c > 0),
        worsened_significant=sum(1 for c, s in changes if s is True and c < 0),
        not_significant=sum(1 for _, s in changes if s is False),
        significance_unknown=sum(1 for _, s in changes if s is None),
    )


@dataclass(frozen=True)
class AdverseEventRates:
    events: int
    serious_events: int
    patients: int
    patients_with_event: int
    patients_with_serious_event: int
    courses: int

    @property
    def events_per_patient(self) -> float | None:
        return self.events / self.patients if self.patients else None

    @property
    def events_per_course(self) -> float | None:
        return self.events / self.courses if self.courses else None

    @property
    def serious_per_course(self) -> float | None:
        return self.serious_events / self.courses if self.courses else None


def adverse_event_rates(
    events_by_patient: dict[str, Sequence[bool]], courses: int
) -> AdverseEventRates:
    """Rates from {patient code: [serious flag per event]} (patients without events included)."""
    events = sum(len(v) for v in events_by_patient.values())
    serious = sum(sum(1 for s in v if s) for v in events_by_patient.values())
    return AdverseEventRates(
        events=events,
        serious_events=serious,
        patients=len(events_by_patient),
        patients_with_event=sum(1 for v in events_by_patient.values() if v),
        patients_with_serious_event=sum(1 for v in events_by_patient.values() if any(v)),
        courses=courses,
    )
