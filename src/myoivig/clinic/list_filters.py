"""What the patient list shows and filters on besides site and diagnosis: treatment status, when
the next IVIg course is due, and the trial's responder rule at the latest visit.

Status and due date come from the stored courses alone (one grouped query for all patients), so
they cost the same for 10 or 1,000 patients:
- `run_in`: no IVIg course recorded yet (the trial's run-in, or not started);
- `on_ivig`: the last dated course started at most two course intervals ago;
- `stopped`: the last dated course started longer ago than that (a next course more than a
  whole interval overdue is taken as stopped: a local definition [D], not from a source);
- `undated`: courses are recorded but none has a start date, so neither can be told.
The next course is due one regimen interval after the last course's first day (28 days for the
default 2 g/kg regimen, Octagam 10 % US prescribing information section 2.3, as in
`protocol.schedule`); only patients on IVIg have a due date.

The responder needs the outcomes engine over each patient's assessments; it is cached per
patient and keyed by the patient's assessment data version (count, sum of row versions and
highest id of their assessments, read in one grouped query), so a list request recomputes only
the patients whose assessments changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from myoivig.domain import records as r
from myoivig.outcomes.patient_report import latest_trial_responder
from myoivig.store.repository import among, load_grades_and_tasks
from myoivig.store.tables import AssessmentRow, CourseRow

STATUSES = ("run_in", "on_ivig", "stopped", "undated")
RESPONDER_VALUES = ("yes", "no", "undetermined")
OVERDUE = "overdue"
MAX_DUE_DAYS = 365
STOPPED_AFTER_INTERVALS = 2  # [D] local definition, see the module docstring
DEFAULT_REGIMEN = "2g/kg"


@dataclass(frozen=True)
class CourseState:
    status: str
    next_due: date | None


def course_interval_days() -> int:
    """Days between course starts of the default regimen (regimens.yaml names its source)."""
    from myoivig.protocol.regimens import load_regimens

    return load_regimens().get(DEFAULT_REGIMEN).interval_days


def course_state(
    courses: int, last_start: date | None, today: date, interval_days: int
) -> CourseState:
    """Status and next due date from the number of courses and the last course's first day."""
    if courses == 0:
        return CourseState("run_in", None)
    if last_start is None:
        return CourseState("undated", None)
    if (today - last_start).days > STOPPED_AFTER_INTERVALS * interval_days:
        return CourseState("stopped", None)
    return CourseState("on_ivig", last_start + timedelta(days=interval_days))


def due_matches(due: str, state: CourseState, today: date) -> bool:
    """`overdue`: due before today; a number N: due from today to N days from today."""
    if state.next_due is None:
        return False
    if due == OVERDUE:
        return state.next_due < today
    return today <= state.next_due <= today + timedelta(days=int(due))


def check_due(due: str) -> str | None:
    """Why a `due` filter value cannot be used (None when it can)."""
    if due == OVERDUE or (due.isdigit() and int(due) <= MAX_DUE_DAYS):
        return None
    return f"due: {due!r} must be {OVERDUE!r} or a number of days from 0 to {MAX_DUE_DAYS}"


SQLITE_IN_LIMIT = 500
"""On SQLite, up to this many patients are named in the query (a page of the list); for more
(a filter over the whole clinic) every patient's rows are grouped and the wanted ones kept,
rather than a statement with thousands of parameters. PostgreSQL takes one array."""


def _only(session: Session, statement: Select[Any], column: Any, wanted: set[int]) -> Select[Any]:
    if session.get_bind().dialect.name != "postgresql" and len(wanted) > SQLITE_IN_LIMIT:
        return statement
    return statement.where(among(session, column, sorted(wanted)))


def course_states(
    session: Session, patient_ids: Iterable[int], today: date
) -> dict[int, CourseState]:
    """Every listed patient's course state, from one grouped query over the courses."""
    wanted = set(patient_ids)
    interval = course_interval_days()
    found: dict[int, tuple[int, date | None]] = {}
    statement = select(
        CourseRow.patient_id, func.count(CourseRow.id), func.max(CourseRow.start_date)
    ).group_by(CourseRow.patient_id)
    statement = _only(session, statement, CourseRow.patient_id, wanted)
    for patient_id, count, last in session.connection().execute(statement):
        if patient_id in wanted:
            found[patient_id] = (int(count), last)
    return {pid: course_state(*found.get(pid, (0, None)), today, interval) for pid in wanted}


def responder_text(value: bool | None) -> str:
    return "undetermined" if value is None else ("yes" if value else "no")


_CACHE: dict[tuple[str, int], tuple[tuple[int, int, int], bool | None]] = {}
_CACHE_LOCK = Lock()
_CACHE_LIMIT = 100_000
_CHUNK = 200


def _versions(session: Session, wanted: set[int]) -> dict[int, tuple[int, int, int]]:
    stamps = {}
    statement = select(
        AssessmentRow.patient_id,
        func.count(AssessmentRow.id),
        func.sum(AssessmentRow.version),
        func.max(AssessmentRow.id),
    ).group_by(AssessmentRow.patient_id)
    statement = _only(session, statement, AssessmentRow.patient_id, wanted)
    for patient_id, count, versions, highest in session.connection().execute(statement):
        if patient_id in wanted:
            stamps[patient_id] = (int(count), int(versions or 0), int(highest or 0))
    return stamps


def trial_responders(session: Session, patient_ids: Iterable[int]) -> dict[int, bool | None]:
    """The trial's responder rule at each patient's latest visit (None: undetermined), from the
    cache where the patient's assessments are unchanged, else computed and cached."""
    wanted = set(patient_ids)
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    stamps = _versions(session, wanted)
    result: dict[int, bool | None] = {}
    missing = []
    with _CACHE_LOCK:
        for pid in wanted:
            stamp = stamps.get(pid, (0, 0, 0))
            cached = _CACHE.get((database, pid))
            if stamp == (0, 0, 0):
                result[pid] = None
            elif cached is not None and cached[0] == stamp:
                result[pid] = cached[1]
            else:
                missing.append(pid)
    ordered = sorted(missing)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        assessments = load_grades_and_tasks(session, chunk)
        computed = {pid: latest_trial_responder(assessments.get(pid, [])) for pid in chunk}
        result.update(computed)
        with _CACHE_LOCK:
            if len(_CACHE) > _CACHE_LIMIT:
                _CACHE.clear()
            for pid, value in computed.items():
                _CACHE[(database, pid)] = (stamps[pid], value)
    return result


def state_facts(state: CourseState, responder: bool | None) -> dict[str, Any]:
    """The list's status, next-due and responder columns, by the rules the filters use."""
    return {
        "status": state.status,
        "next_course_due": state.next_due.isoformat() if state.next_due else None,
        "responder": responder_text(responder),
    }


def list_facts(dossier: r.PatientDossier, today: date) -> dict[str, Any]:
    """`state_facts` for one already loaded patient."""
    dated = [c.start_date for c in dossier.courses if c.start_date is not None]
    state = course_state(
        len(dossier.courses), max(dated) if dated else None, today, course_interval_days()
    )
    return state_facts(state, latest_trial_responder(dossier.assessments))
