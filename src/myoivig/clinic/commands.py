"""Commands for the clinical record: init, import, export, demo, patients, patient, run."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from myoivig.clinic.overview import cohort_counts, overview_table, patient_summary
from myoivig.command_store import open_store
from myoivig.io.dictionary import render_dictionary
from myoivig.io.problems import ImportRejectedError, Problem

# Piped output (files, CI logs) gets a wide fixed width so tables are not folded to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _actor() -> str:
    return os.environ.get("MYOIVIG_ACTOR") or os.environ.get("USER") or "cli"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _report_problems(problems: list[Problem], as_json: bool) -> None:
    if as_json:
        print_json({"ok": False, "problems": [p.as_dict() for p in problems]})
        return
    table = Table(
        title=f"Import rejected: {len(problems)} problem(s); nothing was written",
        title_justify="left",
    )
    for column in ("Table", "Row", "Column", "Value", "Reason"):
        table.add_column(column, overflow="fold")
    for p in problems:
        table.add_row(
            p.table,
            "" if p.row is None else str(p.row),
            p.column,
            "" if p.value is None else p.value,
            p.reason,
        )
    errors.print(table)


def init() -> None:
    """Create the database (or upgrade it to the current schema)."""
    store = open_store(migrate=True)
    console.print(f"database ready at {store.safe_url} (schema {store.current_revision()})")


def import_(
    path: Annotated[Path, typer.Argument(help="Folder of CSV files, or an .xlsx workbook.")],
    as_json: JsonFlag = False,
) -> None:
    """Import records atomically: all rows land, or none and every problem is listed."""
    from myoivig.io.importer import import_path
    from myoivig.io.sheets import FormatError

    store = open_store(migrate=True)
    try:
        counts = import_path(store, path, actor=_actor())
    except ImportRejectedError as rejected:
        _report_problems(rejected.problems, as_json)
        raise typer.Exit(1) from rejected
    except FormatError as error:
        _report_problems([Problem(str(path), None, "", None, str(error))], as_json)
        raise typer.Exit(1) from error
    if as_json:
        print_json({"ok": True, "imported": counts})
    else:
        console.print("imported " + ", ".join(f"{n} {name}" for name, n in counts.items()))


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder (csv) or .xlsx file / folder.")],
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.CSV,
    as_json: JsonFlag = False,
) -> None:
    """Export every table in the import format."""
    from myoivig.io.exporter import export_store

    counts = export_store(open_store(), out, fmt.value)
    if as_json:
        print_json({"ok": True, "out": str(out), "rows": counts})
    else:
        console.print(f"exported to {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


def dictionary(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Print (or write) the data dictionary of the tabular format, generated from the models."""
    text = render_dictionary()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


demo_app = typer.Typer(
    help="The bundled example cohort (1998 trial, 16 patients).", no_args_is_help=True
)


@demo_app.command("load")
def demo_load(as_json: JsonFlag = False) -> None:
    """Load the bundled trial cohort into the database (refused if its codes exist)."""
    from myoivig.demo import load_trial_cohort

    store = open_store(migrate=True)
    try:
        counts = load_trial_cohort(store)
    except ImportRejectedError as rejected:
        _report_problems(rejected.problems, as_json)
        raise typer.Exit(1) from rejected
    if as_json:
        print_json({"ok": True, "imported": counts})
    else:
        console.print(
            "loaded the 1998 trial cohort: " + ", ".join(f"{n} {k}" for k, n in counts.items())
        )


patients_app = typer.Typer(help="List patients.", no_args_is_help=True)


@patients_app.command("list")
def patients_list(as_json: JsonFlag = False) -> None:
    """List all patients with their diagnosis and number of IVIg courses."""
    from myoivig.store.repository import list_dossiers

    with open_store().session() as session:
        dossiers = list_dossiers(session)
    if as_json:
        print_json([patient_summary(d) for d in dossiers])
    else:
        console.print(overview_table(dossiers, f"{len(dossiers)} patients"))


patient_app = typer.Typer(help="One patient.", no_args_is_help=True)


@patient_app.command("show")
def patient_show(code: str, as_json: JsonFlag = False) -> None:
    """Everything stored about one patient."""
    from myoivig.store.repository import RecordNotFoundError, load_dossier

    with open_store().session() as session:
        try:
            dossier = load_dossier(session, code)
        except RecordNotFoundError as error:
            errors.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from error
    data = dossier.model_dump(mode="json")
    if as_json:
        print_json(data)
        return
    console.print(overview_table([dossier], f"Patient {code}"))
    for section in ("therapies", "courses", "assessments", "labs", "adverse_events"):
        console.print(f"[bold]{section}[/bold]: {len(data[section])}")
        for item in data[section]:
            console.print(
                "  "
                + ", ".join(
                    f"{k}={v}"
                    for k, v in item.items()
                    if v not in (None, [], "") and k != "patient_code"
                )
            )
    if data["reported_outcome"]:
        console.print(
            "[bold]reported outcome[/bold]: "
            + ", ".join(
                f"{k}={v}"
                for k, v in data["reported_outcome"].items()
                if v is not None and k != "patient_code"
            )
        )


def run() -> None:
    """The main job: set up the database, load the example cohort if empty, show the overview."""
    from myoivig.demo import load_trial_cohort, trial_cohort_facts
    from myoivig.store.repository import list_dossiers

    store = open_store(migrate=True)
    if store.patient_count() == 0:
        loaded = load_trial_cohort(store)
        console.print(
            f"empty database: loaded the bundled 1998 trial cohort ({loaded['patients']}"
            f" patients, {loaded['courses']} IVIg courses)"
        )
    with store.session() as session:
        dossiers = list_dossiers(session)
    counts = cohort_counts(dossiers)
    facts = trial_cohort_facts()
    console.print(overview_table(dossiers, f"myoivig cohort overview: {store.safe_url}"))
    by_dx = ", ".join(f"{n} {dx.replace('_', ' ')}" for dx, n in counts["by_diagnosis"].items())
    console.print(
        f"{counts['patients']} patients ({by_dx}); {counts['ivig_courses']} IVIg "
        f"courses; {counts['serious_adverse_events']} serious adverse events recorded."
    )
    console.print(
        f"Example data: {facts['source']}. Minor reactions not attributed to patients: "
        f"{facts['unattributed_adverse_events']['text']}"
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("import")(import_)
    app.command("export")(export)
    app.command("dictionary")(dictionary)
    app.command("run")(run)
    app.add_typer(demo_app, name="demo")
    app.add_typer(patients_app, name="patients")
    app.add_typer(patient_app, name="patient")
