"""`myoivig meta ...`: meta-analysis from the command line.

Heavy imports (pandas, scipy, matplotlib) happen inside the commands so that `myoivig --help`
and the batch command start fast.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer

from myoivig.atomic_files import FIGURE_SUFFIXES, check_output, replacing
from myoivig.evidence.errors import EffectSizeInputError, EvidenceError, UsageError
from myoivig.exit_codes import ExitCode

meta_app = typer.Typer(
    name="meta",
    help="Meta-analysis (metafor conventions): effect sizes, pooled models, plots, batch fits.",
    no_args_is_help=True,
)


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN/inf become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fail(err: Exception) -> typer.Exit:
    """One line on stderr; exit 1 when the data were refused, 2 for options, files and paths."""
    from myoivig.evidence.errors import ConvergenceError, ModelInputError

    typer.echo(f"error: {err}", err=True)
    refused = isinstance(err, EffectSizeInputError | ModelInputError | ConvergenceError)
    return typer.Exit(ExitCode.REJECTED_INPUT if refused else ExitCode.USAGE)


def _print_summary(summary: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, val in summary.items():
        if isinstance(val, list | dict):
            continue
        if isinstance(val, float):
            val = f"{val:.6g}"
        table.add_row(key, str(val))
    Console().print(table)
    coefs = summary.get("coefficients")
    if coefs:
        ct = Table(title="Coefficients")
        for col in ("name", "estimate", "se", "zval", "pval", "ci_lower", "ci_upper"):
            ct.add_column(col)
        for c in coefs:
            ct.add_row(*(f"{c[k]:.6g}" if isinstance(c[k], float) else str(c[k]) for k in c))
        Console().print(ct)


@meta_app.command("run")
def run(
    data: Path = typer.Option(..., "--data", help="CSV with metafor-named columns"),
    measure: str = typer.Option(
        ..., "--measure", help="PR PLO PAS PFT OR RR RD PETO MD SMD ROM SMCR GEN"
    ),
    method: str = typer.Option(
        "REML", "--method", help="EE DL HE SJ ML REML EB PM; MH / PETO; GLMM (PLO)"
    ),
    test: str = typer.Option("z", "--test", help="z, t, knha or adhoc"),
    by: str | None = typer.Option(None, "--by", help="column with subgroup labels"),
    mods: str | None = typer.Option(None, "--mods", help="comma-separated moderator columns"),
    plot: Path | None = typer.Option(None, "--plot", help="forest plot file (.svg/.png/.pdf)"),
    funnel: Path | None = typer.Option(None, "--funnel", help="funnel plot file (.svg/.png/.pdf)"),
    with_trimfill: bool = typer.Option(
        False,
        "--trimfill",
        help="trim-and-fill: print the adjusted estimate; with --funnel draw the filled studies "
        "and centre the funnel on the adjusted estimate",
    ),
    arm1: str = typer.Option(
        "treatment", "--arm1", help="two-group measures: name of group 1 (ai, m1i columns)"
    ),
    arm2: str = typer.Option("control", "--arm2", help="two-group measures: name of group 2"),
    outcome: str = typer.Option(
        "beneficial",
        "--outcome",
        help="beneficial (higher favours group 1, e.g. response) or harmful (e.g. adverse "
        "events): which side of the forest plot says 'Favours' which arm",
    ),
    add: float = typer.Option(0.5, "--add", help="continuity correction for zero cells"),
    to: str = typer.Option("only0", "--to", help="only0, all, if0all or none"),
    drop00: bool = typer.Option(False, "--drop00", help="drop studies with no events in both arms"),
    log_ci: bool = typer.Option(
        False, "--log-ci", help="estimate/ci columns are ratios (log them)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Pool a study table; print k, estimate, se, CI, tau2, I2, H2, Q, PI (and natural scale)."""
    from myoivig.evidence.mantel_haenszel import rma_mh, rma_peto
    from myoivig.evidence.model import rma
    from myoivig.evidence.subgroups import subgroup_analysis
    from myoivig.evidence.tables import (
        effect_sizes_from_table,
        labels_of,
        moderator_matrix,
        numeric_column,
        read_table,
    )

    try:
        for path in (plot, funnel):
            if path is not None:  # refuse a bad figure path before any work is done
                check_output(path, FIGURE_SUFFIXES)
        df = read_table(data)
        measure_u = measure.upper()
        method_u = method.upper()
        if method_u == "GLMM":
            if with_trimfill:
                raise EvidenceError("--trimfill is not available with GLMM")
            _run_glmm(df, measure_u, plot, funnel, by, mods, as_json)
            return
        es = effect_sizes_from_table(
            df, "PETO" if method_u == "PETO" else measure_u, add=add, to=to, drop00=drop00,
            log_scale_ci=log_ci,
        )  # fmt: skip
        if method_u in ("MH", "PETO"):
            cols = {
                c: numeric_column(df, c, labels_of(df))
                for c in ("ai", "bi", "ci", "di", "n1i", "n2i")
                if c in df.columns
            }
            labels = labels_of(df)
            fit = (
                rma_peto(**cols, labels=labels)
                if method_u == "PETO"
                else rma_mh(measure_u, **cols, labels=labels)
            )
        elif mods:
            names = [m.strip() for m in mods.split(",") if m.strip()]
            x, xnames = moderator_matrix(df, names)
            fit = rma(es, method=method_u, test=test, mods=x[~es.omitted], mod_names=xnames)
        else:
            fit = rma(es, method=method_u, test=test)
        summary = fit.summary()
        sg = None
        by_labels: list[str] | None = None
        if by:
            if by not in df.columns:
                raise UsageError(f"--by {by!r}: no such column in the data")
            by_labels = [str(v) for v in df[by].tolist()]
            if es.omitted.any():
                by_labels = [lb for lb, om in zip(by_labels, es.omitted, strict=True) if not om]
            sg = subgroup_analysis(es.used(), by_labels, method=method_u, test=test)
            summary["subgroups"] = sg.as_dict()["subgroups"]
            summary["between_test"] = sg.between_test
            summary["q_between"] = sg.q_between
            summary["q_between_df"] = sg.q_between_df
            summary["q_between_df2"] = sg.q_between_df2
            summary["q_between_p"] = sg.q_between_p
        if outcome not in ("beneficial", "harmful"):
            raise EvidenceError(f"--outcome {outcome!r}: use beneficial or harmful")
        tf = None
        if with_trimfill:
            from myoivig.evidence.publication_bias import trimfill

            if not fit.intercept_only or fit.k < 3 or method_u in ("MH", "PETO"):
                raise EvidenceError(
                    "--trimfill needs an inverse-variance model without moderators and k >= 3"
                )
            tf = trimfill(fit)
            summary.update(_trimfill_summary(tf))
        if plot is not None:
            from myoivig.evidence.plots import Arms

            arms = Arms(arm1, arm2, higher_favours_treatment=outcome == "beneficial")
            _forest_for(df[~es.omitted], fit, sg, by_labels, plot, measure_u, arms)
            summary["plot"] = str(plot)
        if funnel is not None:
            from myoivig.evidence.plots import funnel_plot, save_figure

            save_figure(funnel_plot(fit, trimfill=tf), funnel)
            summary["funnel"] = str(funnel)
    except (EvidenceError, ValueError) as err:
        raise _fail(err) from err
    if as_json:
        typer.echo(json.dumps(_clean(summary), indent=2))
    else:
        _print_summary(summary, f"{measure_u} · {fit.method} · test={fit.test}")


