"""Full-text PDFs of a review's reports: attach one per record, read it back, say which records
have one. Kept in the database (audited by name, size and SHA-256) so a backup holds them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select

from myoivig.review import repository as repo
from myoivig.review.names import ReviewStateError
from myoivig.review.tables import ReviewFullTextRow
from myoivig.store import Store

MAX_PDF_BYTES = 50 * 1024 * 1024  # a scanned 30-page article is rarely above 20 MB


class FullTextError(ValueError):
    """A full text cannot be attached as given; names the record, the field and the value."""


@dataclass(frozen=True)
class FullTextInfo:
    record_id: str
    file_name: str
    size_bytes: int
    sha256: str
    by: str
    at: str


def _clean_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "fulltext.pdf")[:200]


def attach_fulltext(
    store: Store, review: str, record_id: str, file_name: str, data: bytes, *, actor: str
) -> FullTextInfo:
    """Store (or replace) a record's full-text PDF in one audited unit of work."""
    if not data:
        raise FullTextError(f"record {record_id}: file {file_name!r} is empty")
    if len(data) > MAX_PDF_BYTES:
        raise FullTextError(
            f"record {record_id}: file {file_name!r} has {len(data):,} bytes, more than "
            f"{MAX_PDF_BYTES:,}"
        )
    if not data.startswith(b"%PDF-"):
        raise FullTextError(
            f"record {record_id}: file {file_name!r} is not a PDF (no %PDF- header)"
        )
    digest = hashlib.sha256(data).hexdigest()
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        if record_id not in {r.record_id for r in repo.load_records(session, review)}:
            raise ReviewStateError(f"no record {record_id!r} in review {review!r}")
        row = session.scalar(
            select(ReviewFullTextRow).where(
                ReviewFullTextRow.review == review, ReviewFullTextRow.record_id == record_id
            )
        )
        if row is None:
            row = ReviewFullTextRow(review=review, record_id=record_id)
            session.add(row)
        row.file_name, row.size_bytes, row.sha256, row.content = (
            _clean_name(file_name),
            len(data),
            digest,
            data,
        )
        session.flush()
        return _info(row)


def _info(row: ReviewFullTextRow) -> FullTextInfo:
    return FullTextInfo(
        row.record_id,
        row.file_name,
        row.size_bytes,
        row.sha256,
        row.updated_by,
        row.updated_at.strftime("%Y-%m-%d %H:%M"),
    )


def fulltext_info(store: Store, review: str, record_id: str) -> FullTextInfo | None:
    """What is attached to a record (without its bytes), or None."""
    with store.session() as session:
        row = session.scalar(
            select(ReviewFullTextRow).where(
                ReviewFullTextRow.review == review, ReviewFullTextRow.record_id == record_id
            )
        )
        return None if row is None else _info(row)


def fulltext_pdf(store: Store, review: str, record_id: str) -> tuple[FullTextInfo, bytes]:
    """A record's PDF and what it is; ReviewStateError when none is attached."""
    with store.session() as session:
        row = session.scalar(
            select(ReviewFullTextRow).where(
                ReviewFullTextRow.review == review, ReviewFullTextRow.record_id == record_id
            )
        )
        if row is None:
            raise ReviewStateError(f"no full text attached to record {record_id!r} of {review!r}")
        return _info(row), bytes(row.content)
