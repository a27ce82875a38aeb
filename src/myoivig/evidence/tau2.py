"""Estimators of the between-study variance τ² (metafor's `method=` of `rma.uni`).

Closed forms (DL, HE, SJ) follow metafor 3.8-1 line by line, including its use of the centred
outcomes and truncation at 0. The iterative ones (ML, REML, EB, PM) are solved to machine
precision by a safeguarded search instead of Fisher scoring: the answer is the global maximum of
the (restricted) likelihood on τ² ≥ 0, or the root of the generalised Q equation, which is what
metafor reaches when it converges with a tight threshold.
Sources: DerSimonian & Laird 1986; Hedges 1983 (HE); Sidik & Jonkman 2005 (SJ); Paule & Mandel
1982 (PM); Morris 1983 (EB); Viechtbauer 2005 (ML/REML, SE formulas); metafor `rma.uni` source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from myoivig.evidence.errors import ConvergenceError, ModelInputError
from myoivig.evidence.weighted import weighted_fit

FloatArray = NDArray[np.float64]

METHODS = ("EE", "FE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM")
ITERATIVE_METHODS = ("ML", "REML", "EB", "PM")

# metafor's default upper end of the τ² search range: max(100, 10·mad(yi)²) (rma.uni control).
DEFAULT_TAU2_MAX = 100.0
# Relative tolerance of the root searches (far below the 1e-6 agreement target).
ROOT_XTOL = 1e-14


@dataclass(frozen=True)
class Tau2Estimate:
    """τ², its standard error and how it was reached."""

    tau2: float
    se_tau2: float
    iterations: int = 0
    converged: bool = True


def _mad(y: FloatArray) -> float:
    """R's mad(): 1.4826 · median(|y − median(y)|)."""
    return float(1.4826 * np.median(np.abs(y - np.median(y))))


def tau2_upper(y: FloatArray) -> float:
    """metafor's upper bound for τ² searches."""
    return max(DEFAULT_TAU2_MAX, 10 * _mad(y) ** 2)


def _projection(x: FloatArray, w: FloatArray) -> FloatArray:
    wx = x * w[:, None]
    vb = np.linalg.inv(x.T @ wx)
    return np.asarray(np.diag(w) - wx @ vb @ wx.T)


def dersimonian_laird(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Method of moments with inverse-variance weights (DerSimonian & Laird 1986)."""
    k, p = x.shape
    ymc = y - y.mean()
    proj = _projection(x, 1 / v)
    rss = float(ymc @ proj @ ymc)
    tr_p = float(np.trace(proj))
    tau2 = max(0.0, (rss - (k - p)) / tr_p)
    se = np.sqrt(
        1 / tr_p**2 * (2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * float(np.sum(proj * proj)))
    )
    return Tau2Estimate(tau2, float(se))


def hedges(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Unweighted method of moments (Hedges 1983; metafor 'HE', the Fisher-scoring start)."""
    k, p = x.shape
    ymc = y - y.mean()
    proj = np.eye(k) - x @ np.linalg.inv(x.T @ x) @ x.T
    rss = float(ymc @ proj @ ymc)
    pv = proj * v[None, :]
    tr_pv = float(np.trace(pv))
    tau2 = max(0.0, (rss - tr_pv) / (k - p))
    se = np.sqrt(
        1 / (k - p) ** 2 * (2 * float(np.sum(pv * pv.T)) + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - p))
    )
    return Tau2Estimate(tau2, float(se))


def sidik_jonkman(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Sidik & Jonkman (2005) one-step estimator started at var(y)·(k−1)/k."""
    k, p = x.shape
    ymc = y - y.mean()
    # var(y)·(k−1)/k; 0 when all effects are equal, and then τ² = 0 with SE 0 (as metafor 3.8-1)
    tau2_0 = float(np.var(ymc))
    proj = _projection(x, 1 / (v + tau2_0))
    rss = float(ymc @ proj @ ymc)
    pv = proj * v[None, :]
    tau2 = max(0.0, tau2_0 * rss / (k - p))
    se = np.sqrt(
        tau2_0**2
        / (k - p) ** 2
        * (
            2 * float(np.sum(pv * pv.T))
            + 4 * tau2 * float(np.sum(pv * proj))
            + 2 * tau2**2 * float(np.sum(proj * proj))
        )
    )
    return Tau2Estimate(tau2, float(se))


def generalised_q(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float) -> float:
    """Q(τ²) with the centred outcomes metafor uses."""
    return weighted_fit(y - y.mean(), v, x, tau2).rss


def _q_root(y: FloatArray, v: FloatArray, x: FloatArray, target: float, method: str) -> float:
    """The τ² ≥ 0 where Q(τ²) = target (Q decreases in τ²), 0 when Q(0) is already below."""
    if generalised_q(y, v, x, 0.0) <= target:
        return 0.0
    upper = tau2_upper(y)
    for _ in range(60):
        if generalised_q(y, v, x, upper) < target:
            break
        upper *= 10
    else:
        raise ConvergenceError(f"{method}: Q(τ²) stays above its target; τ² is unbounded")
    root = optimize.brentq(
        lambda t: generalised_q(y, v, x, t) - target,
        0.0,
        upper,
        xtol=1e-15,
        rtol=ROOT_XTOL,
        maxiter=500,
    )
    return float(root)


def paule_mandel(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Paule-Mandel: the τ² at which Q(τ²) equals its degrees of freedom k − p."""
    k, p = x.shape
    tau2 = _q_root(y, v, x, float(k - p), "PM")
    w = 1 / (v + tau2)
    se = np.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2)
    return Tau2Estimate(tau2, float(se))


