"""Studies versus reports: several publications can describe one cohort.

Bibliographic dedup removes copies of one *publication*; this module links different publications
of one *study* (a Chinese and an English paper of the same cohort, a conference abstract and the
article), so pooled patient counts take each study once.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from myoivig.review.prisma.events import StudyAssigned


class StudyLinkError(ValueError):
    """A report is assigned to two studies, or a link is empty."""


class StudyLink(BaseModel):
    study_id: str
    report_ids: list[str] = Field(min_length=1)
    primary_report: str | None = Field(
        default=None, description="The report whose numbers are pooled when reports disagree."
    )
    reason: str = ""
    decided_by: str = ""


def study_of(links: list[StudyLink]) -> dict[str, str]:
    """Report id -> study id; every report belongs to at most one study."""
    owner: dict[str, str] = {}
    for link in links:
        for report in link.report_ids:
            if report in owner and owner[report] != link.study_id:
                raise StudyLinkError(
                    f"report {report!r} is linked to studies {owner[report]!r} and "
                    f"{link.study_id!r}"
                )
            owner[report] = link.study_id
    return owner


def links_from_assignments(events: Iterable[object]) -> list[StudyLink]:
    """Study links from the stored `StudyAssigned` events (`review study`).

    Replayed like PRISMA does: a later assignment moves a report to another study; a study's
    primary report is the latest one designated for it that is still linked to it.
    """
    owner: dict[str, str] = {}
    primary: dict[str, str] = {}
    for event in events:
        if not isinstance(event, StudyAssigned):
            continue
        for rid in event.record_ids:
            owner[rid] = event.study_id
        if event.primary_report is not None:
            primary[event.study_id] = event.primary_report
    reports: dict[str, list[str]] = {}
    for rid, sid in owner.items():
        reports.setdefault(sid, []).append(rid)
    return [
        StudyLink(
            study_id=sid,
            report_ids=rids,
            primary_report=primary.get(sid) if primary.get(sid) in rids else None,
        )
        for sid, rids in reports.items()
    ]
