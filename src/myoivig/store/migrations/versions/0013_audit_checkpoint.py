"""audit_chain_checkpoint: where the audit pages' incremental chain check got to

Revision ID: 0013_audit_checkpoint
Revises: 0012_screenspeed_event_order
Create Date: 2026-12-02

The audit pages verified the whole hash chain on every view (linear in the trail's length).
This one-row table keeps the position and hash they last verified and where their rolling
re-check of older entries resumes, so a view verifies only what is new plus a fixed window
(store/audit_chain.py). Empty at first: the first view verifies everything and fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_audit_checkpoint"
down_revision: str | None = "0012_screenspeed_event_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_checkpoint")
