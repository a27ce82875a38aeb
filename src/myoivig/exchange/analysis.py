"""Analysis-ready tables: visits (long and wide, with computed scores), courses, events, labs.

Scores come from the outcomes engine (`myoivig.outcomes`): the trial's myometry mean force per
visit, and for every treatment/follow-up visit the ACR/EULAR total improvement score and the
IMACS definition of improvement against the last run-in visit before it, the same reference the
patient outcome report uses. Nothing is recalculated here.

A pseudonymised export replaces patient codes by pseudonyms drawn at random for this export
(the same patient keeps one pseudonym across all tables), shifts every date of a patient by one
random offset (intervals within a patient are kept), and leaves out the year of birth. No table
holds names or free text (notes, sources, assessor) in any export.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.values import NotPerformed
from myoivig.domain.vocab import CoreSetMeasure, Enzyme, Phase
from myoivig.exchange.redcap.fields import muscle_sites
from myoivig.outcomes.core_set import CoreSetError
from myoivig.outcomes.from_records import core_set_change, population_for
from myoivig.outcomes.imacs_doi import imacs_definition_of_improvement
from myoivig.outcomes.myometry import mean_force, site_forces
from myoivig.outcomes.tis import total_improvement_score

MAX_SHIFT_DAYS = 365


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string, integer, number, boolean, date
    description: str
    unit: str = ""


@dataclass
class AnalysisTable:
    name: str
    description: str
    columns: list[Column]
    rows: list[dict[str, Any]]


class Pseudonymiser:
    """Per-export pseudonyms and per-patient date offsets (from `seed` if given, else random)."""

    def __init__(self, codes: Sequence[str], seed: int | None = None) -> None:
        rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        order = list(codes)
        rng.shuffle(order)
        width = max(3, len(str(len(order))))
        self.names = {code: f"S{i:0{width}d}" for i, code in enumerate(order, 1)}
        self.offsets = {
            code: timedelta(
                days=rng.choice([d for d in range(-MAX_SHIFT_DAYS, MAX_SHIFT_DAYS + 1) if d])
            )
            for code in codes
        }

    def name(self, code: str) -> str:
        return self.names[code]

    def shift(self, code: str, when: date | None) -> date | None:
        return None if when is None else when + self.offsets[code]


class _Identity:
    def name(self, code: str) -> str:
        return code

    def shift(self, code: str, when: date | None) -> date | None:
        return when


def _plain(value: Any) -> Any:
    if isinstance(value, NotPerformed):
        return None
    return value.value if hasattr(value, "value") else value


ID = Column("patient_id", "string", "Patient code, or the export's pseudonym")


def _patients(dossiers: list[r.PatientDossier], p: Any, pseudo: bool) -> AnalysisTable:
    columns = [
        ID,
        Column("site_code", "string", "Site code"),
        Column("sex", "string", "F, M or X"),
        Column("age_at_entry", "integer", "Age at entry", "years"),
        Column("diagnosis", "string", "Diagnosis (myoivig vocabulary)"),
        Column("overlap_disease", "string", "Overlap connective-tissue disease"),
        Column("onset_date", "date", "Disease onset date (shifted when pseudonymised)"),
        Column("disease_duration_years", "number", "Disease duration at entry", "years"),
        Column("height_cm", "number", "Height", "cm"),
    ]
    if not pseudo:
        columns.insert(
            4, Column("birth_year", "integer", "Year of birth (not in pseudonymised exports)")
        )
    rows = []
    for d in dossiers:
        pt = d.patient
        row = {
            "patient_id": p.name(pt.code),
            "site_code": pt.site_code,
            "sex": pt.sex.value,
            "age_at_entry": pt.age_at_entry,
            "diagnosis": pt.diagnosis.value,
            "overlap_disease": _plain(pt.overlap_disease),
            "onset_date": p.shift(pt.code, pt.onset_date),
            "disease_duration_years": pt.disease_duration_years,
            "height_cm": pt.height_cm,
        }
        if not pseudo:
            row["birth_year"] = pt.birth_year
        rows.append(row)
    return AnalysisTable("patients", "One row per patient", columns, rows)


VISIT_KEYS = [
    ID,
    Column("visit_date", "date", "Assessment date (shifted when pseudonymised)"),
    Column("days_from_first_visit", "integer", "Days since the patient's first assessment", "days"),
    Column("phase", "string", "run_in, treatment or follow_up"),
]
CORE_UNITS = {"haq": "points", "mmt8": "points"}


@dataclass(frozen=True)
class Scores:
    mean_force: float | None
    tis: float | None
    tis_category: str | None
    imacs_doi: bool | None
    reference: date | None
    note: str | None


def visit_scores(a: r.Assessment, earlier: Sequence[r.Assessment], diagnosis: Any) -> Scores:
    """The engine's scores of one visit (TIS/DOI against the last run-in visit before it)."""
    forces = site_forces(a.myometry)
    force = mean_force(forces) if forces else None
    if a.phase is Phase.RUN_IN:
        return Scores(force, None, None, None, None, None)
    has_core = [b for b in earlier if b.phase is Phase.RUN_IN and (b.core_set or b.enzymes)]
    if not has_core:
        return Scores(force, None, None, None, None, "no earlier run-in visit with core-set values")
    if not (a.core_set or a.enzymes):
        return Scores(force, None, None, None, None, "no core-set values at this visit")
    reference = has_core[-1]
    try:
        change = core_set_change(reference, a, population_for(diagnosis))
        tis = total_improvement_score(change)
        doi = imacs_definition_of_improvement(change)
    except (ValueError, CoreSetError) as error:
        return Scores(force, None, None, None, reference.assessment_date, str(error))
    category = tis.category.value if tis.category else None
    note = None
    if tis.tis is None:
        note = "TIS not computable; missing: " + ", ".join(m.value for m in tis.missing)
    return Scores(force, tis.tis, category, doi.responder, reference.assessment_date, note)


