"""Small-study and publication-bias views: Egger's test, Begg's rank test, trim-and-fill.

Sources: Egger et al. 1997 (BMJ 315:629); Begg & Mazumdar 1994 (Biometrics 50:1088);
Duval & Tweedie 2000 (Biometrics 56:455, estimators L0 and R0); metafor `regtest`, `ranktest`,
`trimfill` (side chosen by the sign of the Egger slope, as metafor does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from myoivig.evidence.effect_sizes import EffectSizes
from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.model import MetaFit, rma

FloatArray = NDArray[np.float64]
Predictor = Literal["sei", "vi", "ni", "ninv"]


@dataclass(frozen=True)
class RegressionTest:
    """Egger-type test: the statistic for the precision predictor and the limit estimate."""

    model: str
    predictor: str
    zval: float
    pval: float
    ddf: int | None
    limit_estimate: float | None
    limit_ci_lower: float | None
    limit_ci_upper: float | None

    def as_dict(self) -> dict[str, object]:
        """Plain mapping with stable keys."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RankTest:
    """Begg's rank correlation: Kendall's τ between standardised effects and variances."""

    tau: float
    pval: float

    def as_dict(self) -> dict[str, float]:
        """Plain mapping with stable keys."""
        return {"tau": self.tau, "pval": self.pval}


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill result: the refitted model on observed + filled studies."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    fit: MetaFit
    filled: NDArray[np.bool_]

    def as_dict(self) -> dict[str, object]:
        """Plain mapping with stable keys."""
        return {
            "k0": self.k0,
            "se_k0": self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "filled_yi": self.fit.yi[self.filled].tolist(),
            "filled_vi": self.fit.vi[self.filled].tolist(),
        } | {"fit": self.fit.summary()}


def _predictor(fit: MetaFit, predictor: Predictor) -> FloatArray:
    if predictor == "sei":
        return np.sqrt(fit.vi)
    if predictor == "vi":
        return fit.vi.copy()
    ni = fit.es.ni
    if ni is None:
        raise ModelInputError(f"regtest: predictor '{predictor}' needs sample sizes ni")
    return ni.copy() if predictor == "ni" else 1 / ni


def regtest(
    fit: MetaFit, model: Literal["rma", "lm"] = "rma", predictor: Predictor = "sei"
) -> RegressionTest:
    """Egger's regression test for funnel-plot asymmetry (metafor `regtest`)."""
    if not fit.intercept_only:
        raise ModelInputError("regtest: only for models without moderators here")
    pred = _predictor(fit, predictor)
    has_limit = predictor in ("sei", "vi", "ninv")
    if model == "rma":
        method = fit.method if fit.method not in ("MH", "PETO") else "EE"
        reg = rma(fit.es, method=method, test=fit.test, level=fit.level, mods=pred,
                  mod_names=[predictor])  # fmt: skip
        return RegressionTest(
            "rma",
            predictor,
            float(reg.zval[1]),
            float(reg.pval[1]),
            reg.ddf,
            float(reg.beta[0]) if has_limit else None,
            float(reg.ci_lower[0]) if has_limit else None,
            float(reg.ci_upper[0]) if has_limit else None,
        )
    if model != "lm":
        raise ModelInputError(f"regtest: unknown model {model!r}")
    k = fit.k
    if k < 3:
        raise ModelInputError("regtest: needs at least 3 studies")
    x = np.column_stack([np.ones(k), pred])
    w = 1 / fit.vi
    xtw = x.T * w
    cov_unscaled = np.linalg.inv(xtw @ x)
    beta = cov_unscaled @ (xtw @ fit.yi)
    resid = fit.yi - x @ beta
    df = k - 2
    sigma2 = float(np.sum(w * resid**2) / df)
    se = np.sqrt(np.diag(cov_unscaled) * sigma2)
    t = float(beta[1] / se[1])
    crit = float(stats.t.ppf(1 - (1 - fit.level / 100) / 2, df))
    return RegressionTest(
        "lm",
        predictor,
        t,
        float(2 * stats.t.sf(abs(t), df)),
        df,
        float(beta[0]) if has_limit else None,
        float(beta[0] - crit * se[0]) if has_limit else None,
        float(beta[0] + crit * se[0]) if has_limit else None,
    )


def ranktest(fit: MetaFit) -> RankTest:
    """Begg & Mazumdar's rank correlation test (exact Kendall p-value when there are no ties)."""
    ee = rma(fit.es, method="EE")
    theta, vb = ee.estimate, float(ee.vb[0, 0])
    ystar = (fit.yi - theta) / np.sqrt(fit.vi - vb)
    ties = len(np.unique(ystar)) < fit.k or len(np.unique(fit.vi)) < fit.k
    res = stats.kendalltau(ystar, fit.vi, method="asymptotic" if ties else "exact")
    return RankTest(float(res.statistic), float(res.pvalue))


def trimfill(
    fit: MetaFit,
    side: Literal["left", "right"] | None = None,
    estimator: Literal["L0", "R0"] = "L0",
    maxiter: int = 100,
) -> TrimFill:
    """Duval & Tweedie's trim-and-fill with metafor's iteration and side rule."""
    if not fit.intercept_only or fit.method in ("MH", "PETO"):
        raise ModelInputError("trimfill: only for rma models without moderators")
    yi0, vi0 = fit.yi, fit.vi
    k = fit.k
    if k < 3:
        raise ModelInputError("trimfill: needs at least 3 studies")
    if side is None:
        eg = rma(fit.es, method=fit.method, mods=np.sqrt(vi0), mod_names=["sei"])
        side = "right" if eg.beta[1] < 0 else "left"
    y = -yi0 if side == "right" else yi0.copy()
    order = np.argsort(y, kind="stable")
    y, v = y[order], vi0[order]
    k0_prev, k0, it = -1, 0, 0
    beta = 0.0
    yc = y.copy()
    se_k0 = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ModelInputError(f"trimfill: no convergence after {maxiter} iterations")
        trimmed = EffectSizes(fit.es.measure, y[: k - k0], v[: k - k0])
        beta = rma(trimmed, method=fit.method).estimate
        yc = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            k0f = (k - np.max(-signed[signed < 0])) - 1 if np.any(signed < 0) else k - 1.0
            se_k0 = float(np.sqrt(2 * max(0.0, k0f) + 2))
        else:
            sr = float(np.sum(signed[signed > 0]))
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f
            ) / 24  # fmt: skip
            se_k0 = float(4 * np.sqrt(var_sr) / (2 * k - 1))
        k0 = max(0, int(np.round(k0f)))  # R's round(): half to even, as np.round
        se_k0 = max(0.0, se_k0)
    if k0 == 0:
        return TrimFill(0, se_k0, side, estimator, fit, np.zeros(k, dtype=bool))
    fill_flipped = 2 * beta - y[k - k0 :]
    fill = -fill_flipped if side == "right" else fill_flipped
    all_y = np.concatenate([yi0, fill])
    all_v = np.concatenate([vi0, v[k - k0 :]])
    labels = None
    if fit.es.labels is not None:
        labels = fit.es.labels + tuple(f"Filled {i + 1}" for i in range(k0))
    es = EffectSizes(fit.es.measure, all_y, all_v, labels=labels)
    refit = rma(es, method=fit.method, level=fit.level)
    filled = np.concatenate([np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)])
    return TrimFill(k0, se_k0, side, estimator, refit, filled)
