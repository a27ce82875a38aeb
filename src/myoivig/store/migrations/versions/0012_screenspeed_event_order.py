"""review events and records indexed by (review, id): the screening state's one-query look

Revision ID: 0012_screenspeed_event_order
Revises: 0011_hardening_audit_chain
Create Date: 2026-12-01

The in-memory screening state (`review/screening_cache.py`) asks on every page view and decision
how many events a review has up to the last one it saw, which is the newest, and how many
records there are; with these indexes those are index-only scans and the tail of the log is a
range scan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_screenspeed_event_order"
down_revision: str | None = "0011_hardening_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.create_index("ix_review_events_review_id", ["review", "id"], unique=False)
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.create_index("ix_review_records_review_id", ["review", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.drop_index("ix_review_records_review_id")
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.drop_index("ix_review_events_review_id")
