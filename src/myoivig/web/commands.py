"""`myoivig serve`: the web application for the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from myoivig.command_store import open_store
from myoivig.exit_codes import ExitCode

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        help="Server processes (one per CPU core serves more users at once; with more than "
        "one, set MYOIVIG_JOBS=redis so background jobs are shared).",
    ),
]


def serve_command(host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1) -> None:
    """Serve the clinic web application and its API (/api/v1) for MYOIVIG_DATABASE_URL."""
    from myoivig.accounts.service import user_count
    from myoivig.jobs import JobError
    from myoivig.web.launch import serve
    from myoivig.web.settings import SettingsError, WebSettings

    try:
        settings = WebSettings.from_env()
    except SettingsError as error:
        errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from error
    store = open_store()
    if user_count(store) == 0:
        console.print(
            "no accounts yet: add one with `myoivig users add NAME --role admin`", highlight=False
        )
    try:
        serve(
            store,
            settings,
            host,
            port,
            lambda line: console.print(line, highlight=False),
            workers,
        )
    except JobError as error:  # MYOIVIG_JOBS=redis and Redis is not reachable
        errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from error


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
