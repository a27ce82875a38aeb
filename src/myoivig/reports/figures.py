"""The reports' figures (matplotlib, Agg): patient timeline and per-muscle-group force.

Courses are shaded in every panel so that a change can be read against the infusions, as in
the trial paper's figure of patient 10 (Mastaglia 1998, seed 000: myometric scores over months
with the IVIg courses marked).
"""

from __future__ import annotations

from datetime import timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from myoivig.reports.timeline import Timeline

COURSE_COLOUR = "#f4c2c2"
GROUP_LABELS = {
    "shoulder_abductors": "Shoulder abductors",
    "elbow_extensors": "Elbow extensors",
    "hip_flexors": "Hip flexors",
    "knee_extensors": "Knee extensors",
}


def _shade(ax: Axes, t: Timeline, label: bool) -> None:
    for i, span in enumerate(t.courses):
        ax.axvspan(
            mdates.date2num(span.start),
            mdates.date2num(span.end + timedelta(days=1)),
            color=COURSE_COLOUR,
            alpha=0.8,
            lw=0,
            label="IVIg course" if label and i == 0 else None,
        )


def _dates(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(True, color="#dddddd", lw=0.6)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")


def timeline_figure(t: Timeline, title: str) -> Figure:
    """Three panels sharing the date axis: mean myometry force, MMT-8 total, CK x ULN."""
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 6.4), sharex=True)
    force_ax, mmt_ax, ck_ax = axes
    for ax in axes:
        _shade(ax, t, label=ax is force_ax)
    if t.mean_force_n:
        force_ax.plot(*zip(*t.mean_force_n, strict=True), "o-", color="#1f4e79", ms=4)
    else:
        _empty(force_ax, "no myometry recorded")
    force_ax.set_ylabel("Mean force (N)")
    if t.mmt8:
        scales = sorted({s for _, _, s in t.mmt8})
        for scale in scales:
            points = [(d, v) for d, v, s in t.mmt8 if s == scale]
            mmt_ax.plot(
                *zip(*points, strict=True),
                "s-",
                color="#2e7d32",
                ms=4,
                label=f"MMT-8 (0-{scale:g})",
            )
        mmt_ax.legend(loc="lower right", fontsize=7)
        mmt_ax.set_ylabel("MMT-8 total")
    else:
        _empty(mmt_ax, "no MMT-8 recorded")
        mmt_ax.set_ylabel("MMT-8 total")
    if t.ck_x_uln:
        ck_ax.plot(*zip(*t.ck_x_uln, strict=True), "^-", color="#b71c1c", ms=4)
        ck_ax.axhline(1.0, color="#555555", ls="--", lw=0.8, label="upper limit of normal")
        ck_ax.legend(loc="upper right", fontsize=7)
    else:
        _empty(ck_ax, "no CK with an upper limit of normal recorded")
    ck_ax.set_ylabel("CK (x ULN)")
    for ax in axes:
        _dates(ax)
    if t.courses:
        force_ax.legend(loc="upper left", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def muscle_group_figure(t: Timeline, title: str) -> Figure:
    """Force per trial muscle group (mean of the sides measured) with the courses shaded."""
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    _shade(ax, t, label=True)
    markers = ("o", "s", "^", "D")
    for (group, points), marker in zip(t.group_force_n.items(), markers, strict=False):
        ax.plot(
            *zip(*points, strict=True),
            marker=marker,
            ms=4,
            lw=1.2,
            label=GROUP_LABELS.get(group.value, group.value),
        )
    if not t.group_force_n:
        _empty(ax, "no myometry recorded")
    ax.set_ylabel("Force (N), mean of sides")
    _dates(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=7, ncol=5, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
