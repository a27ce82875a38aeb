"""REDCap records (the flat CSV of the Data Import Tool) to and from myoivig dossiers.

One row per event and instrument instance: the patient form once in the enrolment event;
therapies and laboratory results as repeating instruments of the enrolment event; courses,
their infusion days (recorded ones with lot, rate steps and reactions) and adverse events as
repeating instruments of the treatment event; each assessment as one instance of the repeating
visit event. Reading checks every cell and returns every problem (row, field, value, reason)
together; nothing is returned half-read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.consistency import check_dossier
from myoivig.domain.values import NotPerformed
from myoivig.domain.vocab import CoreSetMeasure, Enzyme, FunctionalTask
from myoivig.exchange.redcap.fields import (
    EVENTS,
    EVENTS_BY_NAME,
    FIELDS,
    FIELDS_BY_NAME,
    FORMS,
    RECORD_ID,
    Event,
    RedcapField,
    form_fields,
    muscle_sites,
    site_suffix,
)
from myoivig.exchange.validation import validated
from myoivig.io.importer import Bundle
from myoivig.io.problems import Problem
from myoivig.io.sheets import format_value

EVENT_COLUMN = "redcap_event_name"
INSTRUMENT_COLUMN = "redcap_repeat_instrument"
INSTANCE_COLUMN = "redcap_repeat_instance"
STANDARD_COLUMNS = (RECORD_ID, EVENT_COLUMN, INSTRUMENT_COLUMN, INSTANCE_COLUMN)
# REDCap's own columns that an export may add on request; they carry no clinical data.
SYSTEM_COLUMNS = ("redcap_data_access_group", "redcap_survey_identifier")
COMPLETE = "2"  # REDCap's form status "Complete"
ENROLMENT, TREATMENT, VISIT = (e.unique_name for e in EVENTS)
SOURCE = "records.csv"

Row = dict[str, str]


class RedcapExportError(ValueError):
    """Stored values that the REDCap project cannot hold; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"REDCap export refused: {len(problems)} problem(s)")


def header() -> list[str]:
    """Columns of records.csv: the standard REDCap columns, each form's fields and status."""
    columns = [RECORD_ID, EVENT_COLUMN, INSTRUMENT_COLUMN, INSTANCE_COLUMN]
    for form in FORMS:
        columns += [f.name for f in form_fields(form) if f.name != RECORD_ID]
        columns.append(f"{form}_complete")
    return columns


# --- writing -----------------------------------------------------------------------------------


def cell(f: RedcapField, value: Any) -> str:
    """A model value as REDCap stores it in `f`."""
    if value is None:
        return ""
    if isinstance(value, NotPerformed):
        return "NP"
    if f.choices:
        key = value.value if isinstance(value, Enum) else value
        key = {True: "true", False: "false"}.get(key, key) if isinstance(key, bool) else key
        return f.encode()[str(key)]
    return format_value(value)


def _fill(row: Row, form: str, record: Any) -> None:
    for f in form_fields(form):
        if f.attr and f.name != RECORD_ID:
            row[f.name] = cell(f, getattr(record, f.attr))
    row[f"{form}_complete"] = COMPLETE


def _row(code: str, event: str, instrument: str = "", instance: int | None = None) -> Row:
    return {
        RECORD_ID: code,
        EVENT_COLUMN: event,
        INSTRUMENT_COLUMN: instrument,
        INSTANCE_COLUMN: "" if instance is None else str(instance),
    }


def export_records(sites: list[r.Site], dossiers: list[r.PatientDossier]) -> list[Row]:
    """Every dossier as REDCap import rows; raises with every value the project cannot hold."""
    by_code = {s.site_code: s for s in sites}
    rows: list[Row] = []
    problems: list[Problem] = []
    for d in dossiers:
        code = d.patient.code
        row = _row(code, ENROLMENT)
        _fill(row, "patient", d.patient)
        site = by_code.get(d.patient.site_code or "")
        if site is not None:
            row["site_name"], row["site_country"] = site.name, site.country or ""
        rows.append(row)
        for form, items in (("therapy", d.therapies), ("lab", d.labs)):
            for i, item in enumerate(items, 1):
                rows.append(_row(code, ENROLMENT, form, i))
                _fill(rows[-1], form, item)
        for i, course in enumerate(d.courses, 1):
            rows.append(_row(code, TREATMENT, "ivig_course", i))
            _fill(rows[-1], "ivig_course", course)
        recorded = {(day.course_number, day.day_number): day for day in d.infusion_days}
        instance = 0
        for course in d.courses:
            for day in range(1, course.days + 1):
                instance += 1
                stored = recorded.get((course.course_number, day))
                rows.append(_infusion_day_row(code, instance, course, day, stored))
        for i, event in enumerate(d.adverse_events, 1):
            rows.append(_row(code, TREATMENT, "adverse_event", i))
            _fill(rows[-1], "adverse_event", event)
        for i, a in enumerate(d.assessments, 1):
            rows.append(_visit_row(code, i, a, problems))
    if problems:
        raise RedcapExportError(problems)
    return rows


