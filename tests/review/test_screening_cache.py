"""The in-memory screening state, caught up event by event, equals a full replay of the stored
log, on SQLite and PostgreSQL.

Random histories mix decisions and resolutions stored through the page's path
(`service.screen_record`: validated against the cached state under the write lock, applied in
memory after commit), the same stored behind the cache's back (`repository.record_screening`, as
another server process or the CLI would), undo (the reviewer's last changeable decision decided
again), merges, undone merges and removals. After every step the cached state must accept exactly
what a full replay accepts and agree with it on every event and everything derived: statuses,
outcomes, counts, conflicts, the order records became final, each reviewer's queue, next record,
training labels and undo target. Two screeners racing for a record's last slot get one.
"""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_screening_state import _event, _full_replay_accepts, _log_event, _setup

from myoivig.review import repository as repo
from myoivig.review import screening_cache, service
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.workflow import RecordStatus, ScreeningLog
from myoivig.store import Store

REASONS = ["not a clinical study", "case report", "case report", None]
SCREENERS = ("r1", "r2")

verdicts = st.one_of(  # mostly well-formed: exclusions with a reason, the rest without
    st.tuples(st.sampled_from([Verdict.INCLUDE, Verdict.MAYBE]), st.just(None)),
    st.tuples(st.just(Verdict.EXCLUDE), st.sampled_from(REASONS)),
)
screening_ops = st.builds(
    lambda action, reviewer, n, stage, verdict, path: (action, reviewer, n, stage, *verdict, path),
    st.sampled_from(["decide", "decide", "resolve"]),
    st.sampled_from(["r1", "r2", "r3"]),
    st.integers(1, 5),
    st.sampled_from([Stage.TITLE_ABSTRACT, Stage.TITLE_ABSTRACT, Stage.FULL_TEXT]),
    verdicts,
    st.booleans(),  # True: through the page's path; False: behind the cache's back
)
undo_ops = st.tuples(
    st.just("undo"), st.sampled_from(SCREENERS), st.sampled_from([Verdict.INCLUDE, Verdict.MAYBE])
)
log_ops = st.one_of(
    st.tuples(st.just("merge"), st.integers(1, 5), st.integers(1, 5)),
    st.tuples(st.just("unmerge"), st.integers(0, 3)),
    st.tuples(st.just("remove"), st.integers(1, 5)),
)
operations = st.lists(
    st.one_of(screening_ops, screening_ops, screening_ops, undo_ops, log_ops),
    min_size=10,
    max_size=30,
)


def _through_service(store: Store, review: str, event: ScreeningEvent) -> bool:
    try:
        service.screen_record(
            store,
            review,
            reviewer=event.reviewer,
            stage=event.stage,
            record_id=event.record_id,
            verdict=event.verdict,
            reason=event.reason,
            resolution=event.kind is EventKind.RESOLUTION,
        )
    except ScreeningError:
        return False
    return True


def _behind_the_cache(store: Store, review: str, event: ScreeningEvent) -> bool:
    try:
        with store.unit_of_work(actor=event.reviewer) as s:
            repo.record_screening(s, event, review)
    except ScreeningError:
        return False
    return True


def _undo_target(log: ScreeningLog, reviewer: str, stage: Stage) -> str | None:
    """The slow way: the reviewer's latest event, if a decision on a still pending record."""
    mine = [e for e in log.events if e.reviewer == reviewer and e.stage is stage]
    last = mine[-1] if mine else None
    if last and last.kind is EventKind.DECISION:
        return last.record_id if log.status(stage, last.record_id) is RecordStatus.PENDING else None
    return None


def _derived(log: ScreeningLog) -> dict[str, Any]:
    out: dict[str, Any] = {"records": log.record_ids, "events": log.events}
    for stage in Stage:
        out[f"{stage}:summary"] = log.summary(stage)
        out[f"{stage}:sequence"] = log.screening_sequence(stage)
        out[f"{stage}:conflicts"] = [(c.record_id, c.decisions) for c in log.conflicts(stage)]
        out[f"{stage}:eligible"] = log.eligible(stage)
        for rid in log.record_ids:
            out[f"{stage}:{rid}"] = (log.status(stage, rid), log.outcome(stage, rid))
        for reviewer in SCREENERS:
            out[f"{stage}:{reviewer}"] = (
                log.queue(reviewer, stage),
                log.open_count(reviewer, stage),
                log.decided_count(reviewer, stage),
                log.training_labels(stage, reviewer),
                _undo_target(log, reviewer, stage),
            )
    return out


