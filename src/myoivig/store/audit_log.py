"""Reading the audit trail (written by `audit.py`): newest first, filtered, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from myoivig.store.tables import AuditRow


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    actor: str
    action: str
    table_name: str
    record_id: int | None
    record_version: int | None
    changes: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int


def audit_entries(
    session: Session,
    *,
    actor: str | None = None,
    table_name: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """Entries matching the filters (exact actor, exact table), newest first."""
    where = []
    if actor:
        where.append(AuditRow.actor == actor)
    if table_name:
        where.append(AuditRow.table_name == table_name)
    total = session.scalar(select(func.count()).select_from(AuditRow).where(*where)) or 0
    rows = session.scalars(
        select(AuditRow).where(*where).order_by(AuditRow.id.desc()).limit(limit).offset(offset)
    ).all()
    return AuditPage(
        entries=[
            AuditEntry(
                row.occurred_at,
                row.actor,
                row.action,
                row.table_name,
                row.record_id,
                row.record_version,
                row.changes,
            )
            for row in rows
        ],
        total=int(total),
    )


def audited_tables(session: Session) -> list[str]:
    return sorted(session.scalars(select(AuditRow.table_name).distinct()).all())
