"""The `myoivig` console script: loads only the area whose command is run.

Importing every area (SciPy, matplotlib, SQLAlchemy, Alembic, scikit-learn, ...) takes seconds;
`myoivig meta batch` should not pay for the review engine. The root group therefore knows which
area owns each top-level command and imports that area on demand. `myoivig.cli.app` remains the
eager, complete application (used by tests and documentation); a test checks that both offer
exactly the same commands.

`myoivig --help` lists every command with its one-line help; importing all five areas for that
would take about a second, so the root's help is drawn from `COMMAND_HELP` (a test checks that
it says what each command's own help says).
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

AREA_MODULES = {
    "accounts": "myoivig.accounts.commands",
    "clinic": "myoivig.clinic.commands",
    "evidence": "myoivig.evidence.commands",
    "exchange": "myoivig.exchange.commands",
    "outcomes": "myoivig.outcomes.commands",
    "protocol": "myoivig.protocol.commands",
    "reports": "myoivig.reports.commands",
    "review": "myoivig.review.commands",
    "store": "myoivig.store.commands",
    "web": "myoivig.web.commands",
}

COMMAND_AREAS = {
    "init": "clinic",
    "import": "exchange",
    "export": "exchange",
    "dictionary": "clinic",
    "run": "clinic",
    "demo": "clinic",
    "patients": "clinic",
    "patient": "clinic",
    "meta": "evidence",
    "score": "outcomes",
    "outcomes": "outcomes",
    "cohort": "outcomes",
    "dose": "protocol",
    "plan": "protocol",
    "advise": "protocol",
    "protocol": "protocol",
    "report": "reports",
    "review": "review",
    "users": "accounts",
    "sites": "accounts",
    "serve": "web",
    "audit": "store",
    "backup": "store",
    "restore": "store",
}

COMMAND_HELP = {
    "init": "Create the database (or upgrade it to the current schema).",
    "import": "Import atomically: the tabular format (default), a REDCap project or a FHIR Bundle.",
    "export": "Export: the tabular format (default), REDCap, FHIR R4 or analysis-ready tables.",
    "report": "Printable reports (HTML or PDF): patient, infusion sheet, cohort, review.",
    "dictionary": "Print (or write) the data dictionary of the tabular format, generated from the "
    "models.",
    "run": "The main job: set up the database, load both example datasets if empty, show the "
    "overview, then serve the clinic web application (prints where to sign in).",
    "demo": "The bundled example data: the 1998 trial cohort (16 patients) and the SYNTHETIC demo "
    "clinic (60 generated patients with visits).",
    "patients": "List patients.",
    "patient": "One patient.",
    "meta": "Meta-analysis (metafor conventions): effect sizes, pooled models, plots, batch fits.",
    "score": "Score TIS (ACR/EULAR 2016) and IMACS DOI for every row; all-or-nothing output.",
    "outcomes": "One patient's outcomes from stored assessments: run-in baseline and trend, "
    "myometry, MRC, functional tasks, CK, TIS, IMACS DOI, the trial's response rule, ProDERM "
    "deterioration.",
    "cohort": "The 1998 trial reproduced from the stored cohort (load it with `myoivig demo "
    "load`).",
    "dose": "Plan one IVIg course: dosing weight, grams, vials, rate steps and safety alerts.",
    "plan": "Plan the next course of a stored patient; missing weight/height are reported, not "
    "guessed.",
    "advise": "Continuation advice for a stored patient, naming the rule that fired.",
    "protocol": "IVIg protocol engine: products, regimens, schedules.",
    "review": "Systematic review: protocol, import, search, dedup, extraction, appraisal, PRISMA.",
    "users": "Accounts of the web application.",
    "sites": "Sites (clinics) that patients and users belong to.",
    "serve": "Serve the clinic web application and its API (/api/v1) for MYOIVIG_DATABASE_URL.",
    "audit": "The audit trail: check that no entry was edited, inserted or deleted.",
    "backup": "Back up the whole database to one file (consistent while the server writes).",
    "restore": "Replace the database with a backup, all or nothing (a database holding data "
    "needs --force).",
}


@cache
def area_group(area: str) -> Any:
    """The click group holding one area's commands (imports the area)."""
    sub = typer.Typer()
    sub.callback()(lambda: None)  # a callback keeps it a group even with one command
    importlib.import_module(AREA_MODULES[area]).register(sub)
    group = typer.main.get_command(sub)
    assert isinstance(group, TyperGroup)
    return group


class LazyRoot(TyperGroup):
    """Root group that imports an area only when one of its commands is needed."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMAND_AREAS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        area = COMMAND_AREAS.get(cmd_name)
        if area is None:
            return None
        if self._listing:  # the root's own --help: name and one line, no area imported
            return TyperCommand(cmd_name, help=COMMAND_HELP[cmd_name])
        return area_group(area).get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def root() -> TyperGroup:
    app = typer.Typer(
        name="myoivig",
        cls=LazyRoot,
        help="IVIg for inflammatory myopathies: clinic, research and evidence synthesis.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(lambda: None)
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return group


def main() -> None:
    """Console-script entry point. A database that fails in the middle of any command (its disk
    full, its server gone) is one line on stderr and exit code 2, never a traceback; the
    command's unit of work was rolled back."""
    from myoivig.exit_codes import ExitCode
    from myoivig.store.errors import StoreError

    try:
        root()(prog_name="myoivig")
    except StoreError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(int(ExitCode.USAGE))
