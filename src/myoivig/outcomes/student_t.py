"""Student's t procedures in closed form: the paired t test and a least-squares slope with its
t interval.

Why not `scipy.stats.ttest_rel` / `linregress` / `t.ppf`: the patient page scores every
follow-up visit of a dossier (a paired t test and three run-in trends each), and those wrappers
spend ~0.5 ms per call on argument checking and broadcasting, most of a page's cost. The
formulas are the textbook ones the wrappers implement (Student 1908; any regression text); the
t distribution comes from the same Cephes routines scipy uses (`scipy.special.stdtr`,
`stdtrit`). `tests/outcomes/test_student_t.py` checks every result against the scipy wrappers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedT:
    statistic: float
    p_value: float  # two-sided
    df: int


@dataclass(frozen=True)
class LineFit:
    slope: float
    intercept: float
    stderr: float  # standard error of the slope; nan with fewer than 3 points
    df: int


def paired_t(after: Sequence[float], before: Sequence[float]) -> PairedT:
    """Paired t test of after − before (as `ttest_rel(after, before)`), two-sided.

    Zero variance of the differences gives t = ±inf (or nan when the mean is 0 too), as scipy
    does; callers decide beforehand whether the test is defined (`paired_t_undefined`)."""
    if len(after) != len(before):
        raise ValueError("paired t test: the two samples differ in length")
    n = len(after)
    if n < 2:
        raise ValueError("paired t test needs at least 2 pairs")
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    mean = math.fsum(diffs) / n
    variance = math.fsum((d - mean) ** 2 for d in diffs) / (n - 1)
    df = n - 1
    if variance == 0:
        statistic = math.copysign(math.inf, mean) if mean else math.nan
    else:
        statistic = mean / math.sqrt(variance / n)
    from scipy import special  # heavy: loaded on first use, not when commands are parsed

    p_value = math.nan if math.isnan(statistic) else float(2 * special.stdtr(df, -abs(statistic)))
    return PairedT(statistic, p_value, df)


def line_fit(xs: Sequence[float], ys: Sequence[float]) -> LineFit:
    """Ordinary least squares y = a + b·x with the slope's standard error (n − 2 df)."""
    n = len(xs)
    if n != len(ys) or n < 2:
        raise ValueError("a line fit needs at least two (x, y) pairs of equal length")
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a line fit needs at least two distinct x values")
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    df = n - 2
    if df < 1:
        return LineFit(slope, intercept, math.nan, df)
    sse = math.fsum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return LineFit(slope, intercept, math.sqrt(sse / df / sxx), df)


def t_quantile(probability: float, df: int) -> float:
    """The t distribution's quantile (`scipy.stats.t.ppf(probability, df)`)."""
    if not 0 < probability < 1 or df < 1:
        raise ValueError(f"t quantile needs 0 < p < 1 and df >= 1, got p={probability}, df={df}")
    from scipy import special

    return float(special.stdtrit(df, probability))
