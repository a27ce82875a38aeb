"""Sensitivity views of a fit: leave-one-out and cumulative meta-analysis.

Both refit the same model (method, test, level) to subsets of the studies, as metafor's
`leave1out()` and `cumul()` do; a cumulative step with a single study reports that study
(τ² = 0), as metafor does for k = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.model import MetaFit, rma

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SubsetResult:
    """One refit: which study was dropped (or added last) and the model's main values."""

    label: str
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lower: float
    ci_upper: float
    q: float
    q_p: float
    tau2: float
    i2: float
    h2: float

    def as_dict(self) -> dict[str, float | int | str]:
        """Plain mapping with stable keys."""
        return dict(self.__dict__)


def _row(label: str, fit: MetaFit) -> SubsetResult:
    return SubsetResult(
        label=label,
        k=fit.k,
        estimate=fit.estimate,
        se=float(fit.se[0]),
        zval=float(fit.zval[0]),
        pval=float(fit.pval[0]),
        ci_lower=float(fit.ci_lower[0]),
        ci_upper=float(fit.ci_upper[0]),
        q=fit.qe,
        q_p=fit.qe_p,
        tau2=fit.tau2,
        i2=fit.i2,
        h2=fit.h2,
    )


def _single_study(label: str, y: float, v: float, level: float) -> SubsetResult:
    se = float(np.sqrt(v))
    crit = float(stats.norm.ppf(1 - (1 - level / 100) / 2))
    z = y / se
    return SubsetResult(
        label, 1, y, se, z, float(2 * stats.norm.sf(abs(z))), y - crit * se, y + crit * se,
        0.0, 1.0, 0.0, 0.0, 1.0,
    )  # fmt: skip


def leave1out(fit: MetaFit) -> list[SubsetResult]:
    """Refit with each study left out in turn (intercept-only models)."""
    if not fit.intercept_only:
        raise ModelInputError("leave1out: only for models without moderators")
    if fit.method in ("MH", "PETO"):
        raise ModelInputError("leave1out: refit MH/Peto models from their tables")
    out = []
    for i in range(fit.k):
        keep = np.ones(fit.k, dtype=bool)
        keep[i] = False
        sub = rma(fit.es.subset(keep), method=fit.method, test=fit.test, level=fit.level)
        out.append(_row(fit.es.label(i), sub))
    return out


def cumulative(fit: MetaFit, order: Sequence[int] | None = None) -> list[SubsetResult]:
    """Add the studies one at a time in `order` (0-based indices; default: as given)."""
    if not fit.intercept_only:
        raise ModelInputError("cumulative: only for models without moderators")
    idx = np.arange(fit.k) if order is None else np.asarray(order, dtype=int)
    if sorted(idx.tolist()) != list(range(fit.k)):
        raise ModelInputError("cumulative: order must list every study exactly once")
    out = []
    for j in range(1, fit.k + 1):
        members = idx[:j]
        label = fit.es.label(int(idx[j - 1]))
        if j == 1:
            i = int(members[0])
            out.append(_single_study(label, float(fit.yi[i]), float(fit.vi[i]), fit.level))
            continue
        mask = np.zeros(fit.k, dtype=bool)
        mask[members] = True
        method = fit.method if j >= 2 else "EE"
        sub = rma(fit.es.subset(mask), method=method, test=fit.test, level=fit.level)
        out.append(_row(label, sub))
    return out
