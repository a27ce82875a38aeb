"""Application layer of the review area: what the CLI (and any page or API) asks for, in one place.

Each function checks everything that can be checked before work starts (the review exists,
output paths are usable, the file was not imported before), computes the result, and only then
writes, atomically: files through a temporary file; records, import event and batch in ONE
audited unit of work through the store's bulk insert (per record by default, all-or-nothing with
`strict`), so a failure anywhere leaves nothing written.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from myoivig.atomic_files import check_output, write_text
from myoivig.review import repository as repo
from myoivig.review import screening_cache
from myoivig.review.evidence_table import study_table
from myoivig.review.exports import export_bytes
from myoivig.review.importers import import_bytes
from myoivig.review.names import StrictImportRefused
from myoivig.review.prisma.checklist import checklist, to_csv
from myoivig.review.prisma.diagram import diagram_paths, figure
from myoivig.review.prisma.diagram import save as save_diagram
from myoivig.review.prisma.events import RecordsImported, SourceKind
from myoivig.review.prisma.flow import PrismaCounts, derive_living
from myoivig.review.protocol import ReviewerRole
from myoivig.review.records import TITLE_MISSING, BibRecord, ImportResult
from myoivig.review.screening.agreement import PairAgreement, pair_agreements
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.live import LiveRankings, highlight, protocol_terms
from myoivig.review.screening.stopping import (
    DEFAULT_CHECKPOINTS,
    DEFAULT_CONFIDENCE,
    DEFAULT_RECALL_TARGET,
    StoppingTest,
    stopping_test,
)
from myoivig.review.screening.workflow import RecordStatus
from myoivig.review.studies import links_from_assignments
from myoivig.review.tables import ReviewImportBatchRow
from myoivig.store import Store

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PrismaOutput:
    """The flow counts drawn and the files written."""

    counts: PrismaCounts
    files: list[Path]


def prisma_diagram(
    store: Store,
    review: str,
    out: Path,
    *,
    title: str = "",
    checklist_out: Path | None = None,
) -> PrismaOutput:
    """Derive the PRISMA 2020 counts of a stored review and draw them (SVG + PNG).

    An unknown review or output extension is refused before anything is written, so a typo
    never replaces a real diagram with an empty one.
    """
    diagram_paths(out)
    if checklist_out is not None:
        check_output(checklist_out, {".csv"})
    counts = prisma_counts(store, review)
    files = save_diagram(counts, out, title=title)
    if checklist_out is not None:
        files.append(write_text(checklist_out, to_csv(checklist())))
    return PrismaOutput(counts, files)


def prisma_counts(store: Store, review: str) -> PrismaCounts:
    """The PRISMA 2020 counts derived from the review's events as they stand now: living, so a
    review in progress gets its flow so far with what still awaits a decision
    (`counts.in_progress`), and a finished one exactly its final flow."""
    with store.session() as session:
        repo.require_review(session, review)
        events, open_ = repo.prisma_state(session, review)
    return derive_living(events, open_)


def prisma_image(counts: PrismaCounts, fmt: str, title: str = "") -> bytes:
    """The diagram as SVG or PNG bytes (the page shows and offers exactly these)."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"diagram format {fmt!r}: use svg or png")
    buffer = io.BytesIO()
    figure(counts, title).savefig(
        buffer, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight", pad_inches=0.1
    )
    return buffer.getvalue()


def prisma_counts_csv(counts: PrismaCounts) -> str:
    """Every box of the diagram as `box,count` rows (nested boxes as dotted names).

    A review in progress starts with a `status` row saying so with the newest event's time,
    and ends with its `in_progress.*` awaiting counts; a finished review has neither.
    """

    def flat(prefix: str, value: object) -> list[tuple[str, object]]:
        if isinstance(value, dict):
            return [row for k, v in value.items() for row in flat(f"{prefix}{k}.", v)]
        return [(prefix.rstrip("."), value)]

    lines = ["box,count"]
    if counts.in_progress is not None:
        lines.append(f'"status","{in_progress_note(counts)}"')
    lines += [f'"{box}",{n}' for box, n in flat("", counts.model_dump(mode="json"))]
    return "\n".join(lines) + "\n"


