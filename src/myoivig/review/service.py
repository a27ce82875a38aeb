"""Review application layer: what the CLI (and later pages and API) call to change a review.

Importing a file: read it once, refuse it when the same bytes are already in the review (unless
asked again), parse it, and store records, import event and batch in ONE audited unit of work
through the store's bulk insert, so a failure anywhere leaves nothing written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from myoivig.review import repository as repo
from myoivig.review.importers import import_bytes
from myoivig.review.prisma.events import RecordsImported, SourceKind
from myoivig.review.records import ImportResult
from myoivig.review.tables import ReviewImportBatchRow
from myoivig.store import Store

ImportProgress = Callable[[str, int, int], None]
"""`progress(phase, done, total)`; phases "parse" (total 0: size unknown) and "store"."""


@dataclass(frozen=True)
class EarlierImport:
    """An import batch already holding a file's bytes."""

    batch: int
    imported_at: datetime
    actor: str
    file_name: str | None
    record_count: int
    source: str


class AlreadyImportedError(repo.ReviewStateError):
    """The file's bytes are already in the review; importing it again needs `again`."""

    def __init__(self, path: Path, review: str, content_sha256: str, earlier: EarlierImport):
        self.path, self.review, self.content_sha256 = path, review, content_sha256
        self.earlier = earlier
        when = earlier.imported_at.strftime("%Y-%m-%d %H:%M UTC")
        named = f" as {earlier.file_name}" if earlier.file_name != path.name else ""
        super().__init__(
            f"{path} was already imported into review {review!r}{named} on {when} by "
            f"{earlier.actor}: batch {earlier.batch} ({earlier.record_count} records, ids "
            f"{earlier.source}-{earlier.batch}:…; same SHA-256 {content_sha256[:16]}…); nothing "
            "imported. Use --again to import it a second time."
        )


@dataclass(frozen=True)
class FileImport:
    """What one file import stored, and how long parsing and storing took."""

    path: Path
    review: str
    batch: int
    content_sha256: str
    result: ImportResult
    event: RecordsImported
    earlier: tuple[EarlierImport, ...]
    parse_seconds: float
    store_seconds: float


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes: the same export imported twice has the same hash."""
    return hashlib.sha256(data).hexdigest()


def import_records_file(
    store: Store,
    path: Path,
    source: str,
    *,
    actor: str,
    fmt: str | None = None,
    encoding: str | None = None,
    kind: SourceKind = "database",
    review: str = repo.DEFAULT_REVIEW,
    again: bool = False,
    progress: ImportProgress | None = None,
) -> FileImport:
    """Import one export file into a review (all of it or nothing).

    Refused with AlreadyImportedError when a file with the same bytes is already in the review
    and `again` is false. Record ids are '<source>-<batch>:<position>'.
    """
    attempt: list[int] = []  # the batch number this import tried to take
    try:
        return _import_in_one_unit(
            store, path, source, actor, fmt, encoding, kind, review, again, progress, attempt
        )
    except IntegrityError as error:
        if attempt and _batch_stored(store, review, attempt[0]):
            raise repo.ReviewStateError(
                f"{path} was not imported: another import into review {review!r} stored batch "
                f"{attempt[0]} at the same time; nothing of this one was written, run it again"
            ) from error
        raise


def _batch_stored(store: Store, review: str, number: int) -> bool:
    with store.session() as session:
        return (
            session.scalar(
                select(ReviewImportBatchRow.id).where(
                    ReviewImportBatchRow.review == review, ReviewImportBatchRow.number == number
                )
            )
            is not None
        )


def _import_in_one_unit(
    store: Store,
    path: Path,
    source: str,
    actor: str,
    fmt: str | None,
    encoding: str | None,
    kind: SourceKind,
    review: str,
    again: bool,
    progress: ImportProgress | None,
    attempt: list[int],
) -> FileImport:
    data = path.read_bytes()
    digest = content_hash(data)
    with store.unit_of_work(actor=actor) as session:
        earlier = tuple(
            EarlierImport(
                batch=row.number,
                imported_at=row.created_at,
                actor=row.updated_by,
                file_name=row.file_name,
                record_count=row.record_count,
                source=row.source,
            )
            for row in repo.imports_of_content(session, digest, review)
        )
        if earlier and not again:
            raise AlreadyImportedError(path, review, digest, earlier[-1])
        batch = repo.next_batch(session, review)
        attempt.append(batch)
        if progress is not None:
            progress("parse", 0, 0)
        started = time.perf_counter()
        result = import_bytes(data, source, fmt, encoding, id_prefix=f"{source}-{batch}:")
        parsed = time.perf_counter()
        size = len(data)
        del data  # the parsed records are all that is needed now (50 MB files)

        def stored(done: int, total: int) -> None:
            if progress is not None:
                progress("store", done, total)

        stored(0, len(result.records))
        event = repo.add_import(
            session,
            result,
            kind,
            review,
            context={"batch": batch, "file": path.name, "content_sha256": digest},
            progress=stored,
        )
        repo.record_import_batch(
            session,
            event,
            number=batch,
            source_format=result.source_format,
            review=review,
            file_name=path.name,
            size_bytes=size,
            content_sha256=digest,
        )
    finished = time.perf_counter()
    return FileImport(
        path=path,
        review=review,
        batch=batch,
        content_sha256=digest,
        result=result,
        event=event,
        earlier=earlier,
        parse_seconds=parsed - started,
        store_seconds=finished - parsed,
    )
