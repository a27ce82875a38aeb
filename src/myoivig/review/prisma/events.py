"""The review's recorded events that PRISMA counts are derived from (never typed in).

Screening decisions here are the *final* decision per record and stage (after dual screening and
conflict resolution by the screening workflow); the screening package produces them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

SourceKind = Literal["database", "register", "website", "organisation", "citation", "other"]
PRE_SCREENING_KINDS = frozenset({"database", "register"})


class _Event(BaseModel):
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: str = "system"


class RecordsImported(_Event):
    kind: Literal["records_imported"] = "records_imported"
    source: str  # e.g. 'MEDLINE', 'CNKI'
    source_kind: SourceKind = "database"
    record_ids: list[str]
    query: str | None = None  # verbatim search strategy (PRISMA items 6-7); run date is `at`
    malformed: int = 0  # records in the file that could not be imported (reported at import)


class RecordsRemoved(_Event):
    """Removed before screening for a reason other than duplication (PRISMA side box)."""

    kind: Literal["records_removed"] = "records_removed"
    record_ids: list[str]
    reason: str
    automation: bool = False  # 'marked as ineligible by automation tools'


class DuplicatesRemoved(_Event):
    kind: Literal["duplicates_removed"] = "duplicates_removed"
    record_ids: list[str]  # the non-canonical members of merged clusters
    merge_events: list[str] = Field(default_factory=list)


class FinalDecision(_Event):
    kind: Literal["final_decision"] = "final_decision"
    record_id: str
    stage: Literal["title_abstract", "full_text"]
    include: bool
    reason: str | None = None  # required for full-text exclusions (one primary reason)


class ReportNotRetrieved(_Event):
    kind: Literal["report_not_retrieved"] = "report_not_retrieved"
    record_id: str
    reason: str = ""


class StudyAssigned(_Event):
    """Included reports grouped into studies (several reports can describe one study)."""

    kind: Literal["study_assigned"] = "study_assigned"
    study_id: str
    record_ids: list[str]
    in_meta_analysis: bool = False
    # the report whose numbers the study table pools when linked reports disagree
    primary_report: str | None = None


ReviewEvent = Annotated[
    RecordsImported
    | RecordsRemoved
    | DuplicatesRemoved
    | FinalDecision
    | ReportNotRetrieved
    | StudyAssigned,
    Field(discriminator="kind"),
]


class EventLog(BaseModel):
    events: list[ReviewEvent] = Field(default_factory=list)