SCORE_COLUMNS = [
    Column(
        "myometry_mean_force_n",
        "number",
        "Mean myometry force over the trial's muscle groups (computed, outcomes.myometry)",
        "N",
    ),
    Column(
        "tis",
        "number",
        "ACR/EULAR total improvement score vs the reference visit (computed)",
        "points",
    ),
    Column("tis_category", "string", "TIS category: none, minimal, moderate, major (computed)"),
    Column("imacs_doi", "boolean", "IMACS definition of improvement met (computed)"),
    Column("score_reference_date", "date", "Run-in visit the TIS/DOI compare against"),
    Column("score_note", "string", "Why a score could not be computed"),
]


def _wide_columns() -> list[Column]:
    cols = list(VISIT_KEYS)
    for m in CoreSetMeasure:
        cols.append(
            Column(m.value, "number", f"Core set: {m.value}", CORE_UNITS.get(m.value, "cm"))
        )
    cols.append(Column("mmt8_scale_max", "number", "MMT-8 scale maximum (80, 150 or 260)"))
    for e in Enzyme:
        cols.append(Column(f"{e.value}_u_per_l", "number", f"{e.value} activity", "U/L"))
        cols.append(
            Column(f"{e.value}_uln_u_per_l", "number", f"{e.value} upper limit of normal", "U/L")
        )
    for g, s in muscle_sites():
        cols.append(Column(f"myometry_{g.value}_{s.value}_n", "number", "Myometry force", "N"))
    for g, s in muscle_sites():
        cols.append(Column(f"kendall_{g.value}_{s.value}", "integer", "Kendall grade 0-10"))
    return cols + SCORE_COLUMNS


