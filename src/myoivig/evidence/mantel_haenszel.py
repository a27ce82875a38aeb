"""Common-effect pooling of 2x2 tables by Mantel-Haenszel and by Peto (`rma.mh`, `rma.peto`).

The pooled value uses the uncorrected tables (metafor: `add=c(1/2, 0)`, `to=c("only0","none")`);
the Q test, I² and H² use the inverse-variance study effects with the usual correction and
double-zero studies dropped (`drop00=TRUE`).
Sources: Mantel & Haenszel 1959; Robins, Breslow & Greenland 1986 (OR variance); Greenland &
Robins 1985 (RR, RD variances; Sato et al. 1989); Yusuf et al. 1985 (Peto); metafor `rma.mh`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from myoivig.evidence.effect_sizes import ArrayLike, EffectSizes, two_group_binary
from myoivig.evidence.errors import EffectSizeInputError, ModelInputError
from myoivig.evidence.model import MetaFit

FloatArray = NDArray[np.float64]


def _tables(
    ai: ArrayLike | None,
    ci: ArrayLike | None,
    bi: ArrayLike | None,
    di: ArrayLike | None,
    n1i: ArrayLike | None,
    n2i: ArrayLike | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    if ai is None or ci is None:
        raise EffectSizeInputError("missing column 'ai' or 'ci'")
    a = np.asarray(ai, dtype=np.float64)
    c = np.asarray(ci, dtype=np.float64)
    if bi is not None and di is not None:
        b = np.asarray(bi, dtype=np.float64)
        d = np.asarray(di, dtype=np.float64)
    elif n1i is not None and n2i is not None:
        b = np.asarray(n1i, dtype=np.float64) - a
        d = np.asarray(n2i, dtype=np.float64) - c
    else:
        raise EffectSizeInputError("missing columns: give 'bi' and 'di', or 'n1i' and 'n2i'")
    return a, b, c, d


def _heterogeneity(es: EffectSizes, beta: float) -> tuple[float, float, float, float]:
    used = es.used()
    k = used.k
    if k < 2:
        return 0.0, 1.0, 0.0, 1.0
    qe = max(0.0, float(np.sum((used.yi - beta) ** 2 / used.vi)))
    return (
        qe,
        float(stats.chi2.sf(qe, k - 1)),
        max(0.0, 100 * (qe - (k - 1)) / qe) if qe > 0 else 0.0,
        qe / (k - 1),
    )


def _fit(
    es: EffectSizes, method: str, beta: float, se: float, qe: tuple[float, float, float, float]
) -> MetaFit:
    if not np.isfinite(beta) or not np.isfinite(se) or se <= 0:
        raise ModelInputError(
            f"{method}: the pooled {es.measure} is not estimable (no events in one arm overall)"
        )
    used = es.used()
    crit = float(stats.norm.ppf(0.975))
    z = beta / se
    return MetaFit(
        es=used,
        method=method,
        test="z",
        level=95.0,
        x=np.ones((used.k, 1)),
        coef_names=("intrcpt",),
        beta=np.array([beta]),
        vb=np.array([[se**2]]),
        se=np.array([se]),
        zval=np.array([z]),
        pval=np.array([2 * stats.norm.sf(abs(z))]),
        ci_lower=np.array([beta - crit * se]),
        ci_upper=np.array([beta + crit * se]),
        tau2=0.0,
        se_tau2=float("nan"),
        qe=qe[0],
        qe_p=qe[1],
        qm=z**2,
        qm_p=float(stats.chi2.sf(z**2, 1)),
        qm_df=(1, None),
        i2=qe[2],
        h2=qe[3],
        vt=float("nan"),
        r2=None,
        ddf=None,
        s2w=1.0,
        weights=1 / used.vi,
    )


def rma_mh(
    measure: str,
    *,
    ai: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    bi: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
) -> MetaFit:
    """Mantel-Haenszel common effect for OR, RR or RD (log scale for ratios)."""
    measure = measure.upper()
    if measure not in ("OR", "RR", "RD"):
        raise ModelInputError(f"Mantel-Haenszel supports OR, RR and RD, not {measure}")
    es = two_group_binary(
        measure, ai=ai, ci=ci, bi=bi, di=di, n1i=n1i, n2i=n2i, drop00=True, labels=labels
    )
    a, b, c, d = _tables(ai, ci, bi, di, n1i, n2i)
    n1, n2 = a + b, c + d
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            p_ = (a + d) / n
            q_ = (b + c) / n
            r_ = a * d / n
            s_ = b * c / n
            r, s = r_.sum(), s_.sum()
            beta = float(np.log(r / s))
            se = float(
                np.sqrt(
                    0.5
                    * (
                        np.sum(p_ * r_) / r**2
                        + np.sum(p_ * s_ + q_ * r_) / (r * s)
                        + np.sum(q_ * s_) / s**2
                    )
                )
            )
        elif measure == "RR":
            r = float(np.sum(a * n2 / n))
            s = float(np.sum(c * n1 / n))
            beta = float(np.log(r / s))
            se = float(np.sqrt(np.sum((n1 / n) * (n2 / n) * (a + c) - (a / n) * c) / (r * s)))
        else:
            wsum = float(np.sum(n1 * n2 / n))
            beta = float(np.sum(a * (n2 / n) - c * (n1 / n)) / wsum)
            se = float(
                np.sqrt(
                    (
                        beta
                        * np.sum(
                            c * (n1 / n) ** 2
                            - a * (n2 / n) ** 2
                            + (n1 / n) * (n2 / n) * (n2 - n1) / 2
                        )
                        + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2
                    )
                    / wsum**2
                )
            )
    return _fit(es, "MH", beta, se, _heterogeneity(es, beta))


def rma_peto(
    *,
    ai: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    bi: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
) -> MetaFit:
    """Peto's one-step log odds ratio: Σ(O − E) / ΣV with variance 1 / ΣV."""
    es = two_group_binary(
        "PETO", ai=ai, ci=ci, bi=bi, di=di, n1i=n1i, n2i=n2i, drop00=True, labels=labels
    )
    a, b, c, d = _tables(ai, ci, bi, di, n1i, n2i)
    n1, n2 = a + b, c + d
    n = n1 + n2
    events, nonevents = a + c, b + d
    expected = events * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = events * nonevents * (n1 / n) * (n2 / n) / (n - 1)
    var = np.where(np.isfinite(var), var, 0.0)
    sum_v = float(var.sum())
    if sum_v == 0:
        raise ModelInputError("PETO: no study has events and non-events, the OR is not estimable")
    oe = a - expected
    beta = float(oe.sum() / sum_v)
    se = float(np.sqrt(1 / sum_v))
    pos = var > 0
    qe = max(0.0, float(np.sum(oe[pos] ** 2 / var[pos]) - oe.sum() ** 2 / sum_v))
    k = es.k
    het = (
        (
            qe,
            float(stats.chi2.sf(qe, k - 1)),
            max(0.0, 100 * (qe - (k - 1)) / qe) if qe > 0 else 0.0,
            qe / (k - 1),
        )
        if int(pos.sum()) > 1
        else (qe, 1.0, 0.0, 1.0)
    )
    return _fit(es, "PETO", beta, se, het)
