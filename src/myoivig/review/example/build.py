"""Build the example review (Wang 2012) from the package data files (pure; I/O: reading them).

What the review reports (abstract of Wang DX et al., Clin Rheumatol 2012;31:801-806): MEDLINE and
CNKI, 1985-2011; 14 articles selected; 2 RCTs, 9 prospective open, 3 retrospective; 308 adult
patients. Which 14 were pooled is an inference (the review does not list them); extraction uses only
figures confirmed in the primary papers. The reported totals are shown beside the recomputed ones
and are never forced to agree.
"""

from __future__ import annotations

import csv
from collections import Counter
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from myoivig.review.appraisal.cebm import CebmInput, kind_from_design, level
from myoivig.review.evidence_table import PatientLedger, patient_ledger
from myoivig.review.extraction import (
    Disagreement,
    Extraction,
    disagreements,
    extraction_from_mapping,
    reconcile,
)
from myoivig.review.prisma.events import (
    FinalDecision,
    RecordsImported,
    ReviewEvent,
    StudyAssigned,
)
from myoivig.review.protocol import ReviewProtocol, protocol_from_mapping
from myoivig.review.records import BibRecord
from myoivig.review.studies import links_from_assignments

# Figures the example review reports in its abstract (Wang 2012).
REPORTED_PATIENTS = 308
REPORTED_ARTICLES = 14
REPORTED_DESIGNS = {"rct": 2, "prospective_open": 9, "retrospective": 3}
# The table's 8/11 (extractor "table"), not the abstract's 9/11: the per-patient table is the
# data, and the discussion agrees with it; the abstract's figure is shown beside it.
MASTAGLIA_CHOICE: Literal["a", "b"] = "b"


def _text(name: str) -> str:
    return resources.files("myoivig.review.example").joinpath(name).read_text(encoding="utf-8")


def protocol() -> ReviewProtocol:
    return protocol_from_mapping(yaml.safe_load(_text("protocol.yaml")), "example/protocol.yaml")


def references() -> list[BibRecord]:
    """The 23 cited references as records (source MEDLINE or CNKI)."""
    rows = list(csv.DictReader(_text("references.csv").splitlines()))
    return [
        BibRecord(
            record_id=f"ref:{row['ref']}",
            source=row["source"],
            source_format="reference_list",
            position=int(row["ref"]),
            title=row["title"],
            authors=[a.strip() for a in row["authors"].split(";") if a.strip()],
            year=int(row["year"]),
            journal=row["journal"] or None,
            volume=row["volume"] or None,
            pages=row["pages"] or None,
            pmid=row["pmid"] or None,
            raw={k: [v] for k, v in row.items() if v},
        )
        for row in rows
    ]


class SelectionRow(BaseModel):
    ref: int
    study_id: str | None
    stage: str
    include: bool
    reason: str | None
    design: str | None
    design_certainty: str | None


def selection() -> list[SelectionRow]:
    rows = list(csv.DictReader(_text("selection.csv").splitlines()))
    return [
        SelectionRow(
            ref=int(r["ref"]),
            study_id=r["study_id"] or None,
            stage=r["stage"],
            include=r["include"] == "true",
            reason=r["reason"] or None,
            design=r["design"] or None,
            design_certainty=r["design_certainty"] or None,
        )
        for r in rows
    ]


def events() -> list[ReviewEvent]:
    """Import and decision events; PRISMA counts are derived from these."""
    by_source: dict[str, list[str]] = {}
    for rec in references():
        by_source.setdefault(rec.source, []).append(rec.record_id)
    out: list[ReviewEvent] = [
        RecordsImported(source=source, record_ids=ids, actor="example")
        for source, ids in by_source.items()
    ]
    for row in selection():
        rid = f"ref:{row.ref}"
        if row.stage == "title_abstract":
            out.append(
                FinalDecision(record_id=rid, stage="title_abstract", include=False,
                              reason=row.reason, actor="example")
            )  # fmt: skip
            continue
        out.append(FinalDecision(record_id=rid, stage="title_abstract", include=True))
        out.append(
            FinalDecision(record_id=rid, stage="full_text", include=row.include,
                          reason=row.reason, actor="example")
        )  # fmt: skip
        if row.include and row.study_id:
            out.append(StudyAssigned(study_id=row.study_id, record_ids=[rid], actor="example"))
    return out


def raw_extractions() -> list[Extraction]:
    data: list[dict[str, Any]] = yaml.safe_load(_text("extractions.yaml"))
    return [extraction_from_mapping(item) for item in data]


class ExampleResult(BaseModel):
    extractions: list[Extraction]
    mastaglia_disagreements: list[Disagreement]
    ledger: PatientLedger
    reconciliation: dict[str, Any]
    cebm: dict[str, str]


def build() -> ExampleResult:
    raw = raw_extractions()
    mastaglia = [e for e in raw if e.study_id == "mastaglia1998"]
    others = [e for e in raw if e.study_id != "mastaglia1998"]
    diffs = disagreements(mastaglia[0], mastaglia[1])
    agreed = reconcile(mastaglia[0], mastaglia[1], {"responses": MASTAGLIA_CHOICE}, "reviewer")
    extractions = sorted([*others, agreed], key=lambda e: (e.year or 0, e.study_id))
    ledger = patient_ledger(extractions, links=links_from_assignments(events()))
    included = {r.study_id for r in selection() if r.include and r.study_id}
    confirmed_designs = Counter(
        e.design.value if e.design else "unknown" for e in extractions if e.study_id in included
    )
    cebm = {
        e.study_id: level(CebmInput(kind_from_design(e.design.value))).level
        for e in extractions
        if e.design is not None
    }
    reconciliation = {
        "patients": {
            "reported_by_review": REPORTED_PATIENTS,
            "confirmed_sum": ledger.total,
            "studies_with_confirmed_n": ledger.studies_with_n,
            "studies_without_n": ledger.studies_without_n,
            "gap": REPORTED_PATIENTS - ledger.total,
            "note": "Not forced to agree: the review does not list its 14 articles or counts.",
        },
        "articles": {"reported_by_review": REPORTED_ARTICLES, "inferred_included": len(included)},
        "designs": {
            "reported_by_review": REPORTED_DESIGNS,
            "confirmed": dict(sorted(confirmed_designs.items())),
        },
        "mastaglia1998_responders": {
            "abstract": mastaglia[0].responses[0].responders,
            "table": mastaglia[1].responses[0].responders,
            "used": agreed.responses[0].responders,
        },
    }
    return ExampleResult(
        extractions=extractions,
        mastaglia_disagreements=diffs,
        ledger=ledger,
        reconciliation=reconciliation,
        cebm=cebm,
    )