def in_progress_note(counts: PrismaCounts) -> str:
    """One line saying the review is in progress, as of when, and what still awaits (empty for
    a finished review): the CLI prints it, the page and the CSV show it."""
    p = counts.in_progress
    if p is None:
        return ""
    parts = [f"{p.records_awaiting_screening} records awaiting screening"]
    if p.records_awaiting_conflict_resolution:
        parts[-1] += f" ({p.records_awaiting_conflict_resolution} awaiting conflict resolution)"
    full_text = p.reports_awaiting_full_text_decision + p.other_reports_awaiting_full_text_decision
    conflicts = (
        p.reports_awaiting_full_text_conflict_resolution
        + p.other_reports_awaiting_full_text_conflict_resolution
    )
    parts.append(f"{full_text} reports awaiting a full-text decision")
    if conflicts:
        parts[-1] += f" ({conflicts} awaiting conflict resolution)"
    return (
        f"review in progress, counts as of the newest event {p.newest_event:%Y-%m-%d %H:%M} UTC: "
        + "; ".join(parts)
    )


def included_studies(store: Store, review: str, extractor: str = "agreed") -> pd.DataFrame:
    """Characteristics of included studies: one row per study from the `extractor`'s forms
    (reports linked as one study taken once), metafor column names for the counts."""
    with store.session() as session:
        repo.require_review(session, review)
        forms = [f for f in repo.load_extractions(session, review) if f.extractor == extractor]
        return study_table(forms, links_from_assignments(repo.load_events(session, review)))


def _strict_reason(result: ImportResult) -> str:
    parts = []
    malformed = result.issues
    if result.truncated:
        parts.append(f"the file breaks off ({result.truncated})")
        malformed = [i for i in malformed if result.truncated not in i.reason]
    if malformed:
        first = malformed[0]
        parts.append(
            f"{len(malformed)} malformed record(s), first at position {first.position}: "
            f"{first.reason}"
        )
    return "; ".join(parts) + "; nothing was imported"


