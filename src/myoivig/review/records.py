"""Bibliographic records as imported, before any merging.

A record keeps the verbatim fields of its source (`raw`) beside the normalised ones, so any later
decision (dedup, screening) can be traced back to what the file actually said.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ContributorRole = Literal["editor", "supervisor", "translator", "contributor"]


class Contributor(BaseModel):
    """A named person who is not an author of the work: editors, thesis supervisors, ...

    Kept apart from `authors` so that a thesis supervisor or a book editor is never counted as an
    author (dedup and citation use `authors`), yet nothing the export names is dropped.
    """

    name: str
    role: ContributorRole


TITLE_MISSING = "title missing"


class BibRecord(BaseModel):
    """One bibliographic record from one source file or search."""

    model_config = ConfigDict(frozen=False)

    record_id: str = Field(description="Unique id within a review, e.g. 'pubmed:3' or a PMID key.")
    source: str = Field(description="Where it came from: 'medline', 'cnki', 'embase', ...")
    source_format: str = Field(
        description="File format: ris, pubmed_xml, medline, cnki_refworks..."
    )
    position: int = Field(description="1-based position of the record in its source file.")
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    group_authors: list[str] = Field(
        default_factory=list,
        description="Entries of `authors` that are groups (consortia, study groups), kept whole; "
        "they are never split at 'and' nor reduced to a surname and initial.",
    )
    contributors: list[Contributor] = Field(
        default_factory=list, description="Non-author roles (editor, supervisor) in file order."
    )
    year: int | None = None
    journal: str | None = None
    issn: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    abstract: str | None = None
    language: str | None = None
    keywords: list[str] = Field(default_factory=list)
    publication_types: list[str] = Field(default_factory=list)
    raw: dict[str, list[str]] = Field(
        default_factory=dict, description="Verbatim tag -> values, exactly as in the source."
    )

    @property
    def flags(self) -> list[str]:
        """Warnings a reviewer sees beside the record; derived, so a merge that fills the title
        also clears 'title missing'."""
        return [] if self.title else [TITLE_MISSING]

    @property
    def screening_text(self) -> str:
        """What a screener and the ranking model read: title and abstract; a record whose title
        is missing shows what it can be looked up by instead of an empty line."""
        if self.title:
            return f"{self.title} {self.abstract or ''}".strip()
        lookup = [
            f"[{TITLE_MISSING}]",
            f"DOI {self.doi}" if self.doi else "",
            f"PMID {self.pmid}" if self.pmid else "",
            "; ".join(self.authors[:3]),
            self.journal or "",
            str(self.year or ""),
            self.abstract or "",
        ]
        return " ".join(part for part in lookup if part)

    def is_group(self, author: str) -> bool:
        return author in self.group_authors

    @property
    def first_page(self) -> str | None:
        """First page of `pages` ('588-90' -> '588'), used by dedup blocking."""
        if not self.pages:
            return None
        head = self.pages.replace("–", "-").split("-")[0].strip()
        return head or None


class ImportIssue(BaseModel):
    """A record that could not be imported, reported by position and reason (never dropped)."""

    position: int
    reason: str
    excerpt: str = ""


class ImportResult(BaseModel):
    """Outcome of importing one file: good records plus every malformed one with its reason."""

    source: str
    source_format: str
    encoding: str
    records: list[BibRecord] = Field(default_factory=list)
    issues: list[ImportIssue] = Field(default_factory=list)
    truncated: str | None = Field(
        default=None,
        description="Why and where the file stops early (e.g. 'XML ends at line 88: ...'); the "
        "complete records before the cut are in `records`.",
    )

    @property
    def total_seen(self) -> int:
        """Records seen in the file = imported + reported malformed."""
        return len(self.records) + len(self.issues)
