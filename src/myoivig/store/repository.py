"""Moving records between the domain models and the tables.

The rest of myoivig asks for `PatientDossier`s and hands them back; only this module knows how a
record is spread over rows, and how "not performed" is stored (a value column left empty plus a
`not_performed` flag, so the distinction from missing survives every round trip).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from myoivig.clinic.tables import InfusionDayRow
from myoivig.domain import records as r
from myoivig.domain.values import NP, NotPerformed
from myoivig.domain.vocab import FunctionalTask, MuscleGroup, Phase, Side
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


def _assessment_row(a: r.Assessment) -> AssessmentRow:
    row = AssessmentRow(
        assessment_date=a.assessment_date, phase=a.phase.value, assessor=a.assessor, note=a.note
    )
    for m in a.myometry:
        force, np_flag = split_np(m.force_n)
        row.myometry.append(
            MyometryRow(
                muscle_group=m.muscle_group.value,
                side=m.side.value,
                force_n=force,
                not_performed=np_flag,
            )
        )
    for g in a.muscle_grades:
        grade, np_flag = split_np(g.kendall_grade)
        row.muscle_grades.append(
            MuscleGradeRow(
                muscle_group=g.muscle_group.value,
                side=g.side.value,
                kendall_grade=grade,
                not_performed=np_flag,
            )
        )
    for t in a.functional_tasks:
        row.functional_tasks.append(
            FunctionalTaskRow(
                task=t.task.value, able=t.able, time_s=t.time_s, not_performed=t.not_performed
            )
        )
    for c in a.core_set:
        value, np_flag = split_np(c.value)
        row.core_set.append(
            CoreSetRow(
                measure=c.measure.value, value=value, not_performed=np_flag, scale_max=c.scale_max
            )
        )
    for e in a.enzymes:
        value, np_flag = split_np(e.value_u_per_l)
        row.enzymes.append(
            EnzymeRow(
                enzyme=e.enzyme.value,
                value_u_per_l=value,
                not_performed=np_flag,
                uln_u_per_l=e.uln_u_per_l,
            )
        )
    return row


REPORTED_NP_FIELDS = (
    "functional_improvement",
    "mrc_improvement",
    "myometry_change_pct",
    "ck_before_u_per_l",
    "ck_after_u_per_l",
)


def _reported_row(outcome: r.ReportedOutcome) -> ReportedOutcomeRow:
    values = _columns(outcome, {"patient_code"})
    for name in REPORTED_NP_FIELDS:
        values[name], values[f"{name}_np"] = split_np(values[name])
    return ReportedOutcomeRow(**values)


# --- reading ---------------------------------------------------------------------------------


def _patient_query() -> Any:
    return select(PatientRow).options(
        selectinload(PatientRow.site),
        selectinload(PatientRow.therapies),
        selectinload(PatientRow.courses),
        selectinload(PatientRow.labs),
        selectinload(PatientRow.adverse_events).selectinload(AdverseEventRow.course),
        selectinload(PatientRow.reported_outcome),
        selectinload(PatientRow.assessments).options(
            selectinload(AssessmentRow.myometry),
            selectinload(AssessmentRow.muscle_grades),
            selectinload(AssessmentRow.functional_tasks),
            selectinload(AssessmentRow.core_set),
            selectinload(AssessmentRow.enzymes),
        ),
    )


def _row_values(row: Any, model: type[r.Record], **extra: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}
    values.update(extra)
    return values


def course_from_row(row: CourseRow, code: str) -> r.Course:
    return r.Course.model_validate(_row_values(row, r.Course, patient_code=code))


def infusion_day_from_row(row: InfusionDayRow, code: str) -> r.InfusionDay:
    return r.InfusionDay.model_validate(
        _row_values(row, r.InfusionDay, patient_code=code, course_number=row.course.course_number)
    )


def _infusion_days(session: Session, rows: list[PatientRow]) -> dict[int, list[InfusionDayRow]]:
    """The infusion days of these patients, by patient id, in course and day order."""
    found: dict[int, list[InfusionDayRow]] = {row.id: [] for row in rows}
    if not rows:
        return found
    statement = (
        select(InfusionDayRow)
        .join(CourseRow, InfusionDayRow.course_id == CourseRow.id)
        .where(InfusionDayRow.patient_id.in_(sorted(found)))
        .options(selectinload(InfusionDayRow.course))
        .order_by(CourseRow.course_number, InfusionDayRow.day_number)
    )
    for day in session.scalars(statement):
        found[day.patient_id].append(day)
    return found


def dossier_from_row(
    row: PatientRow, infusion_days: list[InfusionDayRow] | None = None
) -> r.PatientDossier:
    """The dossier of a patient row; infusion days when given (they are read per batch of
    patients by `_infusion_days`, as they hang off the course, not the patient row)."""
    code = row.code
    patient = r.Patient.model_validate(
        _row_values(row, r.Patient, site_code=row.site.site_code if row.site else None)
    )
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
        labs=[
            r.LabResult.model_validate(_row_values(lab, r.LabResult, patient_code=code))
            for lab in row.labs
        ],
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


def _assessment_from_row(a: AssessmentRow, code: str) -> r.Assessment:
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


def load_dossier(session: Session, code: str) -> r.PatientDossier:
    row = session.scalars(_patient_query().where(PatientRow.code == code)).one_or_none()
    if row is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return dossier_from_row(row, _infusion_days(session, [row])[row.id])


def load_dossiers(session: Session, codes: list[str]) -> list[r.PatientDossier]:
    """The dossiers of these patients, in the order of `codes` (unknown codes are left out)."""
    rows = list(session.scalars(_patient_query().where(PatientRow.code.in_(codes))).all())
    days = _infusion_days(session, rows)
    by_code = {row.code: row for row in rows}
    return [
        dossier_from_row(by_code[code], days[by_code[code].id]) for code in codes if code in by_code
    ]


def list_dossiers(session: Session) -> list[r.PatientDossier]:
    rows = list(session.scalars(_patient_query().order_by(PatientRow.id)).all())
    days = _infusion_days(session, rows)
    return [dossier_from_row(row, days[row.id]) for row in rows]


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