def _visits(dossiers: list[r.PatientDossier], p: Any) -> tuple[AnalysisTable, AnalysisTable]:
    long_cols = [
        *VISIT_KEYS,
        Column("measure", "string", "What was measured or computed"),
        Column("muscle_site", "string", "muscle_group.side for myometry and grades"),
        Column("value", "number", "Numeric value (blank when not performed or text)"),
        Column("unit", "string", "Unit of value"),
        Column("not_performed", "boolean", "The measurement was not performed"),
        Column("computed", "boolean", "The value was computed by the outcomes engine"),
    ]
    long_rows: list[dict[str, Any]] = []
    wide_rows: list[dict[str, Any]] = []
    for d in dossiers:
        code = d.patient.code
        ordered = sorted(d.assessments, key=lambda a: a.assessment_date)
        first = ordered[0].assessment_date if ordered else None
        for i, a in enumerate(ordered):
            key = {
                "patient_id": p.name(code),
                "visit_date": p.shift(code, a.assessment_date),
                "days_from_first_visit": (a.assessment_date - first).days if first else None,
                "phase": a.phase.value,
            }
            wide = dict(key)

            def emit(
                measure: str,
                value: Any,
                unit: str,
                site: str = "",
                computed: bool = False,
                _key: dict[str, Any] = key,
            ) -> None:
                long_rows.append(
                    {
                        **_key,
                        "measure": measure,
                        "muscle_site": site or None,
                        "value": _plain(value),
                        "unit": unit,
                        "not_performed": isinstance(value, NotPerformed),
                        "computed": computed,
                    }
                )

            for v in a.core_set:
                unit = CORE_UNITS.get(v.measure.value, "cm")
                emit(v.measure.value, v.value, unit)
                wide[v.measure.value] = _plain(v.value)
                if v.scale_max is not None:
                    wide["mmt8_scale_max"] = v.scale_max
            for e in a.enzymes:
                emit(f"{e.enzyme.value}_u_per_l", e.value_u_per_l, "U/L")
                wide[f"{e.enzyme.value}_u_per_l"] = _plain(e.value_u_per_l)
                wide[f"{e.enzyme.value}_uln_u_per_l"] = e.uln_u_per_l
            for m in a.myometry:
                site = f"{m.muscle_group.value}.{m.side.value}"
                emit("myometry_force_n", m.force_n, "N", site)
                wide[f"myometry_{m.muscle_group.value}_{m.side.value}_n"] = _plain(m.force_n)
            for g in a.muscle_grades:
                site = f"{g.muscle_group.value}.{g.side.value}"
                emit("kendall_grade", g.kendall_grade, "grade", site)
                wide[f"kendall_{g.muscle_group.value}_{g.side.value}"] = _plain(g.kendall_grade)
            for t in a.functional_tasks:
                value: Any = (
                    NotPerformed.NP
                    if t.not_performed
                    else (None if t.able is None else float(t.able))
                )
                emit(f"able_{t.task.value}", value, "1=able, 0=unable")
                if t.time_s is not None:
                    emit("walk_30m_time_s", t.time_s, "s")
            scores = visit_scores(a, ordered[:i], d.patient.diagnosis)
            score_values = {
                "myometry_mean_force_n": scores.mean_force,
                "tis": scores.tis,
                "tis_category": scores.tis_category,
                "imacs_doi": scores.imacs_doi,
                "score_reference_date": p.shift(code, scores.reference),
                "score_note": scores.note,
            }
            wide.update(score_values)
            for name, unit in (("myometry_mean_force_n", "N"), ("tis", "points")):
                if score_values[name] is not None:
                    emit(name, score_values[name], unit, computed=True)
            if scores.imacs_doi is not None:
                emit("imacs_doi", float(scores.imacs_doi), "1=met, 0=not met", computed=True)
            wide_rows.append(wide)
    return (
        AnalysisTable(
            "visits_long", "One row per measured or computed value per visit", long_cols, long_rows
        ),
        AnalysisTable("visits_wide", "One row per visit", _wide_columns(), wide_rows),
    )