def _infusion_day_row(
    code: str, instance: int, course: r.Course, day: int, stored: r.InfusionDay | None
) -> Row:
    """One course day: as recorded when a stored infusion day exists, else derived from the
    course (date from its start, its daily dose)."""
    row = _row(code, TREATMENT, "infusion_day", instance)
    when = course.start_date + timedelta(days=day - 1) if course.start_date else None
    row.update(
        inf_course_number=str(course.course_number),
        inf_day=str(day),
        inf_date=format_value(when),
        inf_dose_g=format_value(course.given_daily_dose_g),
        inf_rate_ml_kg_min=format_value(course.infusion_rate_ml_per_kg_min),
        infusion_day_complete=COMPLETE,
    )
    if stored is not None:
        row.update(
            inf_date=format_value(stored.infusion_date),
            inf_dose_g=format_value(stored.dose_g),
            inf_lot=stored.lot_number,
            inf_product=stored.product or "",
            inf_volume_ml=format_value(stored.volume_ml),
            inf_total_min=format_value(stored.total_minutes),
            inf_rate_steps=_json_list(stored.rate_steps),
            inf_reactions=_json_list(stored.reactions),
            inf_given_by=stored.given_by or "",
            inf_note=stored.note or "",
        )
    return row


def _json_list(items: list[Any]) -> str:
    """A day's list as the JSON a notes field holds (blank: none)."""
    return json.dumps([i.model_dump(mode="json") for i in items]) if items else ""


def _visit_row(code: str, instance: int, a: r.Assessment, problems: list[Problem]) -> Row:
    row = _row(code, VISIT, "", instance)
    _fill(row, "visit", a)
    for v in a.core_set:
        row[f"cs_{v.measure.value}"] = format_value(v.value)
        if v.measure is CoreSetMeasure.MMT8:
            row["cs_mmt8_scale"] = format_value(v.scale_max)
    for e in a.enzymes:
        row[f"enz_{e.enzyme.value}"] = format_value(e.value_u_per_l)
        row[f"enz_{e.enzyme.value}_uln"] = format_value(e.uln_u_per_l)
    sites = set(muscle_sites())
    when = a.assessment_date.isoformat()
    for prefix, items, attr in (
        ("myo", a.myometry, "force_n"),
        ("mrc", a.muscle_grades, "kendall_grade"),
    ):
        for m in items:
            if (m.muscle_group, m.side) not in sites:
                problems.append(
                    Problem(
                        "dossier",
                        None,
                        f"{prefix}_{site_suffix(m.muscle_group, m.side)}",
                        f"{m.muscle_group.value}/{m.side.value}",
                        f"patient {code}, assessment {when}: the REDCap project records "
                        "neck muscles as axial and limb muscles as left/right",
                    )
                )
                continue
            row[f"{prefix}_{site_suffix(m.muscle_group, m.side)}"] = format_value(getattr(m, attr))
    for t in a.functional_tasks:
        able = "9" if t.not_performed else {True: "1", False: "0", None: ""}[t.able]
        row[f"fn_{t.task.value}"] = able
        if t.time_s is not None:
            row["fn_walk_30m_time_s"] = format_value(t.time_s)
    for form in ("core_set", "enzymes", "strength", "function"):
        if any(row.get(f.name) for f in form_fields(form)):
            row[f"{form}_complete"] = COMPLETE
    return row


# --- reading -----------------------------------------------------------------------------------


