"""Recording clinic data (patients, assessments, courses, labs, adverse events, concurrent
therapies): the one place where pages and the JSON API validate and save what a clinician
enters.

Each save is one audited unit of work with the signed-in user as the actor. Validation is the
domain's: the pydantic records (ranges, consistency) and the plausibility rules; an *implausible*
finding is accepted only when the writer confirms it, an *impossible* one never. Edits carry the
`version` the form was opened at: if someone else saved in between, nothing is written and the
caller gets what changed (field, their value, your value) so the form can be shown again with
everything the user typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from myoivig.clinic.infusion_checks import (
    RateCaps,
    check_infusion_day,
    day_at_risk,
    rate_caps_for,
)
from myoivig.clinic.record_fields import FlatValues, record_fields
from myoivig.clinic.service import Viewer, load_patient
from myoivig.clinic.tables import InfusionDayRow
from myoivig.domain import records as r
from myoivig.domain.plausibility import Level, check_dossier_plausibility
from myoivig.domain.values import FieldRuleError
from myoivig.domain.vocab import Diagnosis
from myoivig.protocol.catalogue import Catalogue, load_catalogue
from myoivig.protocol.dossier import record_at_risk
from myoivig.protocol.rate_cap import RateCap, basis_name
from myoivig.protocol.settings import ProtocolSettings
from myoivig.protocol.settings_file import load_settings
from myoivig.store import Store
from myoivig.store.audit_chain import ChainCheck, lock_for_writing, verify_for_page
from myoivig.store.audit_log import AuditPage, RecordKeys, audit_entries, patient_records
from myoivig.store.repository import (
    RecordNotFoundError,
    _assessment_row,
    _columns,
    course_from_row,
    dossier_from_row,
    infusion_day_columns,
    infusion_day_from_row,
    infusion_day_row,
    labs_from_row,
    patient_from_row,
)
from myoivig.store.tables import (
    AdverseEventRow,
    AssessmentRow,
    CourseRow,
    LabResultRow,
    PatientRow,
    SiteRow,
    TherapyRow,
)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FieldProblem:
    """One reason a value was refused (or needs confirming), naming the field and the value."""

    field: str
    message: str
    needs_confirmation: bool = False


class RecordRejectedError(ValueError):
    """The record was not saved: field-named problems; `confirmable` when all of them are
    implausible values a writer may confirm."""

    def __init__(self, record: str, problems: list[FieldProblem]) -> None:
        super().__init__(f"{record}: " + "; ".join(f"{p.field}: {p.message}" for p in problems))
        self.record = record
        self.problems = problems

    @property
    def confirmable(self) -> bool:
        return all(p.needs_confirmation for p in self.problems)


@dataclass(frozen=True)
class Change:
    """One field of a stale edit: the value stored now (theirs), the one being saved (yours),
    and the one the form was opened with, when known (None in `opened_known` = not known)."""

    field: str
    theirs: Any
    yours: Any
    opened: Any = None
    opened_known: bool = False

    @property
    def changed_by_them(self) -> bool:
        return self.opened_known and self.opened != self.theirs


def stale_changes(
    current: FlatValues, wanted: FlatValues, opened: FlatValues | None = None
) -> list[Change]:
    """Every field where the stored value differs from yours or from the one you opened."""
    names = list(dict.fromkeys([*current, *wanted, *(opened or {})]))
    changes = []
    for name in names:
        theirs, yours = current.get(name), wanted.get(name)
        before = (opened or {}).get(name)
        if theirs != yours or (opened is not None and before != theirs):
            changes.append(Change(name, theirs, yours, before, opened is not None))
    return changes


class StaleEditError(RuntimeError):
    """The record changed since the form was opened; nothing was written."""

    def __init__(
        self,
        record: str,
        current_version: int,
        changes: list[Change],
        current: FlatValues | None = None,
    ) -> None:
        super().__init__(
            f"{record} was changed by someone else (now version {current_version}); "
            + ", ".join(c.field for c in changes)
        )
        self.record = record
        self.current_version = current_version
        self.changes = changes
        self.current = current or {}  # every stored value now: a form re-opened against it


def _field_of(error: Any) -> str:
    """The field a pydantic error is about, with its path inside nested records
    (`rate_steps.1.rate`), so a form can show the message next to the right input."""
    where = ".".join(str(part) for part in error.get("loc", ()))
    found = (error.get("ctx") or {}).get("error")
    if isinstance(found, FieldRuleError):
        return f"{where}.{found.field}" if where else found.field
    return where or "record"


def validated(model: type[M], record: str, data: dict[str, Any]) -> M:
    """The record, or RecordRejectedError naming each field the domain rules refuse."""
    try:
        return model.model_validate(data)
    except FieldRuleError as error:
        raise RecordRejectedError(record, [FieldProblem(error.field, str(error))]) from error
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = str(item["msg"]).removeprefix("Value error, ")
            field = _field_of(item)
            value = item.get("input")
            if (
                not isinstance(value, dict | list)
                and field != "record"
                and repr(value) not in message
            ):
                message = f"{message} (got {value!r})"
            problems.append(FieldProblem(field, message))
        raise RecordRejectedError(record, problems) from error


def _writable_patient(session: Session, writer: Viewer, code: str) -> PatientRow:
    """The patient row, if the writer may change it (their site); else RecordNotFoundError, as
    for a patient that does not exist, so that existence does not leak."""
    statement = (
        select(PatientRow)
        .outerjoin(SiteRow, PatientRow.site_id == SiteRow.id)
        .where(PatientRow.code == code)
    )
    if not writer.all_sites:
        statement = statement.where(SiteRow.site_code.in_(sorted(writer.site_codes)))
    row = session.scalars(statement).one_or_none()
    if row is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return row


def _site_row(session: Session, writer: Viewer, site_code: str | None) -> SiteRow:
    if site_code is None:
        raise RecordRejectedError("patient", [FieldProblem("site_code", "a site is required")])
    if not writer.all_sites and site_code not in writer.site_codes:
        raise RecordRejectedError(
            "patient",
            [FieldProblem("site_code", f"you may not record patients of site {site_code!r}")],
        )
    row = session.scalars(select(SiteRow).where(SiteRow.site_code == site_code)).one_or_none()
    if row is None:
        raise RecordRejectedError("patient", [FieldProblem("site_code", f"no site {site_code!r}")])
    return row


def _plausibility(
    dossier: r.PatientDossier, table: str, record: str, confirmed: bool, today: date | None = None
) -> None:
    """Refuse impossible findings on the new record; implausible ones unless confirmed."""
    found = [
        f
        for f in check_dossier_plausibility(dossier, today=today)
        if f.table == table and f.record == record
    ]
    problems = [
        FieldProblem(f.check.column, f.check.reason, f.check.level is Level.IMPLAUSIBLE)
        for f in found
        if f.check.level is Level.IMPOSSIBLE or not confirmed
    ]
    if problems:
        raise RecordRejectedError(record, problems)


def _duplicate(record: str, field: str, message: str) -> RecordRejectedError:
    return RecordRejectedError(record, [FieldProblem(field, message)])


def _serialise_edit(session: Session) -> None:
    """Take the audit chain's lock (which every writer takes first anyway) before reading the
    record whose version an edit or delete is checked against. Without it two edits of the same
    version both passed the check, and the second one's UPDATE then matched no row (the first had
    raised the version) and failed with a server error instead of the 409 a stale edit gets;
    found by `benchmarks/web_load_writes.py`. Taken before any read, so the record is read after
    the other writer committed and the check sees its version."""
    lock_for_writing(session)


# --- patients --------------------------------------------------------------------------------


def create_patient(
    store: Store, writer: Viewer, data: dict[str, Any], confirmed: bool = False
) -> r.Patient:
    """A new patient at one of the writer's sites."""
    patient = validated(r.Patient, "patient", data)
    record = f"patient {patient.code}"
    _plausibility(r.PatientDossier(patient=patient), "patients", record, confirmed)
    with store.unit_of_work(writer.name) as session:
        site = _site_row(session, writer, patient.site_code)
        if session.scalar(select(PatientRow.id).where(PatientRow.code == patient.code)):
            raise _duplicate(record, "code", f"a patient {patient.code!r} already exists")
        row = PatientRow(**_columns(patient, {"site_code"}))
        row.site = site
        session.add(row)
    return patient