def _courses(dossiers: list[r.PatientDossier], p: Any) -> AnalysisTable:
    columns = [
        ID,
        Column("course_number", "integer", "Course number"),
        Column("product", "string", "IVIg product"),
        Column("start_date", "date", "First infusion day (shifted when pseudonymised)"),
        Column("days", "integer", "Infusion days", "days"),
        Column("planned_daily_dose_g", "number", "Planned daily dose", "g/day"),
        Column("given_daily_dose_g", "number", "Given daily dose", "g/day"),
        Column("weight_kg", "number", "Body weight at the course", "kg"),
        Column("infusion_rate_ml_per_kg_min", "number", "Maximum infusion rate", "mL/kg/min"),
    ]
    rows = [
        {
            "patient_id": p.name(d.patient.code),
            "course_number": c.course_number,
            "product": c.product,
            "start_date": p.shift(d.patient.code, c.start_date),
            "days": c.days,
            "planned_daily_dose_g": c.planned_daily_dose_g,
            "given_daily_dose_g": c.given_daily_dose_g,
            "weight_kg": c.weight_kg,
            "infusion_rate_ml_per_kg_min": c.infusion_rate_ml_per_kg_min,
        }
        for d in dossiers
        for c in d.courses
    ]
    return AnalysisTable("courses", "One row per IVIg course", columns, rows)


def _events(dossiers: list[r.PatientDossier], p: Any) -> AnalysisTable:
    columns = [
        ID,
        Column("onset_date", "date", "Onset date (shifted when pseudonymised)"),
        Column("course_number", "integer", "IVIg course during which it began"),
        Column("term", "string", "Adverse event term"),
        Column("serious", "boolean", "Serious adverse event"),
        Column("ctcae_grade", "integer", "CTCAE grade 1-5"),
        Column(
            "relation_to_ivig",
            "string",
            "Relation to IVIg, WHO-UMC causality category (blank: not assessed)",
        ),
        Column("outcome", "string", "Outcome"),
        Column("action", "string", "Action taken"),
    ]
    rows = [
        {
            "patient_id": p.name(d.patient.code),
            "onset_date": p.shift(d.patient.code, e.onset_date),
            "course_number": e.course_number,
            "term": e.term,
            "serious": e.serious,
            "ctcae_grade": e.ctcae_grade,
            "relation_to_ivig": _plain(e.relation_to_ivig),
            "outcome": _plain(e.outcome),
            "action": _plain(e.action),
        }
        for d in dossiers
        for e in d.adverse_events
    ]
    return AnalysisTable("adverse_events", "One row per adverse event", columns, rows)


def _labs(dossiers: list[r.PatientDossier], p: Any) -> AnalysisTable:
    columns = [
        ID,
        Column("sample_date", "date", "Sample date (shifted when pseudonymised)"),
        Column("test", "string", "Laboratory test"),
        Column("value", "number", "Numeric result"),
        Column("unit", "string", "Unit of value"),
        Column("text_value", "string", "Text result (blood group, antibodies)"),
        Column("not_performed", "boolean", "The test was not performed"),
    ]
    rows = [
        {
            "patient_id": p.name(d.patient.code),
            "sample_date": p.shift(d.patient.code, lab.sample_date),
            "test": lab.test.value,
            "value": lab.value,
            "unit": lab.unit,
            "text_value": lab.text_value,
            "not_performed": lab.not_performed,
        }
        for d in dossiers
        for lab in d.labs
    ]
    return AnalysisTable("labs", "One row per laboratory result", columns, rows)


def analysis_tables(
    dossiers: list[r.PatientDossier], pseudonymiser: Pseudonymiser | None = None
) -> list[AnalysisTable]:
    """Every analysis table of the given dossiers."""
    p: Any = pseudonymiser if pseudonymiser is not None else _Identity()
    pseudo = pseudonymiser is not None
    long, wide = _visits(dossiers, p)
    return [
        _patients(dossiers, p, pseudo),
        long,
        wide,
        _courses(dossiers, p),
        _events(dossiers, p),
        _labs(dossiers, p),
    ]


def dictionary_table(tables: list[AnalysisTable]) -> AnalysisTable:
    columns = [
        Column("table", "string", "Table (file name without extension)"),
        Column("column", "string", "Column name"),
        Column("type", "string", "string, integer, number, boolean or date (ISO 8601)"),
        Column("unit", "string", "Unit of the values"),
        Column("description", "string", "What the column holds"),
    ]
    rows = [
        {
            "table": t.name,
            "column": c.name,
            "type": c.kind,
            "unit": c.unit,
            "description": c.description,
        }
        for t in tables
        for c in t.columns
    ]
    return AnalysisTable("data_dictionary", "The columns of every table", columns, rows)
