"""Extraction forms, dual-extractor reconciliation, metafor study table and patient ledger."""

from __future__ import annotations

from typing import Any

import pytest

from myoivig.review.evidence_table import STUDY_TABLE_COLUMNS, patient_ledger, study_table
from myoivig.review.extraction import (
    Extraction,
    ExtractionError,
    disagreements,
    extraction_from_mapping,
    reconcile,
)
from myoivig.review.studies import StudyLink, StudyLinkError


def form(extractor: str, **over: Any) -> Extraction:
    base: dict[str, Any] = {
        "study_id": "dalakas1993",
        "extractor": extractor,
        "first_author": "Dalakas MC",
        "year": 1993,
        "design": "rct",
        "n_ivig": 12,
        "n_randomised": 15,
        "diagnoses": [{"diagnosis": "dm", "n": 15}],
        "regimen": {"dose_g_per_kg_per_course": 2.0, "interval_weeks": 4, "courses_min": 3},
        "concurrent_therapy": ["prednisone"],
        "responses": [
            {"measure": "major improvement", "responders": 9, "evaluated": 12, "primary": True},
            {"measure": "major improvement", "arm": "control", "responders": 0, "evaluated": 11},
        ],
    }
    base.update(over)
    return extraction_from_mapping(base)


def test_validation_names_study_and_field() -> None:
    with pytest.raises(ExtractionError, match=r"study dalakas1993: .*responders 13 > evaluated 12"):
        form("r1", responses=[{"measure": "m", "responders": 13, "evaluated": 12}])
    with pytest.raises(ExtractionError, match=r"evaluated 20 > n_ivig 12"):
        form("r1", responses=[{"measure": "m", "responders": 1, "evaluated": 20}])
    with pytest.raises(ExtractionError, match=r"design: .*'cohort'"):
        form("r1", design="cohort")
    with pytest.raises(ExtractionError, match=r"serious 3 > patients_any 1"):
        form("r1", adverse_events={"patients_any": 1, "serious": 3})


def test_disagreements_are_field_level_and_reconcile_requires_choices() -> None:
    a = form("r1")
    b = form(
        "r2",
        n_ivig=11,
        concurrent_therapy=["prednisone"],
        responses=[
            {"measure": "major improvement", "responders": 8, "evaluated": 11, "primary": True},
            {"measure": "major improvement", "arm": "control", "responders": 0, "evaluated": 11},
        ],
    )
    diffs = {d.field: (d.value_a, d.value_b) for d in disagreements(a, b)}
    assert diffs == {
        "n_ivig": (12, 11),
        "responses[0].responders": (9, 8),
        "responses[0].evaluated": (12, 11),
    }
    assert disagreements(a, form("r2")) == []
    with pytest.raises(
        ExtractionError, match=r"unresolved disagreements in \['n_ivig', 'responses'\]"
    ):
        reconcile(a, b, {}, "r3")
    agreed = reconcile(a, b, {"n_ivig": "a", "responses": "a"}, "r3")
    assert agreed.extractor == "r3" and agreed.n_ivig == 12
    assert agreed.responses[0].responders == 9
    with pytest.raises(ExtractionError, match="cannot compare"):
        disagreements(a, form("r2", study_id="other"))