def patient_for_edit(session: Session, writer: Viewer, code: str) -> tuple[r.Patient, int]:
    """The patient as a form shows it, with the version the edit must be saved against."""
    row = _writable_patient(session, writer, code)
    return dossier_from_row(row).patient, row.version


def update_patient(
    store: Store,
    writer: Viewer,
    code: str,
    data: dict[str, Any],
    version: int,
    confirmed: bool = False,
    opened: FlatValues | None = None,
) -> tuple[r.Patient, int]:
    """Saves the edited patient if nobody saved it since `version`; returns it and its new
    version. The code and site of a patient are not edited here. `opened`: the values the form
    was opened with, so a stale edit can show what the other writer changed."""
    record = f"patient {code}"
    with store.unit_of_work(writer.name) as session:
        _serialise_edit(session)
        row = _writable_patient(session, writer, code)
        current = dossier_from_row(row)
        wanted = validated(
            r.Patient, record, {**data, "code": code, "site_code": current.patient.site_code}
        )
        if row.version != version:
            stored = record_fields(current.patient)
            changes = stale_changes(stored, record_fields(wanted), opened)
            raise StaleEditError(record, row.version, changes, stored)
        _plausibility(current.model_copy(update={"patient": wanted}), "patients", record, confirmed)
        for name, value in _columns(wanted, {"code", "site_code", "source"}).items():
            if getattr(row, name) != value:
                setattr(row, name, value)
        session.flush()
        return wanted, row.version


