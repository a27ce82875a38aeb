"""Forest and funnel plots are written in every format and contain the expected pieces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoivig.evidence.effect_sizes import escalc
from myoivig.evidence.model import rma
from myoivig.evidence.plots import (
    SUBGROUP_LABELS,
    Arms,
    ForestSection,
    forest_plot,
    funnel_plot,
    save_figure,
    subgroup_label,
)
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


# -- plots a journal accepts as they are (issue 10, item 6) ---------------------------------------

LONG = "A very long multicentre randomised trial name from the Chinese literature (CNKI) 2015"


def _two_group_fit(labels: list[str]) -> Any:
    ai, n1, ci, n2 = [9, 20, 8, 5, 11], [12, 40, 11, 9, 15], [1, 10, 2, 3, 4], [11, 38, 10, 10, 14]
    return rma(escalc("OR", ai=ai, n1i=n1, ci=ci, n2i=n2, labels=labels), method="REML")


def _extents(fig: Any) -> tuple[Any, list[tuple[Any, Any, str]]]:
    """Renderer and, for every visible text, (axes, window extent, text)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in fig.axes:
        ticks = ax.get_xticklabels() if ax.axison else []
        for artist in [*ax.texts, *ticks]:
            if artist.get_text() and artist.get_visible():
                found.append((ax, artist.get_window_extent(renderer), artist.get_text()))
    return renderer, found


def _assert_no_overlap(fig: Any) -> None:
    _, found = _extents(fig)
    for ax, box, text in found:
        if ax is fig.axes[1]:
            continue  # the plot panel's texts are checked against their neighbours below
        panel = ax.get_window_extent()
        assert panel.x0 - 1 <= box.x0 and box.x1 <= panel.x1 + 1, f"{text!r} leaves its column"
    for i, (_, a, ta) in enumerate(found):
        for _, b, tb in found[i + 1 :]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{ta!r} overlaps {tb!r}"


def test_long_study_labels_are_shortened_and_never_overlap_other_columns() -> None:
    labels = [f"Dalakas et al. 1993 — {LONG}", LONG, "Mastaglia 1998", "Short", "Cherin 1991"]
    fit = _two_group_fit(labels)
    cells = [("9/12", "1/11"), ("20/40", "10/38"), ("8/11", "2/10"), ("5/9", "3/10"),
             ("11/15", "4/14")]  # fmt: skip
    fig = forest_plot([ForestSection(None, fit, cells)], data_header="Events/n")
    _assert_no_overlap(fig)
    texts = [t.get_text() for t in fig.axes[0].texts]
    shortened = [t for t in texts if t.endswith("…")]
    assert len(shortened) == 2 and LONG.startswith(shortened[1][:-1])
    assert "Mastaglia 1998" in texts  # a label that fits is kept whole
    single = rma(escalc("PLO", xi=XI, ni=NI, labels=[LONG * 2] * len(XI)), method="REML")
    fig = forest_plot([ForestSection(None, single, [f"{x}/{n}" for x, n in zip(XI, NI,
                      strict=True)])], data_header="Events/n", title="x")  # fmt: skip
    _assert_no_overlap(fig)


def test_two_group_measures_name_both_arms_and_the_favoured_sides() -> None:
    fit = _two_group_fit(["A", "B", "C", "D", "E"])
    cells = [("9/12", "1/11")] * 5
    fig = forest_plot([ForestSection(None, fit, cells)], data_header="Events/n")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert {"Treatment", "Control", "Events/n"} <= set(texts)
    assert {"← Favours control", "Favours treatment →"} <= set(texts)
    _assert_no_overlap(fig)
    harm = forest_plot([ForestSection(None, fit, cells)], data_header="Events/n",
                       arms=Arms("IVIg", "placebo", higher_favours_treatment=False))  # fmt: skip
    renderer, found = _extents(harm)
    plot = harm.axes[1]
    null_x = plot.transData.transform((1.0, 0.0))[0]
    boxes = {text: box for ax, box, text in found if ax is plot}
    assert boxes["← Favours IVIg"].x1 <= null_x <= boxes["Favours placebo →"].x0
    panel = plot.get_window_extent(renderer)
    assert panel.x0 <= boxes["← Favours IVIg"].x0 and boxes["Favours placebo →"].x1 <= panel.x1
    assert {"IVIg", "Placebo"} <= {t.get_text() for t in harm.axes[0].texts}


def test_subgroup_headings_use_the_human_label() -> None:
    fit = rma(escalc("PLO", xi=XI[:4], ni=NI[:4]), method="DL")
    other = rma(escalc("PLO", xi=XI[4:8], ni=NI[4:8]), method="DL")
    fig = forest_plot([ForestSection("rct", fit), ForestSection("prospective_open", other),
                       ForestSection("Open label (own words)", other)])  # fmt: skip
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"Randomised controlled trials", "Prospective open-label studies"} <= texts
    assert "Open label (own words)" in texts and not {"rct", "prospective_open"} & texts
    assert subgroup_label("case_series") == "Case series"
    assert subgroup_label("early_onset_dm") == "Early onset dm"
    from myoivig.review.extraction import StudyDesign

    assert {d.value for d in StudyDesign} <= set(SUBGROUP_LABELS)


def test_funnel_names_its_scale_and_centres_on_the_reported_estimate() -> None:
    fit = rma(escalc("PLO", xi=XI, ni=NI), method="REML")
    fig = funnel_plot(fit)
    ax = fig.axes[0]
    assert "logit" in ax.get_xlabel().lower() and "proportion" in ax.get_xlabel().lower()
    (centre,) = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert centre == pytest.approx(fit.estimate)
    assert len([c for c in ax.collections if type(c).__name__ == "PathCollection"]) == 1
    tf = trimfill(fit)
    fig = funnel_plot(fit, trimfill=tf)
    (centre,) = [ln.get_xdata()[0] for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "-"]
    assert centre == pytest.approx(tf.fit.estimate)
    or_fit = _two_group_fit(list("ABCDE"))
    assert funnel_plot(or_fit).axes[0].get_xlabel() == "Log odds ratio"


def test_meta_run_draws_and_prints_trimfill_only_when_asked(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from myoivig.cli import app

    data = tmp_path / "p.csv"
    data.write_text("study,xi,ni\n" + "".join(f"S{i},{x},{n}\n" for i, (x, n) in
                    enumerate(zip(XI, NI, strict=True))), encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    base = ["meta", "run", "--data", str(data), "--measure", "PLO", "--json"]
    plain = runner.invoke(app, [*base, "--funnel", str(tmp_path / "f.png")])
    assert plain.exit_code == 0, plain.output
    assert "trimfill_estimate" not in plain.output
    asked = runner.invoke(app, [*base, "--funnel", str(tmp_path / "g.png"), "--trimfill"])
    assert asked.exit_code == 0, asked.output
    summary = json.loads(asked.output)
    tf = trimfill(rma(escalc("PLO", xi=XI, ni=NI), method="REML"))
    assert summary["trimfill_estimate"] == pytest.approx(tf.fit.estimate)
    assert summary["trimfill_k0"] == tf.k0
    table = runner.invoke(app, [*base[:-1], "--trimfill"])
    assert "trimfill_estimate" in table.output  # printed in the table too