@dataclass
class _Record:
    """What the rows of one REDCap record hold, before assembly."""

    patients: list[tuple[int, r.Patient]] = field(default_factory=list)
    site: tuple[int, dict[str, str]] | None = None
    therapies: list[r.Therapy] = field(default_factory=list)
    labs: list[r.LabResult] = field(default_factory=list)
    courses: list[tuple[int, r.Course]] = field(default_factory=list)
    days: list[tuple[int, Row]] = field(default_factory=list)
    adverse_events: list[r.AdverseEvent] = field(default_factory=list)
    assessments: list[tuple[int, r.Assessment]] = field(default_factory=list)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.records: dict[str, _Record] = defaultdict(_Record)

    def problem(
        self, number: int, column: str, value: str | None, reason: str, rid: str = ""
    ) -> None:
        prefix = f"record {rid}: " if rid else ""
        self.problems.append(Problem(SOURCE, number, column, value, prefix + reason))

    def decode(self, f: RedcapField, raw: str, number: int, rid: str) -> str | None:
        """The model value of one cell (still text for numbers/dates), or None if refused."""
        if not f.choices:
            return raw
        value = f.decode().get(raw)
        if value is None:
            options = ", ".join(f"{c} ({label})" for c, label in f.choices)
            self.problem(
                number, f.name, raw, f"unknown choice code; expected one of {options}", rid
            )
        return value

    def model(
        self,
        model: type[Any],
        data: dict[str, Any],
        names: dict[str, str],
        row: Row,
        number: int,
        rid: str,
    ) -> Any:
        record, failed = validated(model, data)
        for attr, reason in failed:
            column = names.get(attr, attr)
            self.problem(number, column, row.get(column), reason, rid)
        return record

    def simple(self, form: str, row: Row, number: int, rid: str, **extra: Any) -> Any:
        """One record from a form's fields; every bad cell is reported, not just the first."""
        data: dict[str, Any] = dict(extra)
        names = {}
        refused = set()
        for f in form_fields(form):
            if not f.attr:
                continue
            names[f.attr] = f.name
            raw = row.get(f.name, "")
            if raw != "":
                value = self.decode(f, raw, number, rid)
                if value is None:
                    refused.add(f.attr)
                else:
                    data[f.attr] = value
        before = len(self.problems)
        record = self.model(MODELS[form], data, names, row, number, rid)
        if refused:  # drop the "missing" follow-ups of cells already reported
            kept = self.problems[before:]
            del self.problems[before:]
            refused_names = {names[a] for a in refused}
            self.problems += [p for p in kept if p.column not in refused_names]
            return None
        return record

    def read_row(self, row: Row, number: int) -> None:
        rid = row.get(RECORD_ID, "")
        if not rid:
            self.problem(number, RECORD_ID, rid, "every row needs its record_id")
            return
        forms = self.forms_of(row, number, rid)
        if forms is None:
            return
        for name, raw in row.items():
            f = FIELDS_BY_NAME.get(name)
            if raw and f is not None and f.form not in forms and name != RECORD_ID:
                self.problem(
                    number,
                    name,
                    raw,
                    f"field of instrument {f.form!r}, which this row "
                    f"({row.get(EVENT_COLUMN)}, {row.get(INSTRUMENT_COLUMN) or 'no repeat instrument'}) "  # noqa: E501
                    "does not hold",
                    rid,
                )
            if name.endswith("_complete") and raw not in {"", "0", "1", "2"}:
                self.problem(number, name, raw, "form status must be 0, 1 or 2", rid)
        record = self.records[rid]
        if "patient" in forms:
            patient = self.simple("patient", row, number, rid)
            if patient is not None:
                record.patients.append((number, patient))
            if row.get("site_code"):
                record.site = (number, row)
        elif forms == ("therapy",):
            self._append(
                record.therapies, self.simple("therapy", row, number, rid, patient_code=rid)
            )
        elif forms == ("lab",):
            self._append(record.labs, self.simple("lab", row, number, rid, patient_code=rid))
        elif forms == ("ivig_course",):
            course = self.simple("ivig_course", row, number, rid, patient_code=rid)
            if course is not None:
                record.courses.append((number, course))
        elif forms == ("infusion_day",):
            record.days.append((number, row))
        elif forms == ("adverse_event",):
            self._append(
                record.adverse_events,
                self.simple("adverse_event", row, number, rid, patient_code=rid),
            )
        elif "visit" in forms:
            assessment = self.visit(row, number, rid)
            if assessment is not None:
                record.assessments.append((number, assessment))

    @staticmethod
    def _append(items: list[Any], item: Any) -> None:
        if item is not None:
            items.append(item)

    def forms_of(self, row: Row, number: int, rid: str) -> tuple[str, ...] | None:
        event_name = row.get(EVENT_COLUMN, "")
        event: Event | None = EVENTS_BY_NAME.get(event_name)
        if event is None:
            known = ", ".join(EVENTS_BY_NAME)
            self.problem(number, EVENT_COLUMN, event_name, f"unknown event; expected {known}", rid)
            return None
        instrument = row.get(INSTRUMENT_COLUMN, "")
        instance = row.get(INSTANCE_COLUMN, "")
        repeats = event.repeating_event or bool(instrument)
        if repeats and not (instance.isdigit() and int(instance) >= 1):
            self.problem(
                number,
                INSTANCE_COLUMN,
                instance,
                "a repeating instrument or event needs an instance number 1, 2, ...",
                rid,
            )
            return None
        if not repeats and instance:
            self.problem(
                number,
                INSTANCE_COLUMN,
                instance,
                "only repeating instruments and events have instances",
                rid,
            )
            return None
        if event.repeating_event:
            if instrument:
                self.problem(
                    number,
                    INSTRUMENT_COLUMN,
                    instrument,
                    f"{event.unique_name} repeats as a whole event; leave this blank",
                    rid,
                )
                return None
            return event.forms
        if instrument:
            if instrument not in event.repeating_forms:
                self.problem(
                    number,
                    INSTRUMENT_COLUMN,
                    instrument,
                    f"not a repeating instrument of {event.unique_name}; expected "
                    + ", ".join(event.repeating_forms),
                    rid,
                )
                return None
            return (instrument,)
        return tuple(f for f in event.forms if f not in event.repeating_forms)

    def visit(self, row: Row, number: int, rid: str) -> r.Assessment | None:
        ok = True

        def child(model: type[Any], data: dict[str, Any], names: dict[str, str]) -> Any:
            nonlocal ok
            item = self.model(model, data, names, row, number, rid)
            ok = ok and item is not None
            return item

        core = []
        for measure in CoreSetMeasure:
            name = f"cs_{measure.value}"
            if row.get(name):
                data: dict[str, Any] = {"measure": measure.value, "value": row[name]}
                names = {"value": name, "measure": name}
                if measure is CoreSetMeasure.MMT8:
                    data["scale_max"] = row.get("cs_mmt8_scale") or None
                    names["scale_max"] = "cs_mmt8_scale"
                core.append(child(r.CoreSetValue, data, names))
        enzymes = []
        for enzyme in Enzyme:
            name = f"enz_{enzyme.value}"
            if row.get(name) or row.get(f"{name}_uln"):
                enzymes.append(
                    child(
                        r.EnzymeResult,
                        {
                            "enzyme": enzyme.value,
                            "value_u_per_l": row.get(name),
                            "uln_u_per_l": row.get(f"{name}_uln") or None,
                        },
                        {"value_u_per_l": name, "uln_u_per_l": f"{name}_uln"},
                    )
                )
        myometry, grades = [], []
        for group, side in muscle_sites():
            base = {"muscle_group": group.value, "side": side.value}
            if row.get(name := f"myo_{site_suffix(group, side)}"):
                myometry.append(
                    child(r.MyometryReading, {**base, "force_n": row[name]}, {"force_n": name})
                )
            if row.get(name := f"mrc_{site_suffix(group, side)}"):
                grades.append(
                    child(
                        r.MuscleGrade, {**base, "kendall_grade": row[name]}, {"kendall_grade": name}
                    )
                )
        tasks = []
        for task in FunctionalTask:
            name = f"fn_{task.value}"
            raw = row.get(name, "")
            time_s = row.get("fn_walk_30m_time_s", "") if task is FunctionalTask.WALK_30M else ""
            if not raw and not time_s:
                continue
            value = self.decode(FIELDS_BY_NAME[name], raw, number, rid) if raw else None
            if raw and value is None:
                ok = False
                continue
            data = {
                "task": task.value,
                "not_performed": value == "NP",
                "able": None if value in (None, "NP") else value,
                "time_s": time_s or None,
            }
            tasks.append(
                child(
                    r.FunctionalTaskResult,
                    data,
                    {"able": name, "not_performed": name, "time_s": "fn_walk_30m_time_s"},
                )
            )
        visit = self.simple("visit", row, number, rid, patient_code=rid)
        if visit is None or not ok:
            return None
        return visit.model_copy(
            update={
                "core_set": core,
                "enzymes": enzymes,
                "myometry": myometry,
                "muscle_grades": grades,
                "functional_tasks": tasks,
            }
        )

    def assemble(self) -> Bundle:
        sites: dict[str, r.Site] = {}
        dossiers = []
        for rid, rec in self.records.items():
            patient = None
            if len(rec.patients) != 1:
                reason = (
                    "no patient form in the enrolment event"
                    if not rec.patients
                    else "the patient form appears more than once"
                )
                number = rec.patients[1][0] if len(rec.patients) > 1 else None
                if rec.patients or not self._has_patient_problem(rid):
                    self.problems.append(
                        Problem(SOURCE, number, RECORD_ID, rid, f"record {rid}: {reason}")
                    )
            else:
                patient = rec.patients[0][1]
            if rec.site is not None:
                self._site(rid, rec.site, sites)
            courses = self._unique_courses(rid, rec.courses)
            recorded = self._check_days(rid, courses, rec.days)
            dates: dict[date, int] = {}
            for number, a in rec.assessments:
                if a.assessment_date in dates:
                    self.problem(
                        number,
                        "vis_date",
                        a.assessment_date.isoformat(),
                        f"a visit on this date is already at row {dates[a.assessment_date]}",
                        rid,
                    )
                dates.setdefault(a.assessment_date, number)
            if patient is None:
                continue
            dossier = r.PatientDossier(
                patient=patient,
                therapies=rec.therapies,
                courses=[c for _, c in sorted(courses.items())],
                labs=rec.labs,
                adverse_events=rec.adverse_events,
                assessments=sorted(
                    (a for _, a in rec.assessments), key=lambda a: a.assessment_date
                ),
                infusion_days=sorted(recorded, key=lambda d: (d.course_number, d.day_number)),
            )
            for finding in check_dossier(dossier):
                self.problems.append(
                    Problem(
                        SOURCE,
                        None,
                        finding.column,
                        finding.value,
                        f"record {rid}: {finding.reason}",
                    )
                )
            dossiers.append(dossier)
        return Bundle(sites=list(sites.values()), dossiers=dossiers)

    def _has_patient_problem(self, rid: str) -> bool:
        return any(p.reason.startswith(f"record {rid}:") for p in self.problems)

    def _site(self, rid: str, found: tuple[int, Row], sites: dict[str, r.Site]) -> None:
        number, row = found
        data = {
            "site_code": row["site_code"],
            "name": row.get("site_name", ""),
            "country": row.get("site_country") or None,
        }
        names = {"site_code": "site_code", "name": "site_name", "country": "site_country"}
        site = self.model(r.Site, data, names, row, number, rid)
        if site is None:
            return
        known = sites.setdefault(site.site_code, site)
        if known != site:
            self.problem(
                number,
                "site_name",
                row.get("site_name"),
                f"site {site.site_code} has another name or country in another record",
                rid,
            )

    def _unique_courses(self, rid: str, found: list[tuple[int, r.Course]]) -> dict[int, r.Course]:
        courses: dict[int, r.Course] = {}
        for number, course in found:
            if course.course_number in courses:
                self.problem(
                    number,
                    "crs_number",
                    str(course.course_number),
                    "this course number appears twice",
                    rid,
                )
            courses.setdefault(course.course_number, course)
        return courses

    def _check_days(
        self, rid: str, courses: dict[int, r.Course], days: list[tuple[int, Row]]
    ) -> list[r.InfusionDay]:
        """Each row is one course day. A row with recorded-day fields (a lot) is a recorded
        infusion day, whose date and dose are its own; any other row is derived from the course
        and must agree with it."""
        seen: set[tuple[int, int]] = set()
        recorded: list[r.InfusionDay] = []
        for number, row in days:
            try:
                course_number, day = (
                    int(row.get("inf_course_number", "")),
                    int(row.get("inf_day", "")),
                )
            except ValueError:
                column = (
                    "inf_course_number"
                    if not row.get("inf_course_number", "").isdigit()
                    else "inf_day"
                )
                self.problem(number, column, row.get(column), "expected a whole number", rid)
                continue
            course = courses.get(course_number)
            if course is None:
                self.problem(
                    number,
                    "inf_course_number",
                    str(course_number),
                    "no ivig_course with this number in this record",
                    rid,
                )
                continue
            if not 1 <= day <= course.days or (course_number, day) in seen:
                self.problem(
                    number,
                    "inf_day",
                    str(day),
                    f"course {course_number} has days 1-{course.days}, each once",
                    rid,
                )
                continue
            seen.add((course_number, day))
            expected = {
                "inf_date": format_value(course.start_date + timedelta(days=day - 1))
                if course.start_date
                else "",
                "inf_dose_g": format_value(course.given_daily_dose_g),
                "inf_rate_ml_kg_min": format_value(course.infusion_rate_ml_per_kg_min),
            }
            if any(row.get(column) for column in RECORDED_COLUMNS):
                del expected["inf_date"], expected["inf_dose_g"]
                stored = self._recorded_day(rid, course_number, day, row, number)
                if stored is not None:
                    recorded.append(stored)
            for column, want in expected.items():
                got = row.get(column, "")
                if got and not _same(got, want):
                    self.problem(
                        number,
                        column,
                        got,
                        f"disagrees with course {course_number} ({want or 'blank'}); myoivig "
                        "stores one daily dose, rate and start date per course",
                        rid,
                    )
        return recorded

    def _recorded_day(
        self, rid: str, course_number: int, day: int, row: Row, number: int
    ) -> r.InfusionDay | None:
        """The recorded infusion day of one row; every bad cell (and every bad item of the
        JSON lists) is reported."""
        data: dict[str, Any] = {
            "patient_code": rid,
            "course_number": course_number,
            "day_number": day,
        }
        data.update({attr: row[c] for attr, c in DAY_COLUMNS.items() if row.get(c, "") != ""})
        record, failed = validated(r.InfusionDay, data, located=True)
        for attr, reason in failed:
            column = DAY_COLUMNS.get(attr, attr)
            if reason == "Field required":
                reason = "required for a recorded infusion day (a row with any inf_ field "
                reason += "of the recorded day filled)"
            self.problem(number, column, row.get(column), reason, rid)
        day_record: r.InfusionDay | None = record
        return day_record


