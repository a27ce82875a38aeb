"""The fitted meta-analytic model (metafor's `rma.uni`): one fit object, many views.

`rma()` fits an equal-effects, random-effects or mixed-effects (meta-regression) model by
weighted least squares at the estimated τ², with z, t or Knapp-Hartung tests. Heterogeneity
(Q, I², H²) follows metafor: for random-effects models I² and H² come from τ² and the "typical"
within-study variance (k − p) / tr(P); for EE models from Q.
Sources: Viechtbauer 2010 (J Stat Softw 36:3); Knapp & Hartung 2003 (Stat Med 22:2693);
Higgins & Thompson 2002 (Stat Med 21:1539); metafor `rma.uni`, `predict.rma`, `confint.rma.uni`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from myoivig.evidence.effect_sizes import EffectSizes
from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.tau2 import (
    METHODS,
    Tau2Estimate,
    estimate_tau2,
    generalised_q,
)
from myoivig.evidence.transforms import BackTransform, back_transform_for
from myoivig.evidence.weighted import weighted_fit

FloatArray = NDArray[np.float64]
TestType = Literal["z", "t", "knha", "adhoc"]
TESTS = ("z", "t", "knha", "adhoc")


@dataclass(frozen=True)
class Prediction:
    """Predicted (pooled) value with CI and prediction interval, on one scale."""

    pred: float
    se: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    scale: str = "model"

    def as_dict(self) -> dict[str, float | str]:
        """Plain mapping with stable keys."""
        return {
            "pred": self.pred,
            "se": self.se,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "pi_lower": self.pi_lower,
            "pi_upper": self.pi_upper,
            "scale": self.scale,
        }


@dataclass(frozen=True)
class Tau2Interval:
    """Q-profile confidence interval for τ² and the I² and H² it implies."""

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    i2: tuple[float, float, float]
    h2: tuple[float, float, float]
    upper_capped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping: estimate, lower, upper for each quantity."""
        return {
            name: {"estimate": vals[0], "lower": vals[1], "upper": vals[2]}
            for name, vals in (
                ("tau2", self.tau2),
                ("tau", self.tau),
                ("i2", self.i2),
                ("h2", self.h2),
            )
        } | {"upper_capped": self.upper_capped}


