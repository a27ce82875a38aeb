"""The screening state of stored reviews, kept in memory per process and caught up event by event.

Replaying a review's whole log (10,000 screening events: about a second) on every page view and
decision is what made screening in the browser slow. A `LiveScreening` holds the validated
`ScreeningLog` of one review (whose counts are kept per event), its records after merges and its
protocol. `current` asks the database ONE question (`repository.log_head`): are the events up to
the last one seen still the same number, did records or the protocol change, and which is the
newest event? It then applies only the screening events written since, by this process or any
other (each server process and each RQ worker keeps its own state). Merges, unmerges and removals
change which records are screened, and any mismatch means something was written out of order:
both make it replay the whole log, as before. Tests check the caught-up state against a full
replay after random histories, on SQLite and PostgreSQL (tests/review/test_screening_cache.py).

A decision is validated against this state while the review's screening write lock is held
(`repository.lock_for_screening`), so no other screening event can be written between the check
and the insert. Mutations of a state happen under its `lock`; readers take it too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from myoivig.review import repository as repo
from myoivig.review.names import ReviewStateError
from myoivig.review.protocol import ReviewProtocol
from myoivig.review.records import BibRecord
from myoivig.review.screening.events import EventKind, ScreeningError, ScreeningEvent, Stage
from myoivig.review.screening.stored import ScreeningRecorded
from myoivig.review.screening.workflow import ScreeningLog
from myoivig.store import Store

REPLAY_KINDS = frozenset({"merge", "unmerge", "records_removed"})
"""Event kinds that change which records are screened: the state is replayed after them."""


@dataclass
class ReviewerQueue:
    """One reviewer's records to screen at one stage, in the order of the ranking it was built
    from, holding only records eligible at that stage when it was built (`eligible`: how many
    there were; more means a record passed title/abstract since, and the queue is rebuilt).
    `cursor` only moves forward past records the reviewer no longer needs to decide: an
    eligible record never needs them again once they decided it or it is complete."""

    ranking: object
    eligible: int
    order: list[str]
    cursor: int = 0
    rest_added: bool = False


@dataclass
class LiveScreening:
    """One review's screening state as of event row `last_event_id`."""

    review: str
    log: ScreeningLog
    records: dict[str, BibRecord]
    protocol: ReviewProtocol
    last_event_id: int
    event_count: int
    records_key: tuple[int, int]
    protocol_key: tuple[int, datetime] | None
    lock: threading.RLock = field(default_factory=threading.RLock)
    queues: dict[tuple[str, Stage], ReviewerQueue] = field(default_factory=dict)
    memo: dict[object, Any] = field(default_factory=dict)

    def catch_up(self, tail: list[tuple[int, repo.AnyEvent]]) -> bool:
        """Apply events written after the ones seen; False if one needs a full replay."""
        with self.lock:
            for row_id, event in tail:
                if row_id <= self.last_event_id:
                    continue  # another thread of this process applied it already
                if event.kind in REPLAY_KINDS:
                    return False
                if isinstance(event, ScreeningRecorded):
                    try:
                        self.log.append(event.to_event())
                    except ScreeningError:  # e.g. an event on a record merged away: replay
                        return False
                self.last_event_id, self.event_count = row_id, self.event_count + 1
        return True

    def next_for(
        self,
        reviewer: str,
        stage: Stage,
        ranking: object,
        pool: tuple[str, ...] | None,
        skip: set[str],
    ) -> str | None:
        """The first record this reviewer still has to decide, in the ranking's order (`pool`:
        the records unlabelled when it was trained, best first; None: record order); skipped
        records come last. O(1) per call once the queue for a ranking is built."""
        with self.lock:
            log = self.log
            queue = self.queues.get((reviewer, stage))
            eligible = log.eligible_count(stage)
            if queue is None or queue.ranking is not ranking or queue.eligible != eligible:
                source = pool if pool is not None else log.record_ids
                order = [rid for rid in source if log.is_eligible(stage, rid)]
                queue = ReviewerQueue(ranking, eligible, order, rest_added=pool is None)
                self.queues[(reviewer, stage)] = queue
            needs = log.needs_decision
            first_skipped = None
            while True:
                order = queue.order
                while queue.cursor < len(order) and not needs(reviewer, stage, order[queue.cursor]):
                    queue.cursor += 1
                for rid in (
                    order[queue.cursor :] if skip else order[queue.cursor : queue.cursor + 1]
                ):
                    if not needs(reviewer, stage, rid):
                        continue
                    if rid not in skip:
                        return rid
                    if first_skipped is None:
                        first_skipped = rid
                if queue.rest_added:
                    return first_skipped
                # eligible records the ranking did not hold as unlabelled: in record order
                ranked = set(order)
                order.extend(rid for rid in log.eligible(stage) if rid not in ranked)
                queue.rest_added = True


