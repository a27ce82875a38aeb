"""The part of a review protocol that screening rules need: reasons, reviewers and roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from myoivig.review.screening.events import ScreeningError, Stage, parse_stage


@dataclass(frozen=True)
class ScreeningProtocol:
    """Who screens, who resolves, how many independent decisions each record needs, and the only
    exclusion reasons a reviewer may give (so every exclusion feeds a PRISMA reason count).
    """

    exclusion_reasons: tuple[str, ...]
    reviewers: tuple[str, ...]
    resolvers: tuple[str, ...]
    reviewers_per_record: int = 2
    maybe_allowed_at: frozenset[Stage] = field(
        default_factory=lambda: frozenset({Stage.TITLE_ABSTRACT})
    )

    def __post_init__(self) -> None:
        if self.reviewers_per_record < 2:
            raise ScreeningError(
                f"protocol: reviewers_per_record must be at least 2 (dual screening), "
                f"got {self.reviewers_per_record}"
            )
        if len(set(self.reviewers)) < self.reviewers_per_record:
            raise ScreeningError(
                f"protocol: {self.reviewers_per_record} decisions per record need at least as many "
                f"distinct reviewers, got {list(self.reviewers)}"
            )
        if not self.resolvers:
            raise ScreeningError("protocol: at least one resolver (third reviewer) is required")
        if not self.exclusion_reasons:
            raise ScreeningError("protocol: the list of exclusion reasons is empty")
        if len(set(self.exclusion_reasons)) != len(self.exclusion_reasons):
            raise ScreeningError(
                f"protocol: duplicate exclusion reasons in {self.exclusion_reasons}"
            )
        for name in (*self.reviewers, *self.resolvers, *self.exclusion_reasons):
            if not name or name != name.strip():
                raise ScreeningError(f"protocol: blank or padded name {name!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScreeningProtocol:
        """Build from plain data (a JSON protocol file); unknown keys are refused."""
        known = {
            "exclusion_reasons",
            "reviewers",
            "resolvers",
            "reviewers_per_record",
            "maybe_allowed_at",
        }
        unknown = set(data) - known
        if unknown:
            raise ScreeningError(f"protocol: unknown field(s) {sorted(unknown)}")
        for key in ("exclusion_reasons", "reviewers", "resolvers"):
            if key not in data:
                raise ScreeningError(f"protocol: missing field {key!r}")
        maybe: Iterable[str] = data.get("maybe_allowed_at", ["title_abstract"])
        return cls(
            exclusion_reasons=_strings(data["exclusion_reasons"], "exclusion_reasons"),
            reviewers=_strings(data["reviewers"], "reviewers"),
            resolvers=_strings(data["resolvers"], "resolvers"),
            reviewers_per_record=int(data.get("reviewers_per_record", 2)),
            maybe_allowed_at=frozenset(parse_stage(s) for s in maybe),
        )


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScreeningError(f"protocol: field {name!r} must be a list of strings, got {value!r}")
    return tuple(value)
