"""Forest and funnel plots are written in every format and contain the expected pieces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoivig.evidence.effect_sizes import escalc
from myoivig.evidence.model import rma
from myoivig.evidence.plots import ForestSection, forest_plot, funnel_plot, save_figure
from myoivig.evidence.publication_bias import trimfill

XI = [16, 10, 4, 43, 10, 25, 13, 12, 22, 4, 5, 18, 58, 6]  # dat.pritz1997
NI = [17, 12, 8, 58, 10, 42, 14, 12, 41, 5, 6, 23, 68, 10]


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_forest_plot_formats(tmp_path: Path, suffix: str) -> None:
    fit = rma(escalc("PLO", xi=XI, ni=NI), method="REML")
    fig = forest_plot([ForestSection(None, fit, [f"{x}/{n}" for x, n in zip(XI, NI, strict=True)])],
                      data_header="Events/n")  # fmt: skip
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "Prediction interval" in texts
    assert any(t.startswith("Heterogeneity: Q = 29.79") for t in texts)
    pooled = fit.predict(natural=True)
    assert (
        f"{100 * pooled.pred:.1f} [{100 * pooled.ci_lower:.1f}, {100 * pooled.ci_upper:.1f}]"
        in texts
    )
    path = save_figure(fig, tmp_path / f"forest{suffix}")
    assert path.stat().st_size > 5_000


def test_funnel_with_trimfill(tmp_path: Path) -> None:
    ai = [1, 9, 2, 1, 10, 1, 1, 0, 6, 1, 2, 5, 4, 90, 4]  # dat.egger2001 without ISIS-4
    n1 = [40, 135, 200, 48, 150, 59, 25, 22, 76, 27, 89, 23, 130, 1159, 107]
    ci = [2, 23, 7, 1, 8, 9, 3, 1, 11, 7, 12, 13, 8, 118, 17]
    n2 = [36, 135, 200, 46, 148, 56, 23, 21, 75, 27, 80, 33, 122, 1157, 108]
    fit = rma(escalc("OR", ai=ai, n1i=n1, ci=ci, n2i=n2), method="REML")
    tf = trimfill(fit)
    assert tf.k0 == 6  # research notes §2.8
    fig = funnel_plot(fit, trimfill=tf)
    offsets = [c.get_offsets() for c in fig.axes[0].collections if hasattr(c, "get_offsets")]
    assert sum(len(o) for o in offsets if len(o) in (15, 6)) == 21
    assert save_figure(fig, tmp_path / "funnel.png").stat().st_size > 5_000


def test_save_rejects_unknown_format(tmp_path: Path) -> None:
    fit = rma(escalc("PLO", xi=XI, ni=NI), method="DL")
    with pytest.raises(
        ValueError, match=r"unknown output extension \(\.jpg\); use one of \.pdf, \.png, \.svg"
    ):
        save_figure(forest_plot([ForestSection(None, fit)]), tmp_path / "x.jpg")
    assert np.isfinite(fit.tau2)


def test_fit_object_views() -> None:
    """One fit object, many views: the same answers as the module functions."""
    fit = rma(escalc("PLO", xi=XI, ni=NI), method="DL")
    assert [r.estimate for r in fit.leave1out()][:1] == pytest.approx(
        [rma(escalc("PLO", xi=XI[1:], ni=NI[1:]), method="DL").estimate]
    )
    assert fit.cumulative()[-1].estimate == pytest.approx(fit.estimate)
    assert fit.regtest().pval == pytest.approx(fit.regtest("rma").pval)
    assert 0 <= fit.ranktest().pval <= 1
    assert fit.trimfill().k0 >= 0
    assert len(fit.forest().axes) == 3
    assert fit.funnel(with_trimfill=True).axes[0].get_ylabel() == "Standard error"
