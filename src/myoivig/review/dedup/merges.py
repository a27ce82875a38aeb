"""Merge decisions as an append-only event log; the merged view is derived and reversible.

Undoing a merge appends an 'unmerge' event naming the merge; replaying the log then yields the
members as separate records again. Nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from myoivig.review.dedup.cluster import DedupResult
from myoivig.review.dedup.compare import PairScore
from myoivig.review.records import BibRecord


class MergeError(ValueError):
    """An event that does not fit the log (unknown record, double merge, bad undo)."""


class MergeEvent(BaseModel):
    event_id: str
    kind: Literal["merge", "unmerge"]
    record_ids: list[str] = Field(default_factory=list)
    target_event: str | None = None  # for unmerge: the merge being undone
    confidence: float | None = None
    rule: str = ""
    decided_by: str = "auto"
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class MergedView(BaseModel):
    """Records after replaying merges: one canonical record per publication."""

    records: list[BibRecord]
    canonical_of: dict[str, str]  # every input record id -> canonical record id
    duplicates_removed: int
    active_merges: list[str]


def auto_merge_events(result: DedupResult, start: int = 1) -> list[MergeEvent]:
    """One merge event per auto cluster (confidence >= the auto-merge threshold)."""
    return [
        MergeEvent(
            event_id=f"merge-{start + n}",
            kind="merge",
            record_ids=c.record_ids,
            confidence=c.confidence,
            rule="; ".join(c.rules),
            decided_by="auto",
        )
        for n, c in enumerate(result.clusters)
    ]


def reviewer_merge(pair: PairScore, reviewer: str, event_id: str) -> MergeEvent:
    """A person confirmed a queued pair."""
    return MergeEvent(
        event_id=event_id,
        kind="merge",
        record_ids=[pair.a, pair.b],
        confidence=pair.confidence,
        rule=f"confirmed by reviewer ({pair.rule})",
        decided_by=reviewer,
    )


def unmerge(target: str, reviewer: str, event_id: str) -> MergeEvent:
    return MergeEvent(event_id=event_id, kind="unmerge", target_event=target, decided_by=reviewer)


def identifier_conflict(members: list[BibRecord]) -> str | None:
    """Why these records cannot be one publication (two different DOIs or PMIDs), or None.

    Checked before a person's merge is stored, as `find_duplicates` does for automatic clusters.
    """
    dois = sorted({m.doi.lower() for m in members if m.doi})
    if len(dois) > 1:
        return f"different DOIs {dois}"
    pmids = sorted({m.pmid for m in members if m.pmid})
    if len(pmids) > 1:
        return f"different PMIDs {pmids}"
    return None


def _combine(members: list[BibRecord], screened: Collection[str] = ()) -> BibRecord:
    """Keep a stable canonical id and fill its empty fields (DOI, abstract, ...) from the others.

    The canonical record is the first already-screened member, else the earliest imported one
    (``members`` arrive in import order). Picking the 'most complete' record instead would
    change the id after screening started and orphan the screening decisions.
    """
    base = next((m for m in members if m.record_id in screened), members[0])
    ordered = [base, *(m for m in members if m is not base)]
    updates: dict[str, object] = {}
    for name in (
        "title",
        "year",
        "journal",
        "issn",
        "volume",
        "issue",
        "pages",
        "doi",
        "pmid",
        "abstract",
        "language",
    ):
        if getattr(base, name) is None:
            for other in ordered[1:]:
                if getattr(other, name) is not None:
                    updates[name] = getattr(other, name)
                    break
    if not base.authors:
        donor = next((o for o in ordered if o.authors), None)
        if donor is not None:
            updates["authors"] = donor.authors
            updates["group_authors"] = donor.group_authors
    raw = dict(base.raw)
    raw["merged_from"] = [m.record_id for m in ordered]
    updates["raw"] = raw
    return base.model_copy(update=updates)


def replay(
    records: list[BibRecord], events: list[MergeEvent], screened: Collection[str] = ()
) -> MergedView:
    """Apply the log in order and return the merged view.

    ``records`` must be in import order; ``screened`` names records that already carry screening
    decisions, which stay canonical when merged so those decisions remain attached.
    """
    by_id = {r.record_id: r for r in records}
    order = {r.record_id: k for k, r in enumerate(records)}
    active: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    seen: set[str] = set()
    for event in events:
        if event.event_id in seen:
            raise MergeError(f"{event.event_id}: event id used twice")
        seen.add(event.event_id)
        if event.kind == "merge":
            unknown = [i for i in event.record_ids if i not in by_id]
            if unknown:
                raise MergeError(f"{event.event_id}: unknown record ids {unknown}")
            # A record already merged elsewhere joins with its whole group: the groups fuse and
            # the new merge replaces the earlier one (undoing it separates all members).
            members: list[str] = []
            for rid in event.record_ids:
                joined = active.pop(owner[rid], []) if rid in owner else [rid]
                for m in joined:
                    if m not in members:
                        members.append(m)
            active[event.event_id] = members
            for m in members:
                owner[m] = event.event_id
        else:
            target = event.target_event
            if target not in active:
                raise MergeError(f"{event.event_id}: merge {target!r} is not active")
            for m in active.pop(target):
                owner.pop(m, None)
    canonical_of: dict[str, str] = {}
    out: list[BibRecord] = []
    grouped: set[str] = set()
    removed = 0
    for record in records:
        rid = record.record_id
        if rid in owner:
            if owner[rid] in grouped:
                continue
            grouped.add(owner[rid])
            group = sorted((by_id[m] for m in active[owner[rid]]), key=lambda r: order[r.record_id])
            merged = _combine(group, screened)
            out.append(merged)
            removed += len(group) - 1
            for member in group:
                canonical_of[member.record_id] = merged.record_id
        else:
            out.append(record)
            canonical_of[rid] = rid
    return MergedView(
        records=out,
        canonical_of=canonical_of,
        duplicates_removed=removed,
        active_merges=sorted(active),
    )
