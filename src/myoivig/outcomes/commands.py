"""CLI for the outcome engine: `myoivig score` (batch TIS/DOI) and `myoivig cohort ...`."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from myoivig.command_store import open_store
from myoivig.outcomes.core_set import EnzymeRule, ScoringSettings
from myoivig.outcomes.runin import BaselineMethod
from myoivig.outcomes.trial_claims import load_claims

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.domain.records import PatientDossier
    from myoivig.outcomes.batch_io import BatchReport

SHOWN_ISSUES = 20


def _write_issue_file(report: BatchReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "id", "field", "value", "reason"])
        for issue, row_id in zip(report.issues, report.issue_ids, strict=True):
            writer.writerow([issue.row + 1, row_id, issue.field, issue.value, issue.reason])


def score(
    input_path: Path = typer.Option(
        ..., "--input", help="CSV or Parquet of baseline/follow-up pairs"
    ),
    out: Path = typer.Option(..., "--out", help="CSV or Parquet output (by extension)"),
    enzyme_rule: EnzymeRule = typer.Option(
        EnzymeRule.RELATIVE, help="TIS enzyme percent change (uncertain in the sources)"
    ),
    errors: Path | None = typer.Option(
        None, help="write every out-of-range value to this CSV when the input has bad rows"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
) -> None:
    """Score TIS (ACR/EULAR 2016) and IMACS DOI for every row; all-or-nothing output."""
    from myoivig.outcomes.batch_io import BatchInputError, score_file

    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        report = score_file(input_path, out, ScoringSettings(enzyme_rule=enzyme_rule))
    except BatchInputError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    seconds = time.perf_counter() - started
    shown: list[dict[str, object]] = [
        {"row": i.row + 1, "id": rid, "field": i.field, "value": i.value, "reason": i.reason}
        for i, rid in zip(report.issues[:SHOWN_ISSUES], report.issue_ids, strict=False)
    ]
    summary = {
        "input": str(input_path),
        "output": str(out) if report.ok else None,
        "rows": report.rows,
        "invalid_rows": report.invalid_rows,
        "issues": shown,
        "seconds": round(seconds, 3),
    }
    if errors is not None and not report.ok:
        _write_issue_file(report, errors)
    if as_json:
        typer.echo(json.dumps(summary, default=str))
    elif report.ok:
        Console().print(f"scored {report.rows} rows into {out} in {seconds:.2f} s")
    else:
        table = Table(title=f"{report.invalid_rows} invalid row(s); nothing written to {out}")
        for column in ("row", "id", "field", "value", "reason"):
            table.add_column(column)
        for issue in shown:
            table.add_row(*(str(issue[k]) for k in ("row", "id", "field", "value", "reason")))
        console.print(table)
        if len(report.issues) > SHOWN_ISSUES:
            console.print(f"... {len(report.issues) - SHOWN_ISSUES} more; use --errors FILE")
    if not report.ok:
        raise typer.Exit(1)


cohort_app = typer.Typer(
    help="The 1998 trial reproduced from the stored cohort (load it with `myoivig demo load`).",
    no_args_is_help=True,
)


def _dossiers() -> list[PatientDossier]:
    """Every stored dossier; a missing or outdated database is a clear error, not a traceback."""
    from myoivig.store.repository import list_dossiers

    store = open_store()
    try:
        with store.session() as session:
            dossiers = list_dossiers(session)
    finally:
        store.dispose()
    if not any(d.reported_outcome for d in dossiers):
        Console(stderr=True).print(
            "[red]error:[/red] no patient has a reported outcome; run `myoivig demo load` first"
        )
        raise typer.Exit(2)
    return dossiers


@cohort_app.command("table")
def cohort_table(
    as_json: bool = typer.Option(False, "--json", help="print JSON rows instead of the table"),
) -> None:
    """The paper's per-patient table (Mastaglia 1998) from the stored reported outcomes."""
    from myoivig.outcomes.trial_report import (
        FOOTNOTE_PREDNISONE,
        LEGEND,
        TABLE_HEADERS,
        table_cells,
        table_rows,
    )

    rows = table_rows(_dossiers())
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    table = Table(title="Details of patients treated with IVIg and response to treatment")
    for header in TABLE_HEADERS:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*table_cells(row))
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(LEGEND)
    if any(r.prednisone_stopped_before_ivig for r in rows):
        console.print(FOOTNOTE_PREDNISONE)


