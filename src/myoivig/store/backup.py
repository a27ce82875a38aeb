"""Backup and restore of a whole myoivig database, consistent while the server writes.

A backup file is a ZIP archive of two members: `manifest.json` (backend, schema revision, row
count of every table, audit chain head, when) and the database itself, taken from one snapshot:

- SQLite: `database.sqlite`, a copy made with SQLite's online backup API in one step (one read
  transaction, so writers that commit meanwhile are either wholly in it or not at all);
- PostgreSQL: `database.pgdump`, `pg_dump --format=custom` run on a snapshot exported by the
  transaction that also read the manifest, so manifest and dump describe the same moment.

Restore refuses a backup of a schema newer than this myoivig knows (naming both revisions), a
backup of the other backend, and a target database that already holds data unless `force` is
given. It is all or nothing: SQLite copies the checked staging file into the target in one
backup step (one write transaction); PostgreSQL drops the old tables and loads the dump in one
`psql --single-transaction` run. A backup of an older schema is upgraded after restoring.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, func, inspect, select, text
from sqlalchemy.engine import URL

from myoivig.atomic_files import OutputPathError, check_output, replacing
from myoivig.store.audit_chain import verify_chain
from myoivig.store.store import Store

FORMAT = "myoivig-backup/1"
MANIFEST = "manifest.json"
PAYLOAD = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
BOOKKEEPING = {"alembic_version", "audit_chain_head", "audit_chain_checkpoint"}
"""Tables an empty, initialised database already fills; they do not make it 'holding data'."""


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message says why and what to do."""


class TargetHoldsDataError(BackupError):
    """Restoring would replace records and `force` was not given."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written beside the database copy and checked on restore."""

    backend: str
    revision: str
    created_at: str
    tables: dict[str, int]
    audit_entries: int
    audit_head: str
    audit_chain_ok: bool
    format: str = FORMAT
    source: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path) -> Manifest:
        if data.get("format") != FORMAT:
            raise BackupError(f"{path}: not a myoivig backup (format {data.get('format')!r})")
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        except TypeError as error:
            raise BackupError(f"{path}: the backup's manifest is incomplete: {error}") from error


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    upgraded_to: str | None = None
    replaced: dict[str, int] = field(default_factory=dict)


# --- reading a database -------------------------------------------------------------------------


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table (every table in the database, bookkeeping included), by name."""
    metadata = MetaData()
    metadata.reflect(connection)
    return {
        name: int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
        for name, table in sorted(metadata.tables.items())
    }


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def _manifest(store: Store, connection: Connection) -> Manifest:
    revision = _revision(connection)
    if revision is None:
        raise BackupError(f"database {store.safe_url} holds no myoivig schema: nothing to back up")
    from sqlalchemy.orm import Session

    tables = table_counts(connection)
    entries, head, chain_ok = tables.get("audit_log", 0), "", False
    if "audit_chain_head" in tables:  # schemas before 0009 have no chain to check
        with Session(bind=connection) as session:
            check = verify_chain(session)
        entries, head, chain_ok = check.entries, check.head_hash, check.ok
    return Manifest(
        backend=store.engine.dialect.name,
        revision=revision,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tables=tables,
        audit_entries=entries,
        audit_head=head,
        audit_chain_ok=chain_ok,
        source=store.safe_url,
    )


def all_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, each table in primary-key order: what a round trip must keep."""
    metadata = MetaData()
    with store.engine.connect() as connection:
        metadata.reflect(connection)
        return {
            name: [
                tuple(row)
                for row in connection.execute(
                    select(table).order_by(
                        *(list(table.primary_key.columns) or list(table.columns))
                    )
                )
            ]
            for name, table in sorted(metadata.tables.items())
        }


def data_tables(store: Store) -> dict[str, int]:
    """The tables of the store that hold rows (bookkeeping aside); empty for a new database."""
    if not store.exists():
        return {}
    with store.engine.connect() as connection:
        counts = table_counts(connection)
    return {name: n for name, n in counts.items() if n and name not in BOOKKEEPING}


