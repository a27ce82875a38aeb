"""The audit trail: every write made through a store session is recorded, with who made it.

Hooks on the SQLAlchemy session stamp `updated_by`/`updated_at` before a flush and append one
`audit_log` row per inserted, changed or deleted record after it, in the same transaction, so a
change and its audit entry commit or roll back together. Read-only sessions refuse to flush.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from myoivig.store.tables import AuditRow, Versioned

ACTOR_KEY = "myoivig.actor"
READ_ONLY_KEY = "myoivig.read_only"
SKIP = {"id", "version", "created_at", "updated_at", "updated_by"}
# Columns whose values never enter the audit trail: the entry says they changed, not to what.
SECRET_COLUMNS = {"password_hash", "token_hash"}
REDACTED = "[redacted]"


class ReadOnlySessionError(RuntimeError):
    """A write was attempted in a session opened for reading."""


def _jsonable(value: Any, key: str = "") -> Any:
    if key in SECRET_COLUMNS and value is not None:
        return REDACTED
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


def _after_flush(session: Session, flush_context: Any) -> None:
    actor = session.info.get(ACTOR_KEY)
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
    if rows:
        session.connection().execute(insert(AuditRow), rows)


class BulkWriteError(PermissionError):
    """Bulk INSERT/UPDATE/DELETE statements would bypass the audit trail."""


def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise BulkWriteError(
            "bulk insert/update/delete statements bypass the audit trail; "
            "change records through the session (add, attribute changes, delete)"
        )


def install(session_factory: Any) -> None:
    """Attach the audit hooks to a sessionmaker."""
    event.listen(session_factory, "before_flush", _before_flush)
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "do_orm_execute", _refuse_bulk_writes)
