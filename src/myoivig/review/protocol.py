"""Review protocol: the question (PICO), where and when to search, criteria and reviewers.

The protocol is written before screening starts (PRISMA items 5-8, 24); it is loaded from YAML so it
can be versioned and registered alongside the review.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator


class ProtocolError(ValueError):
    """Raised when a protocol file is unreadable or inconsistent; names the field and value."""


class ReviewerRole(StrEnum):
    SCREENER = "screener"
    ARBITER = "arbiter"
    EXTRACTOR = "extractor"
    APPRAISER = "appraiser"
    LEAD = "lead"


class Pico(BaseModel):
    population: str
    intervention: str
    comparator: str | None = None
    outcomes: list[str] = Field(min_length=1)


class InformationSource(BaseModel):
    name: str = Field(description="e.g. 'MEDLINE', 'CNKI'")
    kind: str = Field(default="database", description="database | register | website | other")
    interface: str | None = Field(default=None, description="e.g. 'PubMed E-utilities'")
    query: str | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        allowed = {"database", "register", "website", "organisation", "citation", "other"}
        if value not in allowed:
            raise ValueError(f"kind must be one of {sorted(allowed)}, got {value!r}")
        return value


class Reviewer(BaseModel):
    reviewer_id: str
    name: str
    roles: list[ReviewerRole] = Field(min_length=1)


class ReviewProtocol(BaseModel):
    """The whole protocol; validation rejects reviews that could not run as written."""

    title: str
    question: Pico
    sources: list[InformationSource] = Field(min_length=1)
    date_from: int = Field(ge=1800, le=2200, description="First publication year searched.")
    date_to: int = Field(ge=1800, le=2200, description="Last publication year searched.")
    languages: list[str] = Field(min_length=1, description="ISO 639 codes, e.g. 'en', 'zh'.")
    inclusion_criteria: list[str] = Field(min_length=1)
    exclusion_criteria: list[str] = Field(default_factory=list)
    exclusion_reasons: list[str] = Field(
        min_length=1, description="Closed list of reasons a report may be excluded for (PRISMA)."
    )
    reviewers: list[Reviewer] = Field(min_length=1)
    reviewers_per_record: int = Field(
        default=2, ge=2, description="Independent screening decisions per record and stage."
    )
    registration: str | None = None
    registered_on: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ReviewProtocol:
        if self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        ids = [r.reviewer_id for r in self.reviewers]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate reviewer_id {sorted(dup)}")
        if len(set(self.exclusion_reasons)) != len(self.exclusion_reasons):
            raise ValueError("exclusion_reasons must be unique")
        return self

    def reviewers_with(self, role: ReviewerRole) -> list[Reviewer]:
        """Reviewers holding a role (e.g. at least two screeners for dual screening)."""
        return [r for r in self.reviewers if role in r.roles]


def protocol_from_mapping(data: Any, origin: str = "<mapping>") -> ReviewProtocol:
    """Validate a parsed mapping; errors name the origin, field path and offending value."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{origin}: protocol must be a mapping, got {type(data).__name__}")
    try:
        return ReviewProtocol.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "<root>"
            parts.append(f"{loc}: {err['msg']} (value {err.get('input')!r})")
        raise ProtocolError(f"{origin}: invalid protocol: " + "; ".join(parts)) from exc


def load_protocol(path: Path) -> ReviewProtocol:
    """Read a protocol YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolError(f"{path}: cannot read protocol: {exc}") from exc
    return protocol_from_mapping(data, str(path))


def dump_protocol(protocol: ReviewProtocol) -> str:
    """YAML text of a protocol (round-trips through `load_protocol`)."""
    return yaml.safe_dump(
        protocol.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False
    )
