"""The tabular exchange format: which tables exist, their columns, keys and meaning.

One CSV file per table in a folder (UTF-8, header row, `.csv`), or one Excel workbook with one
sheet per table. Blank cell = missing; `NP` = not performed. The data dictionary in
`docs/data-dictionary.md` is generated from these definitions (`myoivig dictionary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from myoivig.domain import records as r
from myoivig.io import rows


@dataclass(frozen=True)
class Table:
    name: str
    model: type[r.Record]
    key: tuple[str, ...]
    description: str
    columns: tuple[str, ...] = ()
    renames: dict[str, str] = field(default_factory=dict)  # column name -> model field name

    def column_names(self) -> tuple[str, ...]:
        if self.columns:
            return self.columns
        back = {v: k for k, v in self.renames.items()}
        return tuple(back.get(name, name) for name in self.model.model_fields)

    def field_for(self, column: str) -> str:
        return self.renames.get(column, column)


TABLES: tuple[Table, ...] = (
    Table("sites", r.Site, ("site_code",), "Clinics or studies that contributed patients."),
    Table(
        "patients",
        r.Patient,
        ("patient_code",),
        "One row per patient, identified by a pseudonymous code.",
        renames={"patient_code": "code"},
    ),
    Table(
        "therapies",
        r.Therapy,
        (),
        "Concurrent immunotherapies (drug, dose, dates or timing relative to IVIg).",
    ),
    Table(
        "courses",
        r.Course,
        ("patient_code", "course_number"),
        "IVIg courses: consecutive infusion days of a daily dose.",
    ),
    Table(
        "assessments",
        rows.AssessmentRow,
        ("patient_code", "assessment_date"),
        "Clinic assessments; the measurement tables below refer to them by patient and date.",
    ),
    Table(
        "myometry",
        rows.MyometryRow,
        ("patient_code", "assessment_date", "muscle_group", "side"),
        "Isometric force by hand-held myometer, newtons, per muscle group and side.",
    ),
    Table(
        "muscle_grades",
        rows.MuscleGradeRow,
        ("patient_code", "assessment_date", "muscle_group", "side"),
        "Kendall 0-10 grade (the trial's 10-level modified MRC) per muscle group and side.",
    ),
    Table(
        "functional_tasks",
        rows.FunctionalTaskRow,
        ("patient_code", "assessment_date", "task"),
        "Functional tasks: able yes/no (NP = not performed); 30 m walk time in seconds.",
    ),
    Table(
        "core_set",
        rows.CoreSetRow,
        ("patient_code", "assessment_date", "measure"),
        "IMACS core set: global activity VAS (cm), HAQ-DI, extramuscular activity, MMT-8 total.",
    ),
    Table(
        "enzymes",
        rows.EnzymeRow,
        ("patient_code", "assessment_date", "enzyme"),
        "Muscle enzymes in U/L with the laboratory's upper limit of normal.",
    ),
    Table(
        "labs",
        rows.LabRow,
        (),
        "Laboratory tests (IgA, IgG, anti-IgA, creatinine, eGFR, haemoglobin, blood group).",
    ),
    Table(
        "adverse_events",
        r.AdverseEvent,
        (),
        "Adverse events, linked to the IVIg course they followed when known.",
    ),
    Table(
        "infusion_days",
        r.InfusionDay,
        ("patient_code", "course_number", "day_number"),
        "Infusion days of a course as given: lot, dose, rate steps run, reactions.",
    ),
    Table(
        "reported_outcomes",
        r.ReportedOutcome,
        ("patient_code",),
        "Per-patient summary outcomes as a publication reported them (no visits or dates).",
    ),
)

TABLES_BY_NAME = {table.name: table for table in TABLES}

COLUMN_NOTES: dict[str, str] = {
    "site_code": "Site identifier (letters, digits, _ . -).",
    "patient_code": "Pseudonymous patient code, unique across the database.",
    "code": "Pseudonymous patient code, unique across the database.",
    "sex": "F, M or X.",
    "age_at_entry": "Age in whole years when the patient entered treatment or the study.",
    "birth_year": "Year of birth (alternative to age_at_entry; patient lists then show the age "
    "reached this year).",
    "overlap_disease": "Associated connective-tissue disease; only with overlap_myositis.",
    "disease_duration_years": "Disease duration at entry, in years.",
    "disease_duration_qualifier": "exact, less_than (the paper's '<1') or approximate.",
    "source": "Where the data come from (citation, table, page).",
    "drug_label": "The drug as the source names it (required for drug 'other').",
    "timing": "When exact dates are unknown: concurrent, stopped_before_ivig, ...",
    "course_number": "1 for the first (induction) course, counting up.",
    "product": "IVIg product identifier (e.g. intragam, sandoglobulin, octagam-10).",
    "days": "Number of consecutive infusion days in the course.",
    "planned_daily_dose_g": "Daily dose planned, grams.",
    "given_daily_dose_g": "Daily dose actually given, grams (blank if not recorded).",
    "weight_kg": "Body weight at the time of the course.",
    "infusion_rate_ml_per_kg_min": "Maximum infusion rate reached, if known.",
    "phase": "run_in (before IVIg; an assessment on the first course's start day is taken before "
    "its infusion and may be run_in), treatment, follow_up.",
    "force_n": "Isometric force in newtons; NP = not performed.",
    "kendall_grade": "0-10; Trace is recorded as 0; NP = not performed.",
    "able": "true/false (or +/-), NP = not performed.",
    "time_s": "30 m walk time in seconds (walk_30m only).",
    "value": "Measured value in the unit of the measure or test; NP = not performed.",
    "scale_max": "MMT-8 scale maximum (80, 150 or 260); mmt8 only.",
    "value_u_per_l": "Enzyme activity, U/L; NP = not performed.",
    "uln_u_per_l": "The reporting laboratory's upper limit of normal, U/L.",
    "unit": "Unit of a numeric lab value; must be the test's canonical unit.",
    "text_value": "Result of a text test (blood group, anti-IgA positive/negative).",
    "course_number_ae": "Course after which the event occurred.",
    "serious": "Serious adverse event (true/false).",
    "ctcae_grade": "CTCAE grade 1-5 when graded.",
    "relation_to_ivig": "Causality of IVIg (WHO-UMC categories) when assessed.",
    "day_number": "Day of the course (1 = first infusion day); at most the course's days.",
    "infusion_date": "Date the day's infusion was given; within the course's days.",
    "lot_number": "Lot (batch) number as printed on the vial; 1-40 printable characters.",
    "dose_g": "Dose given that day, grams (above 0).",
    "volume_ml": "Volume infused that day, mL.",
    "rate_steps": 'Rates actually run, in order, as JSON: [{"rate": 0.01, "unit": '
    '"ml_per_kg_min" or "ml_per_h", "minutes": 30}, ...]; blank = not recorded.',
    "total_minutes": "Total infusion time that day, minutes (at least the steps' sum).",
    "reactions": 'Infusion reactions as JSON: [{"type": "headache", "ctcae_grade": 1-5, '
    '"action": "slowed", "paused", "stopped" or "premedication"}]; blank = none.',
    "given_by": "Who gave the infusion (nurse); not shown to researchers.",
    "ivig_courses_reported": "Courses as the source writes them (e.g. '1 + 3').",
    "functional_improvement": "Reported yes/no/NP.",
    "mrc_improvement": "Reported yes/no/NP (>=1 level in >=4 muscle groups in the trial).",
    "myometry_change_pct": "Reported mean myometry change, %; NP = not performed.",
    "myometry_significant": "false where the source marks NS (p >= 0.05).",
    "ck_before_u_per_l": "Serum CK before IVIg as reported, U/L.",
    "ck_after_u_per_l": "Serum CK after IVIg as reported, U/L.",
    "prednisone_stopped_before_ivig": (
        "The source's footnote: prednisone stopped shortly before IVIg."
    ),
}