@dataclass(frozen=True)
class MetaFit:
    """A fitted meta-analysis. Attributes mirror metafor's `rma` object; methods give views."""

    es: EffectSizes
    method: str
    test: str
    level: float
    x: FloatArray
    coef_names: tuple[str, ...]
    beta: FloatArray
    vb: FloatArray
    se: FloatArray
    zval: FloatArray
    pval: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    tau2: float
    se_tau2: float
    qe: float
    qe_p: float
    qm: float
    qm_p: float
    qm_df: tuple[int, int | None]
    i2: float
    h2: float
    vt: float
    r2: float | None
    ddf: int | None
    s2w: float
    weights: FloatArray
    extra: dict[str, float] = field(default_factory=dict)

    # --- basic properties ------------------------------------------------------------------
    @property
    def k(self) -> int:
        """Number of studies in the model."""
        return int(self.es.yi.shape[0])

    @property
    def p(self) -> int:
        """Number of model coefficients."""
        return int(self.x.shape[1])

    @property
    def yi(self) -> FloatArray:
        """Study effects."""
        return self.es.yi

    @property
    def vi(self) -> FloatArray:
        """Sampling variances."""
        return self.es.vi

    @property
    def is_random(self) -> bool:
        """True for random- and mixed-effects models."""
        return self.method not in ("EE", "FE", "MH", "PETO")

    @property
    def intercept_only(self) -> bool:
        """True when the model has no moderators."""
        return self.p == 1 and bool(np.all(self.x[:, 0] == 1))

    @property
    def estimate(self) -> float:
        """The pooled estimate (first coefficient)."""
        return float(self.beta[0])

    @property
    def weights_percent(self) -> FloatArray:
        """Study weights in percent, as metafor's `weights()`."""
        return np.asarray(100 * self.weights / self.weights.sum())

    @property
    def crit(self) -> float:
        """Critical value for CIs at the fit's level."""
        alpha = 1 - self.level / 100
        if self.ddf is not None:
            return float(stats.t.ppf(1 - alpha / 2, self.ddf))
        return float(stats.norm.ppf(1 - alpha / 2))

    @property
    def back_transform(self) -> BackTransform | None:
        """The transformation to the natural scale of the measure, if any."""
        return back_transform_for(self.es.measure, self.es.ni)

    # --- views ------------------------------------------------------------------------------
    def predict(
        self,
        newmods: Sequence[float] | None = None,
        *,
        transf: BackTransform | None = None,
        natural: bool = False,
    ) -> Prediction:
        """Pooled value (or value at `newmods`) with CI and prediction interval.

        The PI is pred ± crit·√(τ² + SE²) with the fit's critical value (z, or t with k − p df
        for t/knha), as metafor's `predict.rma`; for equal-effects models it equals the CI.
        `natural=True` back-transforms with the measure's own transformation.
        """
        if newmods is None:
            if not self.intercept_only:
                raise ModelInputError("predict: a meta-regression needs newmods")
            xrow = np.array([1.0])
        else:
            xrow = np.asarray(newmods, dtype=np.float64)
            if xrow.shape[0] == self.p - 1:
                xrow = np.concatenate(([1.0], xrow))
            if xrow.shape[0] != self.p:
                raise ModelInputError(f"predict: newmods needs {self.p - 1} values")
        pred = float(xrow @ self.beta)
        se = float(np.sqrt(xrow @ self.vb @ xrow))
        crit = self.crit
        ci = (pred - crit * se, pred + crit * se)
        if self.is_random:
            half = crit * np.sqrt(self.tau2 + se**2)
            pi = (pred - half, pred + half)
        else:
            pi = ci
        if natural and transf is None:
            transf = self.back_transform
        if transf is None:
            return Prediction(pred, se, ci[0], ci[1], float(pi[0]), float(pi[1]))
        vals = transf(np.array([pred, ci[0], ci[1], pi[0], pi[1]]))
        return Prediction(
            float(vals[0]),
            float("nan"),
            float(vals[1]),
            float(vals[2]),
            float(vals[3]),
            float(vals[4]),
            scale=transf.scale,
        )

    def confint_tau2(self, level: float | None = None) -> Tau2Interval:
        """Q-profile CI for τ² (Viechtbauer 2007), with τ, I² and H² at its bounds."""
        if not self.is_random:
            raise ModelInputError(f"confint: method {self.method} has no τ²")
        level = self.level if level is None else level
        return q_profile_interval(self, level)

    # --- diagnostics and plots: thin views delegating to their own modules ---------------------
    def leave1out(self) -> list[Any]:
        """Refit without each study in turn (`sensitivity.leave1out`)."""
        from myoivig.evidence.sensitivity import leave1out

        return leave1out(self)

    def cumulative(self, order: Sequence[int] | None = None) -> list[Any]:
        """Cumulative meta-analysis in `order` (`sensitivity.cumulative`)."""
        from myoivig.evidence.sensitivity import cumulative

        return cumulative(self, order)

    def regtest(self, model: Literal["rma", "lm"] = "rma", predictor: str = "sei") -> Any:
        """Egger's regression test (`publication_bias.regtest`)."""
        from myoivig.evidence.publication_bias import regtest

        return regtest(self, model=model, predictor=predictor)  # type: ignore[arg-type]

    def ranktest(self) -> Any:
        """Begg's rank correlation test (`publication_bias.ranktest`)."""
        from myoivig.evidence.publication_bias import ranktest

        return ranktest(self)

    def trimfill(self, side: Literal["left", "right"] | None = None) -> Any:
        """Trim-and-fill (`publication_bias.trimfill`)."""
        from myoivig.evidence.publication_bias import trimfill

        return trimfill(self, side=side)

    def forest(self, data_text: Sequence[str] | None = None, **kwargs: Any) -> Any:
        """Forest plot figure of this fit (`plots.forest_plot`)."""
        from myoivig.evidence.plots import ForestSection, forest_plot

        return forest_plot([ForestSection(None, self, data_text)], **kwargs)

    def funnel(self, *, with_trimfill: bool = False, **kwargs: Any) -> Any:
        """Funnel plot figure, optionally with the trim-and-fill studies (`plots.funnel_plot`)."""
        from myoivig.evidence.plots import funnel_plot

        return funnel_plot(self, trimfill=self.trimfill() if with_trimfill else None, **kwargs)

    def summary(self) -> dict[str, Any]:
        """The main results with stable snake_case keys (what `meta run --json` prints)."""
        out: dict[str, Any] = {
            "measure": self.es.measure,
            "method": self.method,
            "test": self.test,
            "k": self.k,
            "estimate": self.estimate,
            "se": float(self.se[0]),
            "zval": float(self.zval[0]),
            "pval": float(self.pval[0]),
            "ci_lower": float(self.ci_lower[0]),
            "ci_upper": float(self.ci_upper[0]),
            "tau2": self.tau2,
            "se_tau2": None if np.isnan(self.se_tau2) else self.se_tau2,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.qe,
            "q_df": self.k - self.p,
            "q_p": self.qe_p,
        }
        if self.intercept_only:
            pr = self.predict()
            out["pi_lower"] = pr.pi_lower
            out["pi_upper"] = pr.pi_upper
            bt = self.back_transform
            if bt is not None:
                nat = self.predict(transf=bt)
                out.update(
                    pooled=nat.pred,
                    pooled_lower=nat.ci_lower,
                    pooled_upper=nat.ci_upper,
                    pooled_pi_lower=nat.pi_lower,
                    pooled_pi_upper=nat.pi_upper,
                    pooled_scale=nat.scale,
                    back_transform=bt.name,
                )
        else:
            out["coefficients"] = [
                {
                    "name": name,
                    "estimate": float(b),
                    "se": float(s),
                    "zval": float(z),
                    "pval": float(pv),
                    "ci_lower": float(lo),
                    "ci_upper": float(hi),
                }
                for name, b, s, z, pv, lo, hi in zip(
                    self.coef_names,
                    self.beta,
                    self.se,
                    self.zval,
                    self.pval,
                    self.ci_lower,
                    self.ci_upper,
                    strict=True,
                )
            ]
            out["qm"] = self.qm
            out["qm_df"] = list(self.qm_df)
            out["qm_p"] = self.qm_p
            out["r2"] = self.r2
        out.update(self.extra)
        return out


