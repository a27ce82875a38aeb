"""The seed review example: 23 references, 14 inferred inclusions, 308 reported vs 194 confirmed."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from myoivig.review.example.build import build, events, references, selection
from myoivig.review.example.output import write_example
from myoivig.review.prisma.flow import derive


def test_references_and_selection() -> None:
    refs = references()
    assert len(refs) == 23 and [r.position for r in refs] == list(range(1, 24))
    assert {r.source for r in refs} == {"MEDLINE", "CNKI"}
    assert refs[6].title is not None and refs[6].title.startswith("A controlled trial")
    included = [s for s in selection() if s.include]
    assert len(included) == 14
    excluded_refs = sorted(s.ref for s in selection() if not s.include)
    assert excluded_refs == [1, 2, 12, 13, 14, 16, 17, 18, 19]


def test_prisma_counts_derive_from_example_events() -> None:
    c = derive(events())
    assert c.database_results == {"MEDLINE": 22, "CNKI": 1}
    assert (c.records_screened, c.records_excluded) == (23, 5)
    assert c.databases.excluded == {"case report": 4}
    assert (c.new_reports, c.new_studies) == (14, 14)


def test_reconciliation_keeps_reported_and_confirmed_apart() -> None:
    result = build()
    patients = result.reconciliation["patients"]
    assert patients["reported_by_review"] == 308
    assert patients["confirmed_sum"] == 194 and patients["studies_with_confirmed_n"] == 9
    assert patients["gap"] == 114
    designs = result.reconciliation["designs"]
    assert designs["reported_by_review"] == {"rct": 2, "prospective_open": 9, "retrospective": 3}
    assert designs["confirmed"] == {"prospective_open": 5, "rct": 1, "retrospective": 3,
                                    "unknown": 5}  # fmt: skip
    assert [d.field for d in result.mastaglia_disagreements] == ["responses[0].responders"]
    assert result.cebm["dalakas1993"] == "1b" and result.cebm["marie2010"] == "4"


def test_extracted_numbers_match_confirmed_figures_in_shared_table(
    outside_data: Callable[[str], Path],
) -> None:
    evidence = outside_data("data/evidence/ivig_pm_dm_studies.csv")
    rows = {r["study_id"]: r for r in csv.DictReader(evidence.open(encoding="utf-8"))}
    for e in build().extractions:
        row = rows[e.study_id]
        if e.n_ivig is not None:
            assert str(e.n_ivig) == row["n_ivig"], e.study_id
        response = e.primary_response()
        if response is not None and e.study_id == "mastaglia1998":
            # The shared table follows the abstract (9/11); the example uses the paper's own
            # per-patient table (8/11), which the certainty notes there also give.
            assert (row["responders"], response.responders) == ("9", 8)
            assert "8/11" in row["certainty_notes"]
        elif response is not None:
            assert str(response.responders) == row["responders"], e.study_id
        if not row["n_ivig"]:
            assert e.n_ivig is None, e.study_id


def test_write_example(tmp_path: Path) -> None:
    paths = write_example(tmp_path)
    assert {"prisma_flow.svg", "prisma_flow.png", "study_table.csv", "reconciliation.md"} <= set(
        paths
    )
    table = list(csv.DictReader((tmp_path / "study_table.csv").open(encoding="utf-8")))
    assert len(table) == 14
    dalakas = next(r for r in table if r["study_id"] == "dalakas1993")
    assert (dalakas["xi"], dalakas["ni"], dalakas["ci"], dalakas["n2i"]) == ("9", "12", "0", "11")
    assert json.loads((tmp_path / "reconciliation.json").read_text())["patients"]["gap"] == 114
    assert "**308**" in (tmp_path / "reconciliation.md").read_text()
