"""The counts `ScreeningLog` keeps up to date per event equal a recount from scratch.

For random sequences of decisions, changed decisions (what undo leads to), resolutions and
refused events, after every step: status counts, open conflicts, the order records became final,
each reviewer's queue length, decided count and latest event, and full-text eligibility are
recomputed the slow way (from each record's own decisions, as the log did before it kept counts)
and compared; a refused event must change nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.protocol import ScreeningProtocol
from myoivig.review.screening.workflow import RecordStatus, ScreeningLog, StageSummary

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROTOCOL = ScreeningProtocol(
    exclusion_reasons=("not_ivig", "not_myositis"),
    reviewers=("ann", "bob", "cai"),
    resolvers=("dee", "cai"),
)
RECORDS = ("r1", "r2", "r3", "r4")


def _event(
    kind: EventKind, stage: Stage, record: str, reviewer: str, verdict: Verdict, pick: int
) -> ScreeningEvent:
    """Mostly well-formed (an exclusion with a reason, others without); every 7th is not."""
    reason = PROTOCOL.exclusion_reasons[pick % 2] if verdict is Verdict.EXCLUDE else None
    if pick % 7 == 0:
        reason = None if reason else "not_ivig"
    return ScreeningEvent(
        kind, stage, record, reviewer, verdict, T0 + timedelta(minutes=pick), reason
    )


events = st.builds(
    _event,
    st.sampled_from([EventKind.DECISION] * 3 + [EventKind.RESOLUTION]),
    st.sampled_from([Stage.TITLE_ABSTRACT] * 2 + [Stage.FULL_TEXT]),
    st.sampled_from(RECORDS),
    st.sampled_from(["ann", "bob", "cai", "dee"]),
    st.sampled_from(list(Verdict)),
    st.integers(0, 10_000),
)


def _recounted_eligible(log: ScreeningLog, stage: Stage) -> list[str]:
    if stage is Stage.TITLE_ABSTRACT:
        return list(log.record_ids)
    out = []
    for rid in log.record_ids:
        previous = log.outcome(Stage.TITLE_ABSTRACT, rid)
        if previous is not None and previous.verdict.moves_forward:
            out.append(rid)
    return out


def _recount(log: ScreeningLog, stage: Stage) -> dict[str, object]:
    """Everything the log keeps per event, computed from each record's decisions alone."""
    eligible = _recounted_eligible(log, stage)
    statuses = Counter(log.status(stage, rid) for rid in eligible)
    finals = [o for rid in eligible if (o := log.outcome(stage, rid)) is not None]
    finals.sort(key=lambda o: o.final_at_event)
    by_reason = Counter(o.reasons[0] for o in finals if not o.verdict.moves_forward)
    needed = log.protocol.reviewers_per_record
    queues = {
        r: [
            rid
            for rid in eligible
            if r not in {e.reviewer for e in log.decisions(stage, rid)}
            and len(log.decisions(stage, rid)) < needed
        ]
        for r in log.protocol.reviewers
    }
    mine = {
        r: [e for e in log.events if e.reviewer == r and e.stage is stage]
        for r in ("ann", "bob", "cai", "dee")
    }
    labels = {
        who: {
            rid: (1 if o.verdict.moves_forward else 0)
            if (o := log.outcome(stage, rid)) is not None
            else next(e.label for e in log.decisions(stage, rid) if e.reviewer == who)
            for rid in eligible
            if log.outcome(stage, rid) is not None
            or any(e.reviewer == who for e in log.decisions(stage, rid))
        }
        for who in log.protocol.reviewers
    }
    return {
        "eligible": eligible,
        "labels": {who: list(pairs.items()) for who, pairs in labels.items()},
        "summary": StageSummary(
            stage=stage,
            eligible=len(eligible),
            pending=statuses[RecordStatus.PENDING],
            conflicts_open=statuses[RecordStatus.CONFLICT],
            included=sum(1 for o in finals if o.verdict.moves_forward),
            excluded=sum(1 for o in finals if not o.verdict.moves_forward),
            excluded_by_reason=dict(sorted(by_reason.items())),
        ),
        "sequence": [(o.record_id, 1 if o.verdict.moves_forward else 0) for o in finals],
        "labels_in_order": [1 if o.verdict.moves_forward else 0 for o in finals],
        "conflicts": [rid for rid in eligible if log.status(stage, rid) is RecordStatus.CONFLICT],
        "queues": queues,
        "decided": {r: len(events) for r, events in mine.items()},
        "latest": {r: events[-1] if events else None for r, events in mine.items()},
    }


def _kept(log: ScreeningLog, stage: Stage) -> dict[str, object]:
    """The same, as the log keeps it."""
    return {
        "eligible": list(log.eligible(stage)),
        "labels": {
            who: list(log.training_labels(stage, who).items()) for who in log.protocol.reviewers
        },
        "summary": log.summary(stage),
        "sequence": log.screening_sequence(stage),
        "labels_in_order": log.final_labels(stage),
        "conflicts": [c.record_id for c in log.conflicts(stage)],
        "queues": {r: log.queue(r, stage) for r in log.protocol.reviewers},
        "decided": {r: log.decided_count(r, stage) for r in ("ann", "bob", "cai", "dee")},
        "latest": {r: log.latest_event(r, stage) for r in ("ann", "bob", "cai", "dee")},
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=5, max_size=60))
def test_counts_kept_per_event_equal_a_recount(sequence: list[ScreeningEvent]) -> None:
    log = ScreeningLog(PROTOCOL, RECORDS)
    for event in sequence:
        before = {stage: _kept(log, stage) for stage in Stage}
        try:
            log.append(event)
        except ScreeningError:
            assert {stage: _kept(log, stage) for stage in Stage} == before  # nothing changed
        for stage in Stage:
            kept = _kept(log, stage)
            assert kept == _recount(log, stage)
            for reviewer in PROTOCOL.reviewers:
                assert log.open_count(reviewer, stage) == len(kept["queues"][reviewer])  # type: ignore[index]
    replayed = ScreeningLog(PROTOCOL, RECORDS, log.events)
    assert all(_kept(replayed, stage) == _kept(log, stage) for stage in Stage)


def test_a_record_that_passes_title_abstract_joins_every_full_text_queue() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS)
    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    for reviewer in ("ann", "bob"):
        log.append(ScreeningEvent(EventKind.DECISION, ta, "r2", reviewer, Verdict.INCLUDE, T0))
    assert log.eligible(ft) == ("r2",) and log.summary(ft).pending == 1
    assert [log.open_count(r, ft) for r in ("ann", "bob", "cai")] == [1, 1, 1]
    assert [log.open_count(r, ta) for r in ("ann", "bob", "cai")] == [3, 3, 3]
    assert log.screening_sequence(ta) == [("r2", 1)]
