"""full-text PDFs: one per review record

Revision ID: 0010_fulltext_pdfs
Revises: 0009_infdays_infusion_days
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_fulltext_pdfs"
down_revision: str | None = "0009_infdays_infusion_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_fulltexts",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_fulltexts")),
        sa.UniqueConstraint(
            "review", "record_id", name=op.f("uq_review_fulltexts_review_record_id")
        ),
    )
    with op.batch_alter_table("review_fulltexts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_fulltexts_review"), ["review"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_fulltexts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_fulltexts_review"))
    op.drop_table("review_fulltexts")