# --- writing a backup ---------------------------------------------------------------------------


def backup(store: Store, out: Path, *, force: bool = False) -> Manifest:
    """Write a backup of `store` to `out`; an existing `out` is replaced only with `force`."""
    if not store.exists():
        raise BackupError(f"no database at {store.engine.url.database}: nothing to back up")
    store.current_revision()  # an unreachable database is a StoreError naming it
    if out.exists() and not force:
        raise OutputPathError(f"{out} already exists; pass --force to replace it")
    check_output(out)
    backend = store.engine.dialect.name
    with tempfile.TemporaryDirectory(prefix=".myoivig-backup-", dir=out.parent) as folder:
        payload = Path(folder) / PAYLOAD[backend]
        if backend == "sqlite":
            manifest = _sqlite_snapshot(store, payload)
        else:
            manifest = _postgres_snapshot(store, payload)
        with replacing(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(asdict(manifest), indent=2))
            archive.write(payload, PAYLOAD[backend])
    return manifest


def _sqlite_file(store: Store) -> Path:
    database = store.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_snapshot(store: Store, payload: Path) -> Manifest:
    source_path = _sqlite_file(store)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}: nothing to back up")
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(payload)
    try:
        source.backup(target)  # pages=-1: the whole database in one step, one read transaction
    finally:
        target.close()
        source.close()
    copy = Store(f"sqlite:///{payload}")
    try:
        with copy.engine.connect() as connection:
            manifest = _manifest(copy, connection)
    finally:
        copy.dispose()
    return Manifest(**{**asdict(manifest), "source": store.safe_url})


def pg_tool(name: str, server_major: int) -> str:
    """The client program `name` of the server's major version (pg_dump must not be older)."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if not candidate.exists():
            continue
        version = subprocess.run(
            [str(candidate), "--version"], capture_output=True, text=True, check=False
        ).stdout
        words = version.split()
        if words and words[-1].split(".")[0].isdigit():
            major = int(words[-1].split(".")[0])
        else:
            major = int(next((w.split(".")[0] for w in words if w[:1].isdigit()), "0"))
        if major >= server_major:
            return str(candidate)
    raise BackupError(
        f"{name} for PostgreSQL {server_major} (or newer) was not found in "
        f"/usr/lib/postgresql/{server_major}/bin or on PATH: install postgresql-client-"
        f"{server_major}"
    )


def server_major(connection: Connection) -> int:
    return int(str(connection.execute(text("SHOW server_version_num")).scalar())) // 10000


def libpq_options(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for the client programs; the password goes in the environment, never
    on the command line (where `ps` would show it)."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", str(url.database)]
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[0] if lines else f'exit {result.returncode}'}")


def _postgres_snapshot(store: Store, payload: Path) -> Manifest:
    with store.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar())
            manifest = _manifest(store, connection)
            pg_dump = pg_tool("pg_dump", server_major(connection))
            args, env = libpq_options(store.engine.url)
            _run(
                [
                    pg_dump,
                    *args,
                    f"--snapshot={snapshot}",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--schema=public",
                    "--file",
                    str(payload),
                ],
                env,
                "pg_dump",
            )
    return manifest


# --- restoring ----------------------------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    """The manifest of a backup file, or a BackupError saying why the file is not one."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such backup file")
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise BackupError(f"{path}: not a myoivig backup file ({error})") from error
    return Manifest.from_json(data, path)


def _known_revisions(store: Store) -> list[str]:
    from alembic.script import ScriptDirectory

    from myoivig.store.store import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(store.url))
    return [script.revision for script in scripts.walk_revisions()]


