"""Commands that keep the database safe: `audit verify`, `backup`, `restore`.

The work is done by `store/audit_chain.py` and `store/backup.py`; these commands open the
configured store, call them, print the result and choose the exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from myoivig import terminal
from myoivig.atomic_files import OutputPathError
from myoivig.command_store import open_store
from myoivig.exit_codes import ExitCode
from myoivig.store.errors import StoreError

console = terminal.console()
errors = terminal.console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Force = Annotated[bool, typer.Option("--force", help="Replace what is already there.")]

audit_app = typer.Typer(
    help="The audit trail: check that no entry was edited, inserted or deleted.",
    no_args_is_help=True,
)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fail(message: str, code: ExitCode) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _anchors(given: list[str]) -> dict[int, str]:
    anchors: dict[int, str] = {}
    for text in given:
        position, _, digest = text.partition(":")
        if not position.strip().isdigit() or len(digest.strip()) != 64:
            raise _fail(
                f"--anchor {text!r}: give POSITION:HASH as printed by an earlier `audit verify`",
                ExitCode.USAGE,
            )
        anchors[int(position)] = digest.strip().lower()
    return anchors


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="POSITION:HASH kept from an earlier run (repeatable): a history rewritten "
            "with recomputed hashes no longer matches it.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute the audit hash chain: OK with the count, or the first edited, inserted or
    deleted entry (exit code 1)."""
    from myoivig.store.audit_chain import verify_chain

    anchors = _anchors(anchor or [])
    store = open_store()
    with store.session() as session:
        check = verify_chain(session, anchors)
    if as_json:
        _print_json(
            {
                "ok": check.ok,
                "entries": check.entries,
                "head": check.head_hash,
                "problem": check.problem,
                "entry_id": check.entry_id,
            }
        )
    elif check.ok:
        console.print(check.summary(), highlight=False, soft_wrap=True)
    else:
        errors.print(f"[red]{check.summary()}[/red]", highlight=False, soft_wrap=True)
    if not check.ok:
        raise typer.Exit(ExitCode.REJECTED_INPUT)


def backup_command(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
    force: Force = False,
    as_json: JsonFlag = False,
) -> None:
    """Back up the whole database to one file (consistent while the server writes)."""
    from dataclasses import asdict

    from myoivig.store.backup import BackupError, backup
    from myoivig.store.store import Store

    try:  # any schema revision: a backup is what one takes before upgrading
        store = Store.default()
        manifest = backup(store, out, force=force)
    except OutputPathError as error:
        raise _fail(str(error), ExitCode.USAGE) from error
    except (BackupError, StoreError) as error:
        raise _fail(str(error), ExitCode.USAGE) from error
    if as_json:
        _print_json({"ok": True, "out": str(out), **asdict(manifest)})
        return
    rows = sum(manifest.tables.values())
    console.print(
        f"backup written to {out}: schema {manifest.revision}, {len(manifest.tables)} tables, "
        f"{rows} rows, {manifest.audit_entries} audit entries (chain head {manifest.audit_head})",
        highlight=False,
        soft_wrap=True,
    )
    if not manifest.audit_chain_ok:
        errors.print(
            "[yellow]warning:[/yellow] the audit chain does not verify; run `myoivig audit "
            "verify` (the backup holds the database as it is)",
            highlight=False,
            soft_wrap=True,
        )


def restore_command(
    path: Annotated[Path, typer.Argument(help="A file written by `myoivig backup`.")],
    force: Force = False,
    as_json: JsonFlag = False,
) -> None:
    """Replace the database with a backup, all or nothing (a database holding data needs
    --force)."""
    from dataclasses import asdict

    from myoivig.store.backup import BackupError, TargetHoldsDataError, restore
    from myoivig.store.store import Store

    try:
        store = Store.default()
        result = restore(store, path, force=force)
    except (FileNotFoundError, TargetHoldsDataError) as error:
        raise _fail(str(error), ExitCode.USAGE) from error
    except BackupError as error:
        raise _fail(str(error), ExitCode.REJECTED_INPUT) from error
    except StoreError as error:
        raise _fail(str(error), ExitCode.USAGE) from error
    manifest = result.manifest
    if as_json:
        _print_json({"ok": True, "restored": asdict(manifest), "upgraded_to": result.upgraded_to})
        return
    console.print(
        f"restored {path} into {store.safe_url}: schema {manifest.revision}, "
        f"{sum(manifest.tables.values())} rows, {manifest.audit_entries} audit entries"
        + (f"; upgraded to schema {result.upgraded_to}" if result.upgraded_to else ""),
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
