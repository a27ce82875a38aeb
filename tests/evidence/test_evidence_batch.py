"""Vectorised batch REML: agrees with the single-fit engine and returns the maximum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoivig.evidence.batch import batch_fit, reml_log_likelihood
from myoivig.evidence.effect_sizes import generic
from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.model import rma

FIXTURES = Path(__file__).parent / "fixtures"

# metafor's default REML fails here ("Fisher scoring algorithm did not converge"); with
# stepadj=0.5 it gives τ² = 0.155918, μ = 0.576905, SE = 0.214085 (research notes §2.11).
FISHER_FAILS_Y = np.array([-0.0861, 1.2209, 0.0616, 0.3498, 0.3587, -0.0858, 0.7467, 0.5364,
                           0.6451, 0.8593])  # fmt: skip
FISHER_FAILS_V = np.array([0.2094, 0.0251, 0.67, 0.6657, 0.426, 0.3272, 0.1467, 0.5704,
                           0.4525, 0.8285])  # fmt: skip


def metafor_fisher_scoring(y: np.ndarray, v: np.ndarray, threshold: float = 1e-5,
                           maxiter: int = 100) -> float | None:  # fmt: skip
    """metafor 3.8-1's REML Fisher scoring (HE start, step halving at 0); None if no convergence."""
    k = y.shape[0]
    ymc = y - y.mean()
    tau2 = max(0.0, (float(np.sum(ymc**2)) - float(np.sum(v)) * (k - 1) / k) / (k - 1))
    for _ in range(maxiter + 1):
        w = 1 / (v + tau2)
        p = np.diag(w) - np.outer(w, w) / w.sum()
        pp = p @ p
        adj = (ymc @ pp @ ymc - np.trace(p)) / np.trace(pp)
        while tau2 + adj < 0:
            adj /= 2
        new = tau2 + adj
        if abs(new - tau2) <= threshold:
            return new
        tau2 = new
    return None


def _profile_max(y: np.ndarray, v: np.ndarray, tau2: float) -> tuple[float, float]:
    """Our restricted log-likelihood and the best value on a fine grid around and beyond τ²."""
    grid = np.concatenate([np.linspace(0, 5 * (tau2 + np.var(y) + v.mean()), 4001),
                           tau2 * (1 + np.linspace(-1e-4, 1e-4, 201))])  # fmt: skip
    grid = grid[grid >= 0]
    best = max(reml_log_likelihood(y, v, float(t)) for t in grid)
    return reml_log_likelihood(y, v, tau2), best


def test_converges_where_metafor_fisher_scoring_fails() -> None:
    assert metafor_fisher_scoring(FISHER_FAILS_Y, FISHER_FAILS_V) is None
    res = batch_fit(np.zeros(10), FISHER_FAILS_Y, FISHER_FAILS_V)
    assert res.tau2[0] == pytest.approx(0.155918, abs=1e-6)
    assert res.estimate[0] == pytest.approx(0.576905, abs=1e-6)
    assert res.se[0] == pytest.approx(0.214085, abs=1e-6)
    ours, best = _profile_max(FISHER_FAILS_Y, FISHER_FAILS_V, float(res.tau2[0]))
    assert ours >= best - 1e-12


def test_answer_is_the_global_maximum_when_zero_is_a_local_maximum() -> None:
    data = pd.read_csv(FIXTURES / "reml_bimodal_groups.csv")
    res = batch_fit(data["group"].to_numpy(), data["yi"].to_numpy(), data["vi"].to_numpy())
    # metafor 3.8-1 with threshold 1e-10 (benchmark data, groups g00591 and g01431)
    expected = {"g00591": 0.17658961749626673, "g01431": 0.16464436011646294}
    for i, g in enumerate(res.groups):
        sub = data[data["group"] == g]
        y, v = sub["yi"].to_numpy(), sub["vi"].to_numpy()
        assert res.tau2[i] == pytest.approx(expected[g], abs=1e-9)
        ours, best = _profile_max(y, v, float(res.tau2[i]))
        assert ours >= best - 1e-12
        assert reml_log_likelihood(y, v, float(res.tau2[i])) > reml_log_likelihood(y, v, 0.0)


