"""The cohort overview shown by `myoivig run` and `myoivig patients list`."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.table import Table

from myoivig.domain.records import Patient, PatientDossier, Therapy
from myoivig.domain.synthetic import SYNTHETIC_GROUP_LABEL, is_synthetic
from myoivig.domain.values import NP
from myoivig.domain.vocab import TherapyTiming
from myoivig.terminal import key_column


def age_shown(age_at_entry: int | None, birth_year: int | None, today: date) -> int | None:
    """The age at entry when recorded, else the age reached this year from the birth year.

    A patient recorded with only a birth year has an age; leaving the column blank hid it.
    """
    if age_at_entry is not None:
        return age_at_entry
    return None if birth_year is None else today.year - birth_year


def patient_summary(dossier: PatientDossier) -> dict[str, Any]:
    """The stable JSON summary of one patient used by `patients list --json`."""
    return listing_summary(
        dossier.patient,
        dossier.therapies,
        courses=len(dossier.courses),
        assessments=len(dossier.assessments),
        adverse_events=len(dossier.adverse_events),
        serious_adverse_events=sum(1 for e in dossier.adverse_events if e.serious),
    )


def listing_summary(
    p: Patient,
    therapies: list[Therapy],
    *,
    courses: int,
    assessments: int,
    adverse_events: int,
    serious_adverse_events: int,
) -> dict[str, Any]:
    """`patient_summary` from the patient, their therapies and counts (a list page reads only
    these, not whole dossiers)."""
    age = age_shown(p.age_at_entry, p.birth_year, date.today())
    return {
        "code": p.code,
        "site_code": p.site_code,
        "sex": p.sex.value,
        "age": age,
        "age_from_birth_year": age is not None and p.age_at_entry is None,
        "diagnosis": p.diagnosis.value,
        "overlap_disease": p.overlap_disease.value if p.overlap_disease else None,
        "disease_duration_years": p.disease_duration_years,
        "disease_duration_qualifier": (
            p.disease_duration_qualifier.value if p.disease_duration_qualifier else None
        ),
        "concurrent_therapies": [t.drug_label or t.drug.value for t in therapies],
        "ivig_courses": courses,
        "assessments": assessments,
        "adverse_events": adverse_events,
        "serious_adverse_events": serious_adverse_events,
        "synthetic": is_synthetic(p),
    }


ABBREVIATIONS = {
    "dermatomyositis": "DM",
    "polymyositis": "PM",
    "overlap_myositis": "overlap",
    "inclusion_body_myositis": "IBM",
    "immune_mediated_necrotising_myopathy": "IMNM",
    "antisynthetase_syndrome": "ASyS",
    "juvenile_dermatomyositis": "JDM",
    "systemic_sclerosis": "SSc",
    "systemic_lupus_erythematosus": "SLE",
    "sjogren_syndrome": "Sjögren",
    "mixed_connective_tissue_disease": "MCTD",
    "rheumatoid_arthritis": "RA",
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is NP:
        return "NP"
    if isinstance(value, bool):
        return "+" if value else "−"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _therapies(dossier: PatientDossier) -> str:
    current = [
        t.drug_label or t.drug.value
        for t in dossier.therapies
        if t.timing != TherapyTiming.STOPPED_BEFORE_IVIG
    ]
    stopped = [
        t.drug_label or t.drug.value
        for t in dossier.therapies
        if t.timing == TherapyTiming.STOPPED_BEFORE_IVIG
    ]
    text = ", ".join(current) or "nil"
    return text + (f" ({', '.join(stopped)} stopped before IVIg)" if stopped else "")


def overview_table(dossiers: list[PatientDossier], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    key_column(table, "Code", [d.patient.code for d in dossiers])
    for column in (
        "Sex",
        "Age",
        "Diagnosis",
        "Duration (y)",
        "Therapy",
        "Courses",
        "Functional",
        "MRC",
        "CK before",
        "CK after",
        "AEs",
    ):
        table.add_column(column, overflow="fold")
    for d in dossiers:
        s = patient_summary(d)
        o = d.reported_outcome
        duration = s["disease_duration_years"]
        duration_text = "" if duration is None else f"{duration:g}"
        if s["disease_duration_qualifier"] == "less_than":
            duration_text = f"<{duration_text}"
        diagnosis = _diagnosis_text(s)
        table.add_row(
            s["code"],
            s["sex"],
            _cell(s["age"]) + ("*" if s["age_from_birth_year"] else ""),
            diagnosis,
            duration_text,
            _therapies(d),
            o.ivig_courses_reported if o and o.ivig_courses_reported else str(s["ivig_courses"]),
            _cell(o.functional_improvement if o else None),
            _cell(o.mrc_improvement if o else None),
            _cell(o.ck_before_u_per_l if o else None),
            _cell(o.ck_after_u_per_l if o else None),
            _cell(s["adverse_events"]),
        )
        if s["age_from_birth_year"]:
            table.caption = "* age reached this year, from the birth year (no age at entry)"
            table.caption_justify = "left"
    return table


def _diagnosis_text(summary: dict[str, Any]) -> str:
    diagnosis = ABBREVIATIONS.get(summary["diagnosis"], summary["diagnosis"])
    if summary["overlap_disease"]:
        overlap = summary["overlap_disease"]
        diagnosis += f"/{ABBREVIATIONS.get(overlap, overlap)}"
    return diagnosis


def synthetic_table(dossiers: list[PatientDossier], title: str) -> Table:
    """Generated patients: their visits and courses (they have no published outcome); the
    caller's title says SYNTHETIC."""
    table = Table(title=title, title_justify="left")
    key_column(table, "Code", [d.patient.code for d in dossiers])
    key_column(table, "Site", [d.patient.site_code or "" for d in dossiers])
    for column in ("Sex", "Age", "Dx", "Courses", "Visits", "First course", "Last visit", "AEs",
                   "Serious"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for d in dossiers:
        s = patient_summary(d)
        starts = sorted(c.start_date for c in d.courses if c.start_date is not None)
        visits = [a.assessment_date for a in d.assessments]
        table.add_row(
            s["code"],
            s["site_code"] or "",
            s["sex"],
            _cell(s["age"]) + ("*" if s["age_from_birth_year"] else ""),
            _diagnosis_text(s),
            str(s["ivig_courses"]),
            str(s["assessments"]),
            starts[0].isoformat() if starts else "",
            max(visits).isoformat() if visits else "",
            str(s["adverse_events"]),
            str(s["serious_adverse_events"]),
        )
        if s["age_from_birth_year"]:
            table.caption = "* age reached this year, from the birth year (no age at entry)"
            table.caption_justify = "left"
    return table


def cohort_tables(dossiers: list[PatientDossier], title: str) -> list[Table]:
    """The overview as one table per kind of data: recorded patients, then SYNTHETIC ones."""
    real = [d for d in dossiers if not is_synthetic(d.patient)]
    generated = [d for d in dossiers if is_synthetic(d.patient)]
    tables = []
    if real or not generated:
        tables.append(overview_table(real, f"{title}: {len(real)} patients"))
    if generated:
        label = f"{SYNTHETIC_GROUP_LABEL}: {len(generated)} patients"
        tables.append(synthetic_table(generated, label))
    return tables


def cohort_counts(dossiers: list[PatientDossier]) -> dict[str, Any]:
    """Patients per diagnosis, courses and serious adverse events (and how many are SYNTHETIC)."""
    by_diagnosis: dict[str, int] = {}
    for d in dossiers:
        key = d.patient.diagnosis.value
        by_diagnosis[key] = by_diagnosis.get(key, 0) + 1
    return {
        "patients": len(dossiers),
        "by_diagnosis": by_diagnosis,
        "ivig_courses": sum(len(d.courses) for d in dossiers),
        "serious_adverse_events": sum(1 for d in dossiers for e in d.adverse_events if e.serious),
        "synthetic_patients": sum(1 for d in dossiers if is_synthetic(d.patient)),
    }
