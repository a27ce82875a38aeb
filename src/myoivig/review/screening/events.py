"""Screening vocabulary and the immutable decision event.

Every screening action (a reviewer's decision or a third reviewer's resolution) is one frozen
event; nothing is ever updated in place, so the history is auditable and every count is derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ScreeningError(ValueError):
    """A screening event or input that breaks a workflow rule; the message names what and why."""


class Stage(StrEnum):
    """Screening stages in the order a record passes through them."""

    TITLE_ABSTRACT = "title_abstract"
    FULL_TEXT = "full_text"


class Verdict(StrEnum):
    """A reviewer's verdict on one record at one stage.

    ``maybe`` is only allowed where the protocol allows it (by default at title/abstract, where a
    doubtful record is cheaper to carry forward than to lose); it moves a record forward like
    ``include``.
    """

    INCLUDE = "include"
    EXCLUDE = "exclude"
    MAYBE = "maybe"

    @property
    def moves_forward(self) -> bool:
        """Whether the record goes on to the next stage (include or maybe)."""
        return self is not Verdict.EXCLUDE


class EventKind(StrEnum):
    """A first-line screening decision, or a third reviewer's resolution of a conflict."""

    DECISION = "decision"
    RESOLUTION = "resolution"


STAGE_ALIASES: dict[str, Stage] = {
    "ta": Stage.TITLE_ABSTRACT,
    "title_abstract": Stage.TITLE_ABSTRACT,
    "ft": Stage.FULL_TEXT,
    "full_text": Stage.FULL_TEXT,
}


def parse_stage(text: str) -> Stage:
    """Read a stage name or its short alias (``ta`` / ``ft``)."""
    try:
        return STAGE_ALIASES[text.strip().lower()]
    except KeyError:
        allowed = ", ".join(sorted(STAGE_ALIASES))
        raise ScreeningError(f"stage: unknown value {text!r} (allowed: {allowed})") from None


@dataclass(frozen=True, slots=True)
class ScreeningEvent:
    """One immutable screening event: who decided what about which record, when and why."""

    kind: EventKind
    stage: Stage
    record_id: str
    reviewer: str
    verdict: Verdict
    at: datetime
    reason: str | None = None
    note: str | None = None

    @property
    def label(self) -> int:
        """The relevance label a ranking model learns from (1 = forward, 0 = exclude)."""
        return 1 if self.verdict.moves_forward else 0
