"""Clinic use cases shared by the command line, the web pages and the JSON API.

Who may see which patient is decided here, once: a viewer either sees every site or only the
sites they belong to, and a pseudonymised viewer (researcher) sees no names, notes, assessors or
birth years, and each patient under a keyed pseudonym instead of the clinic's code. A patient
outside the viewer's rights is reported exactly like a patient that does not exist, so that
existence does not leak.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from myoivig.clinic.derived_cache import DERIVED, DOSSIERS, STORED_DIGESTS, dossier_digest
from myoivig.clinic.list_filters import (
    RESPONDER_VALUES,
    STATUSES,
    check_due,
    course_states,
    due_matches,
    responder_text,
    state_facts,
    trial_responders,
)
from myoivig.clinic.overview import listing_summary
from myoivig.clinic.tables import InfusionDayRow
from myoivig.domain import records as r
from myoivig.domain.synthetic import SYNTHETIC_SOURCE_PREFIX, is_synthetic
from myoivig.domain.vocab import CoreSetMeasure, Diagnosis, Enzyme, MuscleGroup, Phase
from myoivig.outcomes.myometry import mean_force, site_forces
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.outcomes.record_shapes import numeric
from myoivig.store.repository import (
    PatientListing,
    RecordNotFoundError,
    infusion_day_from_row,
    load_dossier,
    load_dossiers,
    patient_listings,
    record_version,
)
from myoivig.store.tables import CourseRow, PatientRow, SiteRow

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Viewer:
    """Whoever is looking: which sites they may see and whether they see pseudonyms only."""

    name: str
    all_sites: bool
    site_codes: frozenset[str] = frozenset()
    pseudonymised: bool = False
    pseudonym_key: bytes = field(default=b"", repr=False)


CLI_OPERATOR = Viewer(name="cli", all_sites=True)
"""The command line runs with the database's own rights: it sees every patient."""


class QueryError(ValueError):
    """A list request with a value that cannot be used (names the field and the value)."""


