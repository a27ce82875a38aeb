"""Commands for the clinical record: init, import, export, demo, patients, patient, run."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from myoivig import terminal
from myoivig.atomic_files import OutputPathError, write_text
from myoivig.clinic.overview import (
    cohort_counts,
    cohort_tables,
    overview_table,
    patient_summary,
    synthetic_table,
)
from myoivig.command_store import cli_actor, open_store
from myoivig.domain.synthetic import SYNTHETIC_LABEL, is_synthetic, patient_label
from myoivig.exit_codes import ExitCode
from myoivig.io.dictionary import render_dictionary
from myoivig.io.problems import ImportRejectedError, Problem

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.demo import DemoLoad
    from myoivig.store import Store

console = terminal.console()
errors = terminal.console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


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
    terminal.key_column(table, "Table", [p.table for p in problems])
    terminal.key_column(table, "Row", ["" if p.row is None else str(p.row) for p in problems])
    terminal.key_column(table, "Column", [p.column for p in problems])
    for column in ("Value", "Reason"):
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
    accept_warnings: Annotated[
        bool,
        typer.Option(
            "--accept-warnings",
            help="Confirm implausible values (weight jumps, unit slips, BMI outside 13-60).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Import records atomically: all rows land, or none and every problem is listed.

    Impossible values (e.g. a visit before birth) are always refused; implausible ones are
    listed and need --accept-warnings.
    """
    from myoivig.io.importer import import_path
    from myoivig.io.sheets import FormatError

    if not path.exists():
        errors.print(f"[red]error:[/red] {path}: no such file or folder", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE)
    store = open_store(migrate=True)
    try:
        counts = import_path(store, path, actor=cli_actor(), accept_warnings=accept_warnings)
    except ImportRejectedError as rejected:
        _report_problems(rejected.problems, as_json)
        raise typer.Exit(ExitCode.REJECTED_INPUT) from rejected
    except FormatError as error:  # the file as a whole: one line, not a table of one row
        if as_json:
            _report_problems([Problem(str(path), None, "", None, str(error))], as_json)
        else:
            errors.print(
                f"[red]import rejected:[/red] {escape(str(error))}; nothing was written",
                soft_wrap=True,
            )
        raise typer.Exit(ExitCode.REJECTED_INPUT) from error
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

    try:
        counts = export_store(open_store(), out, fmt.value)
    except OutputPathError as error:
        errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from error
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
        try:
            write_text(out, text)
        except OutputPathError as error:
            errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
            raise typer.Exit(ExitCode.USAGE) from error
        console.print(f"wrote {out}")


demo_app = typer.Typer(
    help="The bundled example data: the 1998 trial cohort (16 patients) and the SYNTHETIC demo "
    "clinic (60 generated patients with visits).",
    no_args_is_help=True,
)


class DemoChoice(StrEnum):
    TRIAL = "trial"
    CLINIC = "clinic"
    BOTH = "both"


def _describe_load(load: DemoLoad) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in load.counts.items())
    if load.already_loaded:
        return f"{load.title} is already loaded ({counts}); nothing was written"
    return f"loaded {load.title}: {counts}"


@demo_app.command("load")
def demo_load(
    dataset: Annotated[
        DemoChoice,
        typer.Option("--dataset", help="trial (1998 cohort), clinic (SYNTHETIC) or both."),
    ] = DemoChoice.BOTH,
    as_json: JsonFlag = False,
) -> None:
    """Load bundled example data; loading again is a no-op, a clash of codes is refused."""
    from myoivig.demo import Dataset, load_demo

    chosen = tuple(Dataset) if dataset is DemoChoice.BOTH else (Dataset(dataset.value),)
    store = open_store(migrate=True)
    try:
        loads = load_demo(store, chosen)
    except ImportRejectedError as rejected:
        _report_problems(rejected.problems, as_json)
        raise typer.Exit(ExitCode.REJECTED_INPUT) from rejected
    if as_json:
        print_json(
            {
                "ok": True,
                "datasets": [
                    {
                        "dataset": load.dataset.value,
                        "already_loaded": load.already_loaded,
                        "imported": {} if load.already_loaded else load.counts,
                    }
                    for load in loads
                ],
            }
        )
    else:
        for load in loads:
            console.print(_describe_load(load))


patients_app = typer.Typer(help="List patients.", no_args_is_help=True)


