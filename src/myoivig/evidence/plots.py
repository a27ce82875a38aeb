"""Publication figures for a fitted meta-analysis: forest and funnel plots (matplotlib).

The forest plot shows each study's label, raw data (events/n or mean (SD), n), weight and effect
with CI on the natural scale (proportions, odds/risk ratios on a log axis), pooled diamond(s),
subgroup sections, the prediction interval and a heterogeneity line, in the style of metafor's
`forest()` and RevMan. The funnel plot follows metafor's `funnel()` (pseudo-CI region,
optional significance contours, trim-and-fill studies as open points).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from numpy.typing import NDArray
from scipy import stats

from myoivig.atomic_files import FIGURE_SUFFIXES, check_output, replacing
from myoivig.evidence.model import MetaFit
from myoivig.evidence.publication_bias import TrimFill
from myoivig.evidence.transforms import iarcsin, ilogit, ipft

FloatArray = NDArray[np.float64]
RATIO_MEASURES = ("OR", "RR", "PETO", "ROM")
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 50.0, 100.0)
PROPORTION_MEASURES = ("PR", "PLO", "PAS", "PFT")
AXIS_LABELS = {
    "PR": "Proportion",
    "PLO": "Proportion",
    "PAS": "Proportion",
    "PFT": "Proportion",
    "OR": "Odds ratio (log scale)",
    "PETO": "Peto odds ratio (log scale)",
    "RR": "Risk ratio (log scale)",
    "ROM": "Ratio of means (log scale)",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "SMCR": "Standardised mean change",
}


TWO_GROUP_MEASURES = ("OR", "RR", "RD", "PETO", "ROM", "MD", "SMD")
FOREST_WIDTH = 11.5  # inches
COLUMN_GAP_PT = 10.0  # space between text columns
STUDY_INDENT = 0.02  # study rows start this far into the left panel (axes fraction)
MEASURE_SAFETY = 1.03  # rendered widths at 300 dpi differ from the screen-dpi measure by < 3 %
# Study-design codes as the review stores them (review.extraction.StudyDesign), for headings.
SUBGROUP_LABELS = {
    "rct": "Randomised controlled trials",
    "controlled": "Non-randomised controlled studies",
    "prospective_open": "Prospective open-label studies",
    "retrospective": "Retrospective studies",
    "case_series": "Case series",
    "case_report": "Case reports",
}
DataCell = str | tuple[str, str]


@dataclass(frozen=True)
class Arms:
    """The two groups of a two-group measure: group 1 is metafor's ``ai``/``m1i`` side.

    ``higher_favours_treatment``: True when the outcome is good (response, strength), so an
    effect above the line of no effect favours group 1; False for harms (adverse events).
    """

    treatment: str = "treatment"
    control: str = "control"
    higher_favours_treatment: bool = True

    def favours(self) -> tuple[str, str]:
        """The labels to the left and to the right of the line of no effect."""
        low, high = (
            (self.control, self.treatment)
            if self.higher_favours_treatment
            else (self.treatment, self.control)
        )
        return f"\u2190 Favours {low}", f"Favours {high} \u2192"


def subgroup_label(code: str) -> str:
    """The heading a reader expects for a stored subgroup code (`rct` -> "Randomised controlled
    trials"); other snake_case codes are spelled out, anything else is kept as written."""
    known = SUBGROUP_LABELS.get(code.strip().lower())
    if known is not None:
        return known
    if re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", code.strip()):
        return code.strip().replace("_", " ").capitalize()
    return code


@dataclass(frozen=True)
class ForestSection:
    """A block of the forest plot: a heading (or None), its studies and its pooled fit.

    ``data_text`` holds one cell per study: a string, or a pair (group 1, group 2) for
    two-group data, which is drawn as two columns headed by the arms' names."""

    title: str | None
    fit: MetaFit
    data_text: Sequence[DataCell] | None = None


class _TextMeasure:
    """Rendered text widths in points (the figure's own renderer and fonts)."""

    def __init__(self, fig: Figure) -> None:
        self._fig = fig
        self._renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]

    def width(self, text: str, *, size: float, weight: str = "normal") -> float:
        artist = self._fig.text(0, 0, text, fontsize=size, fontweight=weight)
        try:
            extent = artist.get_window_extent(self._renderer)
        finally:
            artist.remove()
        return float(extent.width) * 72 / self._fig.dpi * MEASURE_SAFETY

    def shorten(self, text: str, width_pt: float, *, size: float, weight: str = "normal") -> str:
        """The text, or its longest prefix plus an ellipsis that fits in ``width_pt``."""
        if self.width(text, size=size, weight=weight) <= width_pt:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid].rstrip() + "\u2026", size=size, weight=weight) <= width_pt:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + "\u2026"

    def wrap(self, text: str, width_pt: float, *, size: float, weight: str = "normal") -> list[str]:
        """Lines of whole words that each fit in ``width_pt`` (a longer word is shortened)."""
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and self.width(candidate, size=size, weight=weight) > width_pt:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
        return [self.shorten(line, width_pt, size=size, weight=weight) for line in lines]


