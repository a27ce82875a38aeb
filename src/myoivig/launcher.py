"""The `myoivig` console script: loads only the area whose command is run.

Importing every area (SciPy, matplotlib, SQLAlchemy, Alembic, scikit-learn, ...) takes seconds;
`myoivig meta batch` should not pay for the review engine. The root group therefore knows which
area owns each top-level command and imports that area on demand. `myoivig.cli.app` remains the
eager, complete application (used by tests and documentation); a test checks that both offer
exactly the same commands.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import typer
from typer.core import TyperGroup

AREA_MODULES = {
    "accounts": "myoivig.accounts.commands",
    "clinic": "myoivig.clinic.commands",
    "evidence": "myoivig.evidence.commands",
    "exchange": "myoivig.exchange.commands",
    "outcomes": "myoivig.outcomes.commands",
    "protocol": "myoivig.protocol.commands",
    "reports": "myoivig.reports.commands",
    "review": "myoivig.review.commands",
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

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMAND_AREAS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        area = COMMAND_AREAS.get(cmd_name)
        return None if area is None else area_group(area).get_command(ctx, cmd_name)


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
    """Console-script entry point."""
    root()(prog_name="myoivig")
