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


class PlanApprovalRow(Versioned, Base):
    """A pharmacist's approval of one plan (marked ready to give); `updated_by` is who approved.

    Kept per plan hash like the overrides: an approval never carries over to a plan that differs
    in any figure, alert or override, so the infusion sheet is printed only for what was approved.
    """

    __tablename__ = "plan_approvals"
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    plan_summary: Mapped[str] = mapped_column(Text, nullable=False)
    overridden_codes: Mapped[str] = mapped_column(Text, nullable=False)