@dataclass(frozen=True)
class _DataColumns:
    """The raw-data column(s) of the left panel: right-aligned, widths measured."""

    headers: tuple[str, ...]
    widths: tuple[float, ...]  # points
    unit_line: str | None  # above two arm columns: what the cells hold (e.g. "Events/n")

    def right_edges(self, panel_pt: float) -> list[float]:
        edges: list[float] = []
        right = 0.98 * panel_pt
        for width in reversed(self.widths):
            edges.insert(0, right)
            right -= width + COLUMN_GAP_PT
        return edges

    def left_edge(self, panel_pt: float) -> float:
        if not self.widths:
            return 0.98 * panel_pt + COLUMN_GAP_PT
        return self.right_edges(panel_pt)[0] - self.widths[0]

    def draw_header(self, ax: Any, panel_pt: float, y: float, size: float) -> None:
        edges = self.right_edges(panel_pt)
        for header, right in zip(self.headers, edges, strict=True):
            ax.text(right / panel_pt, y, header, fontsize=size, fontweight="bold", va="center",
                    ha="right")  # fmt: skip
        if self.unit_line and edges:
            middle = (self.left_edge(panel_pt) + edges[-1]) / 2 / panel_pt
            ax.text(middle, y + 0.8, self.unit_line, fontsize=size, fontweight="bold",
                    va="center", ha="center")  # fmt: skip

    def draw_row(self, ax: Any, panel_pt: float, y: float, cell: DataCell, size: float) -> None:
        cells = (cell,) if isinstance(cell, str) else cell
        for text, right in zip(cells, self.right_edges(panel_pt), strict=True):
            ax.text(right / panel_pt, y, text, fontsize=size, va="center", ha="right")


def _data_columns(
    sections: Sequence[ForestSection],
    data_header: str | None,
    arms: Arms | None,
    measure: _TextMeasure,
    size: float,
) -> _DataColumns:
    cells = [c for sec in sections if sec.data_text is not None for c in sec.data_text]
    if not cells:
        return _DataColumns((), (), None)
    if arms is not None and all(isinstance(c, tuple) for c in cells):
        headers = tuple(name[:1].upper() + name[1:] for name in (arms.treatment, arms.control))
        widths = tuple(
            max(
                measure.width(headers[j], size=size, weight="bold"),
                *(measure.width(c[j], size=size) for c in cells if isinstance(c, tuple)),
            )
            for j in (0, 1)
        )
        return _DataColumns(headers, widths, data_header)
    texts = [c if isinstance(c, str) else "   ".join(c) for c in cells]
    header = data_header or ""
    width = max(measure.width(header, size=size, weight="bold"),
                *(measure.width(t, size=size) for t in texts))  # fmt: skip
    return _DataColumns((header,), (width,), None)


def _draw_favours(
    ax: Any, arms: Arms, null: float, width_pt: float, measure: _TextMeasure, size: float
) -> None:
    """ "Favours ..." either side of the line of no effect, widening the axis if a label would
    not fit on its side (so it never runs into the neighbouring columns)."""
    left, right = arms.favours()
    need_l = (measure.width(left, size=size) + 8) / width_pt
    need_r = (measure.width(right, size=size) + 8) / width_pt
    log = ax.get_xscale() == "log"
    fwd = np.log10 if log else (lambda v: v)
    lo, hi = (float(fwd(v)) for v in ax.get_xlim())
    n = float(fwd(null))
    for _ in range(3):
        if (n - lo) / (hi - lo) < need_l:
            lo = (n - need_l * hi) / (1 - need_l)
        if (hi - n) / (hi - lo) < need_r:
            hi = (n - need_r * lo) / (1 - need_r)
    ax.set_xlim(10**lo if log else lo, 10**hi if log else hi)
    for text, dx, ha in ((left, -4, "right"), (right, 4, "left")):
        ax.annotate(text, xy=(null, 0), xycoords=("data", "axes fraction"), xytext=(dx, -17),
                    textcoords="offset points", ha=ha, va="top", fontsize=size)  # fmt: skip