def _run_glmm(
    df: Any,
    measure: str,
    plot: Path | None,
    funnel: Path | None,
    by: str | None,
    mods: str | None,
    as_json: bool,
) -> None:
    """`--method GLMM`: binomial-normal model for single proportions (no plots or subgroups)."""
    from myoivig.evidence.glmm import rma_glmm
    from myoivig.evidence.tables import labels_of, numeric_column

    if measure != "PLO":
        raise UsageError("method GLMM is the binomial-normal model for measure PLO only")
    if plot or funnel or by or mods:
        raise UsageError("--plot, --funnel, --by and --mods are not available with GLMM")
    labels = labels_of(df)
    fit = rma_glmm(numeric_column(df, "xi", labels), numeric_column(df, "ni", labels))
    summary = fit.summary()
    if as_json:
        typer.echo(json.dumps(_clean(summary), indent=2))
    else:
        _print_summary(summary, "PLO · GLMM (binomial-normal, ML)")


def _trimfill_summary(tf: Any) -> dict[str, Any]:
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


def _forest_for(
    df: Any,
    fit: Any,
    sg: Any,
    by_labels: list[str] | None,
    path: Path,
    measure: str,
    arms: Any = None,
) -> None:
    import numpy as np

    from myoivig.evidence.plots import ForestSection, data_text_for, forest_plot, save_figure

    cols = {
        c: np.asarray(df[c], dtype=float)
        for c in ("xi", "ni", "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i")
        if c in df.columns
    }
    text = data_text_for(cols, measure)
    if text is not None and len(text) != fit.k:
        text = None  # MH/Peto drop double-zero tables from the study rows; no per-row text then
    if measure in ("PR", "PLO", "PAS", "PFT", "OR", "RR", "RD", "PETO"):
        header: str | None = "Events/n"
    else:
        header = "Mean (SD), n"
    if text is None:
        header = None
    if sg is None or by_labels is None:
        fig = forest_plot([ForestSection(None, fit, text)], data_header=header, arms=arms)
    else:
        sections = []
        for g, f in zip(sg.groups, sg.fits, strict=True):
            idx = [i for i, lb in enumerate(by_labels) if lb == g]
            sections.append(ForestSection(g, f, None if text is None else [text[i] for i in idx]))
        fig = forest_plot(
            sections,
            overall=sg.overall,
            data_header=header,
            subgroup_test=sg.test_text(),
            arms=arms,
        )
    save_figure(fig, path)


