"""review workflow: protocol, records, event log, extractions, appraisals

Revision ID: 0002_review
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_review"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_appraisals",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.String(length=128), nullable=False),
        sa.Column("tool", sa.String(length=32), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_appraisals")),
        sa.UniqueConstraint(
            "review", "study_id", "tool", name=op.f("uq_review_appraisals_review_study_id_tool")
        ),
    )
    with op.batch_alter_table("review_appraisals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_appraisals_review"), ["review"], unique=False)

    op.create_table(
        "review_events",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_events_review"), ["review"], unique=False)

    op.create_table(
        "review_extractions",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.String(length=128), nullable=False),
        sa.Column("extractor", sa.String(length=128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_extractions")),
        sa.UniqueConstraint(
            "review",
            "study_id",
            "extractor",
            name=op.f("uq_review_extractions_review_study_id_extractor"),
        ),
    )
    with op.batch_alter_table("review_extractions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_extractions_review"), ["review"], unique=False)

    op.create_table(
        "review_protocols",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_protocols")),
        sa.UniqueConstraint("review", name=op.f("uq_review_protocols_review")),
    )
    op.create_table(
        "review_records",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_records")),
        sa.UniqueConstraint("review", "record_id", name=op.f("uq_review_records_review_record_id")),
    )
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_records_review"), ["review"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_records_review"))

    op.drop_table("review_records")
    op.drop_table("review_protocols")
    with op.batch_alter_table("review_extractions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_extractions_review"))

    op.drop_table("review_extractions")
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_events_review"))

    op.drop_table("review_events")
    with op.batch_alter_table("review_appraisals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_appraisals_review"))

    op.drop_table("review_appraisals")
