"""Binomial-normal random-effects model for single proportions (metafor `rma.glmm(measure="PLO")`).

logit(p_i) = μ + u_i, u_i ~ N(0, τ²), x_i ~ Binomial(n_i, p_i); no continuity correction. The
marginal likelihood is integrated by adaptive Gauss-Hermite quadrature with 7 nodes per study
(lme4's `glmer(nAGQ = 7)`, metafor's default), maximised over (μ, τ ≥ 0); the SE of μ comes
from the numerical Hessian of the deviance in (τ, μ), as lme4 does for nAGQ > 1.
Agreement with metafor/lme4 is limited by lme4's optimiser tolerance (about 1e-5 relative,
see docs/evidence.md), not to the 1e-6 of the inverse-variance models.
Sources: Stijnen, Hamza & Özdemir 2010 (Stat Med 29:3046); metafor `rma.glmm`; lme4 `glmer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from myoivig.evidence.effect_sizes import ArrayLike
from myoivig.evidence.errors import ConvergenceError, EffectSizeInputError, ModelInputError
from myoivig.evidence.transforms import ilogit

FloatArray = NDArray[np.float64]
N_NODES = 7  # lme4 glmer nAGQ used by metafor's rma.glmm by default
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(N_NODES)


@dataclass(frozen=True)
class GlmmFit:
    """Binomial-normal fit on the logit scale, with natural-scale views."""

    k: int
    estimate: float
    se: float
    tau2: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    deviance: float

    def summary(self) -> dict[str, float | int | str]:
        """Stable keys, as `MetaFit.summary` where they apply."""
        nat = ilogit(np.array([self.estimate, self.ci_lower, self.ci_upper, self.pi_lower,
                               self.pi_upper]))  # fmt: skip
        return {
            "measure": "PLO",
            "method": "GLMM (binomial-normal, ML)",
            "k": self.k,
            "estimate": self.estimate,
            "se": self.se,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "tau2": self.tau2,
            "pi_lower": self.pi_lower,
            "pi_upper": self.pi_upper,
            "pooled": float(nat[0]),
            "pooled_lower": float(nat[1]),
            "pooled_upper": float(nat[2]),
            "pooled_pi_lower": float(nat[3]),
            "pooled_pi_upper": float(nat[4]),
            "back_transform": "transf.ilogit",
        }


def _log_binom(x: FloatArray, n: FloatArray) -> FloatArray:
    return np.asarray(special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1))


def _study_mode(
    x: FloatArray, n: FloatArray, mu: float, tau: float
) -> tuple[FloatArray, FloatArray]:
    """Conditional mode of u_i and the curvature there.

    g(u) = x − n·expit(μ+u) − u/τ² is strictly decreasing with its root in [(x−n)τ², xτ²];
    Newton steps that leave that bracket are replaced by bisection, so studies with 0 % or
    100 % events (where plain Newton overshoots) converge too.
    """
    tau2 = tau * tau
    lo = (x - n) * tau2
    hi = x * tau2
    u = np.clip(np.zeros_like(x), lo, hi)
    for _ in range(200):
        p = special.expit(mu + u)
        g = x - n * p - u / tau2
        lo = np.where(g > 0, u, lo)
        hi = np.where(g <= 0, u, hi)
        slope = n * p * (1 - p) + 1 / tau2
        newton = u + g / slope
        inside = (newton > lo) & (newton < hi)
        new = np.where(inside, newton, 0.5 * (lo + hi))
        done = np.max(np.abs(new - u)) < 1e-13 * (1 + np.max(np.abs(u)))
        u = new
        if done:
            break
    p = special.expit(mu + u)
    return u, n * p * (1 - p) + 1 / tau2


def deviance(x: FloatArray, n: FloatArray, mu: float, tau: float) -> float:
    """−2 · marginal log-likelihood (adaptive Gauss-Hermite, 7 nodes per study)."""
    lb = _log_binom(x, n)
    if tau <= 0:
        eta = np.full_like(x, mu)
        return float(-2 * np.sum(lb + x * eta - n * np.logaddexp(0, eta)))
    u_hat, curv = _study_mode(x, n, mu, tau)
    scale = np.sqrt(2.0 / curv)
    u = u_hat[:, None] + scale[:, None] * _NODES[None, :]
    eta = mu + u
    log_f = (
        lb[:, None]
        + x[:, None] * eta
        - n[:, None] * np.logaddexp(0, eta)
        - 0.5 * (u / tau) ** 2
        - np.log(tau * np.sqrt(2 * np.pi))
        + _NODES[None, :] ** 2
    )
    log_int = special.logsumexp(log_f, b=_WEIGHTS[None, :], axis=1) + np.log(scale)
    return float(-2 * np.sum(log_int))


def rma_glmm(xi: ArrayLike, ni: ArrayLike, *, level: float = 95.0) -> GlmmFit:
    """Fit the binomial-normal model by maximum likelihood."""
    x = np.asarray(xi, dtype=np.float64)
    n = np.asarray(ni, dtype=np.float64)
    if x.shape != n.shape or x.ndim != 1:
        raise EffectSizeInputError("xi and ni must be one-dimensional and of equal length")
    bad = np.flatnonzero(~((x >= 0) & (x <= n) & (n > 0)))
    if bad.size:
        i = int(bad[0])
        raise EffectSizeInputError(
            f"row {i + 1}: need 0 ≤ xi ≤ ni and ni > 0 (xi = {x[i]:g}, ni = {n[i]:g})"
        )
    k = x.shape[0]
    if k < 2:
        raise ModelInputError(f"GLMM needs at least 2 studies (k = {k})")
    p0 = np.clip((x + 0.5) / (n + 1), 1e-6, 1 - 1e-6)
    start = np.array(
        [float(np.mean(special.logit(p0))), max(float(np.std(special.logit(p0))), 0.1)]
    )

    def objective(theta: FloatArray) -> float:
        return deviance(x, n, float(theta[0]), abs(float(theta[1])))

    res = optimize.minimize(
        objective, start, method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )  # fmt: skip
    if not res.success:
        raise ConvergenceError(f"GLMM: the optimiser did not converge ({res.message})")
    mu, tau = float(res.x[0]), abs(float(res.x[1]))
    # compare with the boundary τ = 0 (a common-effect logistic model)
    mu0 = optimize.minimize_scalar(lambda m: deviance(x, n, m, 0.0), bracket=(mu - 1, mu + 1)).x
    if deviance(x, n, float(mu0), 0.0) <= res.fun:
        mu, tau = float(mu0), 0.0
    se = _se_mu(x, n, mu, tau)
    crit = float(stats.norm.ppf(1 - (1 - level / 100) / 2))
    half_pi = float(crit * np.sqrt(tau**2 + se**2))
    return GlmmFit(k, mu, se, tau**2, mu - crit * se, mu + crit * se, mu - half_pi,
                   mu + half_pi, deviance(x, n, mu, tau))  # fmt: skip


def _se_mu(x: FloatArray, n: FloatArray, mu: float, tau: float) -> float:
    """SE of μ from the inverse numerical Hessian of the deviance/2 in (τ, μ)."""
    if tau == 0:
        h = 1e-4
        d2 = (
            deviance(x, n, mu + h, 0) - 2 * deviance(x, n, mu, 0) + deviance(x, n, mu - h, 0)
        ) / h**2
        return float(np.sqrt(2 / d2))
    theta = np.array([tau, mu])
    steps = 1e-4 * np.maximum(np.abs(theta), 0.1)
    hess = np.empty((2, 2))

    def f(t: FloatArray) -> float:
        return 0.5 * deviance(x, n, float(t[1]), float(t[0]))

    for i in range(2):
        for j in range(2):
            ei = np.eye(2)[i] * steps[i]
            ej = np.eye(2)[j] * steps[j]
            hess[i, j] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
    cov = np.linalg.inv(hess)
    return float(np.sqrt(cov[1, 1]))