# --- assessments, courses, labs, adverse events, concurrent therapies ------------------------


def _with(dossier: r.PatientDossier, **extra: list[Any]) -> r.PatientDossier:
    return dossier.model_copy(
        update={name: [*getattr(dossier, name), *items] for name, items in extra.items()}
    )


def add_assessment(
    store: Store, writer: Viewer, code: str, data: dict[str, Any], confirmed: bool = False
) -> r.Assessment:
    """A run-in, treatment or follow-up assessment (one per patient and date)."""
    with store.unit_of_work(writer.name) as session:
        row = _writable_patient(session, writer, code)
        assessment = validated(
            r.Assessment, f"patient {code} assessment", {**data, "patient_code": code}
        )
        record = f"patient {code} assessment"
        dossier = dossier_from_row(row)
        if any(a.assessment_date == assessment.assessment_date for a in dossier.assessments):
            raise _duplicate(
                record,
                "assessment_date",
                f"an assessment on {assessment.assessment_date} is already recorded",
            )
        _plausibility(_with(dossier, assessments=[assessment]), "assessments", record, confirmed)
        row.assessments.append(_assessment_row(assessment))
    return assessment


def add_course(
    store: Store, writer: Viewer, code: str, data: dict[str, Any], confirmed: bool = False
) -> r.Course:
    """An IVIg course; its weight is checked against the earlier courses and the height."""
    with store.unit_of_work(writer.name) as session:
        row = _writable_patient(session, writer, code)
        course = validated(r.Course, f"patient {code} course", {**data, "patient_code": code})
        record = f"patient {code} course {course.course_number}"
        dossier = dossier_from_row(row)
        if any(c.course_number == course.course_number for c in dossier.courses):
            raise _duplicate(
                record, "course_number", f"course {course.course_number} is already recorded"
            )
        _plausibility(_with(dossier, courses=[course]), "courses", record, confirmed)
        row.courses.append(CourseRow(**_columns(course, {"patient_code"})))
    return course


def _add_unkeyed(
    store: Store, writer: Viewer, code: str, kind_key: str, data: dict[str, Any], confirmed: bool
) -> r.Record:
    """A record with no key of its own and no link to another record (a lab result, a
    concurrent therapy): validated, checked for plausibility within the dossier, appended."""
    kind = KINDS[kind_key]
    with store.unit_of_work(writer.name) as session:
        row = _writable_patient(session, writer, code)
        added = validated(kind.model, f"patient {code} {kind.noun}", {**data, "patient_code": code})
        dossier = _with(dossier_from_row(row), **{kind.collection: [added]})
        _plausibility(dossier, kind.collection, kind.checked_as(code, added), confirmed)
        getattr(row, kind.collection).append(kind.row(**_columns(added, {"patient_code"})))
    return added


def add_lab(
    store: Store, writer: Viewer, code: str, data: dict[str, Any], confirmed: bool = False
) -> r.LabResult:
    lab = _add_unkeyed(store, writer, code, "labs", data, confirmed)
    assert isinstance(lab, r.LabResult)
    return lab