def test_matches_single_fits_and_is_maximum_on_random_groups() -> None:
    rng = np.random.default_rng(7)
    sizes = rng.integers(2, 30, size=300)
    groups = np.repeat(np.arange(300), sizes)
    vi = rng.uniform(0.005, 1.5, size=groups.size)
    tau2 = rng.choice([0.0, 0.01, 0.2, 2.0], size=300)[groups]
    yi = rng.normal(rng.normal(0, 1, 300)[groups], np.sqrt(vi + tau2))
    res = batch_fit(groups, yi, vi)
    for j in range(0, 300, 7):
        m = groups == res.groups[j]
        fit = rma(generic(yi[m], vi[m]), method="REML")
        assert res.tau2[j] == pytest.approx(fit.tau2, abs=1e-9)
        assert res.estimate[j] == pytest.approx(fit.estimate, abs=1e-9)
        assert res.se[j] == pytest.approx(float(fit.se[0]), abs=1e-9)
        assert res.i2[j] == pytest.approx(fit.i2, abs=1e-7)
        assert res.q[j] == pytest.approx(fit.qe, rel=1e-9)
        ours, best = _profile_max(yi[m], vi[m], float(res.tau2[j]))
        assert ours >= best - 1e-12
    assert np.all(np.isfinite(res.estimate)) and np.all(res.tau2 >= 0)


@pytest.mark.parametrize("method", ["DL", "EE"])
def test_closed_form_methods_match_single_fits(method: str) -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat(["a", "b", "c"], [3, 8, 20])
    vi = rng.uniform(0.01, 1, groups.size)
    yi = rng.normal(0, 1, groups.size)
    res = batch_fit(groups, yi, vi, method=method)
    for j, g in enumerate(res.groups):
        m = groups == g
        fit = rma(generic(yi[m], vi[m]), method=method)
        assert res.estimate[j] == pytest.approx(fit.estimate, rel=1e-12)
        assert res.tau2[j] == pytest.approx(fit.tau2, abs=1e-12)
        assert res.i2[j] == pytest.approx(fit.i2, abs=1e-9)


def test_bad_input_names_row_and_group() -> None:
    with pytest.raises(ModelInputError, match=r"row 2 \(group b\): vi = -0.1"):
        batch_fit(np.array(["a", "b", "b"]), np.array([0.1, 0.2, 0.3]), np.array([0.1, -0.1, 0.2]))
    with pytest.raises(ModelInputError, match="group 'x' has k = 1"):
        batch_fit(np.array(["x", "y", "y"]), np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.1, 0.2]))
    with pytest.raises(ModelInputError, match="not supported"):
        batch_fit(np.array(["y", "y"]), np.array([0.2, 0.3]), np.array([0.1, 0.2]), method="PM")


def test_interior_maximum_where_metafor_stops_at_zero() -> None:
    """Benchmark groups g02001 and g06989: metafor 3.8-1 (threshold 1e-10) returns τ² = 0, a
    local maximum at the boundary; the restricted likelihood is higher inside, and we find it."""
    data = pd.read_csv(FIXTURES / "reml_metafor_stops_at_zero.csv")
    res = batch_fit(data["group"].to_numpy(), data["yi"].to_numpy(), data["vi"].to_numpy())
    for i, g in enumerate(res.groups):
        sub = data[data["group"] == g]
        y, v = sub["yi"].to_numpy(), sub["vi"].to_numpy()
        assert metafor_fisher_scoring(y, v, threshold=1e-10, maxiter=10000) == 0.0
        assert res.tau2[i] > 0
        ours, best = _profile_max(y, v, float(res.tau2[i]))
        assert ours >= best - 1e-12
        assert ours > reml_log_likelihood(y, v, 0.0) + 1e-4
