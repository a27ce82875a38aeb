"""ORM table of infusion days: what was actually given on each day of an IVIg course.

A child of the course (and, for the audit trail's per-patient view, of the patient). The rate
steps run and the reactions are lists; they are stored in JSON columns (as the audit trail's
`changes`), so the audit entry of every insert, update and delete holds them whole.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from myoivig.store.tables import Base, CourseRow, PatientRow, Versioned


class InfusionDayRow(Versioned, Base):
    """One infusion day; unique per course and day number."""

    __tablename__ = "infusion_days"
    __table_args__ = (UniqueConstraint("course_id", "day_number"),)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True
    )
    day_number: Mapped[int] = mapped_column(Integer, nullable=False)
    infusion_date: Mapped[date | None] = mapped_column(Date)
    product: Mapped[str | None] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(40), nullable=False)
    dose_g: Mapped[float] = mapped_column(Float, nullable=False)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    rate_steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    total_minutes: Mapped[float | None] = mapped_column(Float)
    reactions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    given_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    course: Mapped[CourseRow] = relationship()
    patient: Mapped[PatientRow] = relationship()