def add_therapy(
    store: Store, writer: Viewer, code: str, data: dict[str, Any], confirmed: bool = False
) -> r.Therapy:
    """A concurrent immunotherapy (prednisolone-equivalent dose, dates or timing): the trial
    adds IVIg to these, and steroid sparing is one of its outcomes."""
    therapy = _add_unkeyed(store, writer, code, "therapies", data, confirmed)
    assert isinstance(therapy, r.Therapy)
    return therapy


def add_adverse_event(
    store: Store, writer: Viewer, code: str, data: dict[str, Any], confirmed: bool = False
) -> r.AdverseEvent:
    """An adverse event, linked to its course when a course number is given."""
    with store.unit_of_work(writer.name) as session:
        row = _writable_patient(session, writer, code)
        event = validated(
            r.AdverseEvent, f"patient {code} adverse event", {**data, "patient_code": code}
        )
        record = f"patient {code} event {event.term!r}"
        dossier = dossier_from_row(row)
        course = None
        if event.course_number is not None:
            course = next((c for c in row.courses if c.course_number == event.course_number), None)
            if course is None:
                raise _duplicate(
                    record, "course_number", f"no course {event.course_number} is recorded"
                )
        _plausibility(_with(dossier, adverse_events=[event]), "adverse_events", record, confirmed)
        row.adverse_events.append(
            AdverseEventRow(**_columns(event, {"patient_code", "course_number"}), course=course)
        )
    return event


# --- infusion days of a course --------------------------------------------------------------

INFUSION_DAY_FIELDS = tuple(
    name
    for name in r.InfusionDay.model_fields
    if name not in {"patient_code", "course_number", "day_number"}
)


@dataclass(frozen=True)
class InfusionRules:
    """What a recorded day is checked against: the product catalogue and the site's protocol
    settings (the dermatomyositis rate cap, the vial tolerance)."""

    catalogue: Catalogue
    settings: ProtocolSettings

    @classmethod
    def current(cls) -> InfusionRules:
        return cls(load_catalogue(), load_settings())


def _course_row(patient: PatientRow, code: str, number: int) -> CourseRow:
    course = next((c for c in patient.courses if c.course_number == number), None)
    if course is None:
        raise RecordNotFoundError(f"patient {code!r} has no course {number}")
    return course


def _day_row(session: Session, course: CourseRow, code: str, day_number: int) -> InfusionDayRow:
    row = session.scalars(
        select(InfusionDayRow).where(
            InfusionDayRow.course_id == course.id, InfusionDayRow.day_number == day_number
        )
    ).one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"patient {code!r} course {course.course_number} has no infusion day {day_number}"
        )
    return row


def _validated_day(course: CourseRow, record: str, data: dict[str, Any]) -> r.InfusionDay:
    """The day as the record model validates it; the product defaults to the course's."""
    day = validated(r.InfusionDay, record, data)
    if day.product is None and course.product:
        day = day.model_copy(update={"product": course.product})
    return day


def _checked_day(
    patient: PatientRow,
    course: CourseRow,
    record: str,
    data: dict[str, Any],
    confirmed: bool,
    rules: InfusionRules | None,
) -> r.InfusionDay:
    """The day as validated by the record model and the infusion rules (the product defaults
    to the course's); RecordRejectedError names each field refused."""
    day = _validated_day(course, record, data)
    rules = rules or InfusionRules.current()
    given = course_from_row(course, patient.code)
    found = check_infusion_day(
        day,
        given,
        Diagnosis(patient.diagnosis),
        rules.catalogue,
        rules.settings,
        day_at_risk(patient_from_row(patient), labs_from_row(patient), day, given, rules.settings),
    )
    problems = [
        FieldProblem(p.field, p.message, p.needs_confirmation)
        for p in found
        if not (confirmed and p.needs_confirmation)
    ]
    if problems:
        raise RecordRejectedError(record, problems)
    return day


