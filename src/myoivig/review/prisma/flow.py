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

A review in progress (`derive_living`) has records still without their final decisions; they are
counted as *awaiting* beside the box they have not yet left, so the boxes still add up:
  identified - removed          = records_screened + records awaiting screening
  sought - not retrieved        = reports assessed + reports awaiting a full-text decision
(open conflicts waiting for the third reviewer are part of their stage's awaiting count). A
finished review has nothing awaiting and derives exactly as `derive` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

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


class InProgress(BaseModel):
    """What a review in progress still awaits (the counts are as of `newest_event`).

    Each awaiting count belongs beside the box its records have not yet left; a conflict awaiting
    the third reviewer is counted in its stage's awaiting count as well as on its own line.
    """

    newest_event: datetime
    records_awaiting_screening: int = 0
    records_awaiting_conflict_resolution: int = 0  # part of records_awaiting_screening
    reports_awaiting_full_text_decision: int = 0  # database/register reports
    reports_awaiting_full_text_conflict_resolution: int = 0  # part of the line above
    other_reports_awaiting_full_text_decision: int = 0  # reports found by other methods
    other_reports_awaiting_full_text_conflict_resolution: int = 0  # part of the line above

    @property
    def awaiting(self) -> int:
        """Records and reports still without a final decision (0: nothing is in progress)."""
        return (
            self.records_awaiting_screening
            + self.reports_awaiting_full_text_decision
            + self.other_reports_awaiting_full_text_decision
        )


@dataclass(frozen=True)
class OpenScreening:
    """What the screening workflow knows that the final-decision events do not: which records
    are in conflict awaiting the third reviewer, and the newest event of the whole log (a single
    reviewer's decision changes no box but is still news about the review)."""

    conflicts_title_abstract: frozenset[str] = frozenset()
    conflicts_full_text: frozenset[str] = frozenset()
    newest_event: datetime | None = None


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
    # None once every record has its final decisions (then left out of every output, which is
    # therefore exactly what a finished review gave before living PRISMA existed)
    in_progress: InProgress | None = None

    @model_serializer(mode="wrap")
    def _leave_out_finished(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.in_progress is None and isinstance(data, dict):
            data.pop("in_progress", None)
        return data


def check(c: PrismaCounts) -> None:
    """Raise PrismaError listing every box that does not add up."""
    problems: list[str] = []
    identified = sum(c.database_results.values()) + sum(c.register_results.values())
    removed = c.duplicates + c.excluded_automatic + c.excluded_other
    p = c.in_progress
    if p is None:
        if identified - removed != c.records_screened:
            problems.append(
                f"records_screened {c.records_screened} != identified {identified} - "
                f"removed {removed}"
            )
    else:
        problems += _check_in_progress(c, p, identified - removed)
    if c.records_screened - c.records_excluded != c.databases.sought:
        problems.append(
            f"reports sought {c.databases.sought} != screened {c.records_screened} - "
            f"excluded {c.records_excluded}"
        )
    included = 0
    for name, chain in (("databases", c.databases), ("other", c.other)):
        waiting = 0
        if p is not None:
            waiting = (
                p.reports_awaiting_full_text_decision
                if name == "databases"
                else p.other_reports_awaiting_full_text_decision
            )
        if chain.sought - chain.not_retrieved != chain.assessed + waiting:
            problems.append(
                f"{name}: assessed {chain.assessed} != sought {chain.sought} - "
                f"not retrieved {chain.not_retrieved}"
                + (f" - awaiting a full-text decision {waiting}" if p is not None else "")
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


def _check_in_progress(c: PrismaCounts, p: InProgress, after_removal: int) -> list[str]:
    """The extra arithmetic of a review in progress: screened + awaiting fill the box above,
    conflicts are part of their awaiting count, and something does await."""
    problems: list[str] = []
    if after_removal != c.records_screened + p.records_awaiting_screening:
        problems.append(
            f"records_screened {c.records_screened} + awaiting screening "
            f"{p.records_awaiting_screening} != identified - removed {after_removal}"
        )
    for waiting, conflicts, what in (
        (p.records_awaiting_screening, p.records_awaiting_conflict_resolution, "screening"),
        (
            p.reports_awaiting_full_text_decision,
            p.reports_awaiting_full_text_conflict_resolution,
            "a full-text decision",
        ),
        (
            p.other_reports_awaiting_full_text_decision,
            p.other_reports_awaiting_full_text_conflict_resolution,
            "a full-text decision (other methods)",
        ),
    ):
        if conflicts > waiting:
            problems.append(
                f"conflicts awaiting resolution {conflicts} > records awaiting {what} {waiting}"
            )
    if p.awaiting == 0:
        problems.append("marked in progress but no record awaits a decision")
    if min(p.model_dump(exclude={"newest_event"}).values()) < 0:
        problems.append("negative awaiting count")
    return problems


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
    """Replay the events of a finished review into counts; inconsistent events, and records
    still without their final decisions, raise with the record ids involved."""
    return _derive(events, None)


def derive_living(events: list[ReviewEvent], open_: OpenScreening | None = None) -> PrismaCounts:
    """Replay the events of a review as it stands now: records and reports still without their
    final decision are counted as awaiting (`PrismaCounts.in_progress`) instead of refused.

    Inconsistent events still raise. A review with nothing awaiting gives what `derive` gives.
    """
    return _derive(events, open_ or OpenScreening())


def newest(times: Iterable[datetime]) -> datetime | None:
    """The latest of `times` in UTC; a time without a zone is taken as UTC (as every event is
    written), so stored times from either database compare."""
    aware = [t.astimezone(UTC) if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in times]
    return max(aware, default=None)


def _derive(events: list[ReviewEvent], living: OpenScreening | None) -> PrismaCounts:
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
    ta_missing = [rid for rid in screened if (rid, "title_abstract") not in decisions]
    c.records_screened = len(screened) - (len(ta_missing) if living is not None else 0)
    if ta_missing and living is None:
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
    ft_missing: dict[str, list[str]] = {}
    for name, chain, sought in (
        ("databases", c.databases, passed),
        ("other", c.other, sought_other),
    ):
        chain.sought = len(sought)
        missing = [r for r in sought if r in not_retrieved]
        chain.not_retrieved = len(missing)
        retrieved = [r for r in sought if r not in not_retrieved]
        reasons: Counter[str] = Counter()
        for rid in retrieved:
            d = decisions.get((rid, "full_text"))
            if d is None:
                ft_missing.setdefault(name, []).append(rid)
                if living is None:
                    problems.append(f"report {rid} retrieved but has no final full-text decision")
            elif d.include:
                included_reports.add(rid)
            else:
                reasons[(d.reason or "").strip()] += 1
        # a finished review's retrieved reports were all assessed (or the log is refused above)
        chain.assessed = len(retrieved) - (
            len(ft_missing.get(name, [])) if living is not None else 0
        )
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
    if living is not None and (ta_missing or ft_missing):
        c.in_progress = _awaiting(events, living, ta_missing, ft_missing)
    check(c)
    return c


def _awaiting(
    events: list[ReviewEvent],
    living: OpenScreening,
    ta_missing: list[str],
    ft_missing: dict[str, list[str]],
) -> InProgress:
    at = newest([*(e.at for e in events), *([living.newest_event] if living.newest_event else [])])
    assert at is not None  # something awaits, so something was imported
    databases, other = ft_missing.get("databases", []), ft_missing.get("other", [])
    ft_conflicts = living.conflicts_full_text
    return InProgress(
        newest_event=at,
        records_awaiting_screening=len(ta_missing),
        records_awaiting_conflict_resolution=len(set(ta_missing) & living.conflicts_title_abstract),
        reports_awaiting_full_text_decision=len(databases),
        reports_awaiting_full_text_conflict_resolution=len(set(databases) & ft_conflicts),
        other_reports_awaiting_full_text_decision=len(other),
        other_reports_awaiting_full_text_conflict_resolution=len(set(other) & ft_conflicts),
    )
