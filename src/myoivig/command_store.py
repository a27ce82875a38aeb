"""Opening the configured store for a command line call, the same way in every area.

A missing, unreachable or outdated database is a one-line error and exit code 2, never a
traceback. Kept apart from the areas' command modules so that each area can use it without
importing another area (the console script loads one area at a time).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from myoivig import terminal
from myoivig.exit_codes import ExitCode
from myoivig.store.errors import StoreError

if TYPE_CHECKING:  # SQLAlchemy is imported only when a command opens the store
    from myoivig.store.store import Store

_errors = terminal.console(stderr=True)


def open_store(*, migrate: bool = False) -> Store:
    """The store named by MYOIVIG_DATABASE_URL; `migrate` creates or upgrades the schema first."""
    from myoivig.store.store import Store

    try:
        store = Store.default()
        if migrate:
            store.upgrade()
        else:
            store.require_current()
    except StoreError as error:
        _errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from error
    return store


def cli_actor() -> str:
    """Who a command line write is recorded as: MYOIVIG_ACTOR, else the login name."""
    return os.environ.get("MYOIVIG_ACTOR") or os.environ.get("USER") or "cli"