def check_restorable(store: Store, manifest: Manifest, path: Path, *, force: bool) -> None:
    """Refuse the other backend, a newer schema, or replacing data without `force`."""
    if store.exists():
        store.current_revision()  # an unreachable database is a StoreError naming it
    backend = store.engine.dialect.name
    if manifest.backend != backend:
        raise BackupError(
            f"{path} is a backup of a {manifest.backend} database and cannot be restored into "
            f"the {backend} database {store.safe_url}; restore it into a {manifest.backend} "
            "database, or move records between backends with `myoivig export`/`import`"
        )
    head = store.head_revision()
    if manifest.revision not in _known_revisions(store):
        raise BackupError(
            f"{path} was made at schema revision {manifest.revision!r}, newer than (or unknown "
            f"to) this myoivig, whose newest schema revision is {head!r}: restore it with the "
            "myoivig version that wrote it, or upgrade myoivig first"
        )
    holding = data_tables(store)
    if holding and not force:
        shown = ", ".join(f"{name} {n}" for name, n in sorted(holding.items())[:6])
        more = "" if len(holding) <= 6 else f" and {len(holding) - 6} more tables"
        raise TargetHoldsDataError(
            f"the database {store.safe_url} already holds data ({shown}{more} rows); restoring "
            "would replace all of it: pass --force to replace it, or restore into an empty "
            "database"
        )


def restore(store: Store, path: Path, *, force: bool = False) -> RestoreResult:
    """Replace the database of `store` with the backup at `path`, all or nothing."""
    manifest = read_manifest(path)
    check_restorable(store, manifest, path, force=force)
    replaced = data_tables(store)
    with _extracted(path, manifest) as payload:
        if manifest.backend == "sqlite":
            _sqlite_restore(store, payload, manifest, path)
        else:
            _postgres_restore(store, payload)
    store.dispose()  # pooled connections must not keep the replaced database's state
    upgraded = None
    if manifest.revision != store.head_revision():
        store.upgrade()
        upgraded = store.current_revision()
    return RestoreResult(manifest, upgraded, replaced)


@contextmanager
def _extracted(path: Path, manifest: Manifest) -> Iterator[Path]:
    member = PAYLOAD[manifest.backend]
    with tempfile.TemporaryDirectory(prefix=".myoivig-restore-") as folder:
        try:
            with zipfile.ZipFile(path) as archive:
                archive.extract(member, folder)
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise BackupError(f"{path}: cannot read {member} from the backup ({error})") from error
        yield Path(folder) / member


def _check_staged(payload: Path, manifest: Manifest, path: Path) -> None:
    """The staged SQLite copy is intact and is what the manifest describes."""
    connection = sqlite3.connect(payload)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path}: the database in the backup is damaged ({error})") from error
    finally:
        connection.close()
    if not result or result[0] != "ok":
        raise BackupError(f"{path}: the database in the backup is damaged ({result})")
    staged = Store(f"sqlite:///{payload}")
    try:
        with staged.engine.connect() as sql:
            counts = table_counts(sql)
    finally:
        staged.dispose()
    if counts != manifest.tables:
        raise BackupError(f"{path}: the database does not hold the rows its manifest lists")


def _sqlite_restore(store: Store, payload: Path, manifest: Manifest, path: Path) -> None:
    _check_staged(payload, manifest, path)
    target_path = _sqlite_file(store)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    store.dispose()
    source = sqlite3.connect(payload)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target)  # one step: the target changes in one write transaction
    finally:
        target.close()
        source.close()


def _postgres_restore(store: Store, payload: Path) -> None:
    with store.engine.connect() as connection:
        major = server_major(connection)
    pg_restore, psql = pg_tool("pg_restore", major), pg_tool("psql", major)
    args, env = libpq_options(store.engine.url)
    with tempfile.TemporaryDirectory(prefix=".myoivig-restore-sql-") as folder:
        script = Path(folder) / "restore.sql"
        _run(
            [pg_restore, "--no-owner", "--no-privileges", "--file", str(script), str(payload)],
            env,
            "pg_restore",
        )
        body = script.read_text(encoding="utf-8")
        script.write_text(
            "DROP SCHEMA IF EXISTS public CASCADE;\n" + body,  # the dump creates it again
            encoding="utf-8",
        )
        store.dispose()  # the pool's idle connections would keep old tables' locks otherwise
        _run(
            [
                psql,
                *args,
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set",
                "ON_ERROR_STOP=1",
                "--file",
                str(script),
            ],
            env,
            "loading the backup with psql (nothing was changed)",
        )
