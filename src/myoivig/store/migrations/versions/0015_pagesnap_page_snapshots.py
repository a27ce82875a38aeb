"""page_snapshots: rendered patient pages shared by the server workers

Revision ID: 0015_pagesnap_page_snapshots
Revises: 0014_firstpw_must_change
Create Date: 2026-12-02

A patient page is a pure function of the record's version, the day, the protocol settings, the
role that sees it and the code that builds it; this table keeps one compressed rendering per
patient and role under a key naming all of that (store/page_snapshots.py), so any worker serves
it without building it again. Derived data: not audited, not part of the record.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_pagesnap_page_snapshots"
down_revision: str | None = "0014_firstpw_must_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_snapshots",
        sa.Column("patient_code", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("page_key", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_code", "variant", name=op.f("pk_page_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("page_snapshots")
