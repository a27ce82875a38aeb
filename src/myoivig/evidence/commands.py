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
    from myoivig.evidence.plots import save_figure
    from myoivig.evidence.service import (
        MetaOptions,
        forest_figure,
        funnel_figure,
        run_meta,
    )
    from myoivig.evidence.tables import read_table

    try:
        for path in (plot, funnel):
            if path is not None:  # refuse a bad figure path before any work is done
                check_output(path, FIGURE_SUFFIXES)
        names = tuple(m.strip() for m in (mods or "").split(",") if m.strip())
        options = MetaOptions(
            measure, method, test, by, names, add, to, drop00, log_ci,
            arm1=arm1, arm2=arm2, outcome=outcome, trimfill=with_trimfill,
        )  # fmt: skip
        if options.method.upper() == "GLMM" and (plot or funnel):
            raise UsageError("--plot and --funnel are not available with GLMM")
        analysis = run_meta(read_table(data), options)
        summary = analysis.summary
        if plot is not None:
            save_figure(forest_figure(analysis), plot)
            summary["plot"] = str(plot)
        if funnel is not None:
            save_figure(funnel_figure(analysis), funnel)
            summary["funnel"] = str(funnel)
    except (EvidenceError, ValueError) as err:
        raise _fail(err) from err
    if as_json:
        typer.echo(json.dumps(_clean(summary), indent=2))
    elif options.method == "GLMM":
        _print_summary(summary, "PLO · GLMM (binomial-normal, ML)")
    else:
        _print_summary(summary, f"{options.measure} · {summary['method']} · test={summary['test']}")


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
