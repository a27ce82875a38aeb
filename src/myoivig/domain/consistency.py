"""Checks across the records of one patient: keys, references and the order of dates.

Field-level rules live on the records; these need several records at once. They are pure, so the
importer, the web forms and the API can all ask the same question.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from myoivig.domain.records import Course, InfusionDay, PatientDossier
from myoivig.domain.vocab import Phase


@dataclass(frozen=True)
class Inconsistency:
    table: str
    column: str
    value: str | None
    reason: str


def first_course_date(dossier: PatientDossier) -> date | None:
    dates = [c.start_date for c in dossier.courses if c.start_date is not None]
    return min(dates) if dates else None


def first_record_date(dossier: PatientDossier) -> date | None:
    """The earliest dated clinical record of the patient (assessment, course, lab)."""
    dates = [a.assessment_date for a in dossier.assessments]
    dates += [c.start_date for c in dossier.courses if c.start_date is not None]
    dates += [lab.sample_date for lab in dossier.labs if lab.sample_date is not None]
    return min(dates) if dates else None


def _first_record_except(dossier: PatientDossier, day: date) -> date | None:
    """The earliest record date other than the follow-up assessment on `day` itself."""
    dates = [a.assessment_date for a in dossier.assessments if a.assessment_date != day]
    dates += [c.start_date for c in dossier.courses if c.start_date is not None]
    dates += [lab.sample_date for lab in dossier.labs if lab.sample_date is not None]
    return min(dates) if dates else None


def check_dossier(dossier: PatientDossier) -> list[Inconsistency]:
    found: list[Inconsistency] = []
    found += _course_checks(dossier)
    found += _assessment_checks(dossier)
    found += _adverse_event_checks(dossier)
    found += _infusion_day_checks(dossier)
    return found


def _course_checks(dossier: PatientDossier) -> list[Inconsistency]:
    found = []
    dated = sorted(
        (c for c in dossier.courses if c.start_date is not None), key=lambda c: c.course_number
    )
    for earlier, later in pairwise(dated):
        assert earlier.start_date is not None and later.start_date is not None
        if later.start_date <= earlier.start_date:
            found.append(
                Inconsistency(
                    "courses",
                    "start_date",
                    later.start_date.isoformat(),
                    f"course {later.course_number} starts on or before course "
                    f"{earlier.course_number} ({earlier.start_date.isoformat()})",
                )
            )
    return found


def _assessment_checks(dossier: PatientDossier) -> list[Inconsistency]:
    found = []
    first_course = first_course_date(dossier)
    for a in dossier.assessments:
        when = a.assessment_date.isoformat()
        # Assessments are taken before the day's infusion, so one on the first course's start
        # day is still run-in (a baseline), as the advice engine counts it (docs/protocol.md).
        if (
            first_course is not None
            and a.phase == Phase.RUN_IN
            and a.assessment_date > first_course
        ):
            found.append(
                Inconsistency(
                    "assessments",
                    "phase",
                    a.phase.value,
                    f"run-in assessment on {when} is after the first IVIg course started "
                    f"({first_course.isoformat()}); only assessments up to that day are run-in",
                )
            )
        if a.phase in (Phase.TREATMENT, Phase.FOLLOW_UP):
            if first_course is not None and a.assessment_date < first_course:
                found.append(
                    Inconsistency(
                        "assessments",
                        "assessment_date",
                        when,
                        f"{a.phase.value} assessment is before the first IVIg course "
                        f"({first_course.isoformat()})",
                    )
                )
            if a.phase == Phase.FOLLOW_UP:
                earliest_other = _first_record_except(dossier, a.assessment_date)
                if earliest_other is not None and a.assessment_date < earliest_other:
                    found.append(
                        Inconsistency(
                            "assessments",
                            "assessment_date",
                            when,
                            "follow-up is before the patient's first record "
                            f"({earliest_other.isoformat()})",
                        )
                    )
        for name, items in (
            ("myometry", [(m.muscle_group, m.side) for m in a.myometry]),
            ("muscle_grades", [(g.muscle_group, g.side) for g in a.muscle_grades]),
        ):
            for (group, side), count in Counter(items).items():
                if count > 1:
                    found.append(
                        Inconsistency(
                            name,
                            "muscle_group",
                            group.value,
                            f"{group.value} {side.value} recorded {count} times on {when}",
                        )
                    )
    return found


def _adverse_event_checks(dossier: PatientDossier) -> list[Inconsistency]:
    found = []
    courses = {c.course_number: c for c in dossier.courses}
    for event in dossier.adverse_events:
        if event.course_number is None:
            continue
        course = courses.get(event.course_number)
        if course is None:
            found.append(
                Inconsistency(
                    "adverse_events",
                    "course_number",
                    str(event.course_number),
                    f"adverse event {event.term!r} refers to course {event.course_number}, "
                    "which is not in the courses table",
                )
            )
        elif course.start_date and event.onset_date and event.onset_date < course.start_date:
            found.append(
                Inconsistency(
                    "adverse_events",
                    "onset_date",
                    event.onset_date.isoformat(),
                    f"adverse event {event.term!r} starts before its course "
                    f"{course.course_number} ({course.start_date.isoformat()})",
                )
            )
    return found


def infusion_day_in_course(day: InfusionDay, course: Course) -> list[Inconsistency]:
    """The day is one of the course's planned days and its date lies within the course."""
    found = []
    if day.day_number > course.days:
        found.append(
            Inconsistency(
                "infusion_days",
                "day_number",
                str(day.day_number),
                f"day_number {day.day_number} is beyond course {course.course_number}'s "
                f"{course.days} planned day(s)",
            )
        )
    if course.start_date is not None and day.infusion_date is not None:
        last = course.start_date + timedelta(days=course.days - 1)
        if not course.start_date <= day.infusion_date <= last:
            found.append(
                Inconsistency(
                    "infusion_days",
                    "infusion_date",
                    day.infusion_date.isoformat(),
                    f"infusion_date {day.infusion_date.isoformat()} is outside course "
                    f"{course.course_number} ({course.start_date.isoformat()} to "
                    f"{last.isoformat()})",
                )
            )
    return found


def _infusion_day_checks(dossier: PatientDossier) -> list[Inconsistency]:
    found = []
    courses = {c.course_number: c for c in dossier.courses}
    for day in dossier.infusion_days:
        course = courses.get(day.course_number)
        if course is None:
            found.append(
                Inconsistency(
                    "infusion_days",
                    "course_number",
                    str(day.course_number),
                    f"infusion day {day.day_number} refers to course {day.course_number}, "
                    "which is not in the courses table",
                )
            )
        else:
            found += infusion_day_in_course(day, course)
    return found
