"""Run-in baseline and trend.

The trial took at least three assessments over a 3-month run-in before IVIg and compared later
assessments with that baseline (Mastaglia 1998: "Data from at least three assessments
before commencement of IVIg therapy were available in all patients"). The run-in trend answers
"was the patient still deteriorating?" (the trial's entry condition).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from myoivig.outcomes.student_t import line_fit, t_quantile

MIN_RUN_IN_ASSESSMENTS = 3  # Mastaglia 1998: "at least three assessments" before IVIg
DAYS_PER_MONTH = 365.2425 / 12  # mean Gregorian month, for slopes "per month"


class BaselineMethod(StrEnum):
    MEAN = "mean"  # mean of the run-in values (default)
    LAST = "last"  # the last run-in value before IVIg


@dataclass(frozen=True)
class RunInTrend:
    slope_per_month: float
    ci_low: float | None  # None when fewer than 3 points (no residual degrees of freedom)
    ci_high: float | None
    confidence: float


@dataclass(frozen=True)
class RunInBaseline:
    value: float
    method: BaselineMethod
    n_assessments: int
    trend: RunInTrend | None
    warnings: tuple[str, ...]

    def deteriorating(self, higher_is_better: bool) -> bool | None:
        """True when the whole CI of the slope lies on the worse side of zero."""
        if self.trend is None or self.trend.ci_low is None or self.trend.ci_high is None:
            return None
        if higher_is_better:
            return self.trend.ci_high < 0
        return self.trend.ci_low > 0


def run_in_trend(points: Sequence[tuple[dt.date, float]], confidence: float = 0.95) -> RunInTrend:
    """Least-squares slope per month with its t-based confidence interval."""
    if len(points) < 2:
        raise ValueError("a run-in trend needs at least two assessments")
    t0 = min(d for d, _ in points)
    xs = [(d - t0).days / DAYS_PER_MONTH for d, _ in points]
    ys = [v for _, v in points]
    if len(set(xs)) < 2:
        raise ValueError("a run-in trend needs assessments on at least two dates")
    fit = line_fit(xs, ys)
    slope = fit.slope
    if len(points) < 3:
        return RunInTrend(slope, None, None, confidence)
    half = t_quantile(0.5 + confidence / 2, fit.df) * fit.stderr
    return RunInTrend(slope, slope - half, slope + half, confidence)


def run_in_baseline(
    points: Sequence[tuple[dt.date, float]],
    method: BaselineMethod = BaselineMethod.MEAN,
    confidence: float = 0.95,
) -> RunInBaseline:
    """Baseline from dated run-in values (missing/not performed values already removed)."""
    if not points:
        raise ValueError("no run-in assessments: a baseline cannot be computed")
    for day, value in points:
        if not math.isfinite(value):
            raise ValueError(f"run-in value on {day.isoformat()} is not finite: {value!r}")
    ordered = sorted(points, key=lambda p: p[0])
    warnings: list[str] = []
    if len(ordered) < MIN_RUN_IN_ASSESSMENTS:
        warnings.append(
            f"only {len(ordered)} run-in assessment(s); the trial required at least "
            f"{MIN_RUN_IN_ASSESSMENTS}"
        )
    if method is BaselineMethod.MEAN:
        value = sum(v for _, v in ordered) / len(ordered)
    else:
        value = ordered[-1][1]
    trend = None
    if len({d for d, _ in ordered}) >= 2:
        trend = run_in_trend(ordered, confidence)
    else:
        warnings.append("run-in trend needs assessments on at least two dates")
    return RunInBaseline(value, method, len(ordered), trend, tuple(warnings))
