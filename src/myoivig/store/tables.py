"""SQLAlchemy tables for the clinical record.

Every row carries `version` (optimistic locking: a stale update raises instead of overwriting),
and who changed it last and when; the audit trail in `audit.py` keeps the full history. Enumerated
values are stored as their vocabulary strings and checked by the domain records before any write.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Versioned:
    """Columns every clinical row has: identity, optimistic-lock version, last change."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(128), nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def _patient_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)


def _assessment_fk() -> Mapped[int]:
    return mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False, index=True
    )


class SiteRow(Versioned, Base):
    __tablename__ = "sites"
    site_code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    country: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class PatientRow(Versioned, Base):
    __tablename__ = "patients"
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    sex: Mapped[str] = mapped_column(String(8), nullable=False)
    age_at_entry: Mapped[int | None] = mapped_column(Integer)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[str] = mapped_column(String(64), nullable=False)
    overlap_disease: Mapped[str | None] = mapped_column(String(64))
    onset_date: Mapped[date | None] = mapped_column(Date)
    disease_duration_years: Mapped[float | None] = mapped_column(Float)
    disease_duration_qualifier: Mapped[str | None] = mapped_column(String(32))
    height_cm: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    site: Mapped[SiteRow | None] = relationship()
    therapies: Mapped[list[TherapyRow]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="TherapyRow.id"
    )
    courses: Mapped[list[CourseRow]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="CourseRow.course_number"
    )
    assessments: Mapped[list[AssessmentRow]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="AssessmentRow.assessment_date",
    )
    labs: Mapped[list[LabResultRow]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="LabResultRow.id"
    )
    adverse_events: Mapped[list[AdverseEventRow]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="AdverseEventRow.id"
    )
    reported_outcome: Mapped[ReportedOutcomeRow | None] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )


class TherapyRow(Versioned, Base):
    __tablename__ = "therapies"
    patient_id: Mapped[int] = _patient_fk()
    drug: Mapped[str] = mapped_column(String(64), nullable=False)
    drug_label: Mapped[str | None] = mapped_column(Text)
    dose_mg_per_day: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date)
    stop_date: Mapped[date | None] = mapped_column(Date)
    timing: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[PatientRow] = relationship(back_populates="therapies")


class CourseRow(Versioned, Base):
    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("patient_id", "course_number"),)
    patient_id: Mapped[int] = _patient_fk()
    course_number: Mapped[int] = mapped_column(Integer, nullable=False)
    product: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    planned_daily_dose_g: Mapped[float | None] = mapped_column(Float)
    given_daily_dose_g: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    infusion_rate_ml_per_kg_min: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[PatientRow] = relationship(back_populates="courses")


class AssessmentRow(Versioned, Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("patient_id", "assessment_date"),)
    patient_id: Mapped[int] = _patient_fk()
    assessment_date: Mapped[date] = mapped_column(Date, nullable=False)
    phase: Mapped[str] = mapped_column(String(32), nullable=False)
    assessor: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[PatientRow] = relationship(back_populates="assessments")
    myometry: Mapped[list[MyometryRow]] = relationship(
        cascade="all, delete-orphan", order_by="MyometryRow.id"
    )
    muscle_grades: Mapped[list[MuscleGradeRow]] = relationship(
        cascade="all, delete-orphan", order_by="MuscleGradeRow.id"
    )
    functional_tasks: Mapped[list[FunctionalTaskRow]] = relationship(
        cascade="all, delete-orphan", order_by="FunctionalTaskRow.id"
    )
    core_set: Mapped[list[CoreSetRow]] = relationship(
        cascade="all, delete-orphan", order_by="CoreSetRow.id"
    )
    enzymes: Mapped[list[EnzymeRow]] = relationship(
        cascade="all, delete-orphan", order_by="EnzymeRow.id"
    )