def test_study_table_uses_metafor_names_and_keeps_blanks() -> None:
    dalakas = form("r3")
    unknown = extraction_from_mapping({"study_id": "saito2008", "extractor": "r3", "year": 2008})
    single = extraction_from_mapping(
        {
            "study_id": "cherin1994",
            "extractor": "r3",
            "first_author": "Cherin P",
            "year": 1994,
            "design": "prospective_open",
            "n_ivig": 11,
            "responses": [{"measure": "muscle power", "responders": 3, "evaluated": 11}],
        }
    )
    table = study_table([dalakas, single, unknown])
    assert list(table.columns) == STUDY_TABLE_COLUMNS
    row = table.set_index("study_id").loc["dalakas1993"]
    assert (row.xi, row.ni, row.ai, row.n1i, row.ci, row.n2i) == (9, 12, 9, 12, 0, 11)
    assert row.study == "Dalakas 1993"
    cherin = table.set_index("study_id").loc["cherin1994"]
    assert (cherin.xi, cherin.ni) == (3, 11) and cherin.ai is pd_na()
    assert table.set_index("study_id").loc["saito2008"].isna()["xi"]
    with pytest.raises(ExtractionError, match="more than one extraction"):
        study_table([dalakas, dalakas])


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_patient_ledger_counts_linked_reports_once() -> None:
    cherin_a = extraction_from_mapping({"study_id": "cherin1991", "extractor": "r", "n_ivig": 20})
    cherin_b = extraction_from_mapping(
        {"study_id": "cherin1991_pressemed", "extractor": "r", "n_ivig": 15}
    )
    other = extraction_from_mapping({"study_id": "marie2010", "extractor": "r", "n_ivig": 73})
    blank = extraction_from_mapping({"study_id": "saito2008", "extractor": "r"})
    links = [StudyLink(study_id="cherin-cohort", report_ids=["cherin1991", "cherin1991_pressemed"])]
    ledger = patient_ledger([cherin_a, cherin_b, other, blank], links)
    assert ledger.total == 93 and ledger.studies_with_n == 2
    assert ledger.studies_without_n == ["saito2008"]
    entry = next(e for e in ledger.entries if e.study == "cherin-cohort")
    assert entry.n == 20 and "counted once" in entry.note
    assert patient_ledger([cherin_a, cherin_b, other], []).total == 108
    with pytest.raises(StudyLinkError, match="linked to studies"):
        patient_ledger([cherin_a], [*links, StudyLink(study_id="x", report_ids=["cherin1991"])])


def test_study_table_takes_linked_reports_of_one_study_once() -> None:
    def report(sid: str, responders: int, evaluated: int) -> Extraction:
        return extraction_from_mapping(
            {
                "study_id": sid,
                "extractor": "agreed",
                "year": 1991,
                "n_ivig": 20,
                "responses": [
                    {"measure": "power", "responders": responders, "evaluated": evaluated}
                ],
            }
        )

    english, abstract = report("cherin1991", 15, 20), report("cherin1991_abstract", 14, 18)
    other = report("marie2010", 12, 20)
    unlinked = study_table([english, abstract, other])
    assert len(unlinked) == 3  # without links each report is its own study
    link = StudyLink(study_id="cherin-cohort", report_ids=["cherin1991", "cherin1991_abstract"])
    with pytest.raises(ExtractionError, match=r"study cherin-cohort: linked reports disagree.*xi"):
        study_table([english, abstract, other], [link])
    primary = link.model_copy(update={"primary_report": "cherin1991"})
    table = study_table([english, abstract, other], [primary]).set_index("study_id")
    assert list(table.index) == ["cherin-cohort", "marie2010"]
    assert (table.loc["cherin-cohort"].xi, table.loc["cherin-cohort"].ni) == (15, 20)
    same = study_table([english, report("cherin1991_abstract", 15, 20)], [link])
    assert len(same) == 1 and same.iloc[0].xi == 15  # agreeing reports: one row, no choice needed


def test_links_come_from_stored_study_assignments() -> None:
    from myoivig.review.prisma.events import StudyAssigned
    from myoivig.review.studies import links_from_assignments

    events = [
        StudyAssigned(study_id="s1", record_ids=["a", "b"], primary_report="b"),
        StudyAssigned(study_id="s2", record_ids=["b"]),  # b moves to s2
    ]
    links = {link.study_id: link for link in links_from_assignments(events)}
    assert links["s1"].report_ids == ["a"] and links["s1"].primary_report is None
    assert links["s2"].report_ids == ["b"]