def _design(
    k: int, mods: FloatArray | None, mod_names: Sequence[str] | None, intercept: bool
) -> tuple[FloatArray, tuple[str, ...]]:
    cols: list[FloatArray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones((k, 1)))
        names.append("intrcpt")
    if mods is not None:
        m = np.asarray(mods, dtype=np.float64)
        if m.ndim == 1:
            m = m[:, None]
        if m.shape[0] != k:
            raise ModelInputError(f"mods has {m.shape[0]} rows, expected {k}")
        bad = np.argwhere(~np.isfinite(m))
        if bad.size:
            i, j = (int(b) for b in bad[0])
            nm = mod_names[j] if mod_names is not None else f"mod{j + 1}"
            raise ModelInputError(
                f"row {i + 1}: moderator '{nm}' = {float(m[i, j])!r} is not a number"
            )
        cols.append(m)
        names.extend(
            mod_names if mod_names is not None else [f"mod{j + 1}" for j in range(m.shape[1])]
        )
    if not cols:
        raise ModelInputError("the model needs an intercept or moderators")
    x = np.hstack(cols)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ModelInputError("the moderators are collinear (model matrix not of full rank)")
    return x, tuple(names)


def _validate(es: EffectSizes) -> EffectSizes:
    es = es.used()
    for name, arr in (("yi", es.yi), ("vi", es.vi)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ModelInputError(
                f"study {es.label(i)}: {name} = {float(arr[i])!r} is not a number"
            )
    bad = np.flatnonzero(es.vi <= 0)
    if bad.size:
        i = int(bad[0])
        raise ModelInputError(
            f"study {es.label(i)}: sampling variance vi = {float(es.vi[i])!r} must be positive"
        )
    return es


def rma(
    es: EffectSizes,
    *,
    method: str = "REML",
    test: str = "z",
    mods: FloatArray | None = None,
    mod_names: Sequence[str] | None = None,
    intercept: bool = True,
    level: float = 95.0,
    tau2: float | None = None,
) -> MetaFit:
    """Fit a meta-analytic model (metafor's `rma(yi, vi, mods, method, test)`).

    `tau2` fixes τ² instead of estimating it. Raises ModelInputError when k is too small for the
    method, when variances are not positive or the moderators are collinear, and
    ConvergenceError when an iterative estimator has no solution.
    """
    method = method.upper()
    if method == "FE":
        method = "EE"
    if method not in METHODS:
        raise ModelInputError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if test not in TESTS:
        raise ModelInputError(f"unknown test {test!r}; known: {', '.join(TESTS)}")
    es = _validate(es)
    k = es.yi.shape[0]
    if k == 0:
        raise ModelInputError("no studies to pool (k = 0)")
    x, names = _design(k, mods, mod_names, intercept)
    p = x.shape[1]
    y, v = es.yi, es.vi
    random = method != "EE"
    if random and tau2 is None and k < p + 1:
        raise ModelInputError(
            f"method {method} needs at least {p + 1} studies to estimate τ² (k = {k})"
        )
    if k < p:
        raise ModelInputError(f"{p} coefficients cannot be estimated from k = {k} studies")
    if test in ("t", "knha", "adhoc") and k - p < 1:
        raise ModelInputError(f"test={test} needs k > p (k = {k}, p = {p})")

    if not random:
        est = Tau2Estimate(0.0, float("nan"))
    elif tau2 is not None:
        if tau2 < 0:
            raise ModelInputError(f"fixed tau2 = {tau2} must not be negative")
        est = Tau2Estimate(float(tau2), float("nan"))
    else:
        est = estimate_tau2(method, y, v, x)
    t2 = est.tau2

    wf = weighted_fit(y, v, x, t2)
    beta, vb = wf.beta, wf.vb
    s2w = 1.0
    if test in ("knha", "adhoc"):
        rss = wf.rss
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(s2w, 1.0)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        # Knapp-Hartung with a zero residual SS (all effects equal) gives SE 0: like metafor,
        # z = ±Inf (NaN for 0/0), p = 0 and a degenerate CI at the estimate.
        zval = beta / se
    btt = np.arange(1, p) if (p > 1 and intercept) else np.arange(p)
    qm = _wald_statistic(beta[btt], vb[np.ix_(btt, btt)])
    m = btt.shape[0]
    alpha = 1 - level / 100
    ddf: int | None
    if test in ("t", "knha", "adhoc"):
        ddf = k - p
        qm = qm / m
        qm_df: tuple[int, int | None] = (m, k - p)
        qm_p = float(stats.f.sf(qm, m, k - p))
        pval = 2 * stats.t.sf(np.abs(zval), ddf)
        crit = float(stats.t.ppf(1 - alpha / 2, ddf))
    else:
        ddf = None
        qm_df = (m, None)
        qm_p = float(stats.chi2.sf(qm, m))
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.ppf(1 - alpha / 2))

    if k > p:
        wfe = weighted_fit(y - y.mean(), v, x, 0.0)
        qe = max(0.0, wfe.rss)
        qe_p = float(stats.chi2.sf(qe, k - p))
        vt = (k - p) / float(np.trace(wfe.projection))
        if random:
            i2 = 100 * t2 / (vt + t2)
            h2 = t2 / vt + 1
        else:
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
    else:
        qe, qe_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0

    r2: float | None = None
    if p > 1 and intercept and random and tau2 is None:
        t2_re = estimate_tau2(method, y, v, np.ones((k, 1))).tau2
        r2 = 0.0 if t2_re == 0 else max(0.0, 100 * (t2_re - t2) / t2_re)
    elif p > 1 and intercept and not random:
        r2 = _weighted_adjusted_r2(y, 1 / v, x)

    return MetaFit(
        es=es,
        method=method,
        test=test,
        level=level,
        x=x,
        coef_names=names,
        beta=beta,
        vb=vb,
        se=se,
        zval=zval,
        pval=np.asarray(pval),
        ci_lower=beta - crit * se,
        ci_upper=beta + crit * se,
        tau2=t2,
        se_tau2=est.se_tau2,
        qe=qe,
        qe_p=qe_p,
        qm=qm,
        qm_p=qm_p,
        qm_df=qm_df,
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        r2=r2,
        ddf=ddf,
        s2w=float(s2w),
        weights=wf.weights,
    )