class MyometryRow(Versioned, Base):
    __tablename__ = "myometry_readings"
    __table_args__ = (UniqueConstraint("assessment_id", "muscle_group", "side"),)
    assessment_id: Mapped[int] = _assessment_fk()
    muscle_group: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(16), nullable=False)
    force_n: Mapped[float | None] = mapped_column(Float)
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class MuscleGradeRow(Versioned, Base):
    __tablename__ = "muscle_grades"
    __table_args__ = (UniqueConstraint("assessment_id", "muscle_group", "side"),)
    assessment_id: Mapped[int] = _assessment_fk()
    muscle_group: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(16), nullable=False)
    kendall_grade: Mapped[int | None] = mapped_column(Integer)
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class FunctionalTaskRow(Versioned, Base):
    __tablename__ = "functional_task_results"
    __table_args__ = (UniqueConstraint("assessment_id", "task"),)
    assessment_id: Mapped[int] = _assessment_fk()
    task: Mapped[str] = mapped_column(String(64), nullable=False)
    able: Mapped[bool | None] = mapped_column(Boolean)
    time_s: Mapped[float | None] = mapped_column(Float)
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class CoreSetRow(Versioned, Base):
    __tablename__ = "core_set_values"
    __table_args__ = (UniqueConstraint("assessment_id", "measure"),)
    assessment_id: Mapped[int] = _assessment_fk()
    measure: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    scale_max: Mapped[float | None] = mapped_column(Float)


class EnzymeRow(Versioned, Base):
    __tablename__ = "enzyme_results"
    __table_args__ = (UniqueConstraint("assessment_id", "enzyme"),)
    assessment_id: Mapped[int] = _assessment_fk()
    enzyme: Mapped[str] = mapped_column(String(32), nullable=False)
    value_u_per_l: Mapped[float | None] = mapped_column(Float)
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    uln_u_per_l: Mapped[float | None] = mapped_column(Float)


class LabResultRow(Versioned, Base):
    __tablename__ = "lab_results"
    patient_id: Mapped[int] = _patient_fk()
    sample_date: Mapped[date | None] = mapped_column(Date)
    test: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32))
    not_performed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    patient: Mapped[PatientRow] = relationship(back_populates="labs")


class AdverseEventRow(Versioned, Base):
    __tablename__ = "adverse_events"
    patient_id: Mapped[int] = _patient_fk()
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    onset_date: Mapped[date | None] = mapped_column(Date)
    term: Mapped[str] = mapped_column(String(256), nullable=False)
    serious: Mapped[bool] = mapped_column(Boolean, nullable=False)
    ctcae_grade: Mapped[int | None] = mapped_column(Integer)
    relation_to_ivig: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[PatientRow] = relationship(back_populates="adverse_events")
    course: Mapped[CourseRow | None] = relationship()


class ReportedOutcomeRow(Versioned, Base):
    __tablename__ = "reported_outcomes"
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    source: Mapped[str] = mapped_column(Text, nullable=False)
    ivig_courses_reported: Mapped[str | None] = mapped_column(String(32))
    functional_improvement: Mapped[bool | None] = mapped_column(Boolean)
    functional_improvement_np: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mrc_improvement: Mapped[bool | None] = mapped_column(Boolean)
    mrc_improvement_np: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    myometry_change_pct: Mapped[float | None] = mapped_column(Float)
    myometry_change_pct_np: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    myometry_significant: Mapped[bool | None] = mapped_column(Boolean)
    ck_before_u_per_l: Mapped[float | None] = mapped_column(Float)
    ck_before_u_per_l_np: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    ck_after_u_per_l: Mapped[float | None] = mapped_column(Float)
    ck_after_u_per_l_np: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    prednisone_stopped_before_ivig: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    note: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[PatientRow] = relationship(back_populates="reported_outcome")


class AuditRow(Base):
    """Append-only history of every insert, update and delete made through the store.

    Each entry is a link of a hash chain (`audit_chain.py`): its position `chain_seq`, the hash
    of the entry before it, and the SHA-256 of its own fields plus that previous hash, so an
    edited, inserted or deleted entry is found by `myoivig audit verify`.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record_id: Mapped[int | None] = mapped_column(Integer, index=True)
    record_version: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    chain_seq: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditChainHeadRow(Base):
    """The newest link of the audit chain (one row, id 1): position and hash of the last entry.

    Writers lock this row before they write (SELECT ... FOR UPDATE on PostgreSQL; SQLite's one
    write lock does it there), so chain positions are handed out one transaction at a time. It
    also shows when the newest entries were deleted: the head names a position no entry holds.
    """

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditCheckpointRow(Base):
    """Where the audit pages' check last got to (one row, id 1): the chain position and hash
    verified then, and where the rolling re-check of older entries resumes.

    Bookkeeping, not part of the chain: the pages verify only the entries after `seq` and a
    window of older ones from `window_start` (store/audit_chain.py); `myoivig audit verify`
    ignores it and checks everything.
    """

    __tablename__ = "audit_chain_checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    window_start: Mapped[int] = mapped_column(Integer, nullable=False)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
