"""Subgroup analysis: separate fits per subgroup and the test for subgroup differences.

With z-tests the between-subgroup test is a fixed-effect Q on the subgroup estimates with their
SEs (Borenstein et al. 2009, ch. 19; meta's default with separate τ²). With t-based tests (t,
knha, adhoc) that Q would treat Knapp-Hartung SEs as known variances, so the test is instead
what metafor gives for them: the moderator F test of `rma(mods = ~ factor(by), test = ...)`
(QM/m against F(m, k − p), common τ²). `subgroup_moderators` builds those indicators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from myoivig.evidence.effect_sizes import EffectSizes
from myoivig.evidence.errors import ModelInputError
from myoivig.evidence.model import MetaFit, rma

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SubgroupAnalysis:
    """One fit per subgroup plus the overall fit and the between-subgroup Q test."""

    groups: tuple[str, ...]
    fits: tuple[MetaFit, ...]
    overall: MetaFit
    q_between: float
    q_between_df: int
    q_between_p: float
    # "Q" (χ² on q_between_df) for z-tests; "F" (F on q_between_df, q_between_df2) for t-based.
    between_test: str = "Q"
    q_between_df2: int | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain mapping with stable keys."""
        return {
            "overall": self.overall.summary(),
            "subgroups": [
                {"group": g} | f.summary() for g, f in zip(self.groups, self.fits, strict=True)
            ],
            "between_test": self.between_test,
            "q_between": self.q_between,
            "q_between_df": self.q_between_df,
            "q_between_df2": self.q_between_df2,
            "q_between_p": self.q_between_p,
        }

    def test_text(self) -> str:
        """One line for plots: 'Q = 6.39, df = 2, p = 0.041' or 'F = 0.97, df = (2, 10), ...'."""
        p = self.q_between_p
        ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        if self.between_test == "F":
            df = f"({self.q_between_df}, {self.q_between_df2})"
            return f"F = {self.q_between:.2f}, df = {df}, {ptxt}"
        return f"Q = {self.q_between:.2f}, df = {self.q_between_df}, {ptxt}"


def _groups_in_order(by: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for g in by:
        seen.setdefault(str(g), None)
    return list(seen)


def subgroup_analysis(
    es: EffectSizes,
    by: Sequence[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
) -> SubgroupAnalysis:
    """Fit the model in each subgroup (in order of first appearance) and test differences.

    Subgroups with a single study are pooled as that study (τ² = 0), so a one-study subgroup
    still appears in the forest plot and the between-subgroup test.
    """
    labels = [str(b) for b in by]
    if len(labels) != es.yi.shape[0]:
        raise ModelInputError(f"subgroups: {len(labels)} labels for {es.yi.shape[0]} studies")
    groups = _groups_in_order(labels)
    if len(groups) < 2:
        raise ModelInputError("subgroups: need at least two subgroups")
    arr = np.array(labels)
    fits = []
    for g in groups:
        sub = es.subset(arr == g)
        m = method if sub.k >= 2 else "EE"
        fits.append(rma(sub, method=m, test=test if sub.k >= 2 else "z", level=level))
    overall = rma(es, method=method, test=test, level=level)
    df = len(groups) - 1
    if test != "z":
        mods, names = subgroup_moderators(labels)
        reg = rma(es, method=method, test=test, mods=mods, mod_names=names, level=level)
        return SubgroupAnalysis(
            tuple(groups), tuple(fits), overall, reg.qm, df, reg.qm_p, "F", reg.qm_df[1]
        )
    est = np.array([f.estimate for f in fits])
    var = np.array([float(f.se[0]) ** 2 for f in fits])
    w = 1 / var
    pooled = float(np.sum(w * est) / np.sum(w))
    q_b = float(np.sum(w * (est - pooled) ** 2))
    return SubgroupAnalysis(
        tuple(groups), tuple(fits), overall, q_b, df, float(stats.chi2.sf(q_b, df))
    )


def subgroup_moderators(by: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Indicator columns for every subgroup but the first (for a common-τ² meta-regression)."""
    labels = [str(b) for b in by]
    groups = _groups_in_order(labels)
    cols = np.column_stack([[1.0 if lb == g else 0.0 for lb in labels] for g in groups[1:]])
    return cols, groups[1:]