def _study_interval(fit: MetaFit, i: int) -> tuple[float, float, float]:
    """Study i's effect and 95 % CI on the display scale."""
    y, se = float(fit.yi[i]), float(np.sqrt(fit.vi[i]))
    z = float(stats.norm.ppf(0.975))
    vals = np.array([y, y - z * se, y + z * se])
    m = fit.es.measure
    if m == "PLO":
        vals = ilogit(vals)
    elif m == "PAS":
        vals = iarcsin(vals)
    elif m == "PFT":
        ni = fit.es.ni
        if ni is None:
            raise ValueError("PFT forest plot needs study sizes")
        vals = ipft(vals, float(ni[i]))
    elif m in RATIO_MEASURES:
        vals = np.exp(vals)
    return float(vals[0]), float(vals[1]), float(vals[2])


def _fmt(x: float, measure: str) -> str:
    if measure in PROPORTION_MEASURES:
        return f"{100 * x:.1f}"
    return f"{x:.2f}"


def _het_text(fit: MetaFit) -> str:
    p = fit.qe_p
    ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    text = f"Heterogeneity: Q = {fit.qe:.2f}, df = {fit.k - 1}, {ptxt}; I² = {fit.i2:.0f}%"
    if fit.is_random:
        text += f", τ² = {fit.tau2:.3g} ({fit.method})"
    return text


def _pooled_label(fit: MetaFit) -> str:
    if fit.method == "MH":
        return "Common effect (Mantel-Haenszel)"
    if fit.method == "PETO":
        return "Common effect (Peto)"
    if not fit.is_random:
        return "Common effect (inverse variance)"
    extra = ", Knapp-Hartung" if fit.test in ("knha", "adhoc") else ""
    return f"Random effects ({fit.method}{extra})"


