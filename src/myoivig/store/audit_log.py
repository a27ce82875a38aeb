"""Reading the audit trail (written by `audit.py`): newest first, filtered, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from myoivig.clinic.tables import InfusionDayRow
from myoivig.store.tables import (
    AdverseEventRow,
    AssessmentRow,
    AuditRow,
    CoreSetRow,
    CourseRow,
    EnzymeRow,
    FunctionalTaskRow,
    LabResultRow,
    MuscleGradeRow,
    MyometryRow,
    PatientRow,
    ReportedOutcomeRow,
    TherapyRow,
)

RecordKeys = dict[str, set[int]]
"""Record ids per table: the rows that make up one patient's record."""


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
    since: datetime | None = None,
    before: datetime | None = None,
    records: RecordKeys | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """Entries matching the filters (exact actor, exact table, `since` <= time < `before`,
    one of `records`), newest first."""
    where: list[Any] = []
    if actor:
        where.append(AuditRow.actor == actor)
    if table_name:
        where.append(AuditRow.table_name == table_name)
    if since is not None:
        where.append(AuditRow.occurred_at >= since)
    if before is not None:
        where.append(AuditRow.occurred_at < before)
    if records is not None:
        where.append(
            or_(
                false(),
                *(
                    and_(AuditRow.table_name == table, AuditRow.record_id.in_(sorted(ids)))
                    for table, ids in records.items()
                    if ids
                ),
            )
        )
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


def patient_records(session: Session, code: str) -> RecordKeys | None:
    """The rows of one patient's record (the patient, its courses and their infusion days,
    assessments and their measurements, labs, events, therapies), or None when there is no such
    patient."""
    patient_id = session.scalar(select(PatientRow.id).where(PatientRow.code == code))
    if patient_id is None:
        return None
    keys: RecordKeys = {PatientRow.__tablename__: {patient_id}}
    for table in (
        CourseRow,
        AssessmentRow,
        LabResultRow,
        AdverseEventRow,
        TherapyRow,
        ReportedOutcomeRow,
        InfusionDayRow,
    ):
        keys[table.__tablename__] = set(
            session.scalars(select(table.id).where(table.patient_id == patient_id))
        )
    assessments = sorted(keys[AssessmentRow.__tablename__])
    for child in (MyometryRow, MuscleGradeRow, FunctionalTaskRow, CoreSetRow, EnzymeRow):
        keys[child.__tablename__] = set(
            session.scalars(select(child.id).where(child.assessment_id.in_(assessments)))
        )
    # Rows deleted since: their delete entries name the patient (or its assessment, which may
    # have been deleted too, so deleted assessments are read first).
    deleted = session.scalars(
        select(AuditRow)
        .where(AuditRow.action == "delete", AuditRow.table_name != "patients")
        .order_by(AuditRow.table_name != AssessmentRow.__tablename__)
    ).all()
    parents = set(assessments)
    for entry in deleted:
        owner = entry.changes.get("patient_id")
        parent = entry.changes.get("assessment_id")
        if owner == patient_id or (parent is not None and parent in parents):
            keys.setdefault(entry.table_name, set()).add(int(entry.record_id or 0))
            if entry.table_name == AssessmentRow.__tablename__:
                parents.add(int(entry.record_id or 0))
    return keys