def _wald_statistic(b: FloatArray, vb: FloatArray) -> float:
    """b' V⁻¹ b, or NaN when V is not positive definite (metafor's QM is NA there: its
    chol() fails, e.g. for the zero Knapp-Hartung covariance of identical effects)."""
    try:
        chol = np.linalg.cholesky(vb)
    except np.linalg.LinAlgError:
        return float("nan")
    half = np.linalg.solve(chol, b)
    return float(half @ half)


def _weighted_adjusted_r2(y: FloatArray, w: FloatArray, x: FloatArray) -> float:
    """metafor's R² for EE meta-regressions: adjusted R² of lm(yi ~ X, weights = 1/vi), in %."""
    k, p = x.shape
    if float(np.var(y)) == 0.0 or k - p < 1:
        return 0.0
    fit = weighted_fit(y, 1 / w, x, 0.0)
    ybar = float(np.sum(w * y) / np.sum(w))
    tss = float(np.sum(w * (y - ybar) ** 2))
    r2 = 1 - fit.rss / tss
    adj = 1 - (1 - r2) * (k - 1) / (k - p)
    return max(0.0, 100 * adj)


def refit(fit: MetaFit, es: EffectSizes, mods: FloatArray | None = None) -> MetaFit:
    """Fit the same model (method, test, level) to other data."""
    if fit.intercept_only:
        return rma(es, method=fit.method, test=fit.test, level=fit.level)
    return rma(
        es,
        method=fit.method,
        test=fit.test,
        level=fit.level,
        mods=mods,
        mod_names=fit.coef_names[1:],
    )


