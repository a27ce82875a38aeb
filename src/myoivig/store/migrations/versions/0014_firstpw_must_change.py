"""firstpw (issue 12): users.must_change_password, the forced change of a generated password

Revision ID: 0014_firstpw_must_change
Revises: 0013_audit_checkpoint
Create Date: 2026-12-02

A generated password (the first admin's printed by `myoivig run`, `myoivig users add` without
--password-stdin, the Users page) is one-time: the account must set its own before it may use
any page or the API (accounts/service.py `password_change_required`). Existing accounts keep
working: the column is false for them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_firstpw_must_change"
down_revision: str | None = "0013_audit_checkpoint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