@patients_app.command("list")
def patients_list(
    as_json: JsonFlag = False,
    search: Annotated[str, typer.Option(help="Part of the patient code.")] = "",
    site: Annotated[str | None, typer.Option(help="Site code.")] = None,
    diagnosis: Annotated[str | None, typer.Option(help="Diagnosis, e.g. dermatomyositis.")] = None,
    status: Annotated[
        str | None, typer.Option(help="run_in, on_ivig, stopped or undated (from the courses).")
    ] = None,
    responder: Annotated[
        str | None,
        typer.Option(help="yes, no or undetermined: the trial's rule at the latest visit."),
    ] = None,
    due: Annotated[
        str | None,
        typer.Option(help="overdue, or N: next course due within N days (0-365)."),
    ] = None,
) -> None:
    """List patients with their diagnosis and number of IVIg courses; the filters are those
    of the web list and the API (`clinic.service.filtered_codes`)."""
    from myoivig.clinic.list_filters import list_facts
    from myoivig.clinic.service import CLI_OPERATOR, PatientQuery, QueryError, visible_dossiers

    query = PatientQuery(search, site, diagnosis, status=status, responder=responder, due=due)
    with open_store().session() as session:
        try:
            dossiers = visible_dossiers(session, CLI_OPERATOR, query)
        except QueryError as error:
            errors.print(f"[red]error:[/red] {error}")
            raise typer.Exit(ExitCode.USAGE) from error
    if as_json:
        today = date.today()
        print_json([{**patient_summary(d), **list_facts(d, today)} for d in dossiers])
    else:
        for table in cohort_tables(dossiers, "Patients"):
            console.print(table)


patient_app = typer.Typer(help="One patient.", no_args_is_help=True)


@patient_app.command("show")
def patient_show(code: str, as_json: JsonFlag = False) -> None:
    """Everything stored about one patient."""
    from myoivig.clinic.service import CLI_OPERATOR, load_patient
    from myoivig.store.repository import RecordNotFoundError

    with open_store().session() as session:
        try:
            dossier = load_patient(session, CLI_OPERATOR, code)
        except RecordNotFoundError as error:
            errors.print(f"[red]error:[/red] {error}")
            raise typer.Exit(ExitCode.USAGE) from error
    data = dossier.model_dump(mode="json")
    if as_json:
        print_json(data)
        return
    if is_synthetic(dossier.patient):
        console.print(synthetic_table([dossier], f"Patient {patient_label(dossier.patient)}"))
        console.print(
            f"[bold]{SYNTHETIC_LABEL}[/bold]: generated demo data ({dossier.patient.source})"
        )
    else:
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


def _demo_if_empty(store: Store) -> list[DemoLoad]:
    from myoivig.demo import load_demo_if_empty

    return load_demo_if_empty(store)


def _import_web() -> None:
    import myoivig.demo
    import myoivig.web.launch  # noqa: F401


def run(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Then start the web application.")
    ] = True,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """The main job: set up the database, load both example datasets if empty, show the overview,
    then serve the clinic web application (prints where to sign in)."""
    from myoivig.side_by_side import work_while
    from myoivig.store.repository import list_dossiers

    store = open_store(migrate=True)
    if serve:  # the demo data load in a child process while this one imports the web stack
        loads = work_while(store, lambda: _demo_if_empty(store), _import_web)
    else:
        loads = _demo_if_empty(store)
    from myoivig.demo import Dataset, trial_cohort_facts

    for load in loads:
        if load.dataset is Dataset.TRIAL:
            console.print(
                f"empty database: loaded the bundled 1998 trial cohort ({load.counts['patients']}"
                f" patients, {load.counts['courses']} IVIg courses)"
            )
        else:
            console.print(
                f"empty database: loaded the bundled SYNTHETIC demo clinic "
                f"({load.counts['patients']} generated patients, {load.counts['courses']} IVIg "
                f"courses, {load.counts['assessments']} assessments)"
            )
    with store.session() as session:
        dossiers = list_dossiers(session)
    for table in cohort_tables(dossiers, f"myoivig cohort overview: {store.safe_url}"):
        console.print(table)
    counts = cohort_counts(dossiers)
    by_dx = ", ".join(f"{n} {dx.replace('_', ' ')}" for dx, n in counts["by_diagnosis"].items())
    console.print(
        f"{counts['patients']} patients ({by_dx}); {counts['ivig_courses']} IVIg "
        f"courses; {counts['serious_adverse_events']} serious adverse events recorded."
    )
    if counts["synthetic_patients"]:
        example = next(d.patient for d in dossiers if is_synthetic(d.patient))
        console.print(
            f"{counts['synthetic_patients']} of them are SYNTHETIC demo patients (codes SYN-...),"
            f" not real people. Try: myoivig plan {example.code}; myoivig advise {example.code};"
            f" myoivig outcomes {example.code}"
        )
    if any(d.reported_outcome for d in dossiers):
        facts = trial_cohort_facts()
        console.print(
            f"Example data: {facts['source']}. Minor reactions not attributed to patients: "
            f"{facts['unattributed_adverse_events']['text']}"
        )
    if serve:
        from myoivig.web.launch import start_clinic  # imported here: the web stack is heavy

        start_clinic(store, host, port, lambda line: console.print(line, highlight=False))


def register(app: typer.Typer) -> None:
    app.command("init")(init)  # import/export: registered by myoivig.exchange.commands
    app.command("dictionary")(dictionary)
    app.command("run")(run)
    app.add_typer(demo_app, name="demo")
    app.add_typer(patients_app, name="patients")
    app.add_typer(patient_app, name="patient")
