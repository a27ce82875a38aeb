"""`myoivig export ...` and `myoivig import ...`: REDCap, FHIR and analysis exchange commands.

Thin: options are parsed here and everything else is done by `myoivig.exchange.service`.
`export` and `import` are groups whose default sub-command is the tabular format, so that
`myoivig import PATH` and `myoivig export --format csv --out DIR` keep working
(`myoivig import tables PATH` and `myoivig export tables ...` are the same commands).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from myoivig.clinic.commands import export as tabular_export
from myoivig.clinic.commands import import_ as tabular_import
from myoivig.command_store import cli_actor, open_store
from myoivig.exit_codes import ExitCode
from myoivig.io.problems import Problem

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ForceFlag = Annotated[
    bool, typer.Option("--force", help="Write into a non-empty folder / replace the file.")
]
DEFAULT_COMMAND = "tables"


class DefaultCommandGroup(TyperGroup):
    """A group that runs its `tables` command when the first argument names no sub-command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h"}:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _refused(title: str, problems: list[Problem], as_json: bool) -> typer.Exit:
    """Report every problem; the caller raises the returned exit."""
    if as_json:
        _print_json({"ok": False, "problems": [p.as_dict() for p in problems]})
    else:
        table = Table(
            title=f"{title}: {len(problems)} problem(s); nothing was written", title_justify="left"
        )
        for column in ("Resource / file", "Row / entry", "Field", "Value", "Reason"):
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
    return typer.Exit(ExitCode.REJECTED_INPUT)


def _usage(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(ExitCode.USAGE)


def _done(result: dict[str, Any], text: str, as_json: bool) -> None:
    if as_json:
        _print_json({"ok": True, **result})
    else:
        console.print(text, soft_wrap=True)


export_app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    help="Export: the tabular format (default), REDCap, FHIR R4 or analysis-ready tables.",
)
import_app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    help="Import atomically: the tabular format (default), a REDCap project or a FHIR Bundle.",
)


@export_app.command("redcap")
def export_redcap(
    out: Annotated[Path, typer.Option("--out", help="Folder for the REDCap files.")],
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Write a REDCap data dictionary, event set-up files and records.csv."""
    from myoivig.exchange import service
    from myoivig.exchange.output import OutputExistsError
    from myoivig.exchange.redcap.records import RedcapExportError

    store = open_store()
    try:
        result = service.export_redcap(store, out, force)
    except OutputExistsError as error:
        raise _usage(str(error)) from error
    except RedcapExportError as error:
        raise _refused("REDCap export refused", error.problems, as_json) from error
    steps = "\n".join(f"  {name}: {where}" for name, where in result["upload"].items())
    _done(
        result,
        f"wrote {len(result['files'])} files ({result['patients']} patients, "
        f"{result['rows']} record rows) to {out}\nupload in REDCap:\n{steps}",
        as_json,
    )


@export_app.command("fhir")
def export_fhir(
    out: Annotated[Path, typer.Option("--out", help="File for the Bundle (JSON).")],
    patient: Annotated[str | None, typer.Option("--patient", help="One patient's code.")] = None,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Write one FHIR R4 Bundle (JSON), every resource validated against R4."""
    from myoivig.exchange import service
    from myoivig.exchange.output import OutputExistsError
    from myoivig.io.problems import ImportRejectedError

    store = open_store()
    try:
        result = service.export_fhir(store, out, force, patient)
    except (OutputExistsError, service.RecordNotFoundError) as error:
        raise _usage(str(error)) from error
    except ImportRejectedError as error:
        raise _refused("FHIR export refused", error.problems, as_json) from error
    kinds = ", ".join(f"{n} {k}" for k, n in result["resources"].items())
    _done(result, f"wrote a Bundle of {result['entries']} resources to {out}: {kinds}", as_json)


class AnalysisFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@export_app.command("analysis")
def export_analysis(
    out: Annotated[Path, typer.Option("--out", help="Folder for the tables.")],
    fmt: Annotated[AnalysisFormat, typer.Option("--format")] = AnalysisFormat.CSV,
    pseudonymise: Annotated[
        bool, typer.Option("--pseudonymise", help="Pseudonyms, shifted dates, no birth year.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Repeatable pseudonyms and date shifts.")
    ] = None,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Write visits (long, wide, with computed scores), courses, events, labs and a dictionary."""
    from myoivig.exchange import service
    from myoivig.exchange.output import OutputExistsError

    store = open_store()
    try:
        result = service.export_analysis(store, out, fmt.value, force, pseudonymise, seed)
    except OutputExistsError as error:
        raise _usage(str(error)) from error
    rows = ", ".join(f"{n} {k}" for k, n in result["rows"].items())
    _done(result, f"wrote {len(result['files'])} {fmt.value} files to {out}: {rows}", as_json)


@import_app.command("redcap")
def import_redcap(
    dictionary: Annotated[Path, typer.Option("--dictionary", help="REDCap data dictionary CSV.")],
    records: Annotated[Path, typer.Option("--records", help="REDCap records export (CSV, raw).")],
    as_json: JsonFlag = False,
) -> None:
    """Import a REDCap records export with its data dictionary: all records or none."""
    from myoivig.exchange import service
    from myoivig.io.problems import ImportRejectedError

    store = open_store(migrate=True)
    try:
        counts = service.import_redcap(store, dictionary, records, cli_actor())
    except ImportRejectedError as error:
        raise _refused("REDCap import rejected", error.problems, as_json) from error
    _done(
        {"imported": counts},
        "imported " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        as_json,
    )


@import_app.command("fhir")
def import_fhir(
    path: Annotated[Path, typer.Argument(help="A FHIR R4 Bundle (JSON).")],
    as_json: JsonFlag = False,
) -> None:
    """Import a FHIR R4 Bundle: all resources or none."""
    from myoivig.exchange import service
    from myoivig.io.problems import ImportRejectedError

    store = open_store(migrate=True)
    try:
        counts = service.import_fhir(store, path, cli_actor())
    except ImportRejectedError as error:
        raise _refused("FHIR import rejected", error.problems, as_json) from error
    _done(
        {"imported": counts},
        "imported " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        as_json,
    )


# The tabular format's commands stay where they are; registered once, as the default commands.
import_app.command(DEFAULT_COMMAND)(tabular_import)
export_app.command(DEFAULT_COMMAND)(tabular_export)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