def empirical_bayes(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Morris' empirical Bayes estimator; its fixed point is the PM equation (metafor docs)."""
    return paule_mandel(y, v, x)


def log_likelihood(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood of τ², up to the constants metafor also adds."""
    k, p = x.shape
    fit = weighted_fit(y, v, x, tau2)
    ll = -0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * fit.rss
    if reml:
        ll -= 0.5 * float(np.linalg.slogdet(x.T @ (x * fit.weights[:, None]))[1])
        return ll - 0.5 * (k - p) * np.log(2 * np.pi)
    return ll - 0.5 * k * np.log(2 * np.pi)


def score(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, reml: bool) -> float:
    """Derivative of the (restricted) log-likelihood in τ²."""
    fit = weighted_fit(y, v, x, tau2)
    if reml:
        py = fit.projection @ y
        return 0.5 * (float(py @ py) - float(np.trace(fit.projection)))
    w = fit.weights
    return 0.5 * (float(np.sum(w**2 * fit.residuals**2)) - float(np.sum(w)))


def maximise_likelihood(y: FloatArray, v: FloatArray, x: FloatArray, reml: bool) -> float:
    """Global maximiser of the (restricted) likelihood on τ² ≥ 0.

    A log-spaced scan over [0, bound] brackets every sign change of the score from + to −;
    each is refined by Brent's method and the best candidate (boundary 0 included) wins. This
    never fails where Fisher scoring cycles, and it cannot stop at a worse local maximum.
    """
    upper = tau2_upper(y)
    spread = float(np.max(v) + np.var(y) * 4 + 1.0)
    upper = max(upper, 10 * spread)
    grid = np.concatenate(([0.0], np.geomspace(1e-10 * spread, upper, 120)))
    scores = np.array([score(y, v, x, float(t), reml) for t in grid])
    candidates = [0.0]
    for i in range(len(grid) - 1):
        if scores[i] > 0 and scores[i + 1] <= 0:
            root = optimize.brentq(
                lambda t: score(y, v, x, t, reml),
                float(grid[i]),
                float(grid[i + 1]),
                xtol=1e-15,
                rtol=ROOT_XTOL,
                maxiter=500,
            )
            candidates.append(float(root))
    if scores[-1] > 0:
        raise ConvergenceError(
            f"{'REML' if reml else 'ML'}: the likelihood still increases at τ² = {upper:g}"
        )
    lls = [log_likelihood(y, v, x, t, reml) for t in candidates]
    return candidates[int(np.argmax(lls))]


def maximum_likelihood(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """ML estimate of τ² with metafor's SE √(2 / Σw²)."""
    tau2 = maximise_likelihood(y - y.mean(), v, x, reml=False)
    w = 1 / (v + tau2)
    return Tau2Estimate(tau2, float(np.sqrt(2 / np.sum(w**2))))


def restricted_maximum_likelihood(y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """REML estimate of τ² with metafor's SE √(2 / tr(PP))."""
    tau2 = maximise_likelihood(y - y.mean(), v, x, reml=True)
    proj = _projection(x, 1 / (v + tau2))
    return Tau2Estimate(tau2, float(np.sqrt(2 / np.sum(proj * proj))))


def estimate_tau2(method: str, y: FloatArray, v: FloatArray, x: FloatArray) -> Tau2Estimate:
    """Dispatch on metafor's method name."""
    if method in ("EE", "FE"):
        return Tau2Estimate(0.0, float("nan"))
    estimators = {
        "DL": dersimonian_laird,
        "HE": hedges,
        "SJ": sidik_jonkman,
        "ML": maximum_likelihood,
        "REML": restricted_maximum_likelihood,
        "EB": empirical_bayes,
        "PM": paule_mandel,
    }
    if method not in estimators:
        raise ModelInputError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    return estimators[method](y, v, x)
