"""PRISMA 2020: counts derived from events, arithmetic checks, diagram files, checklist."""

from __future__ import annotations

from pathlib import Path

import pytest

from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.checklist import TOP_LEVEL_ITEMS, checklist, to_csv, to_markdown
from myoivig.review.prisma.diagram import save
from myoivig.review.prisma.events import (
    DuplicatesRemoved,
    EventLog,
    FinalDecision,
    RecordsImported,
    RecordsRemoved,
    ReportNotRetrieved,
    ReviewEvent,
    StudyAssigned,
)
from myoivig.review.prisma.flow import PrismaCounts, ReportChain, check, derive


def ta(rid: str, include: bool) -> FinalDecision:
    return FinalDecision(record_id=rid, stage="title_abstract", include=include)


def ft(rid: str, include: bool, reason: str | None = None) -> FinalDecision:
    return FinalDecision(record_id=rid, stage="full_text", include=include, reason=reason)


def scenario() -> list[ReviewEvent]:
    med = [f"m{i}" for i in range(10)]
    cnki = [f"c{i}" for i in range(5)]
    events: list[ReviewEvent] = [
        RecordsImported(source="MEDLINE", record_ids=med),
        RecordsImported(source="CNKI", record_ids=cnki),
        RecordsImported(source="Citation searching", source_kind="citation", record_ids=["x1"]),
        DuplicatesRemoved(record_ids=["c0", "c1"]),
        RecordsRemoved(record_ids=["m9"], reason="retracted", automation=False),
        RecordsRemoved(record_ids=["m8"], reason="not human (classifier)", automation=True),
    ]
    screened = [r for r in med + cnki if r not in {"c0", "c1", "m9", "m8"}]  # 11
    passed = {"m0", "m1", "m2", "m3", "c2", "c3"}
    events += [ta(r, r in passed) for r in screened]
    events += [ta("m4", True), ta("m4", False)]  # a later final decision supersedes
    events += [ReportNotRetrieved(record_id="c3", reason="not available")]
    events += [
        ft("m0", True),
        ft("m1", True),
        ft("m2", False, "case report"),
        ft("m3", False, "not a clinical study"),
        ft("c2", True),
        ft("x1", False, "case report"),
        StudyAssigned(study_id="s1", record_ids=["m0", "c2"], in_meta_analysis=True),
    ]
    return events


def test_counts_are_derived_from_events() -> None:
    c = derive(scenario())
    assert c.database_results == {"MEDLINE": 10, "CNKI": 5}
    assert c.other_results == {"Citation searching": 1}
    assert (c.duplicates, c.excluded_other, c.excluded_automatic) == (2, 1, 1)
    assert (c.records_screened, c.records_excluded) == (11, 5)
    assert (c.databases.sought, c.databases.not_retrieved, c.databases.assessed) == (6, 1, 5)
    assert c.databases.excluded == {"case report": 1, "not a clinical study": 1}
    assert (c.other.sought, c.other.assessed, c.other.excluded) == (1, 1, {"case report": 1})
    assert (c.new_reports, c.new_studies, c.studies_in_meta_analysis) == (3, 2, 1)


def test_other_methods_record_removed_as_duplicate_is_not_sought() -> None:
    events = scenario()
    events.insert(3, RecordsImported(source="Citation searching", source_kind="citation",
                                     record_ids=["x2"]))  # fmt: skip
    events.append(DuplicatesRemoved(record_ids=["x2"]))  # duplicate of a database record
    c = derive(events)
    assert c.other_results == {"Citation searching": 2}
    assert (c.duplicates, c.other_removed, c.records_screened) == (2, 1, 11)
    assert (c.other.sought, c.other.assessed) == (1, 1)
    assert c.new_reports == 3


def test_log_round_trips_through_json() -> None:
    log = EventLog(events=scenario())
    again = EventLog.model_validate_json(log.model_dump_json())
    assert derive(again.events) == derive(log.events)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([ta("zz", True)], "never imported"),
        ([ta("c0", False)], "removed before screening"),
        ([ft("c2", False, "  ")], "without a reason"),
        ([RecordsImported(source="X", record_ids=["m1"])], "imported twice"),
        ([ReportNotRetrieved(record_id="m5")], "never sought"),
        ([StudyAssigned(study_id="s9", record_ids=["m2"])], "not included"),
        ([RecordsRemoved(record_ids=["c0"], reason="x")], "removed twice"),
    ],
)
def test_inconsistent_events_raise(extra: list[ReviewEvent], message: str) -> None:
    with pytest.raises(PrismaError, match=message):
        derive([*scenario(), *extra])


