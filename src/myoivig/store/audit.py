"""The audit trail: every write made through a store session is recorded, with who made it.

Hooks on the SQLAlchemy session stamp `updated_by`/`updated_at` before a flush and append one
`audit_log` row per inserted, changed or deleted record after it, in the same transaction, so a
change and its audit entry commit or roll back together. Read-only sessions refuse to flush.
Entries are links of a hash chain (`audit_chain.py`); a flush that writes takes the chain lock
before its first statement.

Large imports use `bulk_insert` instead: one multi-row INSERT per chunk and ONE audit entry that
lists every new id (per-row flushes and per-row audit entries made a 25,000-record import take
over a minute). Any other bulk INSERT/UPDATE/DELETE statement is still refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table, event, func, insert, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from myoivig.store import audit_chain, json_text
from myoivig.store.tables import Versioned

ACTOR_KEY = "myoivig.actor"
REASON_KEY = "myoivig.reason"
"""Why the unit of work changes or deletes records (a deletion's stated reason); kept in the
`changes` of its update and delete entries under `CHANGE_REASON`."""
CHANGE_REASON = "change_reason"
READ_ONLY_KEY = "myoivig.read_only"
SKIP = {"id", "version", "created_at", "updated_at", "updated_by"}
# Columns whose values never enter the audit trail: the entry says they changed, not to what.
SECRET_COLUMNS = {"password_hash", "token_hash"}
REDACTED = "[redacted]"
BULK_INSERT = "bulk_insert"
"""`audit_log.action` of the one entry `bulk_insert` writes for all rows of a call."""
_AUDITED_BULK = "myoivig.audited_bulk"
_AUDITED_TOKEN = object()  # only `bulk_insert` holds it; the bypass guard lets it through


class ReadOnlySessionError(RuntimeError):
    """A write was attempted in a session opened for reading."""


def _jsonable(value: Any, key: str = "") -> Any:
    if key in SECRET_COLUMNS and value is not None:
        return REDACTED
    if isinstance(value, bytes):  # e.g. a full-text PDF: its size and digest, not its bytes
        return f"[{len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}]"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _snapshot(obj: Versioned) -> dict[str, Any]:
    state: Any = inspect(obj)
    return {
        attr.key: _jsonable(attr.value, attr.key)
        for attr in state.attrs
        if attr.key in state.mapper.columns and attr.key not in SKIP
    }


def _diff(obj: Versioned) -> dict[str, Any]:
    state: Any = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.attrs:
        if attr.key not in state.mapper.columns or attr.key in SKIP:
            continue
        history = attr.history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before != after:
                changes[attr.key] = {
                    "from": _jsonable(before, attr.key),
                    "to": _jsonable(after, attr.key),
                }
    return changes


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(READ_ONLY_KEY):
        if session.new or session.dirty or session.deleted:
            raise ReadOnlySessionError("this session is read-only; use Store.unit_of_work(actor)")
        return
    actor = session.info.get(ACTOR_KEY)
    now = datetime.now(UTC)
    # `session.new`/`session.dirty` build a new set on every access: read them once, or a
    # 30,000-row import spends minutes rebuilding them inside this loop.
    new, dirty = session.new, session.dirty
    writes = any(isinstance(obj, Versioned) for obj in session.deleted)
    for obj in list(new) + list(dirty):
        if not isinstance(obj, Versioned):
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue
        if not actor:
            raise PermissionError("writes need an actor: use Store.unit_of_work(actor=...)")
        if obj in new:
            obj.created_at = now
        obj.updated_at = now
        obj.updated_by = actor
        writes = True
    if writes:  # the chain lock first, then the rows' locks: writers cannot deadlock on it
        audit_chain.lock_head(session.connection())


def _after_flush(session: Session, flush_context: Any) -> None:
    actor = session.info.get(ACTOR_KEY)
    reason = session.info.get(REASON_KEY)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for action, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not isinstance(obj, Versioned):
                continue
            changes = _snapshot(obj) if action != "update" else _diff(obj)
            if action == "update" and not changes:
                continue
            if reason and action != "insert":
                changes = {**changes, CHANGE_REASON: reason}
            rows.append(
                {
                    "occurred_at": now,
                    "actor": actor,
                    "action": action,
                    "table_name": obj.__tablename__,  # type: ignore[attr-defined]
                    "record_id": obj.id,
                    "record_version": obj.version,
                    "changes": changes,
                }
            )
    audit_chain.append(session.connection(), rows)


class BulkWriteError(PermissionError):
    """Bulk INSERT/UPDATE/DELETE statements would bypass the audit trail."""


def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if state.execution_options.get(_AUDITED_BULK) is _AUDITED_TOKEN:
        return  # bulk_insert: its audit entry is written in the same transaction
    if state.is_insert or state.is_update or state.is_delete:
        raise BulkWriteError(
            "bulk insert/update/delete statements bypass the audit trail; "
            "change records through the session (add, attribute changes, delete) or insert "
            "many rows with myoivig.store.audit.bulk_insert"
        )


def bulk_insert(
    session: Session,
    model: type[Versioned],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str | None = None,
    context: Mapping[str, Any] | None = None,
    chunk_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    audit_each_row: bool = False,
) -> list[int]:
    """Insert many new rows of one versioned table and write ONE audit entry listing them.

    With `audit_each_row` each row gets its own "insert" entry instead, holding the row as
    stored, exactly what an ORM insert records (`_after_flush`): a patient's audit page then
    shows every record of a clinical import, while the rows still go in by the bulk path
    (loading the demo clinic record by record through the ORM took most of `myoivig run`).

    The entry (`action` "bulk_insert", the table, the actor) lists every new primary key in
    `changes["ids"]`, the rows' `key` column values (e.g. a review's record ids) in
    `changes["keys"]`, and `context` (e.g. the import batch). Rows and entry are written in the
    caller's unit of work, so they commit or roll back together. JSON columns take dicts or
    `JsonText`. Returns the new ids in row order; `progress(done, total)` follows the writes.

    PostgreSQL gets the rows by COPY (a multi-row INSERT there spends most of its time in the
    driver rewriting parameters); SQLite by one executemany per chunk. Neither returns ids in a
    guaranteed order, so the ids are read back afterwards: the rows above the table's highest id
    before the insert that carry this call's exact timestamp and actor.
    """
    if session.info.get(READ_ONLY_KEY):
        raise ReadOnlySessionError("this session is read-only; use Store.unit_of_work(actor)")
    actor = session.info.get(ACTOR_KEY)
    if not actor:
        raise PermissionError("writes need an actor: use Store.unit_of_work(actor=...)")
    stamped_by_caller = {name for row in rows for name in SKIP.intersection(row)}
    if stamped_by_caller:
        raise ValueError(f"bulk_insert sets {sorted(stamped_by_caller)} itself")
    if not rows:
        return []
    session.flush()
    table: Table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    audit_chain.lock_head(connection)
    highest_before = connection.execute(select(func.max(table.c.id))).scalar() or 0
    now = datetime.now(UTC)
    stamp = {"version": 1, "created_at": now, "updated_at": now, "updated_by": actor}
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, rows, stamp, chunk_size, progress)
    else:
        statement = insert(table)
        for start in range(0, len(rows), chunk_size):
            part = [{**row, **stamp} for row in rows[start : start + chunk_size]]
            session.execute(statement, part, execution_options={_AUDITED_BULK: _AUDITED_TOKEN})
            if progress is not None:
                progress(start + len(part), len(rows))
    ids = list(
        connection.execute(
            select(table.c.id)
            .where(table.c.id > highest_before, table.c.created_at == now)
            .where(table.c.updated_by == actor)
            .order_by(table.c.id)
        ).scalars()
    )
    if len(ids) != len(rows):
        raise RuntimeError(
            f"bulk_insert into {table.name}: wrote {len(rows)} rows, found {len(ids)}"
        )
    if audit_each_row:
        audit_chain.append(connection, _row_entries(connection, table, ids, now, actor, chunk_size))
        return ids
    changes: dict[str, Any] = {"count": len(ids), "ids": ids}
    if key is not None:
        changes["key"] = key
        changes["keys"] = [_jsonable(row[key]) for row in rows]
    if context:
        changes["context"] = {name: _jsonable(value) for name, value in context.items()}
    entry = {
        "occurred_at": now,
        "actor": actor,
        "action": BULK_INSERT,
        "table_name": table.name,
        "record_id": None,
        "record_version": 1,
        "changes": changes,
    }
    audit_chain.append(connection, [entry])
    return ids


def _row_entries(
    connection: Connection,
    table: Table,
    ids: Sequence[int],
    now: datetime,
    actor: str,
    chunk_size: int,
) -> list[dict[str, Any]]:
    """One "insert" entry per new row, its values read back as stored (defaults included)."""
    columns = [c for c in table.c if c.key not in SKIP]
    entries: list[dict[str, Any]] = []
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        stored = connection.execute(
            select(table.c.id, *columns).where(table.c.id.in_(chunk)).order_by(table.c.id)
        )
        for row in stored:
            values = row._mapping
            entries.append(
                {
                    "occurred_at": now,
                    "actor": actor,
                    "action": "insert",
                    "table_name": table.name,
                    "record_id": values["id"],
                    "record_version": 1,
                    "changes": {c.key: _jsonable(values[c.key], c.key) for c in columns},
                }
            )
    return entries


def _copy_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    stamp: Mapping[str, Any],
    chunk_size: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Write rows with PostgreSQL COPY on the unit of work's own connection (same transaction)."""
    names = [*rows[0].keys(), *stamp.keys()]
    json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
    quote = connection.dialect.identifier_preparer.quote
    command = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    raw: Any = connection.connection.driver_connection
    dbapi: Any = connection.dialect.dbapi
    try:
        _write_copy(raw, command, rows, json_columns, tuple(stamp.values()), chunk_size, progress)
    except dbapi.Error as error:  # the same exception classes as any other statement
        raise DBAPIError.instance(
            command, None, error, dbapi.Error, dialect=connection.dialect
        ) from error


def _write_copy(
    raw: Any,
    command: str,
    rows: Sequence[Mapping[str, Any]],
    json_columns: set[str],
    fixed: tuple[Any, ...],
    chunk_size: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    with raw.cursor() as cursor, cursor.copy(command) as copy:
        for done, row in enumerate(rows, start=1):
            if row.keys() != rows[0].keys():
                raise ValueError(f"bulk_insert rows must have the same columns (row {done})")
            values = tuple(
                json_text.dumps(row[name])
                if name in json_columns and row[name] is not None
                else row[name]
                for name in rows[0]
            )
            copy.write_row(values + fixed)
            if progress is not None and (done % chunk_size == 0 or done == len(rows)):
                progress(done, len(rows))


def install(session_factory: Any) -> None:
    """Attach the audit hooks to a sessionmaker."""
    event.listen(session_factory, "before_flush", _before_flush)
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "do_orm_execute", _refuse_bulk_writes)