def q_profile_interval(fit: MetaFit, level: float) -> Tau2Interval:
    """Invert Q(τ²) ~ χ²(k − p) at the two tail quantiles (metafor `confint`, type "QP")."""
    y, v, x = fit.yi, fit.vi, fit.x
    k, p = fit.k, fit.p
    if k - p < 1:
        raise ModelInputError("confint: the Q-profile needs k > p")
    alpha = 1 - level / 100
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    tau2_max = max(100.0, fit.tau2 * 10)

    def q(t: float) -> float:
        return generalised_q(y, v, x, t)

    def root(target: float) -> float:
        return float(
            optimize.brentq(lambda t: q(t) - target, 0.0, tau2_max, xtol=1e-15, rtol=1e-14)
        )

    q_min, q_max = q(0.0), q(tau2_max)
    capped = False
    if q_min < crit_l:
        lb = ub = 0.0
    else:
        if q_max > crit_l:
            ub, capped = tau2_max, True
        else:
            ub = root(crit_l)
        lb = 0.0 if q_min < crit_u else (tau2_max if q_max > crit_u else root(crit_u))
    vt = fit.vt

    def i2(t: float) -> float:
        return 100 * t / (vt + t)

    def h2(t: float) -> float:
        return t / vt + 1

    return Tau2Interval(
        tau2=(fit.tau2, lb, ub),
        tau=(float(np.sqrt(fit.tau2)), float(np.sqrt(lb)), float(np.sqrt(ub))),
        i2=(fit.i2, i2(lb), i2(ub)),
        h2=(fit.h2, h2(lb), h2(ub)),
        upper_capped=capped,
    )


def with_extra(fit: MetaFit, **extra: float) -> MetaFit:
    """A copy of the fit carrying extra summary values (e.g. MH statistics)."""
    return replace(fit, extra={**fit.extra, **extra})
