"""Blinded dual screening derived from the event log.

Rules (each enforced when an event is added, so an invalid log cannot be built):

* title/abstract first; only records whose title/abstract outcome moves forward reach full text;
* each record needs ``reviewers_per_record`` independent decisions per stage; a reviewer may change
  their own decision only while the record is incomplete (before anyone can see the others');
* an exclusion needs a reason from the protocol's list;
* records whose decisions disagree (forward vs exclude; at full text also different exclusion
  reasons, because PRISMA reports one primary reason, and any 'maybe', because a full-text outcome
  must be include or exclude) are conflicts, resolved once by a resolver who did not screen that
  record at that stage;
* a reviewer's queue and view never show another reviewer's decision on a record before the
  reviewer has decided it and the record is complete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.protocol import ScreeningProtocol


class RecordStatus(StrEnum):
    """Where one record stands at one stage."""

    NOT_ELIGIBLE = "not_eligible"
    PENDING = "pending"
    AGREED = "agreed"
    CONFLICT = "conflict"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Outcome:
    """The final verdict on a record at a stage, and the event position that made it final."""

    record_id: str
    stage: Stage
    verdict: Verdict
    reasons: tuple[str, ...]
    resolved_by: str | None
    final_at_event: int


@dataclass(frozen=True)
class Conflict:
    """A complete record whose independent decisions disagree (shown to resolvers only)."""

    record_id: str
    stage: Stage
    decisions: tuple[ScreeningEvent, ...]


@dataclass(frozen=True)
class ReviewerView:
    """What one reviewer may see about one record: the others' decisions stay hidden (None)
    until this reviewer has decided and the record has all its decisions.
    """

    record_id: str
    stage: Stage
    reviewer: str
    own: ScreeningEvent | None
    others: tuple[ScreeningEvent, ...] | None
    status: RecordStatus | None


@dataclass(frozen=True)
class StageSummary:
    """Counts for one stage, all derived from events (they feed PRISMA)."""

    stage: Stage
    eligible: int
    pending: int
    conflicts_open: int
    included: int
    excluded: int
    excluded_by_reason: dict[str, int]


class ScreeningLog:
    """The validated event history of one screening project (records, protocol, events).

    Every count a page needs (status per stage, open conflicts, the order records became final,
    what each reviewer still has to decide) is kept up to date as each event is applied, so
    `append` and those reads cost O(1) (or the size of their answer) instead of a pass over the
    records or the log; tests check them against a recount from scratch.
    """

    def __init__(
        self,
        protocol: ScreeningProtocol,
        record_ids: Sequence[str],
        events: Iterable[ScreeningEvent] = (),
    ) -> None:
        duplicates = [rid for rid, n in Counter(record_ids).items() if n > 1]
        if duplicates:
            raise ScreeningError(f"records: duplicate record id(s) {sorted(duplicates)[:5]}")
        self.protocol = protocol
        self.record_ids: tuple[str, ...] = tuple(record_ids)
        self._index = {rid: i for i, rid in enumerate(self.record_ids)}
        self._known = frozenset(self.record_ids)
        self._events: list[ScreeningEvent] = []
        # (stage, record) -> reviewer -> (event index, event): the effective decisions
        self._decisions: dict[tuple[Stage, str], dict[str, tuple[int, ScreeningEvent]]] = {}
        self._resolutions: dict[tuple[Stage, str], tuple[int, ScreeningEvent]] = {}
        # derived counts, updated by `_record` (see the class docstring)
        self._full_text_eligible: set[str] = set()
        self._statuses = {stage: Counter[RecordStatus]() for stage in Stage}
        self._statuses[Stage.TITLE_ABSTRACT][RecordStatus.PENDING] = len(self.record_ids)
        self._finals: dict[Stage, list[tuple[str, int]]] = {stage: [] for stage in Stage}
        self._final_labels: dict[Stage, list[int]] = {stage: [] for stage in Stage}
        self._included: Counter[Stage] = Counter()
        self._excluded_by_reason = {stage: Counter[str]() for stage in Stage}
        self._conflicts: dict[Stage, dict[str, None]] = {stage: {} for stage in Stage}
        self._open: dict[Stage, Counter[str]] = {stage: Counter() for stage in Stage}
        for reviewer in protocol.reviewers:
            self._open[Stage.TITLE_ABSTRACT][reviewer] = len(self.record_ids)
        self._decided: Counter[tuple[str, Stage]] = Counter()
        self._latest: dict[tuple[str, Stage], int] = {}
        for position, event in enumerate(events, start=1):
            try:
                self.append(event)
            except ScreeningError as exc:
                raise ScreeningError(f"event {position}: {exc}") from None

    # --- building ---------------------------------------------------------------------------------

    @property
    def events(self) -> tuple[ScreeningEvent, ...]:
        """All events in the order they were recorded."""
        return tuple(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def with_event(self, event: ScreeningEvent) -> ScreeningLog:
        """A new log with one more event; raises ScreeningError and leaves this log unchanged."""
        return ScreeningLog(self.protocol, self.record_ids, [*self._events, event])

    def checked(self, event: ScreeningEvent) -> ScreeningLog:
        """Like `with_event`, but a refusal names only the record, stage and rule (no position
        in the log): the form a new decision's error takes."""
        log = ScreeningLog(self.protocol, self.record_ids, self._events)
        log.append(event)
        return log

    def append(self, event: ScreeningEvent) -> None:
        """Add one event in place, in O(1); a refused event raises ScreeningError (naming the
        record, stage and rule) and changes nothing."""
        self.validate(event)
        self._record(event)

    def validate(self, event: ScreeningEvent) -> None:
        """Raise ScreeningError if the workflow refuses `event` now; changes nothing."""
        where = f"record {event.record_id!r} at {event.stage.value}"
        if event.record_id not in self._known:
            raise ScreeningError(f"record_id: unknown record {event.record_id!r}")
        if self.status(event.stage, event.record_id) is RecordStatus.NOT_ELIGIBLE:
            raise ScreeningError(f"{where}: not eligible (it did not pass title/abstract)")
        self._check_reason(event, where)
        if event.kind is EventKind.DECISION:
            self._check_decision(event, where)
        else:
            self._check_resolution(event, where)

    def _record(self, event: ScreeningEvent) -> None:
        """Apply a validated event and bring every derived count up to date."""
        stage, rid = event.stage, event.record_id
        key = (stage, rid)
        before = self.status(stage, rid)
        open_before = self._needing(stage, rid)
        index = len(self._events)
        if event.kind is EventKind.DECISION:
            self._decisions.setdefault(key, {})[event.reviewer] = (index, event)
        else:
            self._resolutions[key] = (index, event)
        self._events.append(event)
        after = self.status(stage, rid)
        self._statuses[stage][before] -= 1
        self._statuses[stage][after] += 1
        if after is RecordStatus.CONFLICT:
            self._conflicts[stage][rid] = None
        elif before is RecordStatus.CONFLICT:
            del self._conflicts[stage][rid]
        open_after = self._needing(stage, rid)
        for reviewer in open_before - open_after:
            self._open[stage][reviewer] -= 1
        for reviewer in open_after - open_before:
            self._open[stage][reviewer] += 1
        self._decided[(event.reviewer, stage)] += 1
        self._latest[(event.reviewer, stage)] = index
        final = (RecordStatus.AGREED, RecordStatus.RESOLVED)
        if after in final and before not in final:
            self._became_final(stage, rid)

    def _became_final(self, stage: Stage, rid: str) -> None:
        outcome = self.outcome(stage, rid)
        assert outcome is not None  # agreed or resolved records have an outcome
        forward = outcome.verdict.moves_forward
        self._finals[stage].append((rid, 1 if forward else 0))
        self._final_labels[stage].append(1 if forward else 0)
        if forward:
            self._included[stage] += 1
        else:
            # A title/abstract exclusion with two different reasons counts under the first.
            self._excluded_by_reason[stage][outcome.reasons[0]] += 1
        if stage is Stage.TITLE_ABSTRACT and forward:
            self._full_text_eligible.add(rid)
            self._statuses[Stage.FULL_TEXT][RecordStatus.PENDING] += 1
            for reviewer in self.protocol.reviewers:
                self._open[Stage.FULL_TEXT][reviewer] += 1

    def _needing(self, stage: Stage, rid: str) -> set[str]:
        """Reviewers who still have to decide this record at this stage."""
        if not self.is_eligible(stage, rid):
            return set()
        current = self._decisions.get((stage, rid), {})
        if len(current) >= self.protocol.reviewers_per_record:
            return set()
        return {r for r in self.protocol.reviewers if r not in current}

    def _check_reason(self, event: ScreeningEvent, where: str) -> None:
        protocol = self.protocol
        if event.verdict is Verdict.EXCLUDE:
            if not event.reason:
                raise ScreeningError(f"{where}: reason: an exclusion needs a reason")
            if event.reason not in protocol.exclusion_reasons:
                raise ScreeningError(
                    f"{where}: reason: {event.reason!r} is not in the protocol's list "
                    f"{list(protocol.exclusion_reasons)}"
                )
        elif event.reason is not None:
            raise ScreeningError(
                f"{where}: reason: only exclusions carry a reason, got {event.reason!r} "
                f"with verdict {event.verdict.value}"
            )
        if event.verdict is Verdict.MAYBE and (
            event.kind is EventKind.RESOLUTION or event.stage not in protocol.maybe_allowed_at
        ):
            raise ScreeningError(f"{where}: verdict: 'maybe' is not allowed here")

    def _check_decision(self, event: ScreeningEvent, where: str) -> None:
        if event.reviewer not in self.protocol.reviewers:
            raise ScreeningError(
                f"{where}: reviewer: {event.reviewer!r} is not a screening reviewer "
                f"{list(self.protocol.reviewers)}"
            )
        current = self._decisions.get((event.stage, event.record_id), {})
        if len(current) >= self.protocol.reviewers_per_record:
            if event.reviewer in current:
                raise ScreeningError(
                    f"{where}: decision is final: all {len(current)} reviewers have decided, "
                    f"so {event.reviewer!r} may no longer change it"
                )
            raise ScreeningError(
                f"{where}: already has its {len(current)} independent decisions; "
                f"{event.reviewer!r} is not needed"
            )

    def _check_resolution(self, event: ScreeningEvent, where: str) -> None:
        if event.reviewer not in self.protocol.resolvers:
            raise ScreeningError(
                f"{where}: reviewer: {event.reviewer!r} is not a resolver "
                f"{list(self.protocol.resolvers)}"
            )
        status = self.status(event.stage, event.record_id)
        if status is RecordStatus.RESOLVED:
            raise ScreeningError(f"{where}: conflict already resolved")
        if status is not RecordStatus.CONFLICT:
            raise ScreeningError(f"{where}: nothing to resolve (status {status.value})")
        if event.reviewer in self._decisions[(event.stage, event.record_id)]:
            raise ScreeningError(
                f"{where}: reviewer: {event.reviewer!r} screened this record and cannot resolve it"
            )

    # --- derived state ----------------------------------------------------------------------------

    def decisions(self, stage: Stage, record_id: str) -> tuple[ScreeningEvent, ...]:
        """The effective independent decisions (latest per reviewer), in recording order."""
        current = self._decisions.get((stage, record_id), {})
        return tuple(event for _, event in sorted(current.values(), key=lambda pair: pair[0]))

    def is_eligible(self, stage: Stage, record_id: str) -> bool:
        """Title/abstract: every record; full text: those whose title/abstract outcome moves on."""
        if stage is Stage.TITLE_ABSTRACT:
            return record_id in self._known
        return record_id in self._full_text_eligible  # title/abstract outcomes never change

    def eligible(self, stage: Stage) -> tuple[str, ...]:
        """Records that are (or were) to be screened at this stage, in record order."""
        if stage is Stage.TITLE_ABSTRACT:
            return self.record_ids
        return tuple(sorted(self._full_text_eligible, key=self._index.__getitem__))

    def eligible_count(self, stage: Stage) -> int:
        """How many records are (or were) to be screened at this stage."""
        if stage is Stage.TITLE_ABSTRACT:
            return len(self.record_ids)
        return len(self._full_text_eligible)

    def status(self, stage: Stage, record_id: str) -> RecordStatus:
        """Pending, agreed, in conflict or resolved (or not eligible)."""
        if not self.is_eligible(stage, record_id):
            return RecordStatus.NOT_ELIGIBLE
        if (stage, record_id) in self._resolutions:
            return RecordStatus.RESOLVED
        decided = self.decisions(stage, record_id)
        if len(decided) < self.protocol.reviewers_per_record:
            return RecordStatus.PENDING
        return RecordStatus.CONFLICT if _disagree(stage, decided) else RecordStatus.AGREED

    def outcome(self, stage: Stage, record_id: str) -> Outcome | None:
        """The final verdict, or None while pending or in conflict."""
        key = (stage, record_id)
        if key in self._resolutions:
            index, event = self._resolutions[key]
            reasons: tuple[str, ...] = (event.reason,) if event.reason else ()
            return Outcome(record_id, stage, event.verdict, reasons, event.reviewer, index)
        current = self._decisions.get(key, {})
        if len(current) < self.protocol.reviewers_per_record:
            return None
        decided = [event for _, event in current.values()]
        if _disagree(stage, decided):
            return None
        verdicts = {event.verdict for event in decided}
        if Verdict.EXCLUDE in verdicts:
            verdict = Verdict.EXCLUDE
        elif Verdict.INCLUDE in verdicts:
            verdict = Verdict.INCLUDE
        else:
            verdict = Verdict.MAYBE
        reasons = tuple(sorted({e.reason for e in decided if e.reason is not None}))
        last = max(index for index, _ in current.values())
        return Outcome(record_id, stage, verdict, reasons, None, last)

    def conflicts(self, stage: Stage) -> list[Conflict]:
        """Open conflicts at a stage, in record order."""
        open_ = sorted(self._conflicts[stage], key=self._index.__getitem__)
        return [Conflict(rid, stage, self.decisions(stage, rid)) for rid in open_]

    def queue(self, reviewer: str, stage: Stage, order: Sequence[str] | None = None) -> list[str]:
        """Records this reviewer still has to decide, in ``order`` (a ranking) or record order.

        Records already complete without this reviewer are not offered; the queue depends only on
        whether a record still needs a decision, never on what others decided.
        """
        if reviewer not in self.protocol.reviewers:
            raise ScreeningError(f"reviewer: {reviewer!r} is not a screening reviewer")
        candidates = order if order is not None else self.record_ids
        return [rid for rid in candidates if self.needs_decision(reviewer, stage, rid)]

    def needs_decision(self, reviewer: str, stage: Stage, record_id: str) -> bool:
        """Whether this reviewer still has to decide this record (O(1); blind like `queue`)."""
        if not self.is_eligible(stage, record_id):
            return False
        current = self._decisions.get((stage, record_id), {})
        return reviewer not in current and len(current) < self.protocol.reviewers_per_record

    def open_count(self, reviewer: str, stage: Stage) -> int:
        """How many records this reviewer still has to decide: the length of their queue."""
        if reviewer not in self.protocol.reviewers:
            raise ScreeningError(f"reviewer: {reviewer!r} is not a screening reviewer")
        return self._open[stage][reviewer]

    def decided_count(self, reviewer: str, stage: Stage) -> int:
        """How many events (decisions, or resolutions) this reviewer recorded at this stage."""
        return self._decided[(reviewer, stage)]

    def latest_event(self, reviewer: str, stage: Stage) -> ScreeningEvent | None:
        """This reviewer's most recent event at this stage (None before the first)."""
        index = self._latest.get((reviewer, stage))
        return None if index is None else self._events[index]

    def view(self, reviewer: str, stage: Stage, record_id: str) -> ReviewerView:
        """The blinded view of one record for one reviewer."""
        if record_id not in self._known:
            raise ScreeningError(f"record_id: unknown record {record_id!r}")
        current = self._decisions.get((stage, record_id), {})
        own = current.get(reviewer)
        complete = len(current) >= self.protocol.reviewers_per_record
        if own is None or not complete:
            return ReviewerView(record_id, stage, reviewer, own[1] if own else None, None, None)
        others = tuple(e for e in self.decisions(stage, record_id) if e.reviewer != reviewer)
        return ReviewerView(
            record_id, stage, reviewer, own[1], others, self.status(stage, record_id)
        )

    def training_labels(self, stage: Stage, reviewer: str | None = None) -> dict[str, int]:
        """Labels a ranking model may learn from without breaking blinding.

        Final outcomes (known to everyone once complete) plus, for a named reviewer, that
        reviewer's own pending decisions; never another reviewer's undisclosed decision.
        """
        finals = dict(self._finals[stage])
        labels: dict[str, int] = {}
        for rid in self.eligible(stage):
            final = finals.get(rid)
            if final is not None:
                labels[rid] = final
            elif reviewer is not None:
                own = self._decisions.get((stage, rid), {}).get(reviewer)
                if own is not None:
                    labels[rid] = own[1].label
        return labels

    def screening_sequence(self, stage: Stage) -> list[tuple[str, int]]:
        """Final labels in the order records became final: the sample a stopping rule tests."""
        return list(self._finals[stage])

    def final_labels(self, stage: Stage) -> list[int]:
        """The labels of `screening_sequence` alone (what the stopping rule reads)."""
        return list(self._final_labels[stage])

    def summary(self, stage: Stage) -> StageSummary:
        """Derived counts for a stage."""
        finals = self._finals[stage]
        included = self._included[stage]
        statuses = self._statuses[stage]
        return StageSummary(
            stage=stage,
            eligible=self.eligible_count(stage),
            pending=statuses[RecordStatus.PENDING],
            conflicts_open=statuses[RecordStatus.CONFLICT],
            included=included,
            excluded=len(finals) - included,
            excluded_by_reason=dict(sorted(self._excluded_by_reason[stage].items())),
        )


def _disagree(stage: Stage, decided: Sequence[ScreeningEvent]) -> bool:
    """Forward vs exclude always conflicts; at full text so do different exclusion reasons and
    any 'maybe' (a full-text outcome must be include or exclude, so a resolver decides)."""
    if len({event.verdict.moves_forward for event in decided}) > 1:
        return True
    if stage is Stage.FULL_TEXT:
        if any(event.verdict is Verdict.MAYBE for event in decided):
            return True
        reasons = {event.reason for event in decided if event.verdict is Verdict.EXCLUDE}
        return len(reasons) > 1
    return False
