"""Studies versus reports: several publications can describe one cohort.

Bibliographic dedup removes copies of one *publication*; this module links different publications
of one *study* (a Chinese and an English paper of the same cohort, a conference abstract and the
article), so pooled patient counts take each study once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class StudyLinkError(ValueError):
    """A report is assigned to two studies, or a link is empty."""


class StudyLink(BaseModel):
    study_id: str
    report_ids: list[str] = Field(min_length=1)
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
