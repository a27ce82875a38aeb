"""CLI for the outcome engine: `myoivig score` (batch TIS/DOI) and `myoivig cohort ...`."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from myoivig import terminal
from myoivig.atomic_files import OutputPathError, check_output, write_text
from myoivig.command_store import open_store
from myoivig.exit_codes import ExitCode
from myoivig.outcomes.core_set import EnzymeRule, ScoringSettings
from myoivig.outcomes.runin import BaselineMethod

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.outcomes import service
    from myoivig.outcomes.batch_io import BatchReport

SHOWN_ISSUES = 20


def _write_issue_file(report: BatchReport, path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "id", "field", "value", "reason"])
    for issue, row_id in zip(report.issues, report.issue_ids, strict=True):
        writer.writerow([issue.row + 1, row_id, issue.field, issue.value, issue.reason])
    write_text(path, buffer.getvalue(), newline="")


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
        if errors is not None:
            check_output(errors, {".csv"})
        report = score_file(input_path, out, ScoringSettings(enzyme_rule=enzyme_rule))
    except (BatchInputError, OutputPathError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from exc
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
        raise typer.Exit(ExitCode.REJECTED_INPUT)


cohort_app = typer.Typer(
    help="The 1998 trial reproduced from the stored cohort (load it with `myoivig demo load`).",
    no_args_is_help=True,
)


def _research(
    site: str | None, diagnosis: str | None, start: str | None, end: str | None
) -> service.ResearchView:
    """The filtered cohort's table and summary; no database, bad filter or no outcomes: exit 2."""
    from myoivig.outcomes import service

    error = terminal.console(stderr=True)
    try:
        wanted = service.CohortFilter(
            site, diagnosis, _day(start, "--from"), _day(end, "--to")
        ).checked()
    except service.CohortFilterError as problem:
        error.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(ExitCode.USAGE) from problem
    store = open_store()
    try:
        view = service.research_view(service.stored_dossiers(store), wanted)
    finally:
        store.dispose()
    if view.summary is None:
        error.print(
            f"[red]error:[/red] no patient with a reported outcome matches ({view.matched} "
            "patient(s) matched the filter); run `myoivig demo load` first"
        )
        raise typer.Exit(ExitCode.USAGE)
    return view


def _day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as problem:
        raise service.CohortFilterError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from problem


SITE = typer.Option(None, "--site", help="only patients of this site")
DIAGNOSIS = typer.Option(None, "--diagnosis", help="only this diagnosis, e.g. polymyositis")
FROM = typer.Option(None, "--from", help="only patients with a course starting on/after YYYY-MM-DD")
TO = typer.Option(None, "--to", help="only patients with a course starting on/before YYYY-MM-DD")


@cohort_app.command("table")
def cohort_table(
    as_json: bool = typer.Option(False, "--json", help="print JSON rows instead of the table"),
    site: str | None = SITE,
    diagnosis: str | None = DIAGNOSIS,
    start: str | None = FROM,
    end: str | None = TO,
) -> None:
    """The paper's per-patient table (Mastaglia 1998) from the stored reported outcomes."""
    from myoivig.outcomes.trial_report import (
        FOOTNOTE_PREDNISONE,
        LEGEND,
        TABLE_HEADERS,
        TableRow,
        table_cells,
    )

    view = _research(site, diagnosis, start, end)
    if as_json:
        typer.echo(json.dumps(view.rows, indent=2))
        return
    rows = [TableRow(**row) for row in view.rows]  # type: ignore[arg-type]
    table = Table(title="Details of patients treated with IVIg and response to treatment")
    terminal.key_column(table, TABLE_HEADERS[0], [table_cells(r)[0] for r in rows])
    for header in TABLE_HEADERS[1:]:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*table_cells(row))
    console = terminal.console()
    console.print(table)
    console.print(LEGEND)
    if any(r.prednisone_stopped_before_ivig for r in rows):
        console.print(FOOTNOTE_PREDNISONE)


@cohort_app.command("summary")
def cohort_summary_command(
    as_json: bool = typer.Option(False, "--json", help="print the full summary as JSON"),
    site: str | None = SITE,
    diagnosis: str | None = DIAGNOSIS,
    start: str | None = FROM,
    end: str | None = TO,
) -> None:
    """Responders per diagnosis group with 95 % intervals, CK tests, AEs, and where the paper's
    text disagrees with its own table."""
    from myoivig.outcomes.report_view import (
        GROUP_LABELS,
        adverse_event_table,
        ck_summary_table,
        myometry_summary_table,
    )

    summary = _research(site, diagnosis, start, end).summary
    assert summary is not None  # _research exits when no patient has a reported outcome
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    console = terminal.console()
    console.print(
        f"{summary['patients']} patients, {summary['total_courses']} IVIg courses, "
        f"{summary['serious_adverse_events']} serious adverse events"
    )
    table = Table(title=f"Responders ({summary['response_rule']})", title_justify="left")
    for column in ("Group", "Responders", "Clopper-Pearson 95 %", "Wilson 95 %"):
        table.add_column(column)
    groups = summary["groups"]
    assert isinstance(groups, dict)
    for name, g in groups.items():
        table.add_row(
            GROUP_LABELS.get(name, name),
            f"{g['responders']} of {g['patients']}",
            _interval(g["clopper_pearson_95"]),
            _interval(g["wilson_95"]),
        )
    console.print(table)
    for part in (
        ck_summary_table(summary["ck"]),  # type: ignore[arg-type]
        myometry_summary_table(summary["myometry_change_pct"]),  # type: ignore[arg-type]
        adverse_event_table(summary["adverse_events"]),  # type: ignore[arg-type]
    ):
        console.print(part)
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
    from myoivig.outcomes import service
    from myoivig.outcomes.report_view import patient_report_view
    from myoivig.store.repository import RecordNotFoundError

    store = open_store()
    try:
        report = service.patient_outcome_report(
            store, code, baseline, ScoringSettings(enzyme_rule=enzyme_rule)
        )
    except RecordNotFoundError as error:
        terminal.console(stderr=True).print(f"[red]error:[/red] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    console = terminal.console()
    for part in patient_report_view(report):
        console.print(part)


def _interval(bounds: object) -> str:
    if not isinstance(bounds, list):
        return ""
    return f"{bounds[0]:.2f}-{bounds[1]:.2f}"


def register(app: typer.Typer) -> None:
    """Add the outcome commands to the root app."""
    app.command("score")(score)
    app.command("outcomes")(patient_outcomes_command)
    app.add_typer(cohort_app, name="cohort")