def forest_plot(
    sections: Sequence[ForestSection],
    *,
    overall: MetaFit | None = None,
    data_header: str | None = None,
    title: str | None = None,
    show_prediction: bool = True,
    footnote: str | None = None,
    subgroup_test: str | None = None,
    arms: Arms | None = None,
) -> Figure:
    """Draw a forest plot of one or more sections (subgroups) and an optional overall fit.

    Two-group measures (odds/risk ratios, differences) get a data column per arm headed by the
    arm's name and "Favours ..." labels either side of the line of no effect (`arms`, default
    treatment vs control). Labels that do not fit their column are shortened with an ellipsis
    (study names) or wrapped onto more rows (headings, pooled rows, heterogeneity), measured
    with the renderer, so no text runs into another column.
    """
    measure = sections[0].fit.es.measure
    is_prop = measure in PROPORTION_MEASURES
    is_ratio = measure in RATIO_MEASURES
    two_group = measure in TWO_GROUP_MEASURES
    if two_group and arms is None:
        arms = Arms()
    unit = " (%)" if is_prop else ""
    fs = 9
    fig = plt.figure(figsize=(FOREST_WIDTH, 4.0))
    gs = fig.add_gridspec(1, 3, width_ratios=[4.2, 4.0, 2.6], wspace=0.02)
    ax_l, ax_m, ax_r = (fig.add_subplot(gs[0, j]) for j in range(3))
    fig.subplots_adjust(left=0.02, right=0.98)
    measure_pt = _TextMeasure(fig)
    left_pt = ax_l.get_position().width * FOREST_WIDTH * 72
    columns = _data_columns(sections, data_header, arms if two_group else None, measure_pt, fs)
    label_right = columns.left_edge(left_pt) - COLUMN_GAP_PT

    rows: list[tuple[str, float, dict[str, Any]]] = []
    y = 0.0

    def add(kind: str, **info: Any) -> None:
        nonlocal y
        rows.append((kind, y, info))
        y -= 1.0

    def add_wrapped(kind: str, text: str, width_pt: float, size: float, **info: Any) -> None:
        weight = info.get("fontweight", "normal")
        for line in measure_pt.wrap(text, width_pt, size=size, weight=weight):
            add(kind, text=line, **info)

    for sec in sections:
        fit = sec.fit
        if sec.title is not None:
            add_wrapped("heading", subgroup_label(sec.title), label_right, fs, fontweight="bold")
        weights = fit.weights_percent
        for i in range(fit.k):
            est, lo, hi = _study_interval(fit, i)
            label = measure_pt.shorten(
                fit.es.label(i), label_right - STUDY_INDENT * left_pt, size=fs
            )
            add(
                "study",
                label=label,
                full_label=fit.es.label(i),
                data=None if sec.data_text is None else sec.data_text[i],
                est=est,
                lo=lo,
                hi=hi,
                weight=float(weights[i]),
                wraw=float(fit.weights[i]),
            )
        if (len(sections) > 1 and fit.k > 1) or overall is None:
            label = (
                _pooled_label(fit)
                if len(sections) == 1
                else f"Subgroup, {_pooled_label(fit)[0].lower()}{_pooled_label(fit)[1:]}"
            )
            bold = "bold" if len(sections) == 1 else "normal"
            k_width = measure_pt.width(f"k = {fit.k}", size=fs, weight=bold)
            room = (0.98 - STUDY_INDENT) * left_pt - k_width - COLUMN_GAP_PT
            lines = measure_pt.wrap(label, room, size=fs, weight=bold)
            add("pooled", fit=fit, label=lines[0])
            for line in lines[1:]:
                add("continued", text=line, fontweight=bold)
            if show_prediction and fit.is_random and fit.k >= 2 and len(sections) == 1:
                add("pi", fit=fit)
            if fit.k > 1:
                add_wrapped("het", _het_text(fit), (0.98 - STUDY_INDENT) * left_pt, fs - 1.5)
        if len(sections) > 1:
            y -= 0.4
    if overall is not None:
        k_width = measure_pt.width(f"k = {overall.k}", size=fs, weight="bold")
        lines = measure_pt.wrap(
            _pooled_label(overall), 0.98 * left_pt - k_width - COLUMN_GAP_PT, size=fs,
            weight="bold",
        )  # fmt: skip
        add("pooled", fit=overall, label=lines[0], overall=True)
        for line in lines[1:]:
            add("continued", text=line, fontweight="bold", overall=True)
        if show_prediction and overall.is_random and overall.k >= 2:
            add("pi", fit=overall)
        het_room = (0.98 - STUDY_INDENT) * left_pt
        add_wrapped("het", _het_text(overall), het_room, fs - 1.5)
        if subgroup_test is not None:
            text = f"Test for subgroup differences: {subgroup_test}"
            add_wrapped("het", text, het_room, fs - 1.5)
    # With an overall fit, weights and marker sizes are the overall model's (matched by label).
    if overall is not None:
        overall_w = {overall.es.label(i): float(w) for i, w in enumerate(overall.weights)}
        wsum = float(overall.weights.sum())
        for kind, _, info in rows:
            if kind == "study" and str(info["full_label"]) in overall_w:
                info["wraw"] = overall_w[str(info["full_label"])]
                info["weight"] = 100 * overall_w[str(info["full_label"])] / wsum

    n_rows = len(rows)
    header_rows = 2 if columns.unit_line else 1
    top = 0.4 + 0.8 * header_rows
    height = 1.4 + 0.26 * (n_rows + header_rows - 1) + (0.3 if two_group else 0.0)
    fig.set_size_inches(FOREST_WIDTH, height)
    bottom = -n_rows + 0.2
    for ax in (ax_l, ax_r):
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom, top)
        ax.axis("off")
    ax_m.set_ylim(bottom, top)
    for side in ("left", "right", "top"):
        ax_m.spines[side].set_visible(False)
    ax_m.set_yticks([])

    header_y = 0.8
    ax_l.text(0.0, header_y, "Study", fontsize=fs, fontweight="bold", va="center")
    columns.draw_header(ax_l, left_pt, header_y, fs)
    ax_r.text(
        0.05, header_y, f"Estimate{unit} [95% CI]", fontsize=fs, fontweight="bold", va="center"
    )
    ax_r.text(0.98, header_y, "Weight", fontsize=fs, fontweight="bold", va="center", ha="right")

    xs: list[float] = []
    max_w = max((float(info["wraw"]) for k_, _, info in rows if k_ == "study"), default=1.0)
    for kind, yy, info in rows:
        if kind == "heading":
            ax_l.text(0.0, yy, str(info["text"]), fontsize=fs, fontweight="bold", va="center")
        elif kind == "continued":
            indent = 0.0 if info.get("overall") else STUDY_INDENT
            weight = info.get("fontweight", "normal")
            ax_l.text(indent, yy, str(info["text"]), fontsize=fs, fontweight=weight, va="center")
        elif kind == "study":
            est, lo, hi = (float(info[k]) for k in ("est", "lo", "hi"))
            xs.extend([lo, hi])
            ax_l.text(STUDY_INDENT, yy, str(info["label"]), fontsize=fs, va="center")
            if info["data"] is not None:
                columns.draw_row(ax_l, left_pt, yy, info["data"], fs)
            ax_m.plot([lo, hi], [yy, yy], color="black", lw=0.9, solid_capstyle="butt")
            size = 3 + 7 * np.sqrt(float(info["wraw"]) / max_w)
            ax_m.plot([est], [yy], marker="s", color="#1f3b73", markersize=size, ls="none")
            ax_r.text(
                0.05, yy, f"{_fmt(est, measure)} [{_fmt(lo, measure)}, {_fmt(hi, measure)}]",
                fontsize=fs, va="center", family="DejaVu Sans Mono",
            )  # fmt: skip
            if info["weight"] is not None:
                ax_r.text(
                    0.98, yy, f"{float(info['weight']):.1f}%", fontsize=fs, va="center", ha="right"
                )
        elif kind == "pooled":
            fit = info["fit"]
            assert isinstance(fit, MetaFit)
            pr = fit.predict(natural=True) if fit.back_transform is not None else fit.predict()
            xs.extend([pr.ci_lower, pr.ci_upper])
            bold = "bold" if info.get("overall") or len(sections) == 1 else "normal"
            ax_l.text(
                0.0 if info.get("overall") else STUDY_INDENT,
                yy,
                str(info["label"]),
                fontsize=fs,
                fontweight=bold,
                va="center",
            )
            ax_l.text(
                0.98, yy, f"k = {fit.k}", fontsize=fs, va="center", ha="right", fontweight=bold
            )
            color = "#b22222" if info.get("overall") or len(sections) == 1 else "#555555"
            diamond = Polygon(
                [(pr.ci_lower, yy), (pr.pred, yy + 0.36), (pr.ci_upper, yy), (pr.pred, yy - 0.36)],
                closed=True, facecolor=color, edgecolor=color,
            )  # fmt: skip
            ax_m.add_patch(diamond)
            ax_r.text(
                0.05, yy,
                f"{_fmt(pr.pred, measure)} "
                f"[{_fmt(pr.ci_lower, measure)}, {_fmt(pr.ci_upper, measure)}]",
                fontsize=fs, va="center", fontweight=bold, family="DejaVu Sans Mono",
            )  # fmt: skip
            if info.get("overall") or len(sections) == 1:
                ax_r.text(0.98, yy, "100%", fontsize=fs, va="center", ha="right", fontweight=bold)
        elif kind == "pi":
            fit = info["fit"]
            assert isinstance(fit, MetaFit)
            pr = fit.predict(natural=True) if fit.back_transform is not None else fit.predict()
            xs.extend([pr.pi_lower, pr.pi_upper])
            ax_l.text(
                STUDY_INDENT, yy, "Prediction interval", fontsize=fs, va="center", style="italic"
            )
            ax_m.plot([pr.pi_lower, pr.pi_upper], [yy, yy], color="#b22222", lw=1.2)
            for end in (pr.pi_lower, pr.pi_upper):
                ax_m.plot([end, end], [yy - 0.18, yy + 0.18], color="#b22222", lw=1.2)
            ax_r.text(
                0.05, yy, f"[{_fmt(pr.pi_lower, measure)}, {_fmt(pr.pi_upper, measure)}]",
                fontsize=fs, va="center", style="italic", family="DejaVu Sans Mono",
            )  # fmt: skip
        elif kind == "het":
            ax_l.text(
                STUDY_INDENT, yy, str(info["text"]), fontsize=fs - 1.5, va="center",
                color="#333333",
            )  # fmt: skip

    finite = [x for x in xs if np.isfinite(x)]
    lo_x, hi_x = min(finite), max(finite)
    if is_ratio:
        ax_m.set_xscale("log")
        lo_x, hi_x = min(lo_x, 0.9), max(hi_x, 1.1)
        ax_m.set_xlim(lo_x / 1.15, hi_x * 1.15)
        ax_m.axvline(1.0, color="grey", lw=0.8, ls="--")
    elif is_prop:
        ax_m.set_xlim(max(0.0, lo_x - 0.05), min(1.0, hi_x + 0.05) if hi_x < 0.95 else 1.02)
        ticks = [
            t
            for t in np.arange(0, 1.01, 0.2)
            if ax_m.get_xlim()[0] - 1e-9 <= t <= ax_m.get_xlim()[1] + 1e-9
        ]
        ax_m.set_xticks(ticks)
        ax_m.set_xticklabels([f"{100 * t:.0f}%" for t in ticks])
    else:
        pad = 0.05 * (hi_x - lo_x)
        ax_m.set_xlim(min(lo_x, 0) - pad, max(hi_x, 0) + pad)
        ax_m.axvline(0.0, color="grey", lw=0.8, ls="--")
    xlabel_pad = 4.0
    if two_group and arms is not None:
        middle_pt = ax_m.get_position().width * FOREST_WIDTH * 72
        _draw_favours(ax_m, arms, 1.0 if is_ratio else 0.0, middle_pt, measure_pt, fs - 0.5)
        xlabel_pad = 16.0
    if is_ratio:
        lo_lim, hi_lim = ax_m.get_xlim()
        ticks = [t for t in RATIO_TICKS if lo_lim <= t <= hi_lim]
        ax_m.xaxis.set_major_locator(FixedLocator(ticks))
        ax_m.xaxis.set_major_formatter(FuncFormatter(lambda t, _pos: f"{t:g}"))
        ax_m.xaxis.set_minor_locator(NullLocator())
    ax_m.set_xlabel(AXIS_LABELS.get(measure, "Effect"), fontsize=fs, labelpad=xlabel_pad)
    ax_m.tick_params(axis="x", labelsize=fs - 1)
    if title:
        fig.suptitle(title, fontsize=fs + 2, fontweight="bold", x=0.02, ha="left", y=0.995)
    if footnote:
        fig.text(
            0.02,
            0.005,
            footnote,
            fontsize=fs - 2,
            color="#444444",
            ha="left",
            va="bottom",
            wrap=True,
        )
    extra = (0.25 if footnote else 0) + (0.3 if two_group else 0)
    fig.subplots_adjust(
        left=0.02,
        right=0.98,
        top=1 - 0.35 / height,
        bottom=(0.75 + extra) / height,
    )
    return fig