@dataclass(frozen=True)
class InfusionCourse:
    """What the infusion-day form shows about its course: the course, the days already
    recorded, the maximum rate that applies to its product for this patient and the at-risk
    maximum with the patient's at-risk status (on the course's start)."""

    course: r.Course
    recorded_days: list[int]
    caps: RateCaps

    @property
    def cap(self) -> RateCap | None:
        """The maximum for this patient (the at-risk one when the record shows a risk)."""
        return self.caps.for_patient

    @property
    def basis_name(self) -> str:
        return basis_name(self.cap.basis) if self.cap else ""

    @property
    def at_risk_basis_name(self) -> str:
        low = self.caps.at_risk_cap
        return basis_name(low.basis) if low else ""


def course_for_infusion(
    session: Session,
    writer: Viewer,
    code: str,
    course_number: int,
    rules: InfusionRules | None = None,
) -> InfusionCourse:
    """The course an infusion day is recorded for (RecordNotFoundError when the writer may not
    change the patient or the course is not recorded)."""
    patient = _writable_patient(session, writer, code)
    row = _course_row(patient, code, course_number)
    recorded = session.scalars(
        select(InfusionDayRow.day_number).where(InfusionDayRow.course_id == row.id)
    ).all()
    rules = rules or InfusionRules.current()
    course = course_from_row(row, code)
    on = course.start_date or date.today()
    risk = record_at_risk(
        patient_from_row(patient), labs_from_row(patient), on, course.weight_kg, rules.settings
    )
    caps = rate_caps_for(
        course.product, Diagnosis(patient.diagnosis), rules.catalogue, rules.settings, risk
    )
    return InfusionCourse(course, sorted(recorded), caps)


def add_infusion_day(
    store: Store,
    writer: Viewer,
    code: str,
    course_number: int,
    data: dict[str, Any],
    confirmed: bool = False,
    rules: InfusionRules | None = None,
) -> r.InfusionDay:
    """One infusion day of a recorded course (one per course and day number)."""
    with store.unit_of_work(writer.name) as session:
        patient = _writable_patient(session, writer, code)
        course = _course_row(patient, code, course_number)
        record = f"patient {code} course {course_number} infusion day"
        day = _checked_day(
            patient,
            course,
            record,
            {**data, "patient_code": code, "course_number": course_number},
            confirmed,
            rules,
        )
        if session.scalar(
            select(InfusionDayRow.id).where(
                InfusionDayRow.course_id == course.id,
                InfusionDayRow.day_number == day.day_number,
            )
        ):
            raise _duplicate(
                record,
                "day_number",
                f"day {day.day_number} of course {course_number} is already recorded",
            )
        session.add(infusion_day_row(day, patient, course))
    return day


def infusion_day_for_edit(
    session: Session, writer: Viewer, code: str, course_number: int, day_number: int
) -> tuple[r.InfusionDay, int]:
    """The stored day as an edit form shows it, with the version to save against."""
    patient = _writable_patient(session, writer, code)
    course = _course_row(patient, code, course_number)
    row = _day_row(session, course, code, day_number)
    return infusion_day_from_row(row, code), row.version


def _day_changes(current: r.InfusionDay, wanted: r.InfusionDay | None) -> list[Change]:
    def plain(day: r.InfusionDay | None, name: str) -> Any:
        return None if day is None else day.model_dump(mode="json")[name]

    return [
        Change(name, plain(current, name), plain(wanted, name))
        for name in INFUSION_DAY_FIELDS
        if plain(current, name) != plain(wanted, name)
    ]


def update_infusion_day(
    store: Store,
    writer: Viewer,
    code: str,
    course_number: int,
    day_number: int,
    data: dict[str, Any],
    version: int,
    confirmed: bool = False,
    rules: InfusionRules | None = None,
) -> tuple[r.InfusionDay, int]:
    """Saves the edited day if nobody saved it since `version` (else StaleEditError with what
    changed); returns it and its new version. The day number is the day's key: not edited."""
    record = f"patient {code} course {course_number} infusion day {day_number}"
    with store.unit_of_work(writer.name) as session:
        _serialise_edit(session)
        patient = _writable_patient(session, writer, code)
        course = _course_row(patient, code, course_number)
        row = _day_row(session, course, code, day_number)
        current = infusion_day_from_row(row, code)
        fixed = {"patient_code": code, "course_number": course_number, "day_number": day_number}
        wanted = _validated_day(course, record, {**data, **fixed})
        if row.version != version:
            raise StaleEditError(record, row.version, _day_changes(current, wanted))
        wanted = _checked_day(patient, course, record, {**data, **fixed}, confirmed, rules)
        for name, value in infusion_day_columns(wanted).items():
            if getattr(row, name) != value:
                setattr(row, name, value)
        session.flush()
        return wanted, row.version


