"""audit chain: each audit entry hashed and linked to the one before it (issue 15 item 6)

Revision ID: 0011_hardening_audit_chain
Revises: 0010_fulltext_pdfs
Create Date: 2026-12-01

Adds the chain columns to audit_log and the one-row table audit_chain_head, then links the
entries already there, oldest (lowest id) first, with the same hash the application writes
(`myoivig.store.audit_chain.entry_hash`), so `myoivig audit verify` checks them too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from myoivig.store.audit_chain import GENESIS, HEAD_ID, entry_hash, stored_changes

revision: str = "0011_hardening_audit_chain"
down_revision: str | None = "0010_fulltext_pdfs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = ("occurred_at", "actor", "action", "table_name", "record_id", "record_version")


def upgrade() -> None:
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("table_name", sa.String()),
        sa.column("record_id", sa.Integer()),
        sa.column("record_version", sa.Integer()),
        sa.column("changes", sa.JSON()),
        sa.column("chain_seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("entry_hash", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            log.c.id,
            *(log.c[name] for name in _FIELDS),
            stored_changes(log.c.changes).label("changes"),
        ).order_by(log.c.id)
    ).all()
    seq, prev, links = 0, GENESIS, []
    for row in rows:
        seq += 1
        fields = {name: getattr(row, name) for name in (*_FIELDS, "changes")}
        digest = entry_hash(seq, prev, fields)
        links.append({"row_id": row.id, "seq": seq, "prev": prev, "digest": digest})
        prev = digest
    statement = (
        log.update()
        .where(log.c.id == sa.bindparam("row_id"))
        .values(
            chain_seq=sa.bindparam("seq"),
            prev_hash=sa.bindparam("prev"),
            entry_hash=sa.bindparam("digest"),
        )
    )
    for start in range(0, len(links), 2000):
        bind.execute(statement, links[start : start + 2000])
    op.bulk_insert(head, [{"id": HEAD_ID, "seq": seq, "entry_hash": prev}])
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_audit_log_chain_seq"), ["chain_seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_audit_log_chain_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
    op.drop_table("audit_chain_head")
