"""Duplicate records of a review: find them, merge what a person confirms, undo a merge, and
show records side by side. The CLI (`review dedup`, `merge`, `unmerge`) and the web pages call
these functions; each write is one audited unit of work whose merge events PRISMA counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from myoivig.review import repository as repo
from myoivig.review.dedup import DedupSettings, auto_merge_events, find_duplicates, unmerge
from myoivig.review.dedup.merges import MergeError, MergeEvent, identifier_conflict
from myoivig.review.names import ReviewStateError
from myoivig.review.records import BibRecord
from myoivig.store import Store

DEFAULTS = DedupSettings()

# Fields shown side by side, in the order a reviewer compares two references.
COMPARED_FIELDS = (
    ("title", "Title"),
    ("authors", "Authors"),
    ("year", "Year"),
    ("journal", "Journal"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("pages", "Pages"),
    ("doi", "DOI"),
    ("pmid", "PMID"),
    ("language", "Language"),
    ("source", "Source"),
)


@dataclass(frozen=True)
class QueuedPair:
    a: str
    b: str
    confidence: float
    rule: str


@dataclass(frozen=True)
class DedupOutcome:
    """What one duplicate search found and (unless a dry run) merged."""

    records: int
    pairs_compared: int
    skipped_blocks: dict[str, int]
    merged: list[str]
    clusters: list[dict[str, Any]]
    queue: list[QueuedPair]


def find_and_merge(
    store: Store,
    review: str,
    *,
    actor: str,
    auto_merge: float = DEFAULTS.auto_merge,
    review_threshold: float = DEFAULTS.review,
    dry_run: bool = False,
) -> DedupOutcome:
    """Compare the not-yet-merged records; merge clusters at or above `auto_merge`, queue pairs
    between the two thresholds for a person (defaults: `DedupSettings`)."""
    settings = DedupSettings(auto_merge=auto_merge, review=review_threshold)
    with store.unit_of_work(actor=actor) as session:  # a review with no records: nothing found
        view = repo.merged_view(session, review)
        result = find_duplicates(view.records, settings)
        events = auto_merge_events(result, start=repo.next_merge_number(session, review))
        if not dry_run:
            for event in events:
                repo.append_event(session, event, review)
    return DedupOutcome(
        records=len(view.records),
        pairs_compared=result.pairs_compared,
        skipped_blocks=dict(result.skipped_blocks),
        merged=[] if dry_run else [e.event_id for e in events],
        clusters=[
            {"record_ids": c.record_ids, "confidence": c.confidence, "rules": c.rules}
            for c in result.clusters
        ],
        queue=[QueuedPair(p.a, p.b, p.confidence, p.rule) for p in result.queue],
    )


def merge_records(store: Store, review: str, record_ids: list[str], *, actor: str) -> str:
    """Merge records a person judged to be one publication; returns the merge event's id.

    Refused (nothing written) for fewer than two records, unknown ids, or a group that would
    hold two different DOIs or PMIDs.
    """
    if len(set(record_ids)) < 2:
        raise ReviewStateError("give at least two different record ids to merge")
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        records = repo.load_records(session, review)
        known = {r.record_id for r in records}
        unknown = [r for r in record_ids if r not in known]
        if unknown:
            raise ReviewStateError(f"unknown record ids {unknown} in review {review!r}")
        event_id = f"merge-{repo.next_merge_number(session, review)}"
        repo.append_event(
            session,
            MergeEvent(event_id=event_id, kind="merge", record_ids=record_ids,
                       rule="confirmed by reviewer", decided_by=actor),
            review,
        )  # fmt: skip
        view = repo.merged_view(session, review)  # validates the log with the new event
        canonical = view.canonical_of[record_ids[0]]
        by_id = {r.record_id: r for r in records}
        group = [by_id[r] for r, c in view.canonical_of.items() if c == canonical]
        conflict = identifier_conflict(group)
        if conflict:
            raise ReviewStateError(
                f"not merged: the group {sorted(r.record_id for r in group)} would hold {conflict}"
            )
    return event_id


def unmerge_records(store: Store, review: str, merge_id: str, *, actor: str) -> str:
    """Undo an active merge; its records become separate again. Returns the unmerge's id."""
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        active = repo.merged_view(session, review).active_merges
        if merge_id not in active:
            raise MergeError(f"{merge_id!r} is not an active merge (active: {active})")
        event_id = f"unmerge-{repo.next_merge_number(session, review)}"
        repo.append_event(session, unmerge(merge_id, actor, event_id), review)
    return event_id


@dataclass(frozen=True)
class ComparedField:
    label: str
    values: list[str]
    differs: bool


@dataclass(frozen=True)
class SideBySide:
    """Records of one (possible) publication, field by field, differing fields marked."""

    record_ids: list[str]
    fields: list[ComparedField]
    merge_id: str | None = None
    confidence: float | None = None
    rule: str = ""


def _shown(record: BibRecord, field: str) -> str:
    value = getattr(record, field, None)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def side_by_side(records: list[BibRecord], **about: Any) -> SideBySide:
    """Compare records field by field; a field differs when the shown values are not all equal
    after ignoring case and surrounding space (empty counts as a value)."""
    fields = []
    for name, label in COMPARED_FIELDS:
        values = [_shown(r, name) for r in records]
        differs = len({v.strip().casefold() for v in values}) > 1
        fields.append(ComparedField(label, values, differs))
    return SideBySide([r.record_id for r in records], fields, **about)


@dataclass(frozen=True)
class DuplicatesPage:
    merged: list[SideBySide]
    queued: list[SideBySide]
    duplicates_removed: int
    auto_merge: float = DEFAULTS.auto_merge
    review_threshold: float = DEFAULTS.review


def duplicates_page(store: Store, review: str, queue: list[QueuedPair]) -> DuplicatesPage:
    """Active merges with their records, and the queued pairs still separate in the review."""
    with store.session() as session:
        repo.require_review(session, review)
        records = {r.record_id: r for r in repo.load_records(session, review)}
        view = repo.merged_view(session, review)
        merges = {
            e.event_id: e
            for e in repo.load_events(session, review)
            if isinstance(e, MergeEvent) and e.kind == "merge"
        }
    merged = [
        side_by_side(
            [records[r] for r in merges[m].record_ids if r in records],
            merge_id=m,
            confidence=merges[m].confidence,
            rule=f"{merges[m].rule} ({merges[m].decided_by})",
        )
        for m in view.active_merges
        if m in merges
    ]
    canonical = view.canonical_of
    queued = [
        side_by_side([records[p.a], records[p.b]], confidence=p.confidence, rule=p.rule)
        for p in queue
        if p.a in records and p.b in records and canonical.get(p.a) != canonical.get(p.b)
    ]
    return DuplicatesPage(merged, queued, view.duplicates_removed)


def run_dedup_job(database_url: str, review: str, actor: str) -> list[QueuedPair]:
    """Background job for the duplicates page: find, auto-merge, return the queue."""
    store = Store.from_url(database_url)
    try:
        return find_and_merge(store, review, actor=actor).queue
    finally:
        store.dispose()
