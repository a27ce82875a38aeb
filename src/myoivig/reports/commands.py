"""CLI: `myoivig report patient|infusion|cohort|review ... --format pdf|html --out FILE`.

The commands only parse options, call the report builders and write the file; exit codes come
from the one table (2: bad option, unknown record or existing --out; 3: blocked plan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from myoivig.command_store import open_store
from myoivig.exit_codes import ExitCode
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.service import PatientPlanOptions
from myoivig.reports.render import ReportError, ReportFormat, render, write_report
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError

err = Console(stderr=True, soft_wrap=True)
report_app = typer.Typer(
    help="Printable reports (HTML or PDF): patient, infusion sheet, cohort, review.",
    no_args_is_help=True,
)

FormatOption = Annotated[ReportFormat, typer.Option("--format", help="pdf or html")]
OutOption = Annotated[Path, typer.Option("--out", help="File to write (refused if it exists)")]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing --out file")]


def _stop(message: str, code: ExitCode) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=code)


@contextmanager
def _usage_errors() -> Iterator[None]:
    try:
        yield
    except RecordNotFoundError as error:
        raise _stop(f"{error}. Nothing was written.", ExitCode.USAGE) from error
    except (ReportError, ProtocolError) as error:
        raise _stop(f"{error}. Nothing was written.", ExitCode.USAGE) from error


def _produce(
    build: Callable[[Store], dict[str, Any]],
    template: str,
    fmt: ReportFormat,
    out: Path,
    force: bool,
) -> None:
    """Check --out first (no work for a refused file), build, render, write atomically."""
    with _usage_errors():
        if out.exists() and not force:
            raise ReportError(f"--out {out} exists (use --force to replace it)")
        store = open_store()
        try:
            context = build(store)
        finally:
            store.dispose()
        write_report(out, render(template, context, fmt), force)
    typer.echo(f"wrote {out}")


@report_app.command("patient")
def patient_report(
    code: Annotated[str, typer.Argument(help="Patient code")],
    fmt: FormatOption = ReportFormat.PDF,
    out: OutOption = Path("patient-report.pdf"),
    force: ForceOption = False,
) -> None:
    """Diagnosis, therapy, courses, timeline figures, criteria per visit, adverse events,
    advice and the open alerts of the next course."""
    from myoivig.reports.patient import patient_context

    _produce(lambda store: patient_context(store, code), "patient.html", fmt, out, force)


@report_app.command("infusion")
def infusion_sheet(
    code: Annotated[str, typer.Argument(help="Patient code")],
    course: Annotated[int, typer.Option("--course", help="Course number (the next course)")],
    day: Annotated[int, typer.Option("--day", help="Infusion day of the course (1..days)")],
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")] = "2g/kg",
    product: Annotated[str | None, typer.Option(help="Product key (default: last course's)")] = (
        None
    ),
    days: Annotated[int | None, typer.Option(help="Infusion days of the course")] = None,
    weight_kg: Annotated[float | None, typer.Option(help="Today's weight (default: last)")] = None,
    height_cm: Annotated[float | None, typer.Option(help="Today's height")] = None,
    risk: Annotated[str | None, typer.Option(help="Extra comma-separated risk factors")] = None,
    ruled_out: Annotated[str | None, typer.Option(help="Risks asked and answered no")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="YAML file of protocol settings")
    ] = None,
    fmt: FormatOption = ReportFormat.PDF,
    out: OutOption = Path("infusion-sheet.pdf"),
    force: ForceOption = False,
) -> None:
    """The bedside sheet for one day of the next course: product, vials, pump rates with times,
    checks and signatures. A blocked plan gives no sheet (exit 3) unless every blocking alert
    has an override recorded for this plan (`myoivig plan CODE --override CODE="reason"`)."""
    from myoivig.protocol.inputs import parse_risks
    from myoivig.protocol.settings_file import load_settings
    from myoivig.reports.infusion import SheetBlocked, SheetRequest, infusion_context

    with _usage_errors():
        request = SheetRequest(
            code,
            course,
            day,
            PatientPlanOptions(
                regimen=regimen,
                product=product,
                days=days,
                weight_kg=weight_kg,
                height_cm=height_cm,
                extra_risks=parse_risks((risk or "").split(",")),
                ruled_out=parse_risks((ruled_out or "").split(","), "ruled_out"),
            ),
            load_settings(settings_file),
        )
    try:
        _produce(lambda store: infusion_context(store, request), "infusion.html", fmt, out, force)
    except SheetBlocked as blocked:
        for alert in blocked.outcome.blocking_alerts:
            err.print(f"[red]{alert.severity.value.upper()}[/red] {alert.code}: {alert.message}")
        raise _stop(f"NOT READY TO GIVE: {blocked}.", ExitCode.BLOCKED) from blocked


@report_app.command("cohort")
def cohort_report(
    trajectory_patient: Annotated[
        str | None,
        typer.Option(
            help="Stored patient with visits for the trajectory figure (default: the "
            "first one with myometry visits)"
        ),
    ] = None,
    fmt: FormatOption = ReportFormat.PDF,
    out: OutOption = Path("cohort-report.pdf"),
    force: ForceOption = False,
) -> None:
    """The 1998 trial's per-patient table and group results from stored data, where the paper
    disagrees with its own table, and a trajectory figure like the paper's patient 10."""
    from myoivig.reports.cohort import cohort_context

    _produce(
        lambda store: cohort_context(store, trajectory_patient), "cohort.html", fmt, out, force
    )


@report_app.command("review")
def review_report(
    name: Annotated[str, typer.Argument(help="Review name in the database")],
    fmt: FormatOption = ReportFormat.PDF,
    out: OutOption = Path("review-report.pdf"),
    force: ForceOption = False,
) -> None:
    """PRISMA 2020 diagram, included studies, appraisal, forest plot and GRADE summary of
    findings of a stored review (e.g. `myoivig review example --store NAME`)."""
    from myoivig.reports.review import review_context

    _produce(lambda store: review_context(store, name), "review.html", fmt, out, force)


def register(app: typer.Typer) -> None:
    """Add `myoivig report ...` to the root app."""
    app.add_typer(report_app, name="report")
