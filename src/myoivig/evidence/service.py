"""Application layer of the evidence area: one meta-analysis, as the CLI and the page ask for it.

`myoivig meta run` and the meta-analysis page both call `run_meta`, `forest_figure`,
`funnel_figure` and `diagnostics`, so the numbers on the page are those the command prints.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from myoivig.evidence.errors import EvidenceError, ModelInputError, UsageError
from myoivig.evidence.glmm import GlmmFit, rma_glmm
from myoivig.evidence.mantel_haenszel import rma_mh, rma_peto
from myoivig.evidence.model import MetaFit, rma
from myoivig.evidence.plots import Arms, ForestSection, data_text_for, forest_plot, funnel_plot
from myoivig.evidence.publication_bias import TrimFill, regtest, trimfill
from myoivig.evidence.sensitivity import cumulative, leave1out
from myoivig.evidence.subgroups import SubgroupAnalysis, subgroup_analysis
from myoivig.evidence.tables import (
    REQUIRED,
    effect_sizes_from_table,
    labels_of,
    moderator_matrix,
    numeric_column,
)

MEASURES = tuple(REQUIRED)
METHODS = ("REML", "DL", "EE", "HE", "SJ", "ML", "EB", "PM", "MH", "PETO", "GLMM")
TESTS = ("z", "t", "knha", "adhoc")
RAW_COLUMNS = ("xi", "ni", "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i")


@dataclass(frozen=True)
class MetaOptions:
    """What to pool and how (metafor's argument names)."""

    measure: str
    method: str = "REML"
    test: str = "z"
    by: str | None = None
    mods: tuple[str, ...] = ()
    add: float = 0.5
    to: str = "only0"
    drop00: bool = False
    log_ci: bool = False
    arm1: str = "treatment"
    """Two-group measures: the name of group 1 (metafor's ai/m1i side)."""
    arm2: str = "control"
    outcome: str = "beneficial"
    """beneficial: higher favours group 1 (response); harmful: lower does (adverse events)."""
    trimfill: bool = False
    """Report trim-and-fill's adjusted estimate and draw it in the funnel plot (only when asked)."""


@dataclass
class MetaAnalysis:
    """A fitted model with the rows it used, its subgroups and its summary mapping."""

    options: MetaOptions
    rows: pd.DataFrame
    """The study rows the model used (rows dropped by `drop00` are not here)."""
    fit: MetaFit | GlmmFit
    subgroups: SubgroupAnalysis | None = None
    by_labels: list[str] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    filled: TrimFill | None = None
    """Trim-and-fill, when the options ask for it."""

    @property
    def plottable(self) -> bool:
        """GLMM fits have no per-study weights to draw."""
        return isinstance(self.fit, MetaFit)


def _glmm(df: pd.DataFrame, options: MetaOptions) -> MetaAnalysis:
    if options.measure != "PLO":
        raise UsageError("method GLMM is the binomial-normal model for measure PLO only")
    if options.by or options.mods:
        raise UsageError("subgroups and moderators are not available with GLMM")
    labels = labels_of(df)
    fit = rma_glmm(numeric_column(df, "xi", labels), numeric_column(df, "ni", labels))
    return MetaAnalysis(options, df, fit, summary=dict(fit.summary()))


def run_meta(df: pd.DataFrame, options: MetaOptions) -> MetaAnalysis:
    """Pool a study table with metafor-named columns; EvidenceError names bad rows and cells."""
    measure, method = options.measure.upper(), options.method.upper()
    options = MetaOptions(**{**options.__dict__, "measure": measure, "method": method})
    if method not in METHODS:
        raise UsageError(f"method {options.method!r}: use one of {', '.join(METHODS)}")
    if options.test not in TESTS:
        raise UsageError(f"test {options.test!r}: use one of {', '.join(TESTS)}")
    if options.outcome not in ("beneficial", "harmful"):
        raise UsageError(f"outcome {options.outcome!r}: use beneficial or harmful")
    if method == "GLMM":
        if options.trimfill:
            raise UsageError("trim-and-fill is not available with GLMM")
        return _glmm(df, options)
    es = effect_sizes_from_table(
        df, "PETO" if method == "PETO" else measure, add=options.add, to=options.to,
        drop00=options.drop00, log_scale_ci=options.log_ci,
    )  # fmt: skip
    fit: MetaFit
    if method in ("MH", "PETO"):
        labels = labels_of(df)
        cols = {
            c: numeric_column(df, c, labels)
            for c in ("ai", "bi", "ci", "di", "n1i", "n2i")
            if c in df.columns
        }
        fit = (
            rma_peto(**cols, labels=labels)
            if method == "PETO"
            else rma_mh(measure, **cols, labels=labels)
        )
    elif options.mods:
        x, names = moderator_matrix(df, list(options.mods))
        fit = rma(es, method=method, test=options.test, mods=x[~es.omitted], mod_names=names)
    else:
        fit = rma(es, method=method, test=options.test)
    rows = df[~es.omitted].reset_index(drop=True)
    analysis = MetaAnalysis(options, rows, fit, summary=fit.summary())
    if options.by:
        if options.by not in df.columns:
            raise UsageError(f"subgroup column {options.by!r}: no such column in the data")
        by_labels = [str(v) for v in rows[options.by].tolist()]
        sg = subgroup_analysis(es.used(), by_labels, method=method, test=options.test)
        analysis.subgroups, analysis.by_labels = sg, by_labels
        analysis.summary.update(
            subgroups=sg.as_dict()["subgroups"],
            between_test=sg.between_test,
            q_between=sg.q_between,
            q_between_df=sg.q_between_df,
            q_between_df2=sg.q_between_df2,
            q_between_p=sg.q_between_p,
        )
    if options.trimfill:
        analysis.filled = trim_and_fill(analysis)
        if analysis.filled is None:
            raise UsageError(
                "trim-and-fill needs an inverse-variance model without moderators and k >= 3"
            )
        analysis.summary.update(_trimfill_summary(analysis.filled))
    return analysis


def _trimfill_summary(tf: TrimFill) -> dict[str, Any]:
    """The trim-and-fill adjusted estimate, printed beside the model's (flat keys)."""
    adjusted = tf.fit
    out: dict[str, Any] = {
        "trimfill_k0": tf.k0,
        "trimfill_side": tf.side,
        "trimfill_estimate": adjusted.estimate,
        "trimfill_ci_lower": float(adjusted.ci_lower[0]),
        "trimfill_ci_upper": float(adjusted.ci_upper[0]),
    }
    if adjusted.back_transform is not None:
        natural = adjusted.predict(transf=adjusted.back_transform)
        out.update(
            trimfill_pooled=natural.pred,
            trimfill_pooled_lower=natural.ci_lower,
            trimfill_pooled_upper=natural.ci_upper,
        )
    return out


def _plotted(analysis: MetaAnalysis) -> MetaFit:
    if not isinstance(analysis.fit, MetaFit):
        raise UsageError("GLMM fits have no forest or funnel plot here")
    return analysis.fit


def _data_header(measure: str) -> str:
    """Per-arm columns are headed by the arms' names (Arms); this is the header above them."""
    if measure in ("PR", "PLO", "PAS", "PFT", "OR", "RR", "RD", "PETO"):
        return "Events/n"
    return "Mean (SD), n"


def _arms(options: MetaOptions) -> Arms:
    return Arms(
        options.arm1, options.arm2, higher_favours_treatment=options.outcome == "beneficial"
    )


def forest_figure(analysis: MetaAnalysis, title: str | None = None) -> Figure:
    """The forest plot: one section, or one per subgroup with the overall model and the test."""
    fit = _plotted(analysis)
    rows = analysis.rows
    cols = {c: np.asarray(rows[c], dtype=float) for c in RAW_COLUMNS if c in rows.columns}
    text = data_text_for(cols, analysis.options.measure)
    if text is not None and len(text) != fit.k:
        text = None  # MH/Peto drop double-zero tables from the study rows; no per-row text then
    header = None if text is None else _data_header(analysis.options.measure)
    sg, by_labels = analysis.subgroups, analysis.by_labels
    if sg is None or by_labels is None:
        return forest_plot(
            [ForestSection(None, fit, text)],
            data_header=header,
            title=title,
            arms=_arms(analysis.options),
        )
    sections = []
    for g, f in zip(sg.groups, sg.fits, strict=True):
        idx = [i for i, lb in enumerate(by_labels) if lb == g]
        sections.append(ForestSection(g, f, None if text is None else [text[i] for i in idx]))
    return forest_plot(
        sections,
        overall=sg.overall,
        data_header=header,
        subgroup_test=sg.test_text(),
        title=title,
        arms=_arms(analysis.options),
    )


def trim_and_fill(analysis: MetaAnalysis) -> TrimFill | None:
    """Trim-and-fill where it is defined: intercept-only rma models with k >= 3."""
    fit = analysis.fit
    if not isinstance(fit, MetaFit) or not fit.intercept_only or fit.k < 3:
        return None
    if fit.method in ("MH", "PETO"):
        return None
    return trimfill(fit)


def funnel_figure(analysis: MetaAnalysis) -> Figure:
    """Contour-enhanced funnel plot centred on the reported estimate; trim-and-fill's filled
    studies and adjusted centre only when the options ask for trim-and-fill."""
    return funnel_plot(_plotted(analysis), trimfill=analysis.filled)


@dataclass(frozen=True)
class Diagnostics:
    """Leave-one-out, Egger's test, trim-and-fill and cumulative results, or why each is missing."""

    leave1out: list[dict[str, Any]]
    egger: dict[str, Any] | None
    trimfill: dict[str, Any] | None
    cumulative: list[dict[str, Any]]
    unavailable: dict[str, str]


def diagnostics(analysis: MetaAnalysis, order: Sequence[int] | None = None) -> Diagnostics:
    """Every diagnostic the model allows; the reason for each one it does not."""
    fit = analysis.fit
    unavailable: dict[str, str] = {}
    loo: list[dict[str, Any]] = []
    cum: list[dict[str, Any]] = []
    egger = tf_dict = None
    if not isinstance(fit, MetaFit):
        reason = "not available for the GLMM fit"
        return Diagnostics([], None, None, [], dict.fromkeys(_DIAGNOSTIC_NAMES, reason))
    for name, compute in (
        ("leave-one-out", lambda: [r.as_dict() for r in leave1out(fit)]),
        ("cumulative", lambda: [r.as_dict() for r in cumulative(fit, order)]),
    ):
        try:
            (loo if name == "leave-one-out" else cum).extend(compute())
        except (EvidenceError, ValueError) as err:
            unavailable[name] = str(err)
    try:
        if fit.k < 3:
            raise ModelInputError("Egger's test needs at least 3 studies")
        egger = regtest(fit).as_dict()
    except (EvidenceError, ValueError) as err:
        unavailable["Egger's test"] = str(err)
    tf = None
    try:
        tf = trim_and_fill(analysis)
    except (EvidenceError, ValueError) as err:
        unavailable["trim-and-fill"] = str(err)
    if tf is not None:
        tf_dict = tf.as_dict()
    elif "trim-and-fill" not in unavailable:
        unavailable["trim-and-fill"] = "needs an rma model without moderators and k >= 3"
    return Diagnostics(loo, egger, tf_dict, cum, unavailable)


_DIAGNOSTIC_NAMES = ("leave-one-out", "Egger's test", "trim-and-fill", "cumulative")


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """A figure as PNG (150 dpi) or SVG bytes, closing it."""
    import matplotlib.pyplot as plt

    if fmt not in ("png", "svg"):
        raise UsageError(f"figure format {fmt!r}: use png or svg")
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def summary_table(analysis: MetaAnalysis) -> pd.DataFrame:
    """The summary's scalar quantities as a two-column table (what the page shows and exports)."""
    scalars = [
        (k, v) for k, v in analysis.summary.items() if not isinstance(v, list | dict | tuple)
    ]
    return pd.DataFrame(scalars, columns=["quantity", "value"])


PLOT_FORMATS = ("png", "svg")


def plot_images(
    table_text: str, table_name: str, options: MetaOptions
) -> dict[str, dict[str, bytes]]:
    """The forest and funnel plots of a study table as PNG and SVG bytes (empty when the model
    cannot be plotted). The meta-analysis page draws them as a background job: drawing takes
    longer than the fit, and the page shows the numbers meanwhile."""
    from myoivig.evidence.tables import read_table_from

    analysis = run_meta(
        read_table_from(io.BytesIO(table_text.encode("utf-8")), table_name), options
    )
    if not analysis.plottable:
        return {}
    return {
        key: {fmt: figure_bytes(draw(analysis), fmt) for fmt in PLOT_FORMATS}
        for key, draw in (("forest", forest_figure), ("funnel", funnel_figure))
    }
