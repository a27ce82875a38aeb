"""Application layer of the outcomes area: what the CLI (and pages or an API) ask for.

The commands only parse options and print; loading records and applying the rules happen here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from myoivig.domain.records import PatientDossier
from myoivig.domain.synthetic import is_synthetic, patient_label
from myoivig.domain.vocab import Diagnosis
from myoivig.outcomes.core_set import ScoringSettings
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.outcomes.runin import BaselineMethod
from myoivig.outcomes.trial_claims import load_claims
from myoivig.outcomes.trial_report import TableRow, cohort_summary, table_rows
from myoivig.store import Store
from myoivig.store.repository import list_dossiers, load_dossier

if TYPE_CHECKING:  # pandas loads only when a table is built, so `myoivig --help` stays fast
    import pandas as pd


def patient_outcome_report(
    store: Store,
    code: str,
    baseline: BaselineMethod = BaselineMethod.MEAN,
    settings: ScoringSettings | None = None,
) -> dict[str, Any]:
    """One stored patient's outcome report; RecordNotFoundError when the code is unknown."""
    with store.session() as session:
        dossier = load_dossier(session, code)
    report = patient_outcomes(
        code, dossier.patient.diagnosis, dossier.assessments, baseline, settings
    )
    report["synthetic"] = is_synthetic(dossier.patient)
    report["label"] = patient_label(dossier.patient)
    return report


def stored_dossiers(store: Store) -> list[PatientDossier]:
    """Every stored dossier."""
    with store.session() as session:
        return list_dossiers(session)


def trial_cohort_summary(dossiers: list[PatientDossier]) -> dict[str, object]:
    """The 1998 trial's summary from the stored reported outcomes and the paper's claims."""
    source, claims = load_claims()
    return cohort_summary(dossiers, source, claims)


# --- research views: the trial's analyses for any filtered stored cohort ---------------------


class CohortFilterError(ValueError):
    """A filter value that names no site, diagnosis or valid period."""


@dataclass(frozen=True)
class CohortFilter:
    """Which stored patients to analyse: site, diagnosis and a period of IVIg course starts."""

    site: str | None = None
    diagnosis: str | None = None
    start: date | None = None
    end: date | None = None

    def checked(self) -> CohortFilter:
        if self.diagnosis and self.diagnosis not in {d.value for d in Diagnosis}:
            raise CohortFilterError(f"diagnosis {self.diagnosis!r} is not one of the diagnoses")
        if self.start and self.end and self.start > self.end:
            raise CohortFilterError(f"period from {self.start} is after its end {self.end}")
        return self

    def admits(self, dossier: PatientDossier) -> bool:
        """Site and diagnosis match; with a period, at least one course started within it."""
        patient = dossier.patient
        if self.site and patient.site_code != self.site:
            return False
        if self.diagnosis and patient.diagnosis.value != self.diagnosis:
            return False
        if self.start is None and self.end is None:
            return True
        return any(
            c.start_date is not None
            and (self.start is None or c.start_date >= self.start)
            and (self.end is None or c.start_date <= self.end)
            for c in dossier.courses
        )


@dataclass(frozen=True)
class ResearchView:
    """The trial's table and summary for the filtered patients with reported outcomes."""

    filter: CohortFilter
    matched: int
    """Patients the filter admits, with or without a reported outcome."""
    rows: list[dict[str, object]]
    summary: dict[str, object] | None
    """None when no admitted patient has a reported outcome."""


def research_view(
    dossiers: Sequence[PatientDossier], wanted: CohortFilter, pseudonymised: bool = False
) -> ResearchView:
    """Filter the dossiers and compute the table and summary (the CLI and the pages call this).

    The responder rule and the paper's claims need reported outcomes, so only those patients
    enter the table and summary; `matched` says how many the filter admitted in all. For
    pseudonymised dossiers the paper's case number (read from the clinic's code) is unknown,
    so it is left blank rather than read from the pseudonym's digits."""
    admitted = [d for d in dossiers if wanted.checked().admits(d)]
    reported = [d for d in admitted if d.reported_outcome is not None]
    rows = [r.to_json() for r in table_rows(reported)]
    if pseudonymised:
        rows = sorted(({**row, "case": None} for row in rows), key=lambda r: str(r["patient_code"]))
    summary = trial_cohort_summary(reported) if reported else None
    return ResearchView(wanted, len(admitted), rows, summary)


def _interval_text(bounds: object) -> str:
    return f"{bounds[0]:.3f}-{bounds[1]:.3f}" if isinstance(bounds, list | tuple) else ""


def _shown(value: object) -> object:
    """Intervals as `lower-upper` text (3 decimals); other values unchanged."""
    return _interval_text(value) if isinstance(value, list | tuple) else value


def research_tables(view: ResearchView) -> dict[str, pd.DataFrame]:
    """Exactly the tables the research page shows, by name (what CSV, Excel and Parquet hold)."""
    import pandas as pd

    tables: dict[str, pd.DataFrame] = {
        "table": pd.DataFrame(
            [
                {**row, "concurrent_therapy": "; ".join(row["concurrent_therapy"])}  # type: ignore[arg-type]
                for row in view.rows
            ],
            columns=list(TableRow.__dataclass_fields__),
        )
    }
    summary = view.summary
    if summary is None:
        return tables
    groups: dict[str, dict[str, object]] = summary["groups"]  # type: ignore[assignment]
    non_ibm: dict[str, object] = summary["non_ibm"]  # type: ignore[assignment]
    tables["responders"] = pd.DataFrame(
        [
            {
                "group": name,
                "responders": g["responders"],
                "patients": g["patients"],
                "undetermined": g["undetermined"],
                "proportion": g["proportion"],
                "clopper_pearson_95": _interval_text(g["clopper_pearson_95"]),
                "wilson_95": _interval_text(g["wilson_95"]),
            }
            for name, g in [*groups.items(), ("all except IBM", non_ibm)]
        ]
    )
    ck: dict[str, dict[str, object] | None] = summary["ck"]  # type: ignore[assignment]
    tables["ck"] = pd.DataFrame(
        [
            {"group": name, **{k: _shown(v) for k, v in result.items()}}
            for name, result in ck.items()
            if result is not None
        ]
    )
    events: dict[str, object] = summary["adverse_events"]  # type: ignore[assignment]
    tables["adverse_events"] = pd.DataFrame(
        [{"quantity": k, "value": v} for k, v in events.items() if not isinstance(v, dict | list)]
    )
    discrepancies: list[dict[str, object]] = summary["discrepancies"]  # type: ignore[assignment]
    tables["discrepancies"] = pd.DataFrame(
        discrepancies,
        columns=["claim_id", "location", "metric", "paper_says", "data_give", "quote"],
    )
    return tables


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = {"csv": "text/csv", "xlsx": _XLSX, "parquet": "application/vnd.apache.parquet"}


def export_research(tables: dict[str, pd.DataFrame], fmt: str, part: str) -> bytes:
    """One table as CSV or Parquet, or every table as sheets of one Excel workbook."""
    import pandas as pd

    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name[:31], index=False)
        return buffer.getvalue()
    if part not in tables:
        raise CohortFilterError(f"no table {part!r}; choose one of {', '.join(tables)}")
    frame = tables[part]
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "parquet":
        # Mixed text/number columns ("NP" for not performed) are stored as text in Parquet.
        typed = frame.apply(
            lambda col: (
                col.map(lambda v: None if v is None else str(v)) if col.dtype == object else col
            )
        )
        return typed.to_parquet(index=False)
    raise CohortFilterError(f"format {fmt!r}: use csv, xlsx or parquet")