@cohort_app.command("summary")
def cohort_summary_command(
    as_json: bool = typer.Option(False, "--json", help="print the full summary as JSON"),
) -> None:
    """Responders per diagnosis group with 95 % intervals, CK tests, AEs, and where the paper's
    text disagrees with its own table."""
    from myoivig.outcomes.trial_report import cohort_summary

    source, claims = load_claims()
    summary = cohort_summary(_dossiers(), source, claims)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(
        f"{summary['patients']} patients, {summary['total_courses']} IVIg courses, "
        f"{summary['serious_adverse_events']} serious adverse events"
    )
    table = Table(title=f"Responders ({summary['response_rule']})")
    for column in ("group", "responders", "patients", "Clopper-Pearson 95 %", "Wilson 95 %"):
        table.add_column(column)
    groups = summary["groups"]
    assert isinstance(groups, dict)
    for name, g in groups.items():
        table.add_row(
            name,
            str(g["responders"]),
            str(g["patients"]),
            _interval(g["clopper_pearson_95"]),
            _interval(g["wilson_95"]),
        )
    console.print(table)
    discrepancies = summary["discrepancies"]
    assert isinstance(discrepancies, list)
    for entry in discrepancies:
        console.print(f'[yellow]differs:[/yellow] {entry["statement"]} Quote: "{entry["quote"]}"')


def patient_outcomes_command(
    code: str = typer.Argument(..., help="patient code"),
    baseline: BaselineMethod = typer.Option(
        BaselineMethod.MEAN, "--baseline", help="run-in baseline: mean of run-in values or last"
    ),
    enzyme_rule: EnzymeRule = typer.Option(EnzymeRule.RELATIVE, "--enzyme-rule"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """One patient's outcomes from stored assessments: run-in baseline and trend, myometry,
    MRC, functional tasks, CK, TIS, IMACS DOI, the trial's response rule, ProDERM deterioration."""
    from myoivig.outcomes.patient_report import patient_outcomes
    from myoivig.store.repository import RecordNotFoundError, load_dossier

    store = open_store()
    try:
        with store.session() as session:
            dossier = load_dossier(session, code)
    except RecordNotFoundError as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from error
    finally:
        store.dispose()
    report = patient_outcomes(
        code,
        dossier.patient.diagnosis,
        dossier.assessments,
        baseline,
        ScoringSettings(enzyme_rule=enzyme_rule),
    )
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(
        f"Patient {code}: {report['assessments']} assessments "
        f"({report['run_in_assessments']} run-in)"
    )
    for name, part in report["run_in"].items():
        if part["available"]:
            console.print(
                f"  run-in {name}: baseline {part['baseline']:.4g} ({part['method']} of "
                f"{part['n_assessments']}), slope/month {part['slope_per_month']}, "
                f"deteriorating: {part['deteriorating_during_run_in']}"
            )
            for warning in part["warnings"]:
                console.print(f"    [yellow]warning:[/yellow] {warning}")
    latest = report["latest"]
    if latest is None:
        console.print(f"  {report.get('note', '')}")
        return
    console.print(f"  latest {latest['assessment_date']} vs run-in:")
    for name in ("myometry", "mrc", "functional", "ck", "tis_doi"):
        part = dict(latest[name])
        shown = {k: v for k, v in part.items() if k != "available"}
        console.print(f"    {name}: {shown}")
    console.print(f"    trial response: {latest['trial_response']}")
    console.print(f"  ProDERM deterioration: {report['proderm_deterioration']}")


def _interval(bounds: object) -> str:
    if not isinstance(bounds, list):
        return ""
    return f"{bounds[0]:.2f}-{bounds[1]:.2f}"


def register(app: typer.Typer) -> None:
    """Add the outcome commands to the root app."""
    app.command("score")(score)
    app.command("outcomes")(patient_outcomes_command)
    app.add_typer(cohort_app, name="cohort")
