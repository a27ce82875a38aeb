"""infdays (issue 12 item 5, issue 14): infusion days of a course (lot, dose, rate steps given,
reactions, who gave it)

Revision ID: 0009_infdays_infusion_days
Revises: 0008_plotsfast_screening_state
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_infdays_infusion_days"
down_revision: str | None = "0008_plotsfast_screening_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "infusion_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("day_number", sa.Integer(), nullable=False),
        sa.Column("infusion_date", sa.Date(), nullable=True),
        sa.Column("product", sa.String(length=64), nullable=True),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("dose_g", sa.Float(), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=True),
        sa.Column("rate_steps", sa.JSON(), nullable=False),
        sa.Column("total_minutes", sa.Float(), nullable=True),
        sa.Column("reactions", sa.JSON(), nullable=False),
        sa.Column("given_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_infusion_days_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_infusion_days_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_days")),
        sa.UniqueConstraint(
            "course_id", "day_number", name=op.f("uq_infusion_days_course_id_day_number")
        ),
    )
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_infusion_days_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_infusion_days_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("infusion_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_infusion_days_patient_id"))
        batch_op.drop_index(batch_op.f("ix_infusion_days_course_id"))
    op.drop_table("infusion_days")