# Record attribute -> column of a recorded infusion day.
DAY_COLUMNS = {
    "infusion_date": "inf_date",
    "dose_g": "inf_dose_g",
    "lot_number": "inf_lot",
    "product": "inf_product",
    "volume_ml": "inf_volume_ml",
    "total_minutes": "inf_total_min",
    "rate_steps": "inf_rate_steps",
    "reactions": "inf_reactions",
    "given_by": "inf_given_by",
    "note": "inf_note",
}
# Columns only a recorded day fills: any of them makes the row a recorded day.
RECORDED_COLUMNS = tuple(c for c in DAY_COLUMNS.values() if c not in {"inf_date", "inf_dose_g"})


def _same(got: str, want: str) -> bool:
    if got == want:
        return True
    try:
        return float(got) == float(want)
    except ValueError:
        return False


MODELS: dict[str, type[Any]] = {
    "patient": r.Patient,
    "therapy": r.Therapy,
    "lab": r.LabResult,
    "ivig_course": r.Course,
    "adverse_event": r.AdverseEvent,
    "visit": r.Assessment,
}


def known_columns() -> set[str]:
    return (
        set(STANDARD_COLUMNS + SYSTEM_COLUMNS)
        | {f.name for f in FIELDS}
        | {f"{f}_complete" for f in FORMS}
    )


def read_records(columns: list[str], rows: list[Row]) -> tuple[Bundle, list[Problem]]:
    """Dossiers from REDCap rows, with every problem found (the bundle is unusable if any)."""
    reader = _Reader()
    known = known_columns()
    for column in columns:
        if column not in known:
            reader.problem(1, column, None, "unknown field: not part of the myoivig REDCap project")
    for required in (RECORD_ID, EVENT_COLUMN):
        if required not in columns:
            reader.problem(1, required, None, "required column is missing")
    if reader.problems:
        return Bundle(sites=[], dossiers=[]), reader.problems
    for number, row in enumerate(rows, start=2):
        if any(row.values()):
            reader.read_row(row, number)
    bundle = reader.assemble()
    return bundle, reader.problems
