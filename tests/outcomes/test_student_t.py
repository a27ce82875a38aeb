"""The closed-form t procedures give what scipy's wrappers give (they replaced them on the
patient page's hot path), on random data and on the edge cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from myoivig.outcomes.student_t import line_fit, paired_t, t_quantile

forces = st.floats(min_value=0.5, max_value=900, allow_nan=False)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(forces, forces), min_size=2, max_size=16))
def test_paired_t_equals_scipy_ttest_rel(pairs: list[tuple[float, float]]) -> None:
    after = [a for a, _ in pairs]
    before = [b for _, b in pairs]
    diffs = [a - b for a, b in pairs]
    if max(diffs) - min(diffs) <= 1e-9 * max(1.0, max(abs(d) for d in diffs)):
        return  # zero variance: the callers report no test (paired_t_undefined)
    ours = paired_t(after, before)
    ref = stats.ttest_rel(after, before)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-9, abs=1e-12)
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-15)
    assert ours.df == len(pairs) - 1


def test_paired_t_known_value() -> None:
    # Student's sleep data (Cushny & Peebles), the classic paired example: t = 4.0621, p = 0.00283
    a = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    b = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    result = paired_t(a, b)
    assert result.statistic == pytest.approx(4.062128, rel=1e-6)
    assert result.p_value == pytest.approx(0.002832890, rel=1e-5)


def test_paired_t_refuses_unequal_or_too_short_samples() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_t([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_t([1.0], [2.0])


def test_paired_t_zero_variance_is_infinite_like_scipy() -> None:
    assert paired_t([2.0, 3.0], [1.0, 2.0]).statistic == math.inf
    assert math.isnan(paired_t([1.0, 2.0], [1.0, 2.0]).statistic)


days = st.integers(min_value=0, max_value=200)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(days, forces), min_size=3, max_size=8, unique_by=lambda p: p[0]))
def test_line_fit_equals_scipy_linregress(points: list[tuple[int, float]]) -> None:
    xs = [d / 30.436875 for d, _ in points]
    ys = [v for _, v in points]
    ours = line_fit(xs, ys)
    ref = stats.linregress(xs, ys)
    assert ours.slope == pytest.approx(float(ref.slope), rel=1e-9, abs=1e-9)
    assert ours.intercept == pytest.approx(float(ref.intercept), rel=1e-9, abs=1e-7)
    assert ours.stderr == pytest.approx(float(ref.stderr), rel=1e-7, abs=1e-9)


def test_line_fit_two_points_has_no_stderr_and_refuses_one_x() -> None:
    fit = line_fit([0.0, 1.0], [2.0, 4.0])
    assert (fit.slope, fit.intercept, fit.df) == (2.0, 2.0, 0)
    assert math.isnan(fit.stderr)
    with pytest.raises(ValueError, match="distinct x"):
        line_fit([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 30, 100])
@pytest.mark.parametrize("p", [0.025, 0.5, 0.9, 0.95, 0.975, 0.995])
def test_t_quantile_equals_scipy(p: float, df: int) -> None:
    assert t_quantile(p, df) == pytest.approx(float(stats.t.ppf(p, df)), rel=1e-12, abs=1e-12)


def test_t_quantile_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="0 < p < 1"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df >= 1"):
        t_quantile(0.5, 0)