def _assert_cache_equals_replay(store: Store, review: str) -> None:
    cached = screening_cache.current(store, review)
    with store.session() as s:
        full = repo.load_screening(s, review).log
    with cached.lock:
        assert _derived(cached.log) == _derived(full)
    for stage in Stage:
        for reviewer in SCREENERS:
            shown = service.next_record(store, review, reviewer, stage).record
            queue = full.queue(reviewer, stage)
            assert (shown.record_id if shown else None) == (queue[0] if queue else None)
            undo = service.last_own_decision(store, review, reviewer, stage)
            assert undo == _undo_target(full, reviewer, stage)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_caught_up_state_equals_a_full_replay(store: Store, ops: list[tuple[Any, ...]]) -> None:
    review = _setup(store)
    screening_cache.current(store, review)  # the cache exists before anything is screened
    for minute, op in enumerate(ops):
        if op[0] == "undo":
            _, reviewer, verdict = op
            target = service.last_own_decision(store, review, reviewer, Stage.TITLE_ABSTRACT)
            if target is not None:
                event = _event(
                    ("decide", reviewer, int(target.split(":")[1]), Stage.TITLE_ABSTRACT,
                     verdict, None), minute,
                )  # fmt: skip
                assert _full_replay_accepts(store, review, event)
                assert _through_service(store, review, event)
        elif op[0] in ("decide", "resolve"):
            event = _event(op[:6], minute)
            expected = _full_replay_accepts(store, review, event)
            write = _through_service if op[6] else _behind_the_cache
            assert write(store, review, event) == expected, (op, expected)
        else:
            _log_event(store, review, op)
        _assert_cache_equals_replay(store, review)


def test_a_fixed_history_through_both_paths(store: Store) -> None:
    """Every kind of step at least once, so each run exercises all of them."""
    review = _setup(store)
    screening_cache.current(store, review)
    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    steps: list[tuple[Any, ...]] = [
        ("decide", "r1", 1, ta, Verdict.INCLUDE, None, True),
        ("decide", "r1", 1, ta, Verdict.MAYBE, None, True),  # changed while incomplete
        ("decide", "r2", 1, ta, Verdict.EXCLUDE, "case report", False),  # conflict, elsewhere
        ("resolve", "r3", 1, ta, Verdict.INCLUDE, None, True),
        ("decide", "r1", 1, ft, Verdict.EXCLUDE, "case report", False),
        ("decide", "r2", 1, ft, Verdict.EXCLUDE, "not a clinical study", True),
        ("resolve", "r3", 1, ft, Verdict.EXCLUDE, "case report", False),
        ("decide", "r1", 2, ta, Verdict.INCLUDE, None, True),
        ("merge", 2, 3),
        ("decide", "r2", 3, ta, Verdict.INCLUDE, None, True),  # merged away: refused
        ("unmerge", 0),
        ("decide", "r2", 3, ta, Verdict.INCLUDE, None, True),  # back: accepted
        ("remove", 4),
        ("decide", "r1", 4, ta, Verdict.INCLUDE, None, True),  # removed: refused
    ]
    accepted = []
    for minute, op in enumerate(steps):
        if op[0] in ("decide", "resolve"):
            write = _through_service if op[6] else _behind_the_cache
            accepted.append(write(store, review, _event(op[:6], minute)))
        else:
            _log_event(store, review, op)
        _assert_cache_equals_replay(store, review)
    assert accepted == [True] * 8 + [False, True, False]


def test_racing_writes_for_a_records_last_slot_let_one_in(store: Store) -> None:
    """r1 has decided record 7; four writes by r2 race (two through the page, two behind the
    cache): the write lock and the state caught up under it let exactly one in (a second would
    change a decision the record's completion already made final)."""
    review = _setup(store)
    assert _through_service(store, review, _event(("decide", "r1", 7, Stage.TITLE_ABSTRACT,
                                                    Verdict.INCLUDE, None), 0))  # fmt: skip
    results: list[bool] = []
    start = threading.Barrier(4)

    def decide(minute: int, via_service: bool) -> None:
        event = _event(("decide", "r2", 7, Stage.TITLE_ABSTRACT, Verdict.EXCLUDE,
                        "case report"), minute)  # fmt: skip
        start.wait()
        write = _through_service if via_service else _behind_the_cache
        results.append(write(store, review, event))

    threads = [
        threading.Thread(target=decide, args=args)
        for args in [(1, True), (2, True), (3, False), (4, False)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    _assert_cache_equals_replay(store, review)
