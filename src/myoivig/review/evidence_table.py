"""Evidence table and metafor-named study table for the evidence engine (`myoivig meta run`).

Column names follow metafor's `escalc` arguments: `xi`/`ni` for single-arm proportions
(measure PR/PLO/PFT), `ai`/`n1i`/`ci`/`n2i` for two-group counts; the label column is `study`
(metafor's `slab`), which is the label column the evidence engine reads.
The patient ledger counts each *study* once even when several reports describe it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from myoivig.review.extraction import Extraction, ExtractionError
from myoivig.review.studies import StudyLink, study_of

if TYPE_CHECKING:  # pandas is imported only when a table is built
    import pandas as pd

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


_POOLED = ("measure", "xi", "ni", "ai", "n1i", "ci", "n2i")


def group_by_study(
    extractions: list[Extraction], links: Sequence[StudyLink]
) -> dict[str, list[Extraction]]:
    """Linked study id -> its extractions (an extraction's own id or one of its report ids may
    be linked); unlinked extractions are their own study."""
    owner = study_of(list(links))
    groups: dict[str, list[Extraction]] = {}
    for e in extractions:
        study = owner.get(e.study_id)
        for report in e.report_ids:
            study = study or owner.get(report)
        groups.setdefault(study or e.study_id, []).append(e)
    return groups


def _row(e: Extraction, study_id: str) -> dict[str, object]:
    treated = e.primary_response("ivig")
    control = e.primary_response("control")
    two_group = treated is not None and control is not None
    return {
        "study_id": study_id,
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


def _study_row(study: str, members: list[Extraction], link: StudyLink | None) -> dict[str, object]:
    """One row per study: the designated primary report, else the reports' common numbers.

    Pooling two reports of one cohort would count its patients twice, so several reports with
    different pooled numbers and no designated primary report are refused.
    """
    if len(members) == 1:
        return _row(members[0], study)
    primary = link.primary_report if link else None
    if primary is not None:
        chosen = [m for m in members if m.study_id == primary or primary in m.report_ids]
        if len(chosen) != 1:
            raise ExtractionError(
                f"study {study}: primary report {primary!r} matches {len(chosen)} of the "
                f"extractions {[m.study_id for m in members]}"
            )
        return _row(chosen[0], study)
    rows = [_row(m, study) for m in members]
    differing = [c for c in _POOLED if len({repr(r[c]) for r in rows}) > 1]
    if differing:
        detail = "; ".join(
            f"{c}: "
            + ", ".join(f"{m.study_id}={r[c]!r}" for m, r in zip(members, rows, strict=True))
            for c in differing
        )
        raise ExtractionError(
            f"study {study}: linked reports disagree on pooled numbers ({detail}); designate "
            "the primary report (`review study STUDY REPORTS --primary REPORT`)"
        )
    return rows[0]


def study_table(extractions: list[Extraction], links: Sequence[StudyLink] = ()) -> pd.DataFrame:
    """One row per study (reports linked by `review study` are one study, never pooled twice);
    blank (NA) where the source gives no number. Never invents values."""
    import pandas as pd

    seen: set[str] = set()
    for e in extractions:
        if e.study_id in seen:
            raise ExtractionError(f"study {e.study_id}: more than one extraction; reconcile first")
        seen.add(e.study_id)
    by_id = {link.study_id: link for link in links}
    rows = [
        _study_row(study, members, by_id.get(study))
        for study, members in group_by_study(extractions, links).items()
    ]
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
    groups = group_by_study(extractions, links)
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
