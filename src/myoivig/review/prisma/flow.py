"""Derive PRISMA 2020 flow counts from events and check that they add up.

Box names follow the PRISMA2020 R package's data keys (Haddaway NR et al.,
Campbell Syst Rev 2022;18:e1230).
Invariants (not enforced by that package, enforced here):
  records_screened = identified(databases+registers) - duplicates - automation - other removed
  reports_sought   = records_screened - records_excluded
  reports_assessed = reports_sought - reports_not_retrieved
  reports_included = reports_assessed - sum(full-text exclusions by reason)
  studies_included <= reports_included
and the same chain for records found by other methods (websites, organisations, citations),
which enter at 'reports sought'. Other-methods records removed before retrieval (e.g. a citation
that duplicates a database record) are counted in `other_removed` and never sought:
  other.sought <= identified(other methods) - other_removed
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.events import (
    PRE_SCREENING_KINDS,
    DuplicatesRemoved,
    FinalDecision,
    RecordsImported,
    RecordsRemoved,
    ReportNotRetrieved,
    ReviewEvent,
    StudyAssigned,
)


class ReportChain(BaseModel):
    sought: int = 0
    not_retrieved: int = 0
    assessed: int = 0
    excluded: dict[str, int] = Field(default_factory=dict)  # reason -> reports


class PrismaCounts(BaseModel):
    database_results: dict[str, int] = Field(default_factory=dict)
    register_results: dict[str, int] = Field(default_factory=dict)
    other_results: dict[str, int] = Field(default_factory=dict)  # websites/organisations/citations
    duplicates: int = 0
    excluded_automatic: int = 0
    excluded_other: int = 0
    # other-methods records removed before retrieval (duplicates of database records or other
    # removals); kept out of the database boxes above, which count database/register records only
    other_removed: int = 0
    records_screened: int = 0
    records_excluded: int = 0
    databases: ReportChain = Field(default_factory=ReportChain)
    other: ReportChain = Field(default_factory=ReportChain)
    new_reports: int = 0
    new_studies: int = 0
    studies_in_meta_analysis: int = 0


def check(c: PrismaCounts) -> None:
    """Raise PrismaError listing every box that does not add up."""
    problems: list[str] = []
    identified = sum(c.database_results.values()) + sum(c.register_results.values())
    removed = c.duplicates + c.excluded_automatic + c.excluded_other
    if identified - removed != c.records_screened:
        problems.append(
            f"records_screened {c.records_screened} != identified {identified} - removed {removed}"
        )
    if c.records_screened - c.records_excluded != c.databases.sought:
        problems.append(
            f"reports sought {c.databases.sought} != screened {c.records_screened} - "
            f"excluded {c.records_excluded}"
        )
    included = 0
    for name, chain in (("databases", c.databases), ("other", c.other)):
        if chain.sought - chain.not_retrieved != chain.assessed:
            problems.append(
                f"{name}: assessed {chain.assessed} != sought {chain.sought} - "
                f"not retrieved {chain.not_retrieved}"
            )
        excluded = sum(chain.excluded.values())
        if excluded > chain.assessed:
            problems.append(f"{name}: excluded {excluded} > assessed {chain.assessed}")
        included += chain.assessed - excluded
    other_available = sum(c.other_results.values()) - c.other_removed
    if other_available < c.other.sought:
        problems.append(
            f"other methods: sought {c.other.sought} > identified "
            f"{sum(c.other_results.values())} - removed {c.other_removed}"
        )
    if included != c.new_reports:
        problems.append(f"new_reports {c.new_reports} != assessed - excluded = {included}")
    if c.new_studies > c.new_reports:
        problems.append(f"new_studies {c.new_studies} > new_reports {c.new_reports}")
    if c.studies_in_meta_analysis > c.new_studies:
        problems.append(
            f"studies in meta-analysis {c.studies_in_meta_analysis} > studies {c.new_studies}"
        )
    if any(v < 0 for v in _numbers(c)):
        problems.append("negative count")
    if problems:
        raise PrismaError("PRISMA counts do not add up: " + "; ".join(problems))


def _numbers(c: PrismaCounts) -> list[int]:
    values = [
        c.duplicates,
        c.excluded_automatic,
        c.excluded_other,
        c.other_removed,
        c.records_screened,
        c.records_excluded,
        c.new_reports,
        c.new_studies,
    ]
    for chain in (c.databases, c.other):
        values += [chain.sought, chain.not_retrieved, chain.assessed, *chain.excluded.values()]
    return values


def derive(events: list[ReviewEvent]) -> PrismaCounts:
    """Replay events into counts; inconsistent events raise with the record ids involved."""
    origin: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for e in events:
        if isinstance(e, RecordsImported):
            for rid in e.record_ids:
                if rid in origin:
                    problems.append(f"record {rid} imported twice")
                origin[rid] = (e.source, e.source_kind)
    removed_dup: set[str] = set()
    removed_auto: set[str] = set()
    removed_other: set[str] = set()
    decisions: dict[tuple[str, str], FinalDecision] = {}
    not_retrieved: set[str] = set()
    study_of_report: dict[str, str] = {}
    in_ma: set[str] = set()
    for e in events:
        if isinstance(e, DuplicatesRemoved):
            removed_dup.update(e.record_ids)
        elif isinstance(e, RecordsRemoved):
            (removed_auto if e.automation else removed_other).update(e.record_ids)
        elif isinstance(e, FinalDecision):
            if e.stage == "full_text" and not e.include and not (e.reason or "").strip():
                problems.append(f"record {e.record_id}: full-text exclusion without a reason")
            decisions[(e.record_id, e.stage)] = e  # a later final decision supersedes
        elif isinstance(e, ReportNotRetrieved):
            not_retrieved.add(e.record_id)
        elif isinstance(e, StudyAssigned):
            # A report belongs to one study; a later assignment moves it.
            for rid in e.record_ids:
                study_of_report[rid] = e.study_id
            if e.in_meta_analysis:
                in_ma.add(e.study_id)
            else:
                in_ma.discard(e.study_id)
    mentioned = removed_dup | removed_auto | removed_other | not_retrieved
    mentioned |= {rid for rid, _ in decisions}
    mentioned |= set(study_of_report)
    studies: dict[str, set[str]] = {}
    for rid, sid in study_of_report.items():
        studies.setdefault(sid, set()).add(rid)
    in_ma &= set(studies)
    unknown = sorted(mentioned - set(origin))
    if unknown:
        problems.append(f"events name records never imported: {unknown[:10]}")
    overlap = (removed_dup & (removed_auto | removed_other)) | (removed_auto & removed_other)
    if overlap:
        problems.append(f"records removed twice before screening: {sorted(overlap)[:10]}")
    removed = removed_dup | removed_auto | removed_other

    c = PrismaCounts()
    for source, kind in origin.values():
        bucket = (
            c.database_results
            if kind == "database"
            else c.register_results
            if kind == "register"
            else c.other_results
        )
        bucket[source] = bucket.get(source, 0) + 1
    other_all = {rid for rid, (_, kind) in origin.items() if kind not in PRE_SCREENING_KINDS}
    c.duplicates = len(removed_dup - other_all)
    c.excluded_automatic = len(removed_auto - other_all)
    c.excluded_other = len(removed_other - other_all)
    c.other_removed = len(removed & other_all)
    screened = [
        rid
        for rid, (_, kind) in origin.items()
        if kind in PRE_SCREENING_KINDS and rid not in removed
    ]
    other_ids = [rid for rid, (_, kind) in origin.items() if kind not in PRE_SCREENING_KINDS]
    c.records_screened = len(screened)
    ta_missing = [rid for rid in screened if (rid, "title_abstract") not in decisions]
    if ta_missing:
        problems.append(
            f"{len(ta_missing)} screened records lack a final title/abstract decision: "
            f"{ta_missing[:10]}"
        )
    decided_removed = sorted({rid for rid, _ in decisions} & removed)
    if decided_removed:
        problems.append(f"decisions on records removed before screening: {decided_removed[:10]}")
    passed = [
        rid
        for rid in screened
        if (d := decisions.get((rid, "title_abstract"))) is not None and d.include
    ]
    c.records_excluded = len(screened) - len(ta_missing) - len(passed)
    # 'Other methods' records go straight to retrieval unless a person excluded them at T/A.
    sought_other = [
        rid
        for rid in other_ids
        if rid not in removed
        and ((d := decisions.get((rid, "title_abstract"))) is None or d.include)
    ]
    included_reports: set[str] = set()
    for chain, sought in ((c.databases, passed), (c.other, sought_other)):
        chain.sought = len(sought)
        missing = [r for r in sought if r in not_retrieved]
        chain.not_retrieved = len(missing)
        assessed = [r for r in sought if r not in not_retrieved]
        chain.assessed = len(assessed)
        reasons: Counter[str] = Counter()
        for rid in assessed:
            d = decisions.get((rid, "full_text"))
            if d is None:
                problems.append(f"report {rid} retrieved but has no final full-text decision")
            elif d.include:
                included_reports.add(rid)
            else:
                reasons[(d.reason or "").strip()] += 1
        chain.excluded = dict(sorted(reasons.items()))
    stray_nr = sorted(not_retrieved - set(passed) - set(sought_other))
    if stray_nr:
        problems.append(f"'not retrieved' for records never sought: {stray_nr[:10]}")
    c.new_reports = len(included_reports)
    assigned = {rid for ids in studies.values() for rid in ids}
    not_included = sorted(assigned - included_reports)
    if not_included:
        problems.append(f"studies list reports that were not included: {not_included[:10]}")
    unassigned = sorted(included_reports - assigned)
    # An included report without a study assignment is its own study.
    c.new_studies = len(studies) + len(unassigned)
    c.studies_in_meta_analysis = len(in_ma)
    if problems:
        raise PrismaError("inconsistent review events: " + "; ".join(problems))
    check(c)
    return c
