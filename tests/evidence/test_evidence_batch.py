"""Vectorised batch REML: agrees with the single-fit engine and returns the maximum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from evidence_reference_cases import cases, dataset

from myoivig.evidence.batch import batch_fit, reml_log_likelihood
from myoivig.evidence.effect_sizes import generic
from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.model import rma

FIXTURES = Path(__file__).parent / "fixtures"


def _fisher_case(name: str) -> dict[str, Any]:
    """metafor 3.8-1's own REML Fisher scoring on one group (R reference suite)."""
    (case,) = [c for c in cases("fisher_scoring") if c["dataset"] == name]
    return case


def _group(name: str) -> tuple[np.ndarray, np.ndarray]:
    d = dataset(name)
    return np.asarray(d["yi"], dtype=float), np.asarray(d["vi"], dtype=float)


def _profile_max(y: np.ndarray, v: np.ndarray, tau2: float) -> tuple[float, float]:
    """Our restricted log-likelihood and the best value on a fine grid around and beyond τ²."""
    grid = np.concatenate([np.linspace(0, 5 * (tau2 + np.var(y) + v.mean()), 4001),
                           tau2 * (1 + np.linspace(-1e-4, 1e-4, 201))])  # fmt: skip
    grid = grid[grid >= 0]
    best = max(reml_log_likelihood(y, v, float(t)) for t in grid)
    return reml_log_likelihood(y, v, tau2), best


def test_converges_where_metafor_fisher_scoring_fails() -> None:
    case = _fisher_case("fisher_fails")
    # metafor's default control fails; with stepadj = 0.5 it converges (research notes §2.11).
    assert "did not converge" in case["error"] and case["tau2"] is None
    y, v = _group("fisher_fails")
    res = batch_fit(np.zeros(10), y, v)
    assert res.tau2[0] == pytest.approx(case["tau2_stepadj"], abs=1e-6)
    assert res.estimate[0] == pytest.approx(case["beta_stepadj"], abs=1e-6)
    assert res.se[0] == pytest.approx(case["se_stepadj"], abs=1e-6)
    ours, best = _profile_max(y, v, float(res.tau2[0]))
    assert ours >= best - 1e-12


def test_answer_is_the_global_maximum_when_zero_is_a_local_maximum() -> None:
    data = pd.read_csv(FIXTURES / "reml_bimodal_groups.csv")
    res = batch_fit(data["group"].to_numpy(), data["yi"].to_numpy(), data["vi"].to_numpy())
    # metafor 3.8-1 with threshold 1e-10 (benchmark data, groups g00591 and g01431)
    for i, g in enumerate(res.groups):
        sub = data[data["group"] == g]
        y, v = sub["yi"].to_numpy(), sub["vi"].to_numpy()
        case = _fisher_case(str(g))
        assert case["error"] is None
        assert res.tau2[i] == pytest.approx(case["tau2"], abs=1e-9)
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
        case = _fisher_case(str(g))
        assert case["error"] is None and case["tau2"] == 0.0
        assert res.tau2[i] > 0
        ours, best = _profile_max(y, v, float(res.tau2[i]))
        assert ours >= best - 1e-12
        assert ours > reml_log_likelihood(y, v, 0.0) + 1e-4


def test_skip_gives_nan_and_a_note_and_leaves_other_groups_unchanged() -> None:
    rng = np.random.default_rng(11)
    groups = np.repeat(["g1", "g2", "k1", "g3", "badvi", "nany"], [5, 8, 1, 4, 3, 3])
    yi = rng.normal(0.2, 0.5, groups.size)
    vi = rng.uniform(0.02, 0.5, groups.size)
    vi[np.flatnonzero(groups == "badvi")[1]] = 0.0
    yi[np.flatnonzero(groups == "nany")[2]] = np.nan
    with pytest.raises(ModelInputError, match=r"row 20 \(group badvi\): vi = 0.0 must be positive"):
        batch_fit(groups, yi, vi)
    res = batch_fit(groups, yi, vi, on_error="skip")
    assert list(res.groups) == ["badvi", "g1", "g2", "g3", "k1", "nany"]
    notes = dict(zip(res.groups, res.note, strict=True))
    assert notes["badvi"] == "row 20 (group badvi): vi = 0.0 must be positive"
    assert notes["nany"] == "row 24 (group nany): yi = nan is not a number"
    assert notes["k1"].startswith("batch: group 'k1' has k = 1; method REML needs at least 2")
    good = np.isin(groups, ["g1", "g2", "g3"])
    clean = batch_fit(groups[good], yi[good], vi[good])
    for j, g in enumerate(res.groups):
        if notes[g]:
            assert np.isnan([res.estimate[j], res.se[j], res.tau2[j], res.pi_lower[j]]).all()
            assert res.iterations[j] == 0
        else:
            i = list(clean.groups).index(g)
            for name in ("estimate", "se", "tau2", "i2", "q", "ci_lower", "pi_upper"):
                assert getattr(res, name)[j] == getattr(clean, name)[i]
            assert res.k[j] == clean.k[i]
    assert list(res.k) == [3, 5, 8, 4, 1, 3]
    # EE needs only one study per group, so k = 1 is fitted there
    ee = batch_fit(groups, yi, vi, method="EE", on_error="skip")
    assert ee.note[list(ee.groups).index("k1")] == ""
