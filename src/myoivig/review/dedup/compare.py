"""Field-by-field comparison of two records into an explainable duplicate confidence.

Rules follow the shape of ASySD's decision rules and Zotero's duplicate check (Hair K et al.,
BMC Biol 2023;21:189):
identifier agreement is decisive, identifier conflict is a veto, otherwise title similarity must be
backed by authors or by the bibliographic locator (journal/ISSN, year, volume, first page). The
locator path is what matches a CNKI record to its MEDLINE twin, whose title is in another language.
The confidence values are the documented settings in `DedupSettings`, not fitted probabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from myoivig.review.dedup.normalise import (
    author_key,
    is_cjk,
    normalise_issn,
    normalise_journal,
    normalise_number,
    normalise_title,
    title_shingles,
)
from myoivig.review.records import BibRecord

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Fingerprint:
    """Normalised fields of one record, computed once."""

    record_id: str
    doi: str | None
    pmid: str | None
    title: str
    shingles: frozenset[str]
    cjk_title: bool
    authors: tuple[str, ...]
    year: int | None
    issn: str | None
    journal: str | None
    volume: str | None
    issue: str | None
    first_page: str | None

    @classmethod
    def of(cls, record: BibRecord) -> Fingerprint:
        title = normalise_title(record.title)
        keys = tuple(k for k in (_author_key(record, a) for a in record.authors) if k)
        return cls(
            record_id=record.record_id,
            doi=record.doi.lower() if record.doi else None,
            pmid=record.pmid,
            title=title,
            shingles=title_shingles(title),
            cjk_title=is_cjk(title),
            authors=keys,
            year=record.year,
            issn=normalise_issn(record.issn),
            journal=normalise_journal(record.journal),
            volume=normalise_number(record.volume),
            issue=normalise_number(record.issue),
            first_page=normalise_number(record.first_page),
        )


def _author_key(record: BibRecord, name: str) -> str | None:
    """A group author is compared by its whole name: 'surname initial' of 'ABC Study Group'
    would be 'group a' and match every other group starting with A."""
    if record.is_group(name):
        return "group:" + normalise_title(name) if normalise_title(name) else None
    return author_key(name)


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds; defaults tuned on the synthetic benchmark (benchmarks/review_dedup.py)."""

    auto_merge: float = 0.90  # merge without asking at or above this confidence
    review: float = 0.60  # queue for a person between this and auto_merge
    title_high: float = 0.90  # Dice similarity of title shingles counted as "same title"
    title_medium: float = 0.80
    max_block: int = 200  # blocks larger than this are skipped (too unspecific to compare)


@dataclass(frozen=True)
class PairScore:
    a: str
    b: str
    confidence: float
    rule: str
    evidence: dict[str, object] = field(default_factory=dict)


def dice(x: frozenset[str], y: frozenset[str]) -> float:
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def title_similarity(x: Fingerprint, y: Fingerprint) -> float:
    """Dice of shingles; for short titles, where one typo costs many shingles, the better of
    that and an edit-based ratio."""
    sim = dice(x.shingles, y.shingles)
    nx, ny = _NUMBER.findall(x.title), _NUMBER.findall(y.title)
    if nx and ny and nx != ny:
        # 'Part 1' vs 'Part 2', '12-week' vs '24-week': numbers that differ mean different papers.
        return min(sim, 0.5)
    if sim < 0.9 and sim >= 0.4 and min(len(x.title), len(y.title)) < 60:
        sim = max(sim, SequenceMatcher(None, x.title, y.title, autojunk=False).ratio())
    return sim


def _authors_agree(x: Fingerprint, y: Fingerprint) -> bool | None:
    """First-author keys equal, or most author keys shared; None when either has no authors.

    Surname alone is not enough: a handful of surnames cover much of China's population.
    """
    if not x.authors or not y.authors:
        return None
    if x.authors[0] == y.authors[0]:
        return True
    shared = len(set(x.authors) & set(y.authors))
    smaller = min(len(x.authors), len(y.authors))
    return smaller >= 2 and shared >= max(2, (smaller + 1) // 2)


def _locator(x: Fingerprint, y: Fingerprint) -> tuple[bool, bool]:
    """(same place in print, journal also confirmed): year, first page, and volume or issue."""
    if x.year is None or y.year is None or x.year != y.year:
        return False, False
    if not x.first_page or x.first_page != y.first_page:
        return False, False
    vol_ok = x.volume is not None and x.volume == y.volume
    iss_ok = x.issue is not None and x.issue == y.issue
    if (x.volume and y.volume and x.volume != y.volume) or not (vol_ok or iss_ok):
        return False, False
    journal_ok = bool(
        (x.issn and x.issn == y.issn) or (x.journal and y.journal and x.journal == y.journal)
    )
    return True, journal_ok


def compare(x: Fingerprint, y: Fingerprint, settings: DedupSettings) -> PairScore:
    """Score one pair; confidence 0 means 'not a duplicate'."""
    evidence: dict[str, object] = {}

    def score(conf: float, rule: str) -> PairScore:
        return PairScore(x.record_id, y.record_id, conf, rule, evidence)

    if x.doi and y.doi:
        evidence["doi"] = x.doi == y.doi
        if x.doi == y.doi:
            return score(0.99, "same DOI")
        return score(0.0, "DOI conflict (veto)")
    if x.pmid and y.pmid:
        evidence["pmid"] = x.pmid == y.pmid
        if x.pmid == y.pmid:
            return score(0.99, "same PMID")
        return score(0.0, "PMID conflict (veto)")
    same_script = x.cjk_title == y.cjk_title
    title_sim = title_similarity(x, y) if same_script else None
    evidence["title"] = None if title_sim is None else round(title_sim, 3)
    authors = _authors_agree(x, y)
    evidence["authors"] = authors
    year_gap = abs(x.year - y.year) if x.year is not None and y.year is not None else None
    evidence["year_gap"] = year_gap
    located, journal_ok = _locator(x, y)
    evidence["locator"] = located
    evidence["journal"] = journal_ok
    close_years = year_gap is None or year_gap <= 1
    if title_sim is not None and title_sim >= settings.title_high and close_years:
        if authors:
            return score(0.98, "same title, authors agree")
        if authors is None:
            # Without authors a title alone ('Reply', 'Erratum') is not enough: the journal
            # locator (journal/ISSN, year, volume or issue, first page) must agree as well.
            if located and journal_ok:
                return score(0.95, "same title and journal locator, no authors")
            return score(0.75, "same title, no authors and no matching locator")
        if located:
            return score(0.9, "same title and locator, authors differ")
        return score(0.7, "same title, authors differ")
    if located and authors:
        if journal_ok:
            return score(0.96, "same journal, locator and authors (cross-language)")
        return score(0.85, "same locator and authors, journal unconfirmed")
    if (
        title_sim is not None
        and title_sim >= settings.title_medium
        and close_years
        and (authors or located)
    ):
        return score(0.91 if authors and located else 0.85, "similar title with support")
    if located and journal_ok and authors is None:
        return score(0.75, "same locator, no authors")
    if title_sim is not None and title_sim >= settings.title_medium and close_years:
        return score(0.65, "similar title only")
    return score(0.0, "no rule matched")
