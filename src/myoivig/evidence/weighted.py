"""Weighted least squares for a (mixed-effects) meta-analytic model at a given τ².

Every estimator and view builds on these few quantities, so they live in one place:
W = diag(1 / (v_i + τ²)), (X'WX)⁻¹, β̂ and the projection P = W − WX(X'WX)⁻¹X'W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class WeightedFit:
    """β̂, its covariance and the residual projection at one value of τ²."""

    tau2: float
    weights: FloatArray
    beta: FloatArray
    vb: FloatArray
    residuals: FloatArray
    projection: FloatArray

    @property
    def rss(self) -> float:
        """Weighted residual sum of squares Y'PY (the generalised Q at this τ²)."""
        return float(np.sum(self.weights * self.residuals**2))


def weighted_fit(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float) -> WeightedFit:
    """Fit β by weighted least squares with weights 1 / (v + τ²)."""
    w = 1.0 / (v + tau2)
    xtw = x.T * w
    xtwx = xtw @ x
    vb = np.asarray(np.linalg.inv(xtwx), dtype=np.float64)
    beta = np.asarray(vb @ (xtw @ y), dtype=np.float64)
    resid = y - x @ beta
    wx = x * w[:, None]
    proj = np.asarray(np.diag(w) - wx @ vb @ wx.T, dtype=np.float64)
    return WeightedFit(tau2, w, beta, vb, resid, proj)


def generalised_q(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float) -> float:
    """Q(τ²) = Σ w_i (y_i − x_i β̂(τ²))², the statistic the PM estimator and Q-profile invert."""
    return weighted_fit(y, v, x, tau2).rss
