"""The derived screening state equals a full replay of the event log, on SQLite and PostgreSQL.

A decision is validated against its record's current decisions (`review_screening_state`)
instead of a replay of the whole log. For random histories of decisions, resolutions, merges,
undone merges and removals, the fast path accepts exactly the events the full replay accepts,
the table holds exactly the latest event per (stage, record, kind, reviewer), and every record's
state read from the table equals the full replay's.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from myoivig.review import repository as repo
from myoivig.review.dedup.merges import MergeEvent, unmerge
from myoivig.review.example.build import protocol
from myoivig.review.importers import import_file
from myoivig.review.prisma.events import RecordsRemoved
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.stored import ScreeningRecorded
from myoivig.review.screening_state import (
    ScreeningStateRow,
    fold,
    is_screenable,
    record_log,
    stored_state,
)
from myoivig.review.tables import ReviewEventRow
from myoivig.store import Store
from myoivig.store.store import alembic_config

FIX = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 12, 1, tzinfo=UTC)
REASONS = ["not a clinical study", "case report", None, "not in the protocol"]
_reviews = itertools.count()


def rec(n: int) -> str:
    return f"MEDLINE-1:{n}"


def _setup(store: Store) -> str:
    review = f"prop-{next(_reviews)}"
    with store.unit_of_work(actor="lead") as s:
        repo.save_protocol(s, protocol(), review)
        repo.add_import(
            s, import_file(FIX / "screening_small.ris", "MEDLINE", id_prefix="MEDLINE-1:"),
            review=review,
        )  # fmt: skip
    return review


screening_ops = st.tuples(
    st.sampled_from(["decide", "resolve"]),
    st.sampled_from(["r1", "r2", "r3"]),
    st.integers(1, 5),
    st.sampled_from([Stage.TITLE_ABSTRACT, Stage.FULL_TEXT]),
    st.sampled_from([Verdict.INCLUDE, Verdict.EXCLUDE, Verdict.MAYBE]),
    st.sampled_from(REASONS),
)
log_ops = st.one_of(
    st.tuples(st.just("merge"), st.integers(1, 5), st.integers(1, 5)),
    st.tuples(st.just("unmerge"), st.integers(0, 3)),
    st.tuples(st.just("remove"), st.integers(1, 5)),
)
operations = st.lists(st.one_of(screening_ops, screening_ops, screening_ops, log_ops), max_size=30)


def _event(op: tuple[Any, ...], minute: int) -> ScreeningEvent:
    action, reviewer, n, stage, verdict, reason = op
    kind = EventKind.DECISION if action == "decide" else EventKind.RESOLUTION
    if verdict is not Verdict.EXCLUDE and reason is not None and minute % 3:
        reason = None  # mostly well-formed, sometimes a reason where none belongs
    return ScreeningEvent(kind, stage, rec(n), reviewer, verdict, T0.replace(minute=minute), reason)


def _full_replay_accepts(store: Store, review: str, event: ScreeningEvent) -> bool:
    """The old behaviour: replay the whole stored log, then try the event."""
    with store.session() as s:
        try:
            repo.load_screening(s, review).log.with_event(event)
        except ScreeningError:
            return False
    return True


def _fast_path_accepts(store: Store, review: str, event: ScreeningEvent) -> bool:
    try:
        with store.unit_of_work(actor=event.reviewer) as s:
            repo.record_screening(s, event, review)
    except ScreeningError:
        return False
    return True


def _log_event(store: Store, review: str, op: tuple[Any, ...]) -> None:
    with store.unit_of_work(actor="lead") as s:
        view = repo.merged_view(s, review)
        number = repo.next_merge_number(s, review)
        if op[0] == "merge" and op[1] != op[2]:
            ids = [rec(op[1]), rec(op[2])]
            repo.append_event(s, MergeEvent(event_id=f"merge-{number}", kind="merge",
                                            record_ids=ids, decided_by="lead"), review)  # fmt: skip
        elif op[0] == "unmerge" and view.active_merges:
            target = view.active_merges[op[1] % len(view.active_merges)]
            repo.append_event(s, unmerge(target, "lead", f"unmerge-{number}"), review)
        elif op[0] == "remove":
            repo.append_event(
                s, RecordsRemoved(record_ids=[rec(op[1])], reason="retracted"), review
            )


def _row_view(event: ScreeningEvent) -> tuple[str, str, str, str | None]:
    return (event.kind.value, event.reviewer, event.verdict.value, event.reason)


def _assert_state_equals_full_replay(store: Store, review: str) -> None:
    with store.session() as s:
        stored = [
            (row_id, ScreeningRecorded.model_validate(payload))
            for row_id, payload in s.execute(
                select(ReviewEventRow.id, ReviewEventRow.payload)
                .where(ReviewEventRow.review == review, ReviewEventRow.kind == "screening")
                .order_by(ReviewEventRow.id)
            )
        ]
        assert stored_state(s, review) == fold(stored)
        full = repo.load_screening(s, review).log
        for n in range(1, 9):
            rid = rec(n)
            assert is_screenable(s, review, rid) == (rid in full.record_ids)
            if rid not in full.record_ids:
                continue
            one = record_log(s, review, rid)
            for stage in Stage:
                assert one.status(stage, rid) == full.status(stage, rid)
                assert [_row_view(e) for e in one.decisions(stage, rid)] == [
                    _row_view(e) for e in full.decisions(stage, rid)
                ]
                mine, theirs = one.outcome(stage, rid), full.outcome(stage, rid)
                assert (mine is None) == (theirs is None)
                if mine is not None and theirs is not None:
                    assert (mine.verdict, mine.reasons, mine.resolved_by) == (
                        theirs.verdict, theirs.reasons, theirs.resolved_by,
                    )  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_derived_state_equals_a_full_replay(store: Store, ops: list[tuple[Any, ...]]) -> None:
    review = _setup(store)
    accepted = 0
    for minute, op in enumerate(ops):
        if op[0] in ("decide", "resolve"):
            event = _event(op, minute)
            expected = _full_replay_accepts(store, review, event)
            assert _fast_path_accepts(store, review, event) == expected, (op, expected)
            accepted += expected
        else:
            _log_event(store, review, op)
    _assert_state_equals_full_replay(store, review)


def test_a_full_history_with_conflicts_resolutions_merges_and_undo(store: Store) -> None:
    """A fixed history touching every kind of event, so each run exercises all of them."""
    review = _setup(store)
    script: list[tuple[Any, ...]] = [
        ("decide", "r1", 1, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
        ("decide", "r1", 1, Stage.TITLE_ABSTRACT, Verdict.MAYBE, None),  # changed while incomplete
        ("decide", "r2", 1, Stage.TITLE_ABSTRACT, Verdict.EXCLUDE, "case report"),  # conflict
        ("resolve", "r3", 1, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
        ("decide", "r1", 1, Stage.FULL_TEXT, Verdict.EXCLUDE, "case report"),
        ("decide", "r2", 1, Stage.FULL_TEXT, Verdict.EXCLUDE, "not a clinical study"),
        ("resolve", "r3", 1, Stage.FULL_TEXT, Verdict.EXCLUDE, "case report"),
        ("decide", "r1", 2, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
        ("merge", 2, 3),
        ("decide", "r2", 3, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),  # merged away: refused
        ("unmerge", 0),
        ("decide", "r2", 3, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),  # back: accepted
        ("remove", 4),
        ("decide", "r1", 4, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),  # removed: refused
    ]
    outcomes = []
    for minute, op in enumerate(script):
        if op[0] in ("decide", "resolve"):
            event = _event(op, minute)
            expected = _full_replay_accepts(store, review, event)
            assert _fast_path_accepts(store, review, event) == expected
            outcomes.append(expected)
        else:
            _log_event(store, review, op)
    assert outcomes == [True] * 8 + [False, True, False]
    _assert_state_equals_full_replay(store, review)


def test_migration_fills_the_state_from_existing_events(store: Store) -> None:
    review = _setup(store)
    for minute, op in enumerate(
        [
            ("decide", "r1", 1, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
            ("decide", "r1", 1, Stage.TITLE_ABSTRACT, Verdict.EXCLUDE, "case report"),
            ("decide", "r2", 1, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
            ("decide", "r2", 2, Stage.TITLE_ABSTRACT, Verdict.INCLUDE, None),
        ]
    ):
        assert _fast_path_accepts(store, review, _event(op, minute))
    with store.session() as s:
        before = stored_state(s, review)
    assert len(before) == 3
    with store.engine.begin() as connection:  # an older database: no table, events only
        connection.execute(delete(ScreeningStateRow))
        config = alembic_config(store.url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_webplan_approvals")
    store.upgrade()
    with store.session() as s:
        assert stored_state(s, review) == before
    _assert_state_equals_full_replay(store, review)


@pytest.mark.parametrize("n", [3])
def test_refusal_names_the_record_not_a_log_position(store: Store, n: int) -> None:
    review = _setup(store)
    event = _event(("decide", "r1", n, Stage.FULL_TEXT, Verdict.INCLUDE, None), 1)
    with pytest.raises(ScreeningError) as caught, store.unit_of_work(actor="r1") as s:
        repo.record_screening(s, event, review)
    assert str(caught.value).startswith(f"record {rec(n)!r} at full_text: not eligible")
