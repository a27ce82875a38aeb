"""ORM tables for the review workflow, on the foundation's declarative `Base`.

State is kept as (a) the imported records, (b) an append-only event log (imports, merges and
their reversal, final decisions, reports not retrieved, study assignments), and (c) current
forms (protocol, extractions, appraisals) as versioned rows. Every write goes through the store's
audited unit of work, so the audit trail covers the review too. Payloads are JSON validated by the
pydantic models of this package before they are written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from myoivig.store.tables import Base, Versioned


class ReviewProtocolRow(Versioned, Base):
    __tablename__ = "review_protocols"
    review: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    yaml_text: Mapped[str] = mapped_column(Text, nullable=False)


class ReviewRecordRow(Versioned, Base):
    __tablename__ = "review_records"
    __table_args__ = (
        UniqueConstraint("review", "record_id"),
        # the in-memory screening state asks "how many, and the newest?" on every page view
        Index("ix_review_records_review_id", "review", "id"),
    )
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    source_format: Mapped[str] = mapped_column(String(32), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ReviewEventRow(Versioned, Base):
    """Append-only: rows are inserted, never updated or deleted (undo is a new event)."""

    __tablename__ = "review_events"
    # the in-memory screening state reads the log's tail and counts up to the last event seen
    __table_args__ = (Index("ix_review_events_review_id", "review", "id"),)
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ReviewExtractionRow(Versioned, Base):
    __tablename__ = "review_extractions"
    __table_args__ = (UniqueConstraint("review", "study_id", "extractor"),)
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    study_id: Mapped[str] = mapped_column(String(128), nullable=False)
    extractor: Mapped[str] = mapped_column(String(128), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ReviewAppraisalRow(Versioned, Base):
    __tablename__ = "review_appraisals"
    __table_args__ = (UniqueConstraint("review", "study_id", "tool"),)
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    study_id: Mapped[str] = mapped_column(String(128), nullable=False)
    tool: Mapped[str] = mapped_column(String(32), nullable=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ReviewImportBatchRow(Versioned, Base):
    """One imported file (or search): its batch number, what it held and its content hash.

    `content_sha256` (of the file's bytes) lets a second import of the same file into the same
    review be refused unless asked for; `created_at`/`updated_by` say when and by whom.
    """

    __tablename__ = "review_import_batches"
    __table_args__ = (UniqueConstraint("review", "number"),)
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    source_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    source_format: Mapped[str] = mapped_column(String(32), nullable=False)
    file_name: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    record_count: Mapped[int] = mapped_column(Integer, nullable=False)
    malformed_count: Mapped[int] = mapped_column(Integer, nullable=False)


class ReviewFullTextRow(Versioned, Base):
    """The full-text PDF of one report (record), kept in the database so backups hold it.

    The audit trail records its file name, size and SHA-256, not its bytes.
    """

    __tablename__ = "review_fulltexts"
    __table_args__ = (UniqueConstraint("review", "record_id"),)
    review: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    file_name: Mapped[str] = mapped_column(String(200), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
