"""review import batches: file name, size and SHA-256 per imported file (issue 10 item 4, issue 11)

Revision ID: 0005_importspeed_batches
Revises: 0004_web_accounts
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_importspeed_batches"
down_revision: str | None = "0004_web_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_import_batches",
        sa.Column("review", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("malformed_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_import_batches")),
        sa.UniqueConstraint(
            "review", "number", name=op.f("uq_review_import_batches_review_number")
        ),
    )
    with op.batch_alter_table("review_import_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_import_batches_content_sha256"), ["content_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_import_batches_review"), ["review"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_import_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_import_batches_review"))
        batch_op.drop_index(batch_op.f("ix_review_import_batches_content_sha256"))
    op.drop_table("review_import_batches")
