"""Moving records between the domain models and the tables.

The rest of myoivig asks for `PatientDossier`s and hands them back; only this module knows how a
record is spread over rows, and how "not performed" is stored (a value column left empty plus a
`not_performed` flag, so the distinction from missing survives every round trip).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from myoivig.clinic.tables import InfusionDayRow
from myoivig.domain import records as r
from myoivig.domain.values import NP, NotPerformed
from myoivig.domain.vocab import FunctionalTask, MuscleGroup, Phase, Side
from myoivig.store import audit
from myoivig.store.registry import target_metadata
from myoivig.store.tables import (
    AdverseEventRow,
    AssessmentRow,
    CoreSetRow,
    CourseRow,
    EnzymeRow,
    FunctionalTaskRow,
    LabResultRow,
    MuscleGradeRow,
    MyometryRow,
    PatientRow,
    ReportedOutcomeRow,
    SiteRow,
    TherapyRow,
)


class RecordNotFoundError(LookupError):
    """No record with the given key."""


def split_np(value: Any) -> tuple[Any, bool]:
    """A domain value as (column value, not-performed flag)."""
    return (None, True) if value is NP else (value, False)


def join_np(value: Any, not_performed: bool) -> Any:
    return NP if not_performed else value


def _enum_value(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, NotPerformed) else value


def _columns(record: r.Record, exclude: set[str]) -> dict[str, Any]:
    """Plain column values of a flat record (enums as their strings)."""
    return {
        name: _enum_value(getattr(record, name))
        for name in type(record).model_fields
        if name not in exclude
    }


# --- writing ---------------------------------------------------------------------------------


def add_site(session: Session, site: r.Site) -> SiteRow:
    row = SiteRow(**_columns(site, set()))
    session.add(row)
    return row


def add_dossier(
    session: Session, dossier: r.PatientDossier, sites: dict[str, SiteRow]
) -> PatientRow:
    """Stage one patient and everything about them for insertion."""
    patient = dossier.patient
    row = PatientRow(**_columns(patient, {"site_code"}))
    if patient.site_code is not None:
        row.site = sites[patient.site_code]
    row.therapies = [TherapyRow(**_columns(t, {"patient_code"})) for t in dossier.therapies]
    row.courses = [CourseRow(**_columns(c, {"patient_code"})) for c in dossier.courses]
    row.assessments = [_assessment_row(a) for a in dossier.assessments]
    row.labs = [LabResultRow(**_columns(lab, {"patient_code"})) for lab in dossier.labs]
    by_number = {course.course_number: course for course in row.courses}
    row.adverse_events = [
        AdverseEventRow(
            **_columns(event, {"patient_code", "course_number"}),
            course=by_number.get(event.course_number) if event.course_number else None,
        )
        for event in dossier.adverse_events
    ]
    if dossier.reported_outcome is not None:
        row.reported_outcome = _reported_row(dossier.reported_outcome)
    session.add(row)
    for day in dossier.infusion_days:
        session.add(infusion_day_row(day, row, by_number[day.course_number]))
    return row


def infusion_day_columns(day: r.InfusionDay) -> dict[str, Any]:
    """The columns of an infusion day (rate steps and reactions as JSON-ready lists)."""
    values = _columns(day, {"patient_code", "course_number", "rate_steps", "reactions"})
    values["rate_steps"] = [step.model_dump(mode="json") for step in day.rate_steps]
    values["reactions"] = [reaction.model_dump(mode="json") for reaction in day.reactions]
    return values


def infusion_day_row(day: r.InfusionDay, patient: PatientRow, course: CourseRow) -> InfusionDayRow:
    return InfusionDayRow(**infusion_day_columns(day), patient=patient, course=course)


def _assessment_parts(a: r.Assessment) -> dict[type[Any], list[dict[str, Any]]]:
    """Column values of an assessment's child rows, per table (shared by the ORM and bulk
    paths so that both store "not performed" the same way)."""
    myometry, grades, tasks, core, enzymes = [], [], [], [], []
    for m in a.myometry:
        force, np_flag = split_np(m.force_n)
        myometry.append(
            {
                "muscle_group": m.muscle_group.value,
                "side": m.side.value,
                "force_n": force,
                "not_performed": np_flag,
            }
        )
    for g in a.muscle_grades:
        grade, np_flag = split_np(g.kendall_grade)
        grades.append(
            {
                "muscle_group": g.muscle_group.value,
                "side": g.side.value,
                "kendall_grade": grade,
                "not_performed": np_flag,
            }
        )
    for t in a.functional_tasks:
        tasks.append(
            {
                "task": t.task.value,
                "able": t.able,
                "time_s": t.time_s,
                "not_performed": t.not_performed,
            }
        )
    for c in a.core_set:
        value, np_flag = split_np(c.value)
        core.append(
            {
                "measure": c.measure.value,
                "value": value,
                "not_performed": np_flag,
                "scale_max": c.scale_max,
            }
        )
    for e in a.enzymes:
        value, np_flag = split_np(e.value_u_per_l)
        enzymes.append(
            {
                "enzyme": e.enzyme.value,
                "value_u_per_l": value,
                "not_performed": np_flag,
                "uln_u_per_l": e.uln_u_per_l,
            }
        )
    return {
        MyometryRow: myometry,
        MuscleGradeRow: grades,
        FunctionalTaskRow: tasks,
        CoreSetRow: core,
        EnzymeRow: enzymes,
    }


def _assessment_columns(a: r.Assessment) -> dict[str, Any]:
    return {
        "assessment_date": a.assessment_date,
        "phase": a.phase.value,
        "assessor": a.assessor,
        "note": a.note,
    }


def _assessment_row(a: r.Assessment) -> AssessmentRow:
    row = AssessmentRow(**_assessment_columns(a))
    parts = _assessment_parts(a)
    row.myometry = [MyometryRow(**v) for v in parts[MyometryRow]]
    row.muscle_grades = [MuscleGradeRow(**v) for v in parts[MuscleGradeRow]]
    row.functional_tasks = [FunctionalTaskRow(**v) for v in parts[FunctionalTaskRow]]
    row.core_set = [CoreSetRow(**v) for v in parts[CoreSetRow]]
    row.enzymes = [EnzymeRow(**v) for v in parts[EnzymeRow]]
    return row


def bulk_add_dossiers(
    session: Session,
    dossiers: list[r.PatientDossier],
    sites: dict[str, int],
    *,
    audit_each_row: bool = False,
) -> list[int]:
    """Insert many new dossiers with `audit.bulk_insert` (one statement stream and one audit
    entry per table) instead of one ORM object and one audit row per record: a load test of
    1,000 patients x 20 visits is about a million rows. `sites` maps site codes to their ids.
    Returns the new patients' ids in the order of `dossiers`. `audit_each_row`: one audit
    entry per record, as the ORM path writes (a clinical import: each patient's audit page
    lists its records), rather than one per table (a load test's filling)."""
    bulk_insert = functools.partial(audit.bulk_insert, audit_each_row=audit_each_row)
    patient_ids = bulk_insert(
        session,
        PatientRow,
        [
            {**_columns(d.patient, {"site_code"}), "site_id": sites.get(d.patient.site_code or "")}
            for d in dossiers
        ],
        key="code",
    )
    owned: dict[type[Any], list[dict[str, Any]]] = {TherapyRow: [], CourseRow: [], LabResultRow: []}
    for pid, d in zip(patient_ids, dossiers, strict=True):
        owned[TherapyRow] += [
            {**_columns(t, {"patient_code"}), "patient_id": pid} for t in d.therapies
        ]
        owned[CourseRow] += [
            {**_columns(c, {"patient_code"}), "patient_id": pid} for c in d.courses
        ]
        owned[LabResultRow] += [
            {**_columns(lab, {"patient_code"}), "patient_id": pid} for lab in d.labs
        ]
    new_ids = {model: bulk_insert(session, model, rows) for model, rows in owned.items()}
    course_ids = {
        (row["patient_id"], row["course_number"]): cid
        for row, cid in zip(owned[CourseRow], new_ids[CourseRow], strict=True)
    }
    bulk_insert(
        session,
        InfusionDayRow,
        [
            {
                **infusion_day_columns(day),
                "patient_id": pid,
                "course_id": course_ids[(pid, day.course_number)],
            }
            for pid, d in zip(patient_ids, dossiers, strict=True)
            for day in d.infusion_days
        ],
    )
    events = [
        {
            **_columns(e, {"patient_code", "course_number"}),
            "patient_id": pid,
            "course_id": course_ids.get((pid, e.course_number)) if e.course_number else None,
        }
        for pid, d in zip(patient_ids, dossiers, strict=True)
        for e in d.adverse_events
    ]
    bulk_insert(session, AdverseEventRow, events)
    outcomes = [
        {**_reported_values(d.reported_outcome), "patient_id": pid}
        for pid, d in zip(patient_ids, dossiers, strict=True)
        if d.reported_outcome is not None
    ]
    bulk_insert(session, ReportedOutcomeRow, outcomes)
    assessments = [
        (pid, a) for pid, d in zip(patient_ids, dossiers, strict=True) for a in d.assessments
    ]
    assessment_ids = bulk_insert(
        session,
        AssessmentRow,
        [{**_assessment_columns(a), "patient_id": pid} for pid, a in assessments],
    )
    children: dict[type[Any], list[dict[str, Any]]] = {}
    for aid, (_, a) in zip(assessment_ids, assessments, strict=True):
        for model, rows in _assessment_parts(a).items():
            children.setdefault(model, []).extend({**v, "assessment_id": aid} for v in rows)
    for model, rows in children.items():
        bulk_insert(session, model, rows)
    return patient_ids


REPORTED_NP_FIELDS = (
    "functional_improvement",
    "mrc_improvement",
    "myometry_change_pct",
    "ck_before_u_per_l",
    "ck_after_u_per_l",
)


def _reported_values(outcome: r.ReportedOutcome) -> dict[str, Any]:
    values = _columns(outcome, {"patient_code"})
    for name in REPORTED_NP_FIELDS:
        values[name], values[f"{name}_np"] = split_np(values[name])
    return values


def _reported_row(outcome: r.ReportedOutcome) -> ReportedOutcomeRow:
    return ReportedOutcomeRow(**_reported_values(outcome))


# --- reading ---------------------------------------------------------------------------------


def _row_values(row: Any, model: type[r.Record], **extra: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}
    values.update(extra)
    return values


def course_from_row(row: CourseRow, code: str) -> r.Course:
    return r.Course.model_validate(_row_values(row, r.Course, patient_code=code))


def infusion_day_from_row(row: InfusionDayRow | _Rows, code: str) -> r.InfusionDay:
    return r.InfusionDay.model_validate(
        _row_values(row, r.InfusionDay, patient_code=code, course_number=row.course.course_number)
    )


def patient_from_row(row: PatientRow | _Rows) -> r.Patient:
    return r.Patient.model_validate(
        _row_values(row, r.Patient, site_code=row.site.site_code if row.site else None)
    )


def labs_from_row(row: PatientRow | _Rows) -> list[r.LabResult]:
    """The patient's lab results (without the rest of the dossier)."""
    return [
        r.LabResult.model_validate(_row_values(lab, r.LabResult, patient_code=row.code))
        for lab in row.labs
    ]


class _Rows(SimpleNamespace):
    """Core rows shaped like the ORM objects `dossier_from_row` reads (attribute access)."""


def dossier_from_row(
    row: PatientRow | _Rows, infusion_days: list[InfusionDayRow] | list[_Rows] | None = None
) -> r.PatientDossier:
    """The dossier of an ORM patient row, or of Core rows shaped like one (`_read_dossiers`);
    infusion days when given (they hang off the course, not the patient row, so they are read
    per batch of patients)."""
    code = row.code
    patient = patient_from_row(row)
    outcome = None
    if row.reported_outcome is not None:
        values = _row_values(row.reported_outcome, r.ReportedOutcome, patient_code=code)
        for name in REPORTED_NP_FIELDS:
            values[name] = join_np(values[name], getattr(row.reported_outcome, f"{name}_np"))
        outcome = r.ReportedOutcome.model_validate(values)
    return r.PatientDossier(
        patient=patient,
        therapies=[
            r.Therapy.model_validate(_row_values(t, r.Therapy, patient_code=code))
            for t in row.therapies
        ],
        courses=[course_from_row(c, code) for c in row.courses],
        assessments=[_assessment_from_row(a, code) for a in row.assessments],
        labs=labs_from_row(row),
        adverse_events=[
            r.AdverseEvent.model_validate(
                _row_values(
                    e,
                    r.AdverseEvent,
                    patient_code=code,
                    course_number=e.course.course_number if e.course else None,
                )
            )
            for e in row.adverse_events
        ],
        reported_outcome=outcome,
        infusion_days=[infusion_day_from_row(day, code) for day in infusion_days or []],
    )


def _assessment_from_row(a: AssessmentRow | _Rows, code: str) -> r.Assessment:
    return r.Assessment(
        patient_code=code,
        assessment_date=a.assessment_date,
        phase=Phase(a.phase),
        assessor=a.assessor,
        note=a.note,
        myometry=[
            r.MyometryReading(
                muscle_group=m.muscle_group,
                side=m.side,
                force_n=join_np(m.force_n, m.not_performed),
            )
            for m in a.myometry
        ],
        muscle_grades=[
            r.MuscleGrade(
                muscle_group=g.muscle_group,
                side=g.side,
                kendall_grade=join_np(g.kendall_grade, g.not_performed),
            )
            for g in a.muscle_grades
        ],
        functional_tasks=[
            r.FunctionalTaskResult(
                task=t.task, able=t.able, time_s=t.time_s, not_performed=t.not_performed
            )
            for t in a.functional_tasks
        ],
        core_set=[
            r.CoreSetValue(
                measure=c.measure, value=join_np(c.value, c.not_performed), scale_max=c.scale_max
            )
            for c in a.core_set
        ],
        enzymes=[
            r.EnzymeResult(
                enzyme=e.enzyme,
                value_u_per_l=join_np(e.value_u_per_l, e.not_performed),
                uln_u_per_l=e.uln_u_per_l,
            )
            for e in a.enzymes
        ],
    )


# Reading many rows through the ORM (identity map, per-row instance state) took most of a
# patient page's time at 20 visits (about 900 rows); plain Core rows fed to the same conversion
# (`dossier_from_row`) give the same dossiers several times faster.


def _grouped(session: Session, statement: Any, key: str) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(statement):
        groups[getattr(row, key)].append(row)
    return groups


def _read_dossiers(session: Session, chosen: Any) -> list[r.PatientDossier]:
    """Dossiers of the patients `chosen` (a WHERE clause on patients), ordered by patient id."""
    patients = session.execute(
        select(PatientRow.__table__, SiteRow.site_code)
        .outerjoin(SiteRow, PatientRow.site_id == SiteRow.id)
        .where(chosen)
        .order_by(PatientRow.id)
    ).all()
    if not patients:
        return []
    ids = select(PatientRow.id).where(chosen).scalar_subquery()

    def owned(model: Any, *order: Any) -> dict[int, list[Any]]:
        table = model.__table__
        return _grouped(
            session, select(table).where(table.c.patient_id.in_(ids)).order_by(*order), "patient_id"
        )

    therapies = owned(TherapyRow, TherapyRow.id)
    courses = owned(CourseRow, CourseRow.course_number)
    labs = owned(LabResultRow, LabResultRow.id)
    outcomes = owned(ReportedOutcomeRow, ReportedOutcomeRow.id)
    events = _grouped(
        session,
        select(AdverseEventRow.__table__, CourseRow.course_number)
        .outerjoin(CourseRow, AdverseEventRow.course_id == CourseRow.id)
        .where(AdverseEventRow.patient_id.in_(ids))
        .order_by(AdverseEventRow.id),
        "patient_id",
    )
    visits = owned(AssessmentRow, AssessmentRow.assessment_date)
    days = _grouped(
        session,
        select(InfusionDayRow.__table__, CourseRow.course_number)
        .join(CourseRow, InfusionDayRow.course_id == CourseRow.id)
        .where(InfusionDayRow.patient_id.in_(ids))
        .order_by(CourseRow.course_number, InfusionDayRow.day_number),
        "patient_id",
    )
    parts: dict[str, dict[int, list[Any]]] = {}
    for name, model in (
        ("myometry", MyometryRow),
        ("muscle_grades", MuscleGradeRow),
        ("functional_tasks", FunctionalTaskRow),
        ("core_set", CoreSetRow),
        ("enzymes", EnzymeRow),
    ):
        table = model.__table__
        parts[name] = _grouped(
            session,
            select(table)
            .join(AssessmentRow, AssessmentRow.id == table.c.assessment_id)
            .where(AssessmentRow.patient_id.in_(ids))
            .order_by(table.c.id),
            "assessment_id",
        )
    dossiers = []
    for p in patients:
        outcome = outcomes.get(p.id)
        dossiers.append(
            dossier_from_row(
                _Rows(
                    **p._mapping,
                    site=_Rows(site_code=p.site_code) if p.site_code is not None else None,
                    therapies=therapies.get(p.id, []),
                    courses=courses.get(p.id, []),
                    labs=labs.get(p.id, []),
                    adverse_events=[
                        _Rows(
                            **e._mapping,
                            course=_Rows(course_number=e.course_number)
                            if e.course_number is not None
                            else None,
                        )
                        for e in events.get(p.id, [])
                    ],
                    reported_outcome=outcome[0] if outcome else None,
                    assessments=[
                        _Rows(**a._mapping, **{n: parts[n].get(a.id, []) for n in parts})
                        for a in visits.get(p.id, [])
                    ],
                ),
                [
                    _Rows(**d._mapping, course=_Rows(course_number=d.course_number))
                    for d in days.get(p.id, [])
                ],
            )
        )
    return dossiers


@dataclass(frozen=True)
class PatientListing:
    """What a patient list shows of one patient, read without loading the whole dossier."""

    patient: r.Patient
    therapies: list[r.Therapy]
    courses: int
    assessments: int
    adverse_events: int
    serious_adverse_events: int


def among(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """`column IN values`. On PostgreSQL one array parameter (`column = ANY(:values)`): the
    statement's text is then the same for any number of values, so it is compiled and prepared
    once instead of rendered per value on every request (a list page names 25 patients in
    several queries)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _counts(session: Session, ids: list[int]) -> dict[str, dict[int, int]]:
    """Courses, assessments, adverse events and serious ones per patient: one query."""
    counted: dict[str, tuple[Any, tuple[Any, ...]]] = {
        "courses": (CourseRow, ()),
        "assessments": (AssessmentRow, ()),
        "adverse_events": (AdverseEventRow, ()),
        "serious_adverse_events": (AdverseEventRow, (AdverseEventRow.serious.is_(True),)),
    }
    statement = union_all(
        *(
            select(literal(name), model.patient_id, func.count())
            .where(among(session, model.patient_id, ids), *where)
            .group_by(model.patient_id)
            for name, (model, where) in counted.items()
        )
    )
    found: dict[str, dict[int, int]] = {name: {} for name in counted}
    for name, pid, n in session.connection().execute(statement):
        found[name][pid] = int(n)
    return found


def patient_listings(session: Session, codes: list[str]) -> list[PatientListing]:
    """One page of a patient list in a handful of queries (counts in SQL), in `codes` order."""
    if not codes:
        return []
    patients = (
        session.connection()
        .execute(
            select(PatientRow.__table__, SiteRow.site_code)
            .outerjoin(SiteRow, PatientRow.site_id == SiteRow.id)
            .where(among(session, PatientRow.code, codes))
        )
        .all()
    )
    ids = [p.id for p in patients]
    therapies = _grouped(
        session,
        select(TherapyRow.__table__)
        .where(among(session, TherapyRow.patient_id, ids))
        .order_by(TherapyRow.id),
        "patient_id",
    )
    counts = _counts(session, ids)
    courses, visits = counts["courses"], counts["assessments"]
    events, serious = counts["adverse_events"], counts["serious_adverse_events"]
    by_code = {}
    for p in patients:
        code = p.code
        by_code[code] = PatientListing(
            patient=r.Patient.model_validate(_row_values(p, r.Patient)),
            therapies=[
                r.Therapy.model_validate(_row_values(t, r.Therapy, patient_code=code))
                for t in therapies.get(p.id, [])
            ],
            courses=courses.get(p.id, 0),
            assessments=visits.get(p.id, 0),
            adverse_events=events.get(p.id, 0),
            serious_adverse_events=serious.get(p.id, 0),
        )
    return [by_code[code] for code in codes if code in by_code]


@cache
def _record_tables() -> tuple[tuple[Table, Any, Any], ...]:
    """(table, its column naming the patient, the join to reach it or None) for every table that
    holds part of a patient's record: with a `patient_id` (courses, plan overrides, ...) or
    under such a row (myometry under assessments, ...). Read from the schema, so a table another
    area adds later is covered without a change here."""
    metadata = target_metadata()
    patients = PatientRow.__table__
    direct = {
        table: fk.parent
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table is patients and fk.parent.name == "patient_id"
    }
    found: list[tuple[Table, Any, Any]] = [(t, column, None) for t, column in direct.items()]
    for table in metadata.sorted_tables:
        if table in direct or table is patients:
            continue
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent in direct:
                found.append((table, direct[parent], (parent, fk.parent == fk.column)))
                break
    versioned = [f for f in found if {"version", "updated_at"} <= set(f[0].c.keys())]
    return tuple(sorted(versioned, key=lambda f: f[0].name))


def record_version(session: Session, code: str) -> str | None:
    """A key that changes with every write to the patient's record: per table, the number of
    rows, the sum of their versions (every update raises one) and the latest change (every
    insert and update stamps it); the patient's own row and its site's too. One query, built
    once (`_record_version_query`). None when there is no such patient."""
    rows = session.execute(_record_version_query(), {"code": code}).all()
    if not rows or not next(n for name, n, _, _ in rows if name == "patients"):
        return None
    return ";".join(f"{name}:{n}:{v}:{at}" for name, n, v, at in sorted(rows))


@cache
def _record_version_query() -> CompoundSelect:
    """The union behind `record_version`, with the patient's code as the parameter `code`:
    built once per process (building it took longer than the database took to answer it)."""
    code = bindparam("code", type_=String())
    parts = [
        select(
            literal("patients"),
            func.count(),
            func.coalesce(func.sum(PatientRow.version + func.coalesce(SiteRow.version, 0)), 0),
            func.max(PatientRow.updated_at),
        )
        .select_from(PatientRow)
        .outerjoin(SiteRow, PatientRow.site_id == SiteRow.id)
        .where(PatientRow.code == code)
    ]
    patient_id = select(PatientRow.id).where(PatientRow.code == code).scalar_subquery()
    for table, owner, via in _record_tables():
        statement = select(
            literal(table.name),
            func.count(),
            func.coalesce(func.sum(table.c.version), 0),
            func.max(table.c.updated_at),
        ).select_from(table if via is None else table.join(via[0], via[1]))
        parts.append(statement.where(owner == patient_id))
    return union_all(*parts)


def load_dossier(session: Session, code: str) -> r.PatientDossier:
    found = _read_dossiers(session, PatientRow.code == code)
    if not found:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return found[0]


def load_dossiers(session: Session, codes: list[str]) -> list[r.PatientDossier]:
    """The dossiers of these patients, in the order of `codes` (unknown codes are left out)."""
    if not codes:
        return []
    by_code = {d.patient.code: d for d in _read_dossiers(session, PatientRow.code.in_(codes))}
    return [by_code[code] for code in codes if code in by_code]


def list_dossiers(session: Session) -> list[r.PatientDossier]:
    return _read_dossiers(session, true())


def list_sites(session: Session) -> list[r.Site]:
    rows = session.scalars(select(SiteRow).order_by(SiteRow.id)).all()
    return [r.Site.model_validate(_row_values(row, r.Site)) for row in rows]


def existing_patient_codes(session: Session) -> set[str]:
    return set(session.scalars(select(PatientRow.code)).all())


def existing_sites(session: Session) -> dict[str, SiteRow]:
    return {row.site_code: row for row in session.scalars(select(SiteRow)).all()}


@dataclass(slots=True)
class GradeShape:
    muscle_group: MuscleGroup
    side: Side
    kendall_grade: Any


@dataclass(slots=True)
class TaskShape:
    task: FunctionalTask
    able: bool | None
    time_s: float | None
    not_performed: bool


@dataclass(slots=True)
class VisitShape:
    """An assessment with only its grades and tasks, in the attribute shape the outcome rules
    read (`outcomes.record_shapes.AssessmentLike`)."""

    assessment_date: date
    phase: Phase
    muscle_grades: list[GradeShape] = field(default_factory=list)
    functional_tasks: list[TaskShape] = field(default_factory=list)
    myometry: tuple[()] = ()
    core_set: tuple[()] = ()
    enzymes: tuple[()] = ()


def load_grades_and_tasks(session: Session, patient_ids: list[int]) -> dict[int, list[VisitShape]]:
    """The assessments of these patients (by row id) with only their muscle grades and
    functional tasks, oldest first: what the trial's responder rule reads. Three column
    queries into plain objects (the rows were validated when written), because a patient list
    may need this for a thousand patients at once."""
    visits: dict[int, VisitShape] = {}
    found: dict[int, list[VisitShape]] = {}
    for aid, pid, day, phase in session.execute(
        select(
            AssessmentRow.id,
            AssessmentRow.patient_id,
            AssessmentRow.assessment_date,
            AssessmentRow.phase,
        )
        .where(AssessmentRow.patient_id.in_(patient_ids))
        .order_by(AssessmentRow.patient_id, AssessmentRow.assessment_date)
    ):
        visit = VisitShape(day, Phase(phase))
        visits[aid] = visit
        found.setdefault(pid, []).append(visit)
    in_visits = AssessmentRow.patient_id.in_(patient_ids)
    groups, sides, tasks = (
        {g.value: g for g in MuscleGroup},
        {s.value: s for s in Side},
        {t.value: t for t in FunctionalTask},
    )
    for aid, group, side, grade, np_flag in session.execute(
        select(
            MuscleGradeRow.assessment_id,
            MuscleGradeRow.muscle_group,
            MuscleGradeRow.side,
            MuscleGradeRow.kendall_grade,
            MuscleGradeRow.not_performed,
        )
        .join(AssessmentRow, MuscleGradeRow.assessment_id == AssessmentRow.id)
        .where(in_visits)
    ):
        visits[aid].muscle_grades.append(
            GradeShape(groups[group], sides[side], join_np(grade, np_flag))
        )
    for aid, task, able, time_s, np_flag in session.execute(
        select(
            FunctionalTaskRow.assessment_id,
            FunctionalTaskRow.task,
            FunctionalTaskRow.able,
            FunctionalTaskRow.time_s,
            FunctionalTaskRow.not_performed,
        )
        .join(AssessmentRow, FunctionalTaskRow.assessment_id == AssessmentRow.id)
        .where(in_visits)
    ):
        visits[aid].functional_tasks.append(TaskShape(tasks[task], able, time_s, np_flag))
    return found
