"""Draw the PRISMA 2020 flow diagram (new reviews; databases/registers and other methods).

Layout follows the PRISMA 2020 template (Page et al., BMJ 2021;372:n71): Identification,
Screening and Included phases with side labels; main boxes on the left, exclusion boxes on the
right; an 'other methods' column only when such records exist. Counts are checked before drawing.

A review in progress (living PRISMA) says so above the diagram with the newest event's time,
labels its boxes 'so far', and adds a column of dashed 'awaiting' boxes beside the boxes whose
records have not yet left them (records awaiting screening, reports awaiting a full-text
decision, each with the conflicts awaiting the third reviewer). A finished review is drawn as
before.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from myoivig.atomic_files import check_output, replacing
from myoivig.review.prisma.flow import InProgress, PrismaCounts, check

if TYPE_CHECKING:  # matplotlib is imported only when a diagram is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PHASE_COLOUR = "#9dc3e6"
HEADER_COLOUR = "#ffd966"
AWAITING_COLOUR = "#fbe5d6"  # the awaiting column's fill and header
IN_PROGRESS_TEXT = "#843c0c"
BOX_EDGE = "#333333"
WRAP = 44  # characters per line at FONT_SIZE
FONT_SIZE = 7.5
MIN_FONT_SIZE = 5.0


def _keep_counts_together(paragraph: str) -> str:
    """'(n = 12)' never breaks across lines (no-break spaces; textwrap splits ASCII spaces)."""
    return paragraph.replace(" (n = ", "\u00a0(n\u00a0=\u00a0")


def _box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    face: str = "white",
    dashed: bool = False,
) -> None:
    """A box with its text wrapped and, if need be, set smaller until it fits inside (long
    source names or many exclusion reasons would otherwise run out of the box)."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.004,rounding_size=0.008",
            linewidth=1.0, edgecolor=BOX_EDGE, facecolor=face,
            linestyle="--" if dashed else "-",
        )
    )  # fmt: skip
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    to_data = ax.transData.inverted()
    size = FONT_SIZE
    while True:
        chars = int(WRAP * FONT_SIZE / size)
        lines = [
            textwrap.fill(_keep_counts_together(p), chars, subsequent_indent="  ")
            for p in text.split("\n")
        ]
        artist = ax.text(x + 0.012, y + h / 2, "\n".join(lines), ha="left", va="center",
                         fontsize=size)  # fmt: skip
        (_x0, y0), (x1, y1) = to_data.transform(artist.get_window_extent(renderer).get_points())
        if (y1 - y0 <= h * 0.94 and x1 <= x + w - 0.006) or size <= MIN_FONT_SIZE:
            return
        artist.remove()
        size -= 0.5


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate(
        "", xy=end, xytext=start,
        arrowprops={"arrowstyle": "-|>", "color": BOX_EDGE, "lw": 1.0, "shrinkA": 0, "shrinkB": 0},
    )  # fmt: skip


def _phase(ax: Axes, y: float, h: float, label: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch((0.005, y), 0.035, h, boxstyle="round,pad=0.002,rounding_size=0.008",
                       linewidth=0.8, edgecolor=BOX_EDGE, facecolor=PHASE_COLOUR)
    )  # fmt: skip
    ax.text(0.0225, y + h / 2, label, rotation=90, ha="center", va="center", fontsize=9,
            fontweight="bold")  # fmt: skip


def _sources(results: dict[str, int]) -> str:
    return "\n".join(f"{name} (n = {n})" for name, n in results.items())


