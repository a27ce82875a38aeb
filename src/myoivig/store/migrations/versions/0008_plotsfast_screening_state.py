"""screening state: each reviewer's current decision per record and stage (derived)

Revision ID: 0008_plotsfast_screening_state
Revises: 0007_webplan_approvals
Create Date: 2026-12-01

The table is derived from the review event log; existing screening events are folded into it
here (latest event per stage, record, kind and reviewer), as `screening_state.fold` does.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_plotsfast_screening_state"
down_revision: str | None = "0007_webplan_approvals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    state = op.create_table(
        "review_screening_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["review_events.id"],
            name=op.f("fk_review_screening_state_event_id_review_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_screening_state")),
        sa.UniqueConstraint(
            "review",
            "stage",
            "record_id",
            "kind",
            "reviewer",
            name=op.f("uq_review_screening_state_review_stage_record_id_kind_reviewer"),
        ),
    )
    with op.batch_alter_table("review_screening_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_screening_state_review_record", ["review", "record_id"], unique=False
        )
    events = sa.table(
        "review_events",
        sa.column("id", sa.Integer()),
        sa.column("review", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("payload", sa.JSON()),
    )
    latest: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    rows = op.get_bind().execute(
        sa.select(events.c.id, events.c.review, events.c.payload)
        .where(events.c.kind == "screening")
        .order_by(events.c.id)
    )
    for event_id, review, payload in rows:
        key = (review, payload["stage"], payload["record_id"], payload["action"],
               payload["reviewer"])  # fmt: skip
        latest[key] = {
            "review": review,
            "stage": payload["stage"],
            "record_id": payload["record_id"],
            "kind": payload["action"],
            "reviewer": payload["reviewer"],
            "verdict": payload["verdict"],
            "reason": payload.get("reason"),
            "at": datetime.fromisoformat(payload["at"]),
            "event_id": event_id,
        }
    if latest:
        op.bulk_insert(state, list(latest.values()))


def downgrade() -> None:
    with op.batch_alter_table("review_screening_state", schema=None) as batch_op:
        batch_op.drop_index("ix_review_screening_state_review_record")
    op.drop_table("review_screening_state")
