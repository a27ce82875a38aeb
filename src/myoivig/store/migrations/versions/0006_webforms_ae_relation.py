"""webforms (issue 12): an adverse event's relation to IVIg (WHO-UMC causality category)

Revision ID: 0006_webforms_ae_relation
Revises: 0005_importspeed_batches
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_webforms_ae_relation"
down_revision: str | None = "0005_importspeed_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("adverse_events") as batch:
        batch.add_column(sa.Column("relation_to_ivig", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adverse_events") as batch:
        batch.drop_column("relation_to_ivig")
