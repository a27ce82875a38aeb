"""Screening events as rows of a stored review, and the PRISMA decisions they imply.

A stored review keeps one append-only event log (`review_events`); screening decisions and
resolutions go into that same log as `ScreeningRecorded` payloads, so the audit trail, the
screening state and the PRISMA counts all derive from one history. This module is pure: the
review repository reads and writes the rows; here they are mapped, replayed through the
`ScreeningLog` rules and turned into `FinalDecision`s at the point where each outcome became final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from myoivig.review.prisma.events import FinalDecision
from myoivig.review.prisma.flow import OpenScreening, newest
from myoivig.review.prisma.from_screening import final_decisions
from myoivig.review.protocol import ReviewerRole, ReviewProtocol
from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
from myoivig.review.screening.protocol import ScreeningProtocol
from myoivig.review.screening.workflow import ScreeningLog


class ScreeningRecorded(BaseModel):
    """The stored form of one `ScreeningEvent` (payload of a `review_events` row)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["screening"] = "screening"
    action: Literal["decision", "resolution"]
    stage: Literal["title_abstract", "full_text"]
    record_id: str
    reviewer: str
    verdict: Literal["include", "exclude", "maybe"]
    at: datetime
    reason: str | None = None
    note: str | None = None

    @classmethod
    def from_event(cls, event: ScreeningEvent) -> ScreeningRecorded:
        return cls(
            action="decision" if event.kind is EventKind.DECISION else "resolution",
            stage="title_abstract" if event.stage is Stage.TITLE_ABSTRACT else "full_text",
            record_id=event.record_id,
            reviewer=event.reviewer,
            verdict=(
                "include"
                if event.verdict is Verdict.INCLUDE
                else "exclude"
                if event.verdict is Verdict.EXCLUDE
                else "maybe"
            ),
            at=event.at,
            reason=event.reason,
            note=event.note,
        )

    def to_event(self) -> ScreeningEvent:
        return ScreeningEvent(
            kind=EventKind(self.action),
            stage=Stage(self.stage),
            record_id=self.record_id,
            reviewer=self.reviewer,
            verdict=Verdict(self.verdict),
            at=self.at,
            reason=self.reason,
            note=self.note,
        )


def screening_protocol(protocol: ReviewProtocol) -> ScreeningProtocol:
    """The screening rules a review protocol implies: its screeners decide, its arbiters
    resolve, and only its exclusion reasons may be given (ScreeningError if it cannot run).
    """
    return ScreeningProtocol(
        exclusion_reasons=tuple(protocol.exclusion_reasons),
        reviewers=tuple(r.reviewer_id for r in protocol.reviewers_with(ReviewerRole.SCREENER)),
        resolvers=tuple(r.reviewer_id for r in protocol.reviewers_with(ReviewerRole.ARBITER)),
        reviewers_per_record=protocol.reviewers_per_record,
    )


@dataclass(frozen=True)
class StoredScreening:
    """A stored review's screening state.

    ``positions[i]`` is the position in the review's whole event log of ``log.events[i]``.
    ``set_aside`` holds stored events on records that are not currently screenable (merged into
    another record, or removed before screening); they stay in the log and come back if the
    merge is undone. Events of one record never affect another's state, so setting a record's
    events aside leaves every other record's state exactly as it was.
    """

    log: ScreeningLog
    positions: tuple[int, ...]
    set_aside: tuple[ScreeningEvent, ...]


def replay_stored(
    protocol: ScreeningProtocol,
    record_ids: Sequence[str],
    stored: Sequence[tuple[int, ScreeningRecorded]],
) -> StoredScreening:
    """Validate the stored events through the workflow rules (ScreeningError names the event)."""
    screenable = set(record_ids)
    kept: list[ScreeningEvent] = []
    positions: list[int] = []
    aside: list[ScreeningEvent] = []
    for position, payload in stored:
        event = payload.to_event()
        if event.record_id in screenable:
            kept.append(event)
            positions.append(position)
        else:
            aside.append(event)
    return StoredScreening(ScreeningLog(protocol, record_ids, kept), tuple(positions), tuple(aside))


def decisions_at(screening: StoredScreening) -> list[tuple[int, FinalDecision]]:
    """Every final outcome as a PRISMA `FinalDecision`, with the log position (and time) of the
    event that made it final, so later manual decisions still supersede earlier ones in order.
    """
    log = screening.log
    out: list[tuple[int, FinalDecision]] = []
    for stage in Stage:
        for rid in log.eligible(stage):
            outcome = log.outcome(stage, rid)
            if outcome is None:
                continue
            final_event = log.events[outcome.final_at_event]
            actor = outcome.resolved_by or "+".join(e.reviewer for e in log.decisions(stage, rid))
            (decision,) = final_decisions([outcome], actor)
            out.append(
                (
                    screening.positions[outcome.final_at_event],
                    decision.model_copy(update={"at": final_event.at}),
                )
            )
    out.sort(key=lambda pair: pair[0])
    return out


def open_screening(screening: StoredScreening | None, times: Iterable[datetime]) -> OpenScreening:
    """The open conflicts per stage (records awaiting the third reviewer) and the newest of
    `times` (the whole log's), for living PRISMA."""
    if screening is None:
        return OpenScreening(newest_event=newest(times))
    log = screening.log
    return OpenScreening(
        conflicts_title_abstract=frozenset(
            c.record_id for c in log.conflicts(Stage.TITLE_ABSTRACT)
        ),
        conflicts_full_text=frozenset(c.record_id for c in log.conflicts(Stage.FULL_TEXT)),
        newest_event=newest(times),
    )