FUNNEL_AXIS_LABELS = {
    "PR": "Proportion (untransformed)",
    "PLO": "Log odds (logit of the proportion)",
    "PAS": "Arcsine square-root transformed proportion",
    "PFT": "Freeman-Tukey double-arcsine transformed proportion",
    "OR": "Log odds ratio",
    "PETO": "Log odds ratio (Peto)",
    "RR": "Log risk ratio",
    "ROM": "Log ratio of means",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "SMCR": "Standardised mean change",
}


def funnel_plot(
    fit: MetaFit,
    *,
    trimfill: TrimFill | None = None,
    contours: Sequence[float] | None = (0.10, 0.05, 0.01),
    title: str | None = None,
) -> Figure:
    """Funnel plot of effects against standard errors on the model's scale (metafor's
    `funnel()`), which the x-axis names (logit, log odds ratio, ...).

    The vertical line is the pooled estimate `meta run` prints: the model's, or with
    ``trimfill`` the adjusted one, and only then are the filled studies drawn (open points).
    """
    shown = trimfill.fit if trimfill is not None else fit
    yi, sei = shown.yi, np.sqrt(shown.vi)
    filled = trimfill.filled if trimfill is not None else np.zeros(shown.k, dtype=bool)
    center = shown.estimate
    se_max = float(sei.max()) * 1.08
    fig, ax = plt.subplots(figsize=(8.0, 5.0))
    se_grid = np.linspace(0, se_max, 100)
    handles: list[Any] = []
    if contours:
        # metafor's contour-enhanced funnel: bands of two-sided p around 0, darker = smaller p
        levels = sorted(contours)
        colors = ["#a6a6a6", "#c8c8c8", "#e6e6e6", "#ffffff", "#ffffff"][: len(levels) + 1]
        colors[-1] = "#ffffff"
        ax.set_facecolor(colors[0])
        for j, p in enumerate(levels):
            z = float(stats.norm.ppf(1 - p / 2))
            ax.fill_betweenx(
                se_grid, -z * se_grid, z * se_grid, color=colors[j + 1], lw=0, zorder=1
            )
        bounds = [0.0, *levels, 1.0]
        for j in range(len(levels)):
            label = f"{bounds[j]:g} < p < {bounds[j + 1]:g}" if j else f"p < {levels[0]:g}"
            handles.append(Patch(facecolor=colors[j], edgecolor="#888888", label=label))
    z95 = float(stats.norm.ppf(0.975))
    ax.plot(center - z95 * se_grid, se_grid, color="black", lw=0.8, ls="--", zorder=6)
    ax.plot(center + z95 * se_grid, se_grid, color="black", lw=0.8, ls="--", zorder=6)
    what = "Trim-and-fill adjusted estimate" if trimfill is not None else "Pooled estimate"
    ax.axvline(center, color="black", lw=0.9, zorder=6, label=f"{what} ({center:.3f})")
    ax.scatter(yi[~filled], sei[~filled], color="black", s=22, zorder=7, label="Studies")
    if filled.any():
        ax.scatter(yi[filled], sei[filled], facecolor="white", edgecolor="black", s=22, zorder=7,
                   label=f"Filled (trim-and-fill, k0 = {int(filled.sum())})")  # fmt: skip
    ax.set_ylim(se_max, 0)
    xl = float(np.max(np.abs(yi - center)) + z95 * se_max * 0.6)
    ax.set_xlim(min(center - xl, -0.05 * xl), max(center + xl, 0.05 * xl))
    ax.set_xlabel(FUNNEL_AXIS_LABELS.get(fit.es.measure, "Effect (model scale)"))
    ax.set_ylabel("Standard error")
    handles = [*ax.get_legend_handles_labels()[0], *handles]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False
    )
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Write SVG, PNG (300 dpi) or PDF by file extension, atomically."""
    suffix = check_output(path, FIGURE_SUFFIXES).suffix.lower()
    try:
        with replacing(path) as tmp:  # a failed or refused write leaves the old figure intact
            fig.savefig(tmp, format=suffix[1:], dpi=300 if suffix == ".png" else None,
                        bbox_inches="tight")  # fmt: skip
    finally:
        plt.close(fig)
    return path


def data_text_for(table_cols: dict[str, FloatArray], measure: str) -> list[DataCell] | None:
    """The raw-data column of a forest plot: events/n, or a pair (group 1, group 2) of events/n
    or mean (SD), n."""
    if measure in PROPORTION_MEASURES and {"xi", "ni"} <= table_cols.keys():
        return [
            f"{int(x)}/{int(n)}" for x, n in zip(table_cols["xi"], table_cols["ni"], strict=True)
        ]
    if {"ai", "ci"} <= table_cols.keys():
        if {"n1i", "n2i"} <= table_cols.keys():
            n1, n2 = table_cols["n1i"], table_cols["n2i"]
        elif {"bi", "di"} <= table_cols.keys():
            n1 = table_cols["ai"] + table_cols["bi"]
            n2 = table_cols["ci"] + table_cols["di"]
        else:
            return None
        return [
            (f"{int(a)}/{int(b)}", f"{int(c)}/{int(d)}")
            for a, b, c, d in zip(table_cols["ai"], n1, table_cols["ci"], n2, strict=True)
        ]
    if {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"} <= table_cols.keys():
        return [
            (f"{m1:.3g} ({s1:.3g}), {int(n1)}", f"{m2:.3g} ({s2:.3g}), {int(n2)}")
            for m1, s1, n1, m2, s2, n2 in zip(
                *(table_cols[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")), strict=True
            )
        ]
    return None