def test_missing_decisions_raise() -> None:
    events = [e for e in scenario() if not (isinstance(e, FinalDecision) and e.record_id == "m5")]
    with pytest.raises(PrismaError, match="lack a final title/abstract decision"):
        derive(events)
    events = [e for e in scenario() if not (isinstance(e, FinalDecision) and e.record_id == "m0"
                                           and e.stage == "full_text")]  # fmt: skip
    with pytest.raises(PrismaError, match="m0 retrieved but has no final full-text decision"):
        derive(events)


def test_check_rejects_numbers_that_do_not_add_up() -> None:
    good = derive(scenario())
    check(good)
    bad = good.model_copy(update={"records_screened": 12})
    with pytest.raises(PrismaError, match="records_screened 12 != identified 15 - removed 4"):
        check(bad)
    chain = good.databases.model_copy(update={"assessed": 4})
    with pytest.raises(PrismaError, match="databases: assessed 4 != sought 6 - not retrieved 1"):
        check(good.model_copy(update={"databases": chain}))
    with pytest.raises(PrismaError, match="new_studies 9 > new_reports 3"):
        check(good.model_copy(update={"new_studies": 9}))


def test_diagram_svg_and_png(tmp_path: Path) -> None:
    paths = save(derive(scenario()), tmp_path / "flow.svg", title="Test")
    assert [p.suffix for p in paths] == [".svg", ".png"]
    svg = paths[0].read_text(encoding="utf-8")
    assert "<svg" in svg
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(PrismaError):
        save(PrismaCounts(database_results={"A": 3}, records_screened=1), tmp_path / "bad.svg")
    assert not (tmp_path / "bad.svg").exists()


def test_diagram_without_other_methods(tmp_path: Path) -> None:
    counts = PrismaCounts(
        database_results={"MEDLINE": 2},
        records_screened=2,
        records_excluded=1,
        databases=ReportChain(sought=1, assessed=1),
        new_reports=1,
        new_studies=1,
    )
    paths = save(counts, tmp_path / "flow")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_checklist_has_27_items_and_marks_unaddressed() -> None:
    rows = checklist({"1": "Title page", "27": "Zenodo"})
    assert len({r.item.rstrip("abcdef") for r in rows}) == TOP_LEVEL_ITEMS
    by_item = {r.item: r for r in rows}
    assert by_item["1"].addressed_in == "Title page"
    assert "flow diagram" in by_item["16a"].addressed_in
    assert by_item["25"].addressed_in == "NOT ADDRESSED"
    assert to_csv(rows).splitlines()[0] == "item,section,topic,description,addressed_in"
    assert "| 13d | Methods | Synthesis methods |" in to_markdown(rows)
    with pytest.raises(ValueError, match="unknown PRISMA 2020 checklist items"):
        checklist({"28": "x"})


def test_screening_outcomes_become_final_decisions() -> None:
    from dataclasses import dataclass
    from enum import StrEnum

    from myoivig.review.prisma.from_screening import final_decisions

    class Stage(StrEnum):
        TA = "title_abstract"
        FT = "full_text"

    class Verdict(StrEnum):
        INCLUDE = "include"
        EXCLUDE = "exclude"
        MAYBE = "maybe"

    @dataclass
    class Outcome:
        record_id: str
        stage: Stage
        verdict: Verdict
        reasons: tuple[str, ...]

    decisions = final_decisions(
        [
            Outcome("a", Stage.TA, Verdict.MAYBE, ()),
            Outcome("b", Stage.FT, Verdict.EXCLUDE, ("wrong population", "case report")),
            Outcome("c", Stage.FT, Verdict.INCLUDE, ("ignored",)),
        ]
    )
    assert [(d.record_id, d.stage, d.include, d.reason) for d in decisions] == [
        ("a", "title_abstract", True, None),
        ("b", "full_text", False, "case report"),
        ("c", "full_text", True, None),
    ]
    with pytest.raises(PrismaError, match="record m: full_text verdict 'maybe'"):
        final_decisions([Outcome("m", Stage.FT, Verdict.MAYBE, ())])
    with pytest.raises(PrismaError, match="record x: unknown screening stage"):
        final_decisions([Outcome("x", "abstract", Verdict.INCLUDE, ())])  # type: ignore[arg-type]


def test_reassigning_a_report_moves_it_between_studies() -> None:
    events = [*scenario(), StudyAssigned(study_id="s2", record_ids=["c2"], in_meta_analysis=True)]
    c = derive(events)
    assert (c.new_reports, c.new_studies, c.studies_in_meta_analysis) == (3, 3, 2)
    merged = [*scenario(), StudyAssigned(study_id="s1", record_ids=["m1"])]
    assert derive(merged).new_studies == 1
