"""Evidence table and metafor-named study table for the evidence engine (`myoivig meta run`).

Column names follow metafor's `escalc` arguments: `xi`/`ni` for single-arm proportions
(measure PR/PLO/PFT), `ai`/`n1i`/`ci`/`n2i` for two-group counts; the label column is `study`
(metafor's `slab`), which is the label column the evidence engine reads.
The patient ledger counts each *study* once even when several reports describe it.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, Field

from myoivig.review.extraction import Extraction, ExtractionError
from myoivig.review.studies import StudyLink, study_of

STUDY_TABLE_COLUMNS = [
    "study_id",
    "study",
    "year",
    "design",
    "measure",
    "xi",
    "ni",
    "ai",
    "n1i",
    "ci",
    "n2i",
    "n_ivig",
    "dose_g_per_kg_per_course",
    "serious_ae",
    "thromboembolic",
    "steroid_sparing",
]


def _label(e: Extraction) -> str:
    author = (e.first_author or e.study_id).split(",")[0].split(" ")[0]
    return f"{author} {e.year}" if e.year else author


def study_table(extractions: list[Extraction]) -> pd.DataFrame:
    """One row per study; blank (NA) where the source gives no number. Never invents values."""
    seen: set[str] = set()
    rows = []
    for e in extractions:
        if e.study_id in seen:
            raise ExtractionError(f"study {e.study_id}: more than one extraction; reconcile first")
        seen.add(e.study_id)
        treated = e.primary_response("ivig")
        control = e.primary_response("control")
        two_group = treated is not None and control is not None
        rows.append(
            {
                "study_id": e.study_id,
                "study": _label(e),
                "year": e.year,
                "design": e.design.value if e.design else None,
                "measure": treated.measure if treated else None,
                "xi": treated.responders if treated else None,
                "ni": treated.evaluated if treated else None,
                "ai": treated.responders if two_group and treated else None,
                "n1i": treated.evaluated if two_group and treated else None,
                "ci": control.responders if two_group and control else None,
                "n2i": control.evaluated if two_group and control else None,
                "n_ivig": e.n_ivig,
                "dose_g_per_kg_per_course": e.regimen.dose_g_per_kg_per_course,
                "serious_ae": e.adverse_events.serious,
                "thromboembolic": e.adverse_events.thromboembolic,
                "steroid_sparing": e.steroid_sparing,
            }
        )
    frame = pd.DataFrame(rows, columns=STUDY_TABLE_COLUMNS)
    for col in (
        "year",
        "xi",
        "ni",
        "ai",
        "n1i",
        "ci",
        "n2i",
        "n_ivig",
        "serious_ae",
        "thromboembolic",
    ):
        frame[col] = frame[col].astype("Int64")
    return frame


def poolable(table: pd.DataFrame, two_group: bool = False) -> pd.DataFrame:
    """Rows with complete counts for pooling (the engine rejects blank cells by design)."""
    cols = ["ai", "n1i", "ci", "n2i"] if two_group else ["xi", "ni"]
    return table.dropna(subset=cols).reset_index(drop=True)


class LedgerEntry(BaseModel):
    study: str
    extractions: list[str]
    n: int | None
    note: str = ""


class PatientLedger(BaseModel):
    """Patients per study, each study once; `total` sums only studies that report a number."""

    entries: list[LedgerEntry] = Field(default_factory=list)
    total: int = 0
    studies_with_n: int = 0
    studies_without_n: list[str] = Field(default_factory=list)


def patient_ledger(extractions: list[Extraction], links: list[StudyLink]) -> PatientLedger:
    """Group extractions by linked study and count each study's patients once (largest report)."""
    owner = study_of(links)
    groups: dict[str, list[Extraction]] = {}
    for e in extractions:
        study = owner.get(e.study_id)
        for report in e.report_ids:
            study = study or owner.get(report)
        groups.setdefault(study or e.study_id, []).append(e)
    ledger = PatientLedger()
    for study, members in groups.items():
        counts = [m.n_ivig for m in members if m.n_ivig is not None]
        n = max(counts) if counts else None
        note = ""
        if len(members) > 1:
            note = f"{len(members)} reports of one study; counted once" + (
                f" (largest n {n}; reported {counts})" if counts else ""
            )
        ledger.entries.append(
            LedgerEntry(study=study, extractions=[m.study_id for m in members], n=n, note=note)
        )
        if n is None:
            ledger.studies_without_n.append(study)
        else:
            ledger.total += n
            ledger.studies_with_n += 1
    return ledger