@meta_app.command("batch")
def batch(
    input_path: Path = typer.Option(..., "--input", help="long CSV with columns group, yi, vi"),
    method: str = typer.Option("REML", "--method", help="REML, DL or EE"),
    out: Path = typer.Option(..., "--out", help="results CSV, one row per group"),
    on_error: str = typer.Option(
        "fail",
        "--on-error",
        help="fail: stop at the first group that cannot be fitted (k too small, bad vi); "
        "skip: write NaN estimates and the reason in the note column for such groups",
    ),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary"),
) -> None:
    """Fit one random-effects model per group of a long table, vectorised across groups."""
    import time

    import numpy as np
    import pandas as pd

    from myoivig.evidence.batch import batch_fit

    try:
        check_output(out, {".csv"})
        if not input_path.exists():
            raise UsageError(f"file not found: {input_path}")
        if on_error not in ("fail", "skip"):
            raise UsageError(f"--on-error {on_error!r}: use fail or skip")
        df = (
            pd.read_csv(input_path, engine="pyarrow") if _has_pyarrow() else pd.read_csv(input_path)
        )
        missing = [c for c in ("group", "yi", "vi") if c not in df.columns]
        if missing:
            raise EffectSizeInputError(f"missing column(s): {', '.join(missing)}")
        t0 = time.perf_counter()
        yi, vi = _numbers(df, ("yi", "vi"))
        res = batch_fit(
            df["group"].to_numpy(),
            yi,
            vi,
            method=method,
            on_error=on_error,
        )
        fit_seconds = time.perf_counter() - t0
        with replacing(out) as tmp:
            pd.DataFrame(res.columns()).to_csv(tmp, index=False, float_format="%.17g")
    except (EvidenceError, ValueError) as err:
        raise _fail(err) from err
    summary = {
        "groups": int(res.groups.shape[0]),
        "rows": len(df),
        "method": method.upper(),
        "fit_seconds": fit_seconds,
        "max_iterations": int(res.iterations.max()) if res.iterations.size else 0,
        "skipped_groups": int(np.count_nonzero(res.note != "")),
        "out": str(out),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"{summary['groups']} groups ({summary['rows']} rows) fitted by {summary['method']} "
            f"in {fit_seconds:.3f} s -> {out}"
        )
        if summary["skipped_groups"]:
            typer.echo(f"{summary['skipped_groups']} group(s) skipped: see the note column")