def figure(c: PrismaCounts, title: str = "") -> Figure:
    """A matplotlib figure of the flow; raises PrismaError if the counts do not add up."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    check(c)
    other = bool(c.other_results)
    living = c.in_progress
    width = 8.5 + (3.0 if other else 0.0) + (3.0 if living else 0.0)
    # a review in progress gets a line above the header saying so
    height = 10.4 if living else 10.0
    fig = Figure(figsize=(width, height))  # no pyplot: no global state, safe in servers
    FigureCanvasAgg(fig)  # a renderer to measure text with, so every label fits its box
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, height / 10)
    ax.axis("off")
    scale = 8.5 / width
    lx, lw = 0.06 * scale, 0.40 * scale  # main column
    rx, rw = 0.52 * scale, 0.40 * scale  # exclusion column
    ox, ow = 0.96 * scale, 0.34 * scale  # other methods column
    ax_, aw = (1.34 if other else 0.96) * scale, 0.34 * scale  # awaiting column (in progress)
    top = 0.95
    so_far = " so far" if living else ""
    if title:
        ax.text(0.5, 1.02 if living else 0.985, title, ha="center", va="center", fontsize=10,
                fontweight="bold")  # fmt: skip
    if living:
        ax.text(0.5, 0.9875,
                f"Review in progress: counts as of the newest event, "
                f"{living.newest_event:%Y-%m-%d %H:%M} UTC",
                ha="center", va="center", fontsize=9, fontweight="bold",
                color=IN_PROGRESS_TEXT)  # fmt: skip
    ax.add_patch(
        FancyBboxPatch(
            (lx, top),
            rx + rw - lx,
            0.025,
            boxstyle="round,pad=0.002",
            facecolor=HEADER_COLOUR,
            edgecolor=BOX_EDGE,
            linewidth=0.8,
        )
    )
    ax.text((lx + rx + rw) / 2, top + 0.0125,
            "Identification of studies via databases and registers",
            ha="center", va="center", fontsize=8.5, fontweight="bold")  # fmt: skip
    if other:
        ax.add_patch(
            FancyBboxPatch(
                (ox, top),
                ow,
                0.025,
                boxstyle="round,pad=0.002",
                facecolor="#d9d9d9",
                edgecolor=BOX_EDGE,
                linewidth=0.8,
            )
        )
        ax.text(ox + ow / 2, top + 0.0125, "Identification of studies via other methods",
                ha="center", va="center", fontsize=8.5, fontweight="bold")  # fmt: skip

    databases = sum(c.database_results.values())
    registers = sum(c.register_results.values())
    ident_text = (
        f"Records identified from:\nDatabases (n = {databases})\n"
        + (_sources(c.database_results) + "\n" if c.database_results else "")
        + f"Registers (n = {registers})"
    )
    y_id, h_id = 0.78, 0.14
    _box(ax, lx, y_id, lw, h_id, ident_text)
    _box(
        ax, rx, y_id, rw, h_id,
        "Records removed before screening:\n"
        f"Duplicate records removed (n = {c.duplicates})\n"
        f"Records marked as ineligible by automation tools (n = {c.excluded_automatic})\n"
        f"Records removed for other reasons (n = {c.excluded_other})",
    )  # fmt: skip
    _arrow(ax, (lx + lw, y_id + h_id / 2), (rx, y_id + h_id / 2))

    rows = [0.64, 0.50, 0.36]
    h = 0.09
    d = c.databases
    main = [
        f"Records screened{so_far}\n(n = {c.records_screened})",
        f"Reports sought for retrieval{so_far}\n(n = {d.sought})",
        f"Reports assessed for eligibility{so_far}\n(n = {d.assessed})",
    ]
    side = [
        f"Records excluded{so_far}\n(n = {c.records_excluded})",
        f"Reports not retrieved{so_far}\n(n = {d.not_retrieved})",
        f"Reports excluded{so_far}:\n"
        + ("\n".join(f"{r} (n = {n})" for r, n in d.excluded.items()) or "none (n = 0)"),
    ]
    _arrow(ax, (lx + lw / 2, y_id), (lx + lw / 2, rows[0] + h))
    for i, (y, m, s) in enumerate(zip(rows, main, side, strict=True)):
        _box(ax, lx, y, lw, h, m)
        _box(ax, rx, y, rw, h, s)
        _arrow(ax, (lx + lw, y + h / 2), (rx, y + h / 2))
        if i + 1 < len(rows):
            _arrow(ax, (lx + lw / 2, y), (lx + lw / 2, rows[i + 1] + h))
    y_inc, h_inc = 0.17, 0.10
    included_text = f"Studies included in review{so_far}\n(n = {c.new_studies})\n" + (
        f"Reports of included studies{so_far}\n(n = {c.new_reports})"
    )
    if c.studies_in_meta_analysis:
        included_text += f"\nStudies included in meta-analysis (n = {c.studies_in_meta_analysis})"
    _box(ax, lx, y_inc, lw, h_inc, included_text)
    _arrow(ax, (lx + lw / 2, rows[-1]), (lx + lw / 2, y_inc + h_inc))

    if other:
        o = c.other
        identified = "Records identified from:\n" + _sources(c.other_results)
        if c.other_removed:
            identified += f"\nRemoved before retrieval (n = {c.other_removed})"
        _box(ax, ox, y_id, ow, h_id, identified)
        _box(ax, ox, rows[1], ow, h, f"Reports sought for retrieval{so_far}\n(n = {o.sought})")
        _box(ax, ox, rows[2], ow, h,
             f"Reports assessed for eligibility{so_far}\n(n = {o.assessed})")  # fmt: skip
        _arrow(ax, (ox + ow / 2, y_id), (ox + ow / 2, rows[1] + h))
        _arrow(ax, (ox + ow / 2, rows[1]), (ox + ow / 2, rows[2] + h))
        _box(
            ax,
            ox,
            y_inc,
            ow,
            h_inc,
            f"Not retrieved{so_far} (n = {o.not_retrieved})\nExcluded{so_far}:\n"
            + ("\n".join(f"{r} (n = {n})" for r, n in o.excluded.items()) or "none (n = 0)"),
        )
        _arrow(ax, (ox + ow / 2, rows[2]), (ox + ow / 2, y_inc + h_inc))
        # included reports from other methods join the included box
        ax.plot([ox - 0.015, ox - 0.015], [rows[2] + h / 2, y_inc + h_inc * 0.25], color=BOX_EDGE,
                lw=1.0)  # fmt: skip
        ax.plot([ox, ox - 0.015], [rows[2] + h / 2, rows[2] + h / 2], color=BOX_EDGE, lw=1.0)
        _arrow(ax, (ox - 0.015, y_inc + h_inc * 0.25), (lx + lw, y_inc + h_inc * 0.25))

    if living:
        _awaiting_column(ax, living, (ax_, aw), top, (y_id, h_id), rows, h, other)
    _phase(ax, y_id, h_id, "Identification")
    _phase(ax, rows[-1], rows[0] + h - rows[-1], "Screening")
    _phase(ax, y_inc, h_inc, "Included")
    return fig


def _awaiting_column(
    ax: Axes,
    p: InProgress,
    column: tuple[float, float],
    top: float,
    identification: tuple[float, float],
    rows: list[float],
    h: float,
    other: bool,
) -> None:
    """The dashed 'awaiting' boxes of a review in progress, each level with the box its records
    have not yet left (records: 'screened'; reports: 'assessed for eligibility')."""
    from matplotlib.patches import FancyBboxPatch

    x, w = column
    ax.add_patch(
        FancyBboxPatch((x, top), w, 0.025, boxstyle="round,pad=0.002", facecolor=AWAITING_COLOUR,
                       edgecolor=BOX_EDGE, linewidth=0.8, linestyle="--")
    )  # fmt: skip
    ax.text(x + w / 2, top + 0.0125, "Awaiting a decision (review in progress)",
            ha="center", va="center", fontsize=8.5, fontweight="bold")  # fmt: skip
    y_id, h_id = identification
    _box(
        ax, x, y_id, w, h_id,
        "Review in progress\n"
        f"Newest event: {p.newest_event:%Y-%m-%d %H:%M} UTC\n"
        "Boxes marked 'so far' change as screening proceeds; the boxes here hold what still "
        "awaits a decision",
        face=AWAITING_COLOUR, dashed=True,
    )  # fmt: skip
    _box(
        ax, x, rows[0], w, h,
        f"Records awaiting screening\n(n = {p.records_awaiting_screening})\n"
        f"of which conflicts awaiting the third reviewer "
        f"(n = {p.records_awaiting_conflict_resolution})",
        face=AWAITING_COLOUR, dashed=True,
    )  # fmt: skip
    reports = (
        "Reports awaiting full-text decision\n"
        f"(n = {p.reports_awaiting_full_text_decision})\n"
        "of which conflicts awaiting the third reviewer "
        f"(n = {p.reports_awaiting_full_text_conflict_resolution})"
    )
    if other:
        reports += (
            "\nOther methods: awaiting full-text decision "
            f"(n = {p.other_reports_awaiting_full_text_decision}), of which conflicts "
            f"(n = {p.other_reports_awaiting_full_text_conflict_resolution})"
        )
    _box(ax, x, rows[2], w, h, reports, face=AWAITING_COLOUR, dashed=True)


DIAGRAM_SUFFIXES = frozenset({".svg", ".png", ""})


def diagram_paths(out: Path) -> list[Path]:
    """The SVG and PNG written for `out` (flow, flow.svg or flow.png); other extensions refused."""
    check_output(out, DIAGRAM_SUFFIXES)
    base = out.with_suffix("")
    return [check_output(base.with_suffix(s)) for s in (".svg", ".png")]


def save(c: PrismaCounts, out: Path, title: str = "") -> list[Path]:
    """Write the diagram as SVG and PNG next to each other, each atomically; returns the paths."""
    paths = diagram_paths(out)
    fig = figure(c, title)
    for path, fmt, dpi in ((paths[0], "svg", None), (paths[1], "png", 150)):
        with replacing(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    return paths
