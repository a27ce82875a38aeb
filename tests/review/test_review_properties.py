"""Property tests: derived PRISMA counts always add up; merge replay is exactly reversible."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.review.dedup import replay, unmerge
from myoivig.review.dedup.merges import MergeEvent
from myoivig.review.prisma.events import (
    DuplicatesRemoved,
    FinalDecision,
    RecordsImported,
    ReportNotRetrieved,
    ReviewEvent,
    StudyAssigned,
)
from myoivig.review.prisma.flow import check, derive
from myoivig.review.records import BibRecord

FATES = st.sampled_from(["dup", "ta_out", "not_retrieved", "ft_out", "in"])


@settings(max_examples=150, deadline=None)
@given(
    fates=st.lists(st.tuples(FATES, st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=40)
)
def test_any_consistent_history_gives_counts_that_add_up(
    fates: list[tuple[str, int, int]],
) -> None:
    ids = [f"r{i}" for i in range(len(fates))]
    sources = ["MEDLINE", "CNKI", "Embase"]
    events: list[ReviewEvent] = [
        RecordsImported(source=src, record_ids=[i for i, (_, s, _) in zip(ids, fates, strict=True)
                                                if sources[s] == src])
        for src in sources
    ]  # fmt: skip
    events.append(DuplicatesRemoved(record_ids=[i for i, f in zip(ids, fates, strict=True)
                                                if f[0] == "dup"]))  # fmt: skip
    included = []
    for rid, (fate, _, study) in zip(ids, fates, strict=True):
        if fate == "dup":
            continue
        events.append(
            FinalDecision(record_id=rid, stage="title_abstract", include=fate != "ta_out")
        )
        if fate == "not_retrieved":
            events.append(ReportNotRetrieved(record_id=rid))
        elif fate == "ft_out":
            events.append(FinalDecision(record_id=rid, stage="full_text", include=False,
                                        reason=f"reason {study}"))  # fmt: skip
        elif fate == "in":
            events.append(FinalDecision(record_id=rid, stage="full_text", include=True))
            included.append((rid, study))
    for rid, study in included:
        events.append(StudyAssigned(study_id=f"s{study}", record_ids=[rid]))
    counts = derive(events)
    check(counts)
    n = {f: sum(1 for x in fates if x[0] == f) for f in ("dup", "ta_out", "not_retrieved",
                                                          "ft_out", "in")}  # fmt: skip
    assert counts.duplicates == n["dup"]
    assert counts.records_excluded == n["ta_out"]
    assert counts.databases.not_retrieved == n["not_retrieved"]
    assert sum(counts.databases.excluded.values()) == n["ft_out"]
    assert counts.new_reports == n["in"]
    assert counts.new_studies == len({s for _, s in included})


@settings(max_examples=100, deadline=None)
@given(
    groups=st.lists(st.lists(st.integers(0, 14), min_size=2, max_size=4, unique=True),
                    max_size=6),
    undo=st.lists(st.booleans(), max_size=6),
)  # fmt: skip
def test_undoing_every_merge_restores_the_records(
    groups: list[list[int]], undo: list[bool]
) -> None:
    records = [
        BibRecord(record_id=f"r{i}", source="s", source_format="t", position=i + 1,
                  title=f"Title {i}", year=2000 + i)
        for i in range(15)
    ]  # fmt: skip
    merges = [
        MergeEvent(event_id=f"m{n}", kind="merge", record_ids=[f"r{i}" for i in g])
        for n, g in enumerate(groups)
    ]
    view = replay(records, merges)
    assert len(view.records) + view.duplicates_removed == len(records)
    assert set(view.canonical_of) == {r.record_id for r in records}
    undo_events = [unmerge(m, "t", f"u{m}") for m in view.active_merges]
    restored = replay(records, [*merges, *undo_events])
    assert restored.records == records and restored.duplicates_removed == 0
    partial = [unmerge(m, "t", f"p{m}") for m, u in zip(view.active_merges, undo, strict=False)
               if u]  # fmt: skip
    some = replay(records, [*merges, *partial])
    assert len(some.records) + some.duplicates_removed == len(records)
