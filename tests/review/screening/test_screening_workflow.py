"""Blinded dual screening: decisions, blinding, conflicts, resolution, reasons, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.protocol import ScreeningProtocol
from myoivig.review.screening.workflow import RecordStatus, ScreeningLog

TA = Stage.TITLE_ABSTRACT
FT = Stage.FULL_TEXT
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROTOCOL = ScreeningProtocol(
    exclusion_reasons=("not_ivig", "not_myositis", "not_primary_study"),
    reviewers=("ann", "bob", "cai"),
    resolvers=("dee", "cai"),
)
RECORDS = ("r1", "r2", "r3", "r4")


def ev(
    reviewer: str,
    record: str,
    verdict: Verdict,
    reason: str | None = None,
    stage: Stage = TA,
    kind: EventKind = EventKind.DECISION,
    minute: int = 0,
) -> ScreeningEvent:
    return ScreeningEvent(
        kind, stage, record, reviewer, verdict, T0 + timedelta(minutes=minute), reason
    )


INC, EXC, MAYBE = Verdict.INCLUDE, Verdict.EXCLUDE, Verdict.MAYBE


def test_agreed_records_get_an_outcome_and_pending_ones_do_not() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("bob", "r1", MAYBE)])
    assert log.status(TA, "r1") is RecordStatus.AGREED
    outcome = log.outcome(TA, "r1")
    assert outcome is not None and outcome.verdict is INC and outcome.resolved_by is None
    assert log.status(TA, "r2") is RecordStatus.PENDING
    assert log.outcome(TA, "r2") is None


def test_exclusion_without_reason_or_with_unlisted_reason_is_refused() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS)
    with pytest.raises(ScreeningError, match="needs a reason"):
        log.with_event(ev("ann", "r1", EXC))
    with pytest.raises(ScreeningError, match="'too_old' is not in the protocol"):
        log.with_event(ev("ann", "r1", EXC, "too_old"))
    with pytest.raises(ScreeningError, match="only exclusions carry a reason"):
        log.with_event(ev("ann", "r1", INC, "not_ivig"))
    assert log.events == ()  # refused events leave the log unchanged


def test_replay_error_names_the_event_position() -> None:
    with pytest.raises(ScreeningError, match=r"event 2: record_id: unknown record 'zz'"):
        ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("bob", "zz", INC)])


def test_unknown_reviewer_and_maybe_at_full_text_are_refused() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS)
    with pytest.raises(ScreeningError, match="'eve' is not a screening reviewer"):
        log.with_event(ev("eve", "r1", INC))
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("bob", "r1", INC)])
    with pytest.raises(ScreeningError, match="'maybe' is not allowed"):
        log.with_event(ev("ann", "r1", MAYBE, stage=FT))


def test_queue_and_view_are_blind_to_the_other_reviewers_decision() -> None:
    before = ScreeningLog(PROTOCOL, RECORDS)
    after_ann = before.with_event(ev("ann", "r1", EXC, "not_ivig"))
    # bob's queue is the same whatever ann decided, and r1 stays in it
    assert after_ann.queue("bob", TA) == before.queue("bob", TA) == list(RECORDS)
    other = before.with_event(ev("ann", "r1", INC))
    assert other.queue("bob", TA) == after_ann.queue("bob", TA)
    # bob's view of r1 shows nothing of ann's decision before bob decides
    view = after_ann.view("bob", TA, "r1")
    assert view.own is None and view.others is None and view.status is None
    # ann sees only her own decision until bob has decided
    view = after_ann.view("ann", TA, "r1")
    assert view.own is not None and view.own.verdict is EXC and view.others is None
    both = after_ann.with_event(ev("bob", "r1", INC))
    view = both.view("bob", TA, "r1")
    assert view.others is not None and [e.reviewer for e in view.others] == ["ann"]
    assert view.status is RecordStatus.CONFLICT


def test_training_labels_never_leak_an_undisclosed_decision() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("ann", "r2", INC)])
    log = log.with_event(ev("bob", "r2", INC))
    assert log.training_labels(TA, "bob") == {"r2": 1}  # r1 is ann's alone: hidden from bob
    assert log.training_labels(TA, "ann") == {"r1": 1, "r2": 1}
    assert log.training_labels(TA) == {"r2": 1}


def test_a_third_reviewer_is_not_offered_complete_records() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("bob", "r1", INC)])
    assert "r1" not in log.queue("cai", TA)
    with pytest.raises(ScreeningError, match="already has its 2 independent decisions"):
        log.with_event(ev("cai", "r1", INC))


def test_reviewer_may_change_a_decision_only_while_blind() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("ann", "r1", EXC, "not_ivig")])
    assert [e.verdict for e in log.decisions(TA, "r1")] == [EXC]
    log = log.with_event(ev("bob", "r1", EXC, "not_ivig"))
    with pytest.raises(ScreeningError, match="decision is final"):
        log.with_event(ev("ann", "r1", INC))
    assert len(log.events) == 3  # the history keeps the superseded decision


def test_conflict_listed_and_resolved_by_a_third_reviewer() -> None:
    log = ScreeningLog(
        PROTOCOL, RECORDS, [ev("ann", "r1", INC), ev("bob", "r1", EXC, "not_myositis")]
    )
    conflicts = log.conflicts(TA)
    assert [c.record_id for c in conflicts] == ["r1"]
    assert {e.reviewer for e in conflicts[0].decisions} == {"ann", "bob"}
    with pytest.raises(ScreeningError, match="'ann' is not a resolver"):
        log.with_event(ev("ann", "r1", INC, kind=EventKind.RESOLUTION))
    with pytest.raises(ScreeningError, match="nothing to resolve"):
        log.with_event(ev("dee", "r2", INC, kind=EventKind.RESOLUTION))
    resolved = log.with_event(ev("dee", "r1", EXC, "not_myositis", kind=EventKind.RESOLUTION))
    assert resolved.conflicts(TA) == []
    assert resolved.status(TA, "r1") is RecordStatus.RESOLVED
    outcome = resolved.outcome(TA, "r1")
    assert outcome is not None and outcome.verdict is EXC and outcome.resolved_by == "dee"
    with pytest.raises(ScreeningError, match="already resolved"):
        resolved.with_event(ev("dee", "r1", INC, kind=EventKind.RESOLUTION))


def test_resolver_who_screened_the_record_cannot_resolve_it() -> None:
    log = ScreeningLog(PROTOCOL, RECORDS, [ev("cai", "r1", INC), ev("bob", "r1", EXC, "not_ivig")])
    with pytest.raises(ScreeningError, match="'cai' screened this record"):
        log.with_event(ev("cai", "r1", INC, kind=EventKind.RESOLUTION))


def test_full_text_only_for_records_that_passed_title_abstract() -> None:
    events = [
        ev("ann", "r1", INC),
        ev("bob", "r1", MAYBE),
        ev("ann", "r2", EXC, "not_ivig"),
        ev("bob", "r2", EXC, "not_primary_study"),
    ]
    log = ScreeningLog(PROTOCOL, RECORDS, events)
    assert log.eligible(FT) == ("r1",)
    with pytest.raises(ScreeningError, match="not eligible"):
        log.with_event(ev("ann", "r2", INC, stage=FT))
    # two different exclusion reasons at title/abstract are an agreed exclusion
    assert log.status(TA, "r2") is RecordStatus.AGREED
    assert log.outcome(TA, "r2").reasons == ("not_ivig", "not_primary_study")  # type: ignore[union-attr]


def test_different_reasons_at_full_text_are_a_conflict() -> None:
    events = [
        ev("ann", "r1", INC),
        ev("bob", "r1", INC),
        ev("ann", "r1", EXC, "not_ivig", stage=FT),
        ev("bob", "r1", EXC, "not_myositis", stage=FT),
    ]
    log = ScreeningLog(PROTOCOL, RECORDS, events)
    assert log.status(FT, "r1") is RecordStatus.CONFLICT
    log = log.with_event(ev("dee", "r1", EXC, "not_ivig", stage=FT, kind=EventKind.RESOLUTION))
    summary = log.summary(FT)
    assert (summary.eligible, summary.excluded, summary.excluded_by_reason) == (
        1,
        1,
        {"not_ivig": 1},
    )


def test_summary_and_screening_sequence_are_derived_from_events() -> None:
    events = [
        ev("ann", "r3", EXC, "not_ivig", minute=1),
        ev("ann", "r1", INC, minute=2),
        ev("bob", "r1", INC, minute=3),
        ev("bob", "r3", EXC, "not_ivig", minute=4),
        ev("ann", "r2", INC, minute=5),
        ev("bob", "r2", EXC, "not_myositis", minute=6),
    ]
    log = ScreeningLog(PROTOCOL, RECORDS, events)
    summary = log.summary(TA)
    assert (summary.eligible, summary.pending, summary.conflicts_open) == (4, 1, 1)
    assert (summary.included, summary.excluded) == (1, 1)
    assert summary.excluded_by_reason == {"not_ivig": 1}
    assert log.screening_sequence(TA) == [("r1", 1), ("r3", 0)]


def test_protocol_rules() -> None:
    with pytest.raises(ScreeningError, match="at least 2"):
        ScreeningProtocol(("x",), ("a", "b"), ("c",), reviewers_per_record=1)
    with pytest.raises(ScreeningError, match="distinct reviewers"):
        ScreeningProtocol(("x",), ("a",), ("c",))
    with pytest.raises(ScreeningError, match="resolver"):
        ScreeningProtocol(("x",), ("a", "b"), ())
    with pytest.raises(ScreeningError, match="unknown field"):
        ScreeningProtocol.from_mapping(
            {"exclusion_reasons": ["x"], "reviewers": ["a", "b"], "resolvers": ["c"], "zz": 1}
        )
    with pytest.raises(ScreeningError, match="duplicate record id"):
        ScreeningLog(PROTOCOL, ["r1", "r1"])


def test_three_reviewers_per_record() -> None:
    protocol = ScreeningProtocol(("x",), ("a", "b", "c"), ("d",), reviewers_per_record=3)
    log = ScreeningLog(protocol, ["r1"], [ev("a", "r1", INC), ev("b", "r1", INC)])
    assert log.status(TA, "r1") is RecordStatus.PENDING
    assert log.view("a", TA, "r1").others is None
    log = log.with_event(ev("c", "r1", EXC, "x"))
    assert log.status(TA, "r1") is RecordStatus.CONFLICT


def test_maybe_at_full_text_is_a_conflict_never_an_inclusion() -> None:
    protocol = ScreeningProtocol(
        exclusion_reasons=PROTOCOL.exclusion_reasons,
        reviewers=PROTOCOL.reviewers,
        resolvers=PROTOCOL.resolvers,
        maybe_allowed_at=frozenset({TA, FT}),
    )
    events = [ev("ann", "r1", INC), ev("bob", "r1", INC)]
    events += [ev("ann", "r1", MAYBE, stage=FT), ev("bob", "r1", MAYBE, stage=FT)]
    log = ScreeningLog(protocol, RECORDS, events)
    assert log.status(FT, "r1") is RecordStatus.CONFLICT
    assert log.outcome(FT, "r1") is None and log.summary(FT).included == 0
    mixed = ScreeningLog(protocol, RECORDS, [*events[:2], ev("ann", "r1", INC, stage=FT)])
    mixed = mixed.with_event(ev("bob", "r1", MAYBE, stage=FT))
    assert mixed.status(FT, "r1") is RecordStatus.CONFLICT
    resolved = log.with_event(ev("dee", "r1", EXC, "not_ivig", stage=FT, kind=EventKind.RESOLUTION))
    outcome = resolved.outcome(FT, "r1")
    assert outcome is not None and outcome.verdict is EXC