def delete_infusion_day(
    store: Store, writer: Viewer, code: str, course_number: int, day_number: int, version: int
) -> None:
    """Removes a day recorded in error, if nobody changed it since `version`; the audit trail
    keeps its last values."""
    record = f"patient {code} course {course_number} infusion day {day_number}"
    with store.unit_of_work(writer.name) as session:
        _serialise_edit(session)
        patient = _writable_patient(session, writer, code)
        course = _course_row(patient, code, course_number)
        row = _day_row(session, course, code, day_number)
        if row.version != version:
            current = infusion_day_from_row(row, code)
            raise StaleEditError(record, row.version, _day_changes(current, None))
        session.delete(row)


# --- editing and deleting stored assessments, courses, labs, adverse events, therapies -------


@dataclass(frozen=True)
class RecordKind:
    """One kind of stored record: its table, domain model, dossier list and how it is named;
    `checked_as` names a record of this kind as the plausibility checks do (patient code,
    record), so the findings about it can be picked out."""

    key: str  # as in URLs: assessments, courses, labs, adverse-events, therapies
    row: type[Any]
    model: type[r.Record]
    collection: str  # attribute of PatientRow and of PatientDossier (the checks' table name)
    noun: str
    checked_as: Callable[[str, Any], str]


KINDS: dict[str, RecordKind] = {
    k.key: k
    for k in (
        RecordKind(
            "assessments",
            AssessmentRow,
            r.Assessment,
            "assessments",
            "assessment",
            lambda code, a: f"patient {code} assessment",
        ),
        RecordKind(
            "courses",
            CourseRow,
            r.Course,
            "courses",
            "course",
            lambda code, c: f"patient {code} course {c.course_number}",
        ),
        RecordKind(
            "labs",
            LabResultRow,
            r.LabResult,
            "labs",
            "lab result",
            lambda code, lab: f"patient {code} lab {lab.test.value}",
        ),
        RecordKind(
            "adverse-events",
            AdverseEventRow,
            r.AdverseEvent,
            "adverse_events",
            "adverse event",
            lambda code, e: f"patient {code} event {e.term!r}",
        ),
        RecordKind(
            "therapies",
            TherapyRow,
            r.Therapy,
            "therapies",
            "concurrent therapy",
            lambda code, t: f"patient {code} therapy {t.drug.value}",
        ),
    )
}
MIN_REASON = 5


@dataclass(frozen=True)
class StoredRecord:
    """A stored record as an edit form or API client reads it: id, version and values."""

    kind: str
    record_id: int
    version: int
    record: r.Record

    @property
    def fields(self) -> FlatValues:
        return record_fields(self.record)


def record_kind(kind: str) -> RecordKind:
    """The kind named in a URL; RecordNotFoundError for any other name."""
    found = KINDS.get(kind)
    if found is None:
        raise RecordNotFoundError(f"no kind of record {kind!r}")
    return found


def _stored_row(patient: PatientRow, kind: RecordKind, record_id: int) -> tuple[Any, int]:
    """The row of this patient's record and its position in the dossier's list."""
    rows = getattr(patient, kind.collection)
    for position, row in enumerate(rows):
        if row.id == record_id:
            return row, position
    raise RecordNotFoundError(f"patient {patient.code} has no {kind.noun} {record_id}")


def _label(code: str, kind: RecordKind, record_id: int) -> str:
    return f"patient {code} {kind.noun} {record_id}"


def stored_records(
    session: Session, writer: Viewer, code: str, kind_key: str
) -> list[StoredRecord]:
    """The patient's records of one kind with their ids and versions (dossier order)."""
    kind = record_kind(kind_key)
    patient = _writable_patient(session, writer, code)
    dossier = dossier_from_row(patient)
    return [
        StoredRecord(kind.key, row.id, row.version, record)
        for row, record in zip(
            getattr(patient, kind.collection), getattr(dossier, kind.collection), strict=True
        )
    ]