_CACHE: dict[tuple[str, str], LiveScreening] = {}
_CACHE_LOCK = threading.Lock()
_REBUILDING: dict[tuple[str, str], threading.Lock] = {}


@contextmanager
def _reading(store: Store, session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
    else:
        with store.session() as own:
            yield own


def current(store: Store, review: str, session: Session | None = None) -> LiveScreening:
    """The review's screening state as the database holds it now (caught up or rebuilt).

    Pass the unit of work's session when validating a decision under the write lock.
    """
    key = (store.url, review)
    with _reading(store, session) as s:
        with _CACHE_LOCK:
            state = _CACHE.get(key)
        if state is not None:
            with state.lock:
                seen, count = state.last_event_id, state.event_count
            head = repo.log_head(s, review, seen)
            unchanged = (
                head.events_up_to_seen == count
                and head.records == state.records_key
                and head.protocol == state.protocol_key
            )
            if unchanged and head.last_event_id <= seen:
                return state
            if unchanged and state.catch_up(repo.load_events_after(s, review, seen)):
                return state
        with _CACHE_LOCK:
            building = _REBUILDING.setdefault(key, threading.Lock())
        with building:  # one replay at a time per review; the others wait and reuse it
            with _CACHE_LOCK:
                latest = _CACHE.get(key)
            replaced = latest is not None and latest is not state and session is None
            if not replaced:
                fresh = _replayed(s, review)
                with _CACHE_LOCK:
                    _CACHE[key] = fresh
    if replaced:  # another thread replayed meanwhile: check that one (outside the lock)
        return current(store, review)
    return fresh


def _replayed(session: Session, review: str) -> LiveScreening:
    """The state replayed from the whole log (read before the records and protocol, so a change
    made while replaying shows as a mismatch next time)."""
    head = repo.log_head(session, review, 0)
    protocol = repo.load_protocol(session, review)
    if protocol is None:
        raise ReviewStateError(f"review {review!r} has no protocol (use `review protocol set`)")
    rows = repo.load_events_after(session, review, 0)
    screening, view = repo.screening_and_view(session, review, [event for _, event in rows])
    return LiveScreening(
        review=review,
        log=screening.log,
        records={r.record_id: r for r in view.records},
        protocol=protocol,
        last_event_id=rows[-1][0] if rows else 0,
        event_count=len(rows),
        records_key=head.records,
        protocol_key=head.protocol,
    )


def validate(state: LiveScreening, event: ScreeningEvent) -> tuple[int, bool]:
    """Check a new event against a state caught up under the write lock (`current` with the
    unit of work's session); ScreeningError if refused. Returns the last event id the check
    saw (for `committed`) and whether it is the reviewer's first event of its kind on the
    record at that stage (a resolution always is: there is one per record and stage)."""
    with state.lock:
        state.log.validate(event)
        own = state.log.view(event.reviewer, event.stage, event.record_id).own
        first = event.kind is EventKind.RESOLUTION or own is None
        return state.last_event_id, first


def committed(
    store: Store, state: LiveScreening, seen: int, event_id: int, event: ScreeningEvent
) -> None:
    """Apply our own committed event in memory, unless something else was applied meanwhile
    (then the next `current` reads it from the log like any other event)."""
    with _CACHE_LOCK:
        cached = _CACHE.get((store.url, state.review))
    with state.lock:
        if cached is not state or state.last_event_id != seen:
            return
        try:
            state.log.append(event)
        except ScreeningError:  # cannot happen after validation under the lock; replay if it does
            with _CACHE_LOCK:
                _CACHE.pop((store.url, state.review), None)
            return
        state.last_event_id, state.event_count = event_id, state.event_count + 1
