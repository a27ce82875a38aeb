"""CLI for the outcome engine: `myoivig score` (batch TIS/DOI) and `myoivig cohort ...`."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from myoivig.outcomes.batch_io import BatchInputError, BatchReport, score_file
from myoivig.outcomes.core_set import EnzymeRule, ScoringSettings

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


def register(app: typer.Typer) -> None:
    """Add the outcome commands to the root app."""
    app.command("score")(score)