def stored_record(
    session: Session, writer: Viewer, code: str, kind_key: str, record_id: int
) -> StoredRecord:
    """One record to edit, or RecordNotFoundError (also for a patient the writer may not
    change)."""
    found = next(
        (s for s in stored_records(session, writer, code, kind_key) if s.record_id == record_id),
        None,
    )
    if found is None:
        raise RecordNotFoundError(f"patient {code} has no {kind_key} record {record_id}")
    return found


def edit_keys(session: Session, writer: Viewer, code: str) -> dict[str, list[int]] | None:
    """Row ids of the patient's records per kind, in dossier order, for the patient page's
    edit and delete links; None when the viewer may not change this patient."""
    try:
        patient = _writable_patient(session, writer, code)
    except RecordNotFoundError:
        return None
    return {k.key: [row.id for row in getattr(patient, k.collection)] for k in KINDS.values()}


def _same_key_clash(wanted: r.Record, others: list[Any], record: str) -> RecordRejectedError | None:
    if isinstance(wanted, r.Assessment) and any(
        a.assessment_date == wanted.assessment_date for a in others
    ):
        day = wanted.assessment_date
        return _duplicate(record, "assessment_date", f"an assessment on {day} is already recorded")
    if isinstance(wanted, r.Course) and any(
        c.course_number == wanted.course_number for c in others
    ):
        number = wanted.course_number
        return _duplicate(record, "course_number", f"course {number} is already recorded")
    return None


def _copy_columns(target: Any, source: Any) -> None:
    """Set the value columns of `target` from `source` (only those that differ, so the audit
    entry lists exactly what changed)."""
    skip = {"id", "version", "created_at", "updated_at", "updated_by", "patient_id"}
    for column in source.__table__.columns:
        name = column.key
        if name in skip or name.endswith("_id"):
            continue
        value = getattr(source, name)
        if getattr(target, name) != value:
            setattr(target, name, value)


CHILD_KEYS = {
    "myometry": ("muscle_group", "side"),
    "muscle_grades": ("muscle_group", "side"),
    "functional_tasks": ("task",),
    "core_set": ("measure",),
    "enzymes": ("enzyme",),
}


def _write_assessment(session: Session, row: AssessmentRow, wanted: r.Assessment) -> None:
    """Update the assessment in place: measurements matched by group and side (task, measure,
    enzyme) are changed, new ones added, missing ones deleted, each with its audit entry."""
    fresh = _assessment_row(wanted)
    _copy_columns(row, fresh)
    for collection, key in CHILD_KEYS.items():
        stored = {tuple(getattr(c, k) for k in key): c for c in getattr(row, collection)}
        kept = set()
        for child in list(getattr(fresh, collection)):
            name = tuple(getattr(child, k) for k in key)
            kept.add(name)
            if name in stored:
                _copy_columns(stored[name], child)
            else:
                getattr(fresh, collection).remove(child)
                getattr(row, collection).append(child)
        for name, child in stored.items():
            if name not in kept:
                # Deleted through the session, not only as an orphan: the audit sees it.
                getattr(row, collection).remove(child)
                session.delete(child)
    flag_modified(row, "updated_at")  # a new version even when only measurements changed


def _write_record(session: Session, patient: PatientRow, row: Any, wanted: r.Record) -> None:
    if isinstance(wanted, r.Assessment):
        _write_assessment(session, row, wanted)
        return
    values = _columns(wanted, {"patient_code", "course_number"})
    if isinstance(wanted, r.AdverseEvent):
        course = None
        if wanted.course_number is not None:
            course = next(
                (c for c in patient.courses if c.course_number == wanted.course_number), None
            )
            if course is None:
                raise _duplicate(
                    f"patient {patient.code} event",
                    "course_number",
                    f"no course {wanted.course_number} is recorded",
                )
        if row.course is not course:
            row.course = course
    elif isinstance(wanted, r.Course):
        values["course_number"] = wanted.course_number
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def update_record(
    store: Store,
    writer: Viewer,
    code: str,
    kind_key: str,
    record_id: int,
    data: dict[str, Any],
    version: int,
    confirmed: bool = False,
    opened: FlatValues | None = None,
) -> StoredRecord:
    """Saves an edited assessment, course, lab result, adverse event or concurrent therapy if
    nobody saved it since `version` (else StaleEditError listing each field: stored now, yours,
    and as opened when `opened` is given); validated and checked for plausibility like a new
    record."""
    kind = record_kind(kind_key)
    record = _label(code, kind, record_id)
    with store.unit_of_work(writer.name) as session:
        _serialise_edit(session)
        patient = _writable_patient(session, writer, code)
        row, position = _stored_row(patient, kind, record_id)
        dossier = dossier_from_row(patient)
        current = getattr(dossier, kind.collection)[position]
        wanted = validated(kind.model, record, {**data, "patient_code": code})
        if row.version != version:
            stored = record_fields(current)
            changes = stale_changes(stored, record_fields(wanted), opened)
            raise StaleEditError(record, row.version, changes, stored)
        others = [x for i, x in enumerate(getattr(dossier, kind.collection)) if i != position]
        clash = _same_key_clash(wanted, others, record)
        if clash is not None:
            raise clash
        replaced = list(getattr(dossier, kind.collection))
        replaced[position] = wanted
        updated = dossier.model_copy(update={kind.collection: replaced})
        _plausibility(updated, kind.collection, kind.checked_as(code, wanted), confirmed)
        _write_record(session, patient, row, wanted)
        session.flush()
        return StoredRecord(kind.key, row.id, row.version, wanted)