def import_summary(path: Path, source: str, result: ImportResult) -> dict[str, Any]:
    """The outcome as stable snake_case keys (the CLI prints it as JSON or as text)."""
    return {
        "file": str(path),
        "source": source,
        "format": result.source_format,
        "encoding": result.encoding,
        "imported": len(result.records),
        "title_missing": [r.record_id for r in result.records if TITLE_MISSING in r.flags],
        "group_authors": sum(len(r.group_authors) for r in result.records),
        "truncated": result.truncated,
        "malformed": [i.model_dump() for i in result.issues],
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """Plain sentences for the text summary; the malformed records are listed separately."""
    lines = [
        f"imported {summary['imported']} records from {summary['file']} "
        f"({summary['format']}, {summary['encoding']}) as source {summary['source']!r}"
        + (f", batch {summary['batch']}" if summary.get("batch") is not None else "")
    ]
    if summary["truncated"]:
        lines.append(
            f"the file is incomplete: {summary['truncated']}; the {summary['imported']} "
            "complete record(s) before the break were imported, the rest of the file was not"
        )
    if summary["title_missing"]:
        lines.append(
            f"{len(summary['title_missing'])} record(s) flagged 'title missing' (kept for their "
            f"DOI, PMID or authors): {', '.join(summary['title_missing'][:10])}"
        )
    return lines


def export_records(
    store: Store,
    fmt: str,
    *,
    review: str = repo.DEFAULT_REVIEW,
    include_merged: bool = False,
    source: str | None = None,
) -> tuple[bytes, int]:
    """The review's records (after merges unless `include_merged`) in an export format, and
    how many were written."""
    with store.session() as session:
        view = repo.merged_view(session, review)
        rows = repo.load_records(session, review) if include_merged else view.records
    rows = [r for r in rows if source is None or r.source == source]
    return export_bytes(rows, fmt), len(rows)


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
    strict: bool = False,
    progress: ImportProgress | None = None,
) -> FileImport:
    """Import one export file into a review in one audited unit of work.

    Records are atomic: each complete, usable record is stored, each malformed one is reported
    and left out, and a file that breaks off keeps the records completed before the break. With
    `strict`, any malformed record or break refuses the whole file (StrictImportRefused, nothing
    stored). Refused with AlreadyImportedError when a file with the same bytes is already in the
    review and `again` is false. Record ids are '<source>-<batch>:<position>'.
    """
    attempt: list[int] = []  # the batch number this import tried to take
    try:
        return _import_in_one_unit(
            store,
            path,
            source,
            actor,
            fmt,
            encoding,
            kind,
            review,
            again,
            strict,
            progress,
            attempt,
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
    strict: bool,
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
        if strict and (result.issues or result.truncated):
            raise StrictImportRefused(f"{path}: --strict and " + _strict_reason(result))
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


# -- screening in the browser (issue 13) -----------------------------------------------------------
# Pages call these; rules stay in screening/workflow.py (blinding, reasons, resolvers) and
# screening/stopping.py (the stopping rule).


@dataclass(frozen=True)
class NextRecord:
    """The record one reviewer screens next, with its text marked for the protocol's terms."""

    reviewer: str
    stage: Stage
    record: BibRecord | None
    title_html: str
    abstract_html: str
    keywords_html: list[str]
    remaining: int
    decided_by_reviewer: int
    ranked_by: str
    retraining: bool
    reasons: tuple[str, ...]
    maybe_allowed: bool
    previous: ScreeningEvent | None  # this reviewer's own decision (shown after undo)


def require_screener(store: Store, review: str, reviewer: str) -> None:
    """Refuse a user who is not one of the protocol's screeners (named in the message)."""
    _require_screener(screening_cache.current(store, review), reviewer)


def _require_screener(state: screening_cache.LiveScreening, reviewer: str) -> None:
    screeners = [r.reviewer_id for r in state.protocol.reviewers_with(ReviewerRole.SCREENER)]
    if reviewer not in screeners:
        raise ScreeningError(f"reviewer: {reviewer!r} is not a screener of review {state.review!r}")


def _terms(state: screening_cache.LiveScreening) -> tuple[list[str], list[str]]:
    terms: tuple[list[str], list[str]] | None = state.memo.get("terms")
    if terms is None:
        terms = state.memo["terms"] = protocol_terms(state.protocol)
    return terms


def next_record(
    store: Store,
    review: str,
    reviewer: str,
    stage: Stage,
    rankings: LiveRankings | None = None,
    *,
    record_id: str | None = None,
    skipped: tuple[str, ...] = (),
) -> NextRecord:
    """The reviewer's next record from the last finished ranking (never waits for a model).

    Served from the reviewer's precomputed queue for that ranking (`LiveScreening.next_for`);
    `record_id` re-opens one of the reviewer's own records (undo); `skipped` records go last.
    """
    state = screening_cache.current(store, review)
    return _next_record(state, reviewer, stage, rankings, record_id, skipped)


def _next_record(
    state: screening_cache.LiveScreening,
    reviewer: str,
    stage: Stage,
    rankings: LiveRankings | None,
    record_id: str | None,
    skipped: tuple[str, ...],
) -> NextRecord:
    review = state.review
    ranking, retraining = (None, False)
    if rankings is not None:
        ranking, retraining = rankings.current(review, stage, reviewer)
    with state.lock:
        log = state.log
        remaining = log.open_count(reviewer, stage)
        chosen = record_id
        if chosen is None:
            pool = ranking.pool if ranking is not None else None
            chosen = state.next_for(reviewer, stage, ranking, pool, set(skipped))
        previous = log.view(reviewer, stage, chosen).own if chosen is not None else None
        decided = log.decided_count(reviewer, stage)
        record = state.records.get(chosen) if chosen else None
    include, exclude = _terms(state)
    ranked_by = (
        f"ranked by a model trained on {ranking.trained_on} of your labels and final outcomes "
        f"({ranking.relevant_labels} relevant)"
        if ranking
        else "record order (no model yet: it needs at least one relevant and one irrelevant label)"
    )
    return NextRecord(
        reviewer=reviewer,
        stage=stage,
        record=record,
        title_html=highlight(record.title or "(no title)", include, exclude) if record else "",
        abstract_html=highlight(record.abstract or "", include, exclude) if record else "",
        keywords_html=[highlight(k, include, exclude) for k in record.keywords] if record else [],
        remaining=remaining,
        decided_by_reviewer=decided,
        ranked_by=ranked_by,
        retraining=retraining,
        reasons=log.protocol.exclusion_reasons,
        maybe_allowed=stage in log.protocol.maybe_allowed_at,
        previous=previous,
    )


def screen_record(
    store: Store,
    review: str,
    *,
    reviewer: str,
    stage: Stage,
    record_id: str,
    verdict: Verdict,
    reason: str | None = None,
    rankings: LiveRankings | None = None,
    resolution: bool = False,
) -> None:
    """Store one decision (or a third reviewer's resolution) and ask for a retrain in the
    background; a refused decision raises ScreeningError and stores nothing.

    One audited transaction: take the review's screening write lock, check the event against
    the in-memory state caught up under that lock, insert the event (its audit entry and the
    derived `review_screening_state` row go with it), commit; then apply it in memory.
    """
    event = ScreeningEvent(
        kind=EventKind.RESOLUTION if resolution else EventKind.DECISION,
        stage=stage,
        record_id=record_id,
        reviewer=reviewer,
        verdict=verdict,
        at=datetime.now(UTC),
        reason=reason or None,
    )
    with store.unit_of_work(actor=reviewer) as session:
        repo.lock_for_screening(session, review)
        state = screening_cache.current(store, review, session)
        if not resolution:
            _require_screener(state, reviewer)
        seen, first = screening_cache.validate(state, event)
        event_id = repo.append_screening(session, event, review, first=first)
    screening_cache.committed(store, state, seen, event_id, event)
    if rankings is not None and not resolution:
        rankings.retrain(review, stage, reviewer)


def last_own_decision(store: Store, review: str, reviewer: str, stage: Stage) -> str | None:
    """The record of the reviewer's latest decision that may still be changed (undo)."""
    state = screening_cache.current(store, review)
    with state.lock:
        event = state.log.latest_event(reviewer, stage)
        if event is None or event.kind is not EventKind.DECISION:
            return None
        if state.log.status(stage, event.record_id) is RecordStatus.PENDING:
            return event.record_id
    return None


@dataclass(frozen=True)
class ScreeningProgress:
    """Counts, the recall curve and the stopping rule's verdict in plain words."""

    stage: Stage
    eligible: int
    final: int
    relevant_found: int
    conflicts_open: int
    curve_screened: list[int]
    curve_relevant: list[int]
    test: StoppingTest
    estimate_words: str
    guarantee_words: str


def screening_progress(
    store: Store,
    review: str,
    stage: Stage,
    recall_target: float = DEFAULT_RECALL_TARGET,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ScreeningProgress:
    """Progress of a stage from final outcomes only (nothing undisclosed)."""
    state = screening_cache.current(store, review)
    return _progress(state, stage, recall_target, confidence)


def _progress(
    state: screening_cache.LiveScreening, stage: Stage, recall_target: float, confidence: float
) -> ScreeningProgress:
    with state.lock:
        sequence = state.log.final_labels(stage)
        eligible = state.log.eligible_count(stage)
        summary = state.log.summary(stage)
    test = stopping_test(sequence, eligible, recall_target, confidence)
    cumulative = np.cumsum(sequence).tolist() if sequence else []
    found = int(sum(sequence))
    if test.can_stop:
        estimate = (
            f"You may stop: with {found} relevant records found in {len(sequence)} of {eligible}, "
            f"the chance that fewer than {recall_target:.0%} of all relevant records have been "
            f"found is below {1 - confidence:.0%} (adjusted p = {test.p_value:.3g})."
        )
    else:
        estimate = (
            f"Keep screening: {found} relevant records found in {len(sequence)} of {eligible}; "
            f"the data cannot yet show that at least {recall_target:.0%} of the relevant records "
            f"have been found (adjusted p = {test.p_value:.3g}, needs < {1 - confidence:.2g}). "
            f"The rule checks at fixed points, every {-(-eligible // DEFAULT_CHECKPOINTS)} "
            "records."
        )
    guarantee = (
        f"The promise: if the team stops when this panel says so, then in at most "
        f"{1 - confidence:.0%} of reviews ({100 - round(confidence * 100)} in 100) would fewer "
        f"than {recall_target:.0%} of the relevant records have been found. It holds when the "
        "records left unscreened are no richer in relevant records than a random sample "
        "(ranking by the model makes that conservative); it is checked only at fixed points, "
        "and corrected for checking more than once."
    )
    return ScreeningProgress(
        stage=stage,
        eligible=eligible,
        final=len(sequence),
        relevant_found=found,
        conflicts_open=summary.conflicts_open,
        curve_screened=list(range(1, len(sequence) + 1)),
        curve_relevant=[int(v) for v in cumulative],
        test=test,
        estimate_words=estimate,
        guarantee_words=guarantee,
    )


@dataclass(frozen=True)
class ScreeningPage:
    """What the screening page shows: the next record and the progress panel."""

    shown: NextRecord
    progress: ScreeningProgress


def screening_page(
    store: Store,
    review: str,
    reviewer: str,
    stage: Stage,
    rankings: LiveRankings | None = None,
    *,
    record_id: str | None = None,
    skipped: tuple[str, ...] = (),
) -> ScreeningPage:
    """The screening page for a screener, from one look at the database (`require_screener`,
    `next_record` and `screening_progress` on the same caught-up state)."""
    state = screening_cache.current(store, review)
    _require_screener(state, reviewer)
    return ScreeningPage(
        _next_record(state, reviewer, stage, rankings, record_id, skipped),
        _progress(state, stage, DEFAULT_RECALL_TARGET, DEFAULT_CONFIDENCE),
    )


@dataclass(frozen=True)
class ConflictForResolver:
    """An open conflict a resolver may decide (they did not screen the record)."""

    record: BibRecord | None
    record_id: str
    decisions: tuple[ScreeningEvent, ...]


def conflicts_for_resolver(
    store: Store, review: str, stage: Stage, resolver: str
) -> list[ConflictForResolver]:
    """Open conflicts at a stage that this user may resolve; refuses a non-resolver."""
    state = screening_cache.current(store, review)
    if resolver not in state.log.protocol.resolvers:
        raise ScreeningError(f"resolver: {resolver!r} may not resolve conflicts in {review!r}")
    with state.lock:
        conflicts = state.log.conflicts(stage)
    return [
        ConflictForResolver(state.records.get(c.record_id), c.record_id, c.decisions)
        for c in conflicts
        if all(e.reviewer != resolver for e in c.decisions)
    ]


def kappa_table(store: Store, review: str) -> list[PairAgreement]:
    """Cohen's kappa per stage and reviewer pair (complete records only)."""
    state = screening_cache.current(store, review)
    with state.lock:
        return [pair for stage in Stage for pair in pair_agreements(state.log, stage)]
