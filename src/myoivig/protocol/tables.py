"""ORM table of the protocol area: prescriber overrides of blocking safety alerts.

An override is written through the store's audited unit of work, so the audit trail records who
overrode which alert, when, and why. The row keeps the plan it applied to (a short summary and a
SHA-256 of the plan's JSON), so an override cannot silently carry over to a different plan.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myoivig.store.tables import Base, Versioned


class PlanOverrideRow(Versioned, Base):
    """One blocking alert overridden for one plan; `updated_by`/`created_at` are actor/time."""

    __tablename__ = "plan_overrides"
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    plan_summary: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    alert_message: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
