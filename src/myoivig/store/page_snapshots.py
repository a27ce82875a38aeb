"""Rendered patient pages kept in the database, shared by every server worker.

A patient page at 20 visits takes tens of milliseconds of CPU to build (the dossier, the
criteria panel, the next-course plan, the HTML). The page is a pure function of what it is
built from, so it is kept here under a key that names all of it (`web.patient_page.page_key`:
the record's version, the day, the protocol settings, the role that sees it, the code that
built it). A reader whose key differs builds the page again; nothing is invalidated and a stale
page cannot be served, whichever worker or process wrote to the record.

Derived data, not part of the record: rows are written outside the audited unit of work, are
not audited and are not exported; losing them costs only the time to build the pages again.
Keyed by the patient's code (no foreign key), so deleting or renaming a patient needs nothing
here: the old rows are never read again and are replaced when the code is reused.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, LargeBinary, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from myoivig.store.tables import Base

if TYPE_CHECKING:
    from myoivig.store.store import Store

COMPRESSION_LEVEL = 6  # a 150 kB page becomes about 15 kB; decompressing takes well under 1 ms


class PageSnapshotRow(Base):
    """One rendered page body per patient and variant (the role that sees it)."""

    __tablename__ = "page_snapshots"
    patient_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)
    page_key: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


def pack(html: str) -> bytes:
    return zlib.compress(html.encode("utf-8"), COMPRESSION_LEVEL)


def unpack(body: bytes) -> str:
    return zlib.decompress(body).decode("utf-8")


def read_snapshot(session: Session, patient_code: str, variant: str, page_key: str) -> bytes | None:
    """The packed page kept for exactly this key, else None (absent or built from other data)."""
    found = session.execute(
        select(PageSnapshotRow.page_key, PageSnapshotRow.body).where(
            PageSnapshotRow.patient_code == patient_code, PageSnapshotRow.variant == variant
        )
    ).first()
    if found is None or found.page_key != page_key:
        return None
    return bytes(found.body)


def snapshot_keys(session: Session, variant: str) -> dict[str, str]:
    """patient code -> key of the page kept for this variant (what a warm-up sweep compares)."""
    rows = session.execute(
        select(PageSnapshotRow.patient_code, PageSnapshotRow.page_key).where(
            PageSnapshotRow.variant == variant
        )
    )
    return {code: key for code, key in rows}


def keep_snapshot(
    store: Store, patient_code: str, variant: str, page_key: str, body: bytes
) -> None:
    """Insert or replace the page of this patient and variant, in a transaction of its own."""
    values = {
        "patient_code": patient_code,
        "variant": variant,
        "page_key": page_key,
        "body": body,
        "built_at": datetime.now(UTC),
    }
    insert = pg_insert if store.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(PageSnapshotRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["patient_code", "variant"],
        set_={name: statement.excluded[name] for name in ("page_key", "body", "built_at")},
    )
    with store.engine.begin() as connection:
        connection.execute(statement)


def forget_snapshots(store: Store) -> int:
    """Remove every kept page (they are built again when next asked for); returns how many."""
    with store.engine.begin() as connection:
        return connection.execute(delete(PageSnapshotRow)).rowcount
