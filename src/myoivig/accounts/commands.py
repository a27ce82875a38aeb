"""Commands for accounts and sites: `myoivig users add|list|token`, `myoivig sites add`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from myoivig.command_store import cli_actor, open_store
from myoivig.exit_codes import ExitCode

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

users_app = typer.Typer(help="Accounts of the web application.", no_args_is_help=True)
sites_app = typer.Typer(
    help="Sites (clinics) that patients and users belong to.", no_args_is_help=True
)


def _refuse(error: Exception) -> typer.Exit:
    errors.print(f"[red]error:[/red] {error}", soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(ExitCode.REJECTED_INPUT)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[
        str, typer.Option("--role", help="admin, clinician, pharmacist, researcher or reviewer.")
    ],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Site code (repeatable).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user; without --password-stdin a password is generated and printed once, and the
    user must change it at their first sign-in."""
    from myoivig.accounts.service import AccountError, add_user, generate_password

    store = open_store(migrate=True)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generate_password()
    try:
        user = add_user(
            store,
            cli_actor(),
            name,
            role,
            list(site or []),
            password,
            must_change_password=not password_stdin,
        )
    except AccountError as error:
        raise _refuse(error) from error
    where = "all sites" if user.all_sites else ", ".join(sorted(user.site_codes)) or "no site"
    console.print(f"added {user.name} ({user.role.value}; {where})", highlight=False)
    if not password_stdin:
        console.print(f"password (shown once): {password}", highlight=False)
        console.print("(one-time: it must be changed at the first sign-in)", highlight=False)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List users with their role and sites (never passwords or tokens)."""
    from myoivig.accounts.service import list_users

    with open_store().session() as session:
        users = list_users(session)
    if as_json:
        rows = [
            {
                "name": u.name,
                "role": u.role.value,
                "sites": sorted(u.site_codes),
                "active": u.active,
                "must_change_password": u.must_change_password,
            }
            for u in users
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"{len(users)} users", title_justify="left")
    for column in ("Name", "Role", "Sites", "Active", "Must change password"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name,
            u.role.value,
            ", ".join(sorted(u.site_codes)),
            "yes" if u.active else "no",
            "yes" if u.must_change_password else "no",
        )
    console.print(table)


@users_app.command("token")
def users_token(
    name: str,
    label: Annotated[str | None, typer.Option("--label", help="What the token is for.")] = None,
) -> None:
    """Create an API token for NAME and print it once (use as `Authorization: Bearer <token>`)."""
    from myoivig.accounts.service import AccountError, create_token

    store = open_store()
    try:
        token = create_token(store, cli_actor(), name, label)
    except AccountError as error:
        errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from error
    console.print(f"API token for {name} (shown once, stored only as a hash):", highlight=False)
    sys.stdout.write(token + "\n")


@sites_app.command("add")
def sites_add(
    site_code: str,
    name: Annotated[str, typer.Option("--name", help="Full name of the site.")],
    country: Annotated[str | None, typer.Option("--country")] = None,
) -> None:
    """Add a site (clinic) that users and patients can belong to."""
    from myoivig.accounts.service import AccountError, add_site

    store = open_store(migrate=True)
    try:
        site = add_site(store, cli_actor(), site_code, name, country)
    except (AccountError, ValueError) as error:
        raise _refuse(error) from error
    console.print(f"added site {site.site_code} ({site.name})", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(sites_app, name="sites")
