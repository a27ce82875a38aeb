"""Opening the configured store for a command line call, the same way in every area.

A missing, unreachable or outdated database is a one-line error and exit code 2, never a
traceback. Kept apart from the areas' command modules so that each area can use it without
importing another area (the console script loads one area at a time).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from myoivig.store.errors import StoreError

if TYPE_CHECKING:  # SQLAlchemy is imported only when a command opens the store
    from myoivig.store.store import Store

_errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def open_store(*, migrate: bool = False) -> Store:
    """The store named by MYOIVIG_DATABASE_URL; `migrate` creates or upgrades the schema first."""
    from myoivig.store.store import Store

    store = Store.default()
    try:
        if migrate:
            store.upgrade()
        else:
            store.require_current()
    except StoreError as error:
        _errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
        raise typer.Exit(2) from error
    return store