def _numbers(df: Any, cols: tuple[str, ...]) -> list[Any]:
    """A long table's columns as floats; the first blank or non-numeric cell (by row) is named."""
    import numpy as np
    import pandas as pd

    from myoivig.evidence.tables import bad_cell_message

    arrays = [pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64) for c in cols]
    first: tuple[int, str] | None = None
    for col, values in zip(cols, arrays, strict=True):
        bad = np.flatnonzero(np.isnan(values))
        if bad.size and (first is None or int(bad[0]) < first[0]):
            first = (int(bad[0]), col)
    if first is not None:
        i, col = first
        raise EffectSizeInputError(bad_cell_message(df, col, i, f"group {df['group'].iloc[i]}"))
    return arrays


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


def _grouped_plot_path(plot: Path, by: str, both: bool) -> Path:
    """`forest.png` for a single grouping; `forest_by_design.png` etc. when both are written."""
    return plot.with_name(f"{plot.stem}_by_{by}{plot.suffix}") if both else plot


@meta_app.command("example")
def example(
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="forest plot file (.svg/.png/.pdf); with --by both, writes FILE_by_definition and "
        "FILE_by_design",
    ),
    by: str = typer.Option(
        "both", "--by", help="forest plot sections: definition, design or both (two figures)"
    ),
    measure: str = typer.Option("PLO", "--measure", help="PLO, PFT, PAS or PR"),
    method: str = typer.Option("REML", "--method", help="tau2 estimator"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The bundled example: IVIg response in refractory PM/DM, with subgroups and sensitivity."""
    from myoivig.evidence.example import (
        GROUPING_TITLES,
        GROUPINGS,
        analyse,
        footnote,
        subgroups_for,
    )
    from myoivig.evidence.plots import ForestSection, forest_plot, save_figure

    if by not in (*GROUPINGS, "both"):
        raise _fail(UsageError(f"--by {by!r}: use definition, design or both"))
    try:
        if plot is not None:
            for grouping in list(GROUPINGS) if by == "both" else [by]:
                check_output(_grouped_plot_path(plot, grouping, by == "both"), FIGURE_SUFFIXES)
        analysis = analyse(measure.upper(), method.upper())
        result = analysis.as_dict()
        if plot is not None:
            rows = analysis.primary_rows
            groupings = list(GROUPINGS) if by == "both" else [by]
            result["plots"] = {}
            for grouping in groupings:
                sg = subgroups_for(analysis, grouping)
                column = GROUPINGS[grouping]
                sections = []
                for g, f in zip(sg.groups, sg.fits, strict=True):
                    sub = rows[rows[column] == g]
                    text = [f"{int(x)}/{int(n)}" for x, n in zip(sub["xi"], sub["ni"], strict=True)]
                    sections.append(ForestSection(g, f, text))
                fig = forest_plot(
                    sections,
                    overall=analysis.primary,
                    data_header="Responders/n",
                    title="IVIg in refractory adult polymyositis/dermatomyositis: response "
                    f"proportion by {GROUPING_TITLES[grouping]}",
                    footnote=footnote(analysis, grouping),
                    subgroup_test=sg.test_text(),
                )
                path = _grouped_plot_path(plot, grouping, by == "both")
                save_figure(fig, path)
                result["plots"][f"by_{grouping}"] = str(path)
    except (EvidenceError, ValueError) as err:
        raise _fail(err) from err
    if as_json:
        typer.echo(json.dumps(_clean(result), indent=2, ensure_ascii=False))
    else:
        p = result["primary"]
        typer.echo(
            f"Pooled response ({result['measure']}, {result['method']}, k = {p['k']}): "
            f"{100 * p['pooled']:.1f}% "
            f"[{100 * p['pooled_lower']:.1f}, {100 * p['pooled_upper']:.1f}], "
            f"PI [{100 * p['pooled_pi_lower']:.1f}, {100 * p['pooled_pi_upper']:.1f}], "
            f"I² = {p['i2']:.0f}%"
        )
        for s in result["sensitivity"]:
            typer.echo(f"  sensitivity, {s['description']}: {100 * s['pooled']:.1f}%")
        for name, path in result.get("plots", {}).items():
            typer.echo(f"forest plot ({name.replace('_', ' ')}) -> {path}")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add the `meta` command group to the root application."""
    app.add_typer(meta_app, name="meta")