def delete_record(
    store: Store,
    writer: Viewer,
    code: str,
    kind_key: str,
    record_id: int,
    version: int,
    reason: str,
    opened: FlatValues | None = None,
) -> None:
    """Deletes one stored record, with the reason kept in its audit entries; refused when the
    record changed since `version` (StaleEditError: look again first), without a reason, or
    for a course that adverse events are recorded against."""
    kind = record_kind(kind_key)
    record = _label(code, kind, record_id)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise RecordRejectedError(
            record,
            [FieldProblem("reason", f"give a reason of at least {MIN_REASON} characters")],
        )
    with store.unit_of_work(writer.name, reason=reason) as session:
        _serialise_edit(session)
        patient = _writable_patient(session, writer, code)
        row, position = _stored_row(patient, kind, record_id)
        if row.version != version:
            current = record_fields(getattr(dossier_from_row(patient), kind.collection)[position])
            raise StaleEditError(
                record, row.version, stale_changes(current, current, opened), current
            )
        if kind.key == "courses":
            linked = [e for e in patient.adverse_events if e.course is row]
            if linked:
                raise _duplicate(
                    record,
                    "course_number",
                    f"{len(linked)} adverse event(s) are recorded during course "
                    f"{row.course_number}: change or delete them first",
                )
        session.delete(row)  # through the session, so the audit records it with the reason


# --- the audit trail of one patient ----------------------------------------------------------


def patient_audit_trail(
    session: Session, viewer: Viewer, code: str, limit: int = 50, offset: int = 0
) -> AuditPage:
    """Who changed what in this patient's record, newest first; RecordNotFoundError when the
    viewer may not see the patient. Pseudonymised viewers never get it: the old and new values
    hold names and free text."""
    if viewer.pseudonymised:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    load_patient(session, viewer, code)
    records = patient_records(session, code)
    if records is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return audit_entries(session, records=records, limit=limit, offset=offset)


def audit_integrity(session: Session) -> ChainCheck:
    """Whether the audit trail still verifies (its hash chain), shown above every audit view: a
    reader must know whether the entries below can be trusted. Incremental (new entries, the
    last verified point, a rolling window of older ones) so a view does not cost the whole
    trail; `myoivig audit verify` checks every entry."""
    return verify_for_page(session)


class AuditFilterError(ValueError):
    """An audit filter that cannot be used (names the filter and the value)."""


def audit_window(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """A from/until pair of ISO days (both included, UTC) as [start, end) instants."""
    bounds: list[datetime | None] = []
    for name, text, shift in (("from", since, 0), ("until", until, 1)):
        if not text:
            bounds.append(None)
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise AuditFilterError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from error
        bounds.append(datetime.combine(day + timedelta(days=shift), time(), tzinfo=UTC))
    start, end = bounds
    if start and end and end <= start:
        raise AuditFilterError(f"until: {until!r} is before from {since!r}")
    return start, end


def audit_patient_records(session: Session, code: str) -> RecordKeys | None:
    """The audit filter for one patient's record (None: no filter); unknown codes are an error."""
    if not code.strip():
        return None
    records = patient_records(session, code.strip())
    if records is None:
        raise AuditFilterError(f"patient: no patient {code.strip()!r}")
    return records