@dataclass(frozen=True)
class PatientQuery:
    """Search (part of the code), filters and page of a patient list. `status`, `due` and
    `responder` are described in `clinic.list_filters`; `today` is the day they are judged on
    (None: today)."""

    search: str = ""
    site: str | None = None
    diagnosis: str | None = None
    page: int = 1
    per_page: int = 25
    status: str | None = None
    responder: str | None = None
    due: str | None = None
    today: date | None = None

    def checked(self) -> PatientQuery:
        if self.diagnosis and self.diagnosis not in {d.value for d in Diagnosis}:
            raise QueryError(f"diagnosis: {self.diagnosis!r} is not a known diagnosis")
        if self.status and self.status not in STATUSES:
            raise QueryError(f"status: {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.responder and self.responder not in RESPONDER_VALUES:
            raise QueryError(
                f"responder: {self.responder!r} is not one of {', '.join(RESPONDER_VALUES)}"
            )
        if self.due and (problem := check_due(self.due)):
            raise QueryError(problem)
        if self.page < 1:
            raise QueryError(f"page: {self.page} must be 1 or more")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(f"per_page: {self.per_page} must be between 1 and {MAX_PER_PAGE}")
        if len(self.search) > 64:
            raise QueryError("search: at most 64 characters")
        return self


@dataclass(frozen=True)
class PatientPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def pseudonym(code: str, key: bytes) -> str:
    """A stable pseudonym for a patient code, keyed so it cannot be reversed without the key."""
    if not key:
        raise ValueError("pseudonyms need a key")
    digest = hmac.new(key, code.encode("utf-8"), hashlib.sha256).hexdigest()
    return "R-" + digest[:12].upper()


def _visible(statement: Select[Any], viewer: Viewer) -> Select[Any]:
    statement = statement.outerjoin(SiteRow, PatientRow.site_id == SiteRow.id)
    if viewer.all_sites:
        return statement
    return statement.where(SiteRow.site_code.in_(sorted(viewer.site_codes)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(viewer: Viewer, query: PatientQuery) -> Select[Any]:
    statement = _visible(select(PatientRow.id, PatientRow.code), viewer)
    if query.site:
        statement = statement.where(SiteRow.site_code == query.site)
    if query.diagnosis:
        statement = statement.where(PatientRow.diagnosis == query.diagnosis)
    return statement.order_by(PatientRow.code)


def filtered_codes(session: Session, viewer: Viewer, query: PatientQuery) -> list[str]:
    """The codes of every patient this viewer may see that the query admits, in list order
    (pseudonymised viewers: ordered by pseudonym). Site, diagnosis and search are SQL
    conditions with bound parameters; status and next-due come from one grouped query over
    the courses; the responder is computed only when asked for, and cached per patient."""
    query = query.checked()
    statement = _filtered(viewer, query)
    if not viewer.pseudonymised and query.search:
        statement = statement.where(
            PatientRow.code.ilike(f"%{_escape_like(query.search)}%", escape="\\")
        )
    rows: list[tuple[int, str]] = [(pid, code) for pid, code in session.execute(statement)]
    if viewer.pseudonymised:
        # Researchers search pseudonyms, never codes: a code search would reveal the mapping.
        needle = query.search.upper()
        aliased = sorted((pseudonym(code, viewer.pseudonym_key), pid, code) for pid, code in rows)
        rows = [(pid, code) for alias, pid, code in aliased if needle in alias]
    today = query.today or date.today()
    if query.status or query.due:
        states = course_states(session, [pid for pid, _ in rows], today)
        rows = [
            (pid, code)
            for pid, code in rows
            if (not query.status or states[pid].status == query.status)
            and (not query.due or due_matches(query.due, states[pid], today))
        ]
    if query.responder:
        found = trial_responders(session, [pid for pid, _ in rows])
        rows = [(pid, code) for pid, code in rows if responder_text(found[pid]) == query.responder]
    return [code for _, code in rows]


def list_patients(session: Session, viewer: Viewer, query: PatientQuery) -> PatientPage:
    """One page of the patients this viewer may see, as summaries (pseudonymised if needed)
    with their status, next course due and trial responder (see `clinic.list_filters`).

    Without a status, due or responder filter the page is cut in SQL (count, LIMIT/OFFSET);
    with one, the admitted codes are found first (`filtered_codes`). Either way the page is
    summarised from counts and one grouped query per column, without loading dossiers."""
    query = query.checked()
    start = (query.page - 1) * query.per_page
    ids: dict[str, int]
    if viewer.pseudonymised or query.status or query.due or query.responder:
        codes = filtered_codes(session, viewer, query)
        total, page_codes = len(codes), codes[start : start + query.per_page]
        chosen = select(PatientRow.code, PatientRow.id).where(PatientRow.code.in_(page_codes))
        ids = {code: pid for code, pid in session.execute(chosen)}
    else:
        statement = _filtered(viewer, query)
        if query.search:
            statement = statement.where(
                PatientRow.code.ilike(f"%{_escape_like(query.search)}%", escape="\\")
            )
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(session.scalar(counted) or 0)
        paged = statement.limit(query.per_page).offset(start)
        ids = {code: pid for pid, code in session.execute(paged)}
        page_codes = list(ids)
    today = query.today or date.today()
    states = course_states(session, ids.values(), today)
    responders = trial_responders(session, ids.values())
    items = [
        _listed(found, viewer)
        | state_facts(states[ids[found.patient.code]], responders[ids[found.patient.code]])
        for found in patient_listings(session, page_codes)
    ]
    if viewer.pseudonymised:
        items.sort(key=lambda item: item["code"])
    return PatientPage(items=items, total=total, page=query.page, per_page=query.per_page)


def _listed(found: PatientListing, viewer: Viewer) -> dict[str, Any]:
    patient = found.patient
    if viewer.pseudonymised:
        patient = pseudonymise_patient(patient, viewer.pseudonym_key)
    return listing_summary(
        patient,
        found.therapies,
        courses=found.courses,
        assessments=found.assessments,
        adverse_events=found.adverse_events,
        serious_adverse_events=found.serious_adverse_events,
    )


def visible_dossiers(
    session: Session, viewer: Viewer, query: PatientQuery | None = None
) -> list[r.PatientDossier]:
    """Every dossier this viewer may see that the query admits (CLI overview and exports)."""
    codes = filtered_codes(session, viewer, query or PatientQuery())
    return [shown(d, viewer) for d in load_dossiers(session, codes)]


def load_patient(session: Session, viewer: Viewer, code: str) -> r.PatientDossier:
    """One dossier, or RecordNotFoundError if it does not exist or the viewer may not see it."""
    return shown(stored_dossier(session, visible_code(session, viewer, code)), viewer)


def visible_code(session: Session, viewer: Viewer, code: str) -> str:
    """The clinic's code of a patient the viewer may see (a researcher names it by pseudonym);
    RecordNotFoundError otherwise."""
    statement = _visible(select(PatientRow.code), viewer)
    if viewer.pseudonymised:
        real = next(
            (c for c in session.scalars(statement) if pseudonym(c, viewer.pseudonym_key) == code),
            None,
        )
    else:
        real = session.scalar(statement.where(PatientRow.code == code))
    if real is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return str(real)


def course_infusion_days(
    session: Session, viewer: Viewer, code: str, course_number: int
) -> list[tuple[r.InfusionDay, int]]:
    """The recorded infusion days of one course with the version an edit must be saved
    against (pseudonymised for researchers); RecordNotFoundError for a patient the viewer may
    not see or a course that is not recorded."""
    real = visible_code(session, viewer, code)
    statement = (
        select(InfusionDayRow, CourseRow.course_number)
        .join(CourseRow, InfusionDayRow.course_id == CourseRow.id)
        .join(PatientRow, CourseRow.patient_id == PatientRow.id)
        .where(PatientRow.code == real, CourseRow.course_number == course_number)
        .order_by(InfusionDayRow.day_number)
    )
    rows = [row for row, _ in session.execute(statement)]
    course = session.scalar(
        select(CourseRow.id)
        .join(PatientRow, CourseRow.patient_id == PatientRow.id)
        .where(PatientRow.code == real, CourseRow.course_number == course_number)
    )
    if course is None:
        raise RecordNotFoundError(f"patient {code!r} has no course {course_number}")
    days = [(infusion_day_from_row(row, real), row.version) for row in rows]
    if not viewer.pseudonymised:
        return days
    alias = pseudonym(real, viewer.pseudonym_key)
    return [(_unnamed_day(day, alias), version) for day, version in days]


def _unnamed_day(day: r.InfusionDay, alias: str) -> r.InfusionDay:
    """An infusion day as a researcher sees it: under the pseudonym, without who gave it and
    without the free-text note."""
    return day.model_copy(update={"patient_code": alias, "note": None, "given_by": None})


def stored_dossier(session: Session, code: str, version: str | None = None) -> r.PatientDossier:
    """The stored dossier, kept per process under the record's version (`record_version`: one
    query, where loading takes a dozen and validates about a thousand records at 20 visits;
    a caller that has just read the version passes it). Any write to the record changes the
    version, from any process. Read-only: the same object is handed to every caller until the
    record changes."""
    version = version or record_version(session, code)
    if version is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return DOSSIERS.get(
        ("dossier", code, version),
        lambda: STORED_DIGESTS.remember(load_dossier(session, code)),
    )


def shown(dossier: r.PatientDossier, viewer: Viewer) -> r.PatientDossier:
    return pseudonymise(dossier, viewer.pseudonym_key) if viewer.pseudonymised else dossier


def pseudonymise(dossier: r.PatientDossier, key: bytes) -> r.PatientDossier:
    """The dossier without what identifies a person: code replaced, birth year, free-text notes,
    sources, assessor names and the names of who gave an infusion removed. Dates of visits and
    courses stay (the timeline needs them); ages at entry stay (they are not dates of birth)."""
    alias = pseudonym(dossier.patient.code, key)
    same = {"patient_code": alias}
    no_note = {**same, "note": None}
    return r.PatientDossier.model_construct(
        patient=pseudonymise_patient(dossier.patient, key),
        therapies=[t.model_copy(update=no_note) for t in dossier.therapies],
        courses=[c.model_copy(update=no_note) for c in dossier.courses],
        assessments=[
            a.model_copy(update={**no_note, "assessor": None}) for a in dossier.assessments
        ],
        labs=[lab.model_copy(update=same) for lab in dossier.labs],
        adverse_events=[e.model_copy(update=no_note) for e in dossier.adverse_events],
        reported_outcome=(
            dossier.reported_outcome.model_copy(update={**no_note, "source": "pseudonymised"})
            if dossier.reported_outcome
            else None
        ),
        infusion_days=[_unnamed_day(d, alias) for d in dossier.infusion_days],
    )


def pseudonymise_patient(patient: r.Patient, key: bytes) -> r.Patient:
    """The patient under a pseudonym, without birth year, note or source; a generated patient
    stays labelled as such (only the SYNTHETIC marker of its source is kept)."""
    source = SYNTHETIC_SOURCE_PREFIX if is_synthetic(patient) else None
    update = {"code": pseudonym(patient.code, key), "birth_year": None, "note": None}
    return patient.model_copy(update={**update, "source": source})


# --- the patient timeline --------------------------------------------------------------------


def _core(assessment: r.Assessment, measure: CoreSetMeasure) -> float | None:
    return next((numeric(v.value) for v in assessment.core_set if v.measure is measure), None)


def _ck_times_uln(assessment: r.Assessment) -> float | None:
    for e in assessment.enzymes:
        value = numeric(e.value_u_per_l)
        if e.enzyme is Enzyme.CK and value is not None and e.uln_u_per_l:
            return value / e.uln_u_per_l
    return None


def _mean_force(assessment: r.Assessment) -> float | None:
    forces = site_forces(assessment.myometry)
    return mean_force(forces) if forces else None


def _force_by_group(visits: list[r.Assessment]) -> dict[str, list[float | None]]:
    """Force per muscle group and side at each visit (every group measured, not only the trial's
    four), like the per-group panel of the trial paper's figure for its patient 10."""
    per_visit = [site_forces(a.myometry, tuple(MuscleGroup)) for a in visits]
    measured = sorted(
        {site for forces in per_visit for site in forces},
        key=lambda site: (list(MuscleGroup).index(site[0]), site[1].value),
    )
    return {
        f"{group.value.replace('_', ' ')} ({side.value})": [f.get((group, side)) for f in per_visit]
        for group, side in measured
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def patient_timeline(dossier: r.PatientDossier) -> dict[str, Any]:
    """Series for the patient page's charts: mean myometry force (trial muscle groups, N), MMT-8
    total, CK as a multiple of its upper limit, force per muscle group and side, IVIg courses as
    date spans with their dose, and adverse events as dated marks. Values not performed or not
    recorded are left as gaps."""
    visits = sorted(dossier.assessments, key=lambda a: a.assessment_date)
    courses = [
        {
            "number": c.course_number,
            "start": _iso(c.start_date),
            "end": _iso(c.start_date + timedelta(days=c.days - 1)),
            "daily_dose_g": c.given_daily_dose_g or c.planned_daily_dose_g,
            "days": c.days,
            "product": c.product,
        }
        for c in dossier.courses
        if c.start_date is not None
    ]
    return {
        "dates": [a.assessment_date.isoformat() for a in visits],
        "phases": [a.phase.value for a in visits],
        "mean_force_n": [_mean_force(a) for a in visits],
        "mmt8": [_core(a, CoreSetMeasure.MMT8) for a in visits],
        "ck_times_uln": [_ck_times_uln(a) for a in visits],
        "force_by_group": _force_by_group(visits),
        "courses": courses,
        "courses_without_dates": sum(1 for c in dossier.courses if c.start_date is None),
        "adverse_events": [
            {"date": _iso(e.onset_date), "term": e.term, "serious": e.serious}
            for e in dossier.adverse_events
            if e.onset_date is not None
        ],
    }


def visit_criteria(dossier: r.PatientDossier) -> dict[str, Any]:
    """The outcome criteria at each treatment/follow-up visit, each computed by the outcomes
    engine (`patient_outcomes`) from the run-in and the visits up to that date: myometry change
    with its paired t test, MRC and functional rules, CK change, the trial's responder rule,
    the ACR/EULAR TIS (with bounds when measures are missing) and the IMACS DOI; plus the run-in
    baselines and the ProDERM confirmed-deterioration check over all visits."""
    code, diagnosis = dossier.patient.code, dossier.patient.diagnosis
    visits = sorted(dossier.assessments, key=lambda a: a.assessment_date)
    rows = []
    for visit in visits:
        if visit.phase is Phase.RUN_IN:
            continue
        upto = [a for a in visits if a.assessment_date <= visit.assessment_date]
        latest = patient_outcomes(code, diagnosis, upto)["latest"]
        if latest is not None:
            rows.append(latest)
    overall = patient_outcomes(code, diagnosis, visits)
    return {
        "visits": rows,
        "run_in": overall["run_in"],
        "run_in_assessments": overall["run_in_assessments"],
        "proderm": overall.get("proderm_deterioration"),
        "note": overall.get("note"),
    }


@dataclass(frozen=True)
class PatientViews:
    """The patient page's charts and criteria panel (read-only: they may be shared)."""

    timeline: dict[str, Any]
    criteria: dict[str, Any]


def patient_views(dossier: r.PatientDossier) -> PatientViews:
    """`patient_timeline` and `visit_criteria`, computed once per content of the dossier (see
    `derived_cache`: a changed record has another digest, so it is computed again)."""
    return DERIVED.get(
        ("patient_views", dossier_digest(dossier)),
        lambda: PatientViews(patient_timeline(dossier), visit_criteria(dossier)),
    )
