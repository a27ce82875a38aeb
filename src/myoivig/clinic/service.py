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

from myoivig.clinic.derived_cache import DERIVED, DOSSIERS, dossier_digest
from myoivig.clinic.overview import listing_summary
from myoivig.domain import records as r
from myoivig.domain.vocab import CoreSetMeasure, Diagnosis, Enzyme, MuscleGroup, Phase
from myoivig.outcomes.myometry import mean_force, site_forces
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.outcomes.record_shapes import numeric
from myoivig.store.repository import (
    PatientListing,
    RecordNotFoundError,
    load_dossier,
    load_dossiers,
    patient_listings,
    record_version,
)
from myoivig.store.tables import PatientRow, SiteRow

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
    """Search (part of the code), filters and page of a patient list."""

    search: str = ""
    site: str | None = None
    diagnosis: str | None = None
    page: int = 1
    per_page: int = 25

    def checked(self) -> PatientQuery:
        if self.diagnosis and self.diagnosis not in {d.value for d in Diagnosis}:
            raise QueryError(f"diagnosis: {self.diagnosis!r} is not a known diagnosis")
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
    statement = _visible(select(PatientRow.code), viewer)
    if query.site:
        statement = statement.where(SiteRow.site_code == query.site)
    if query.diagnosis:
        statement = statement.where(PatientRow.diagnosis == query.diagnosis)
    return statement.order_by(PatientRow.code)


def list_patients(session: Session, viewer: Viewer, query: PatientQuery) -> PatientPage:
    """One page of the patients this viewer may see, as summaries (pseudonymised if needed).

    The page is cut in SQL (count, LIMIT/OFFSET) and summarised from counts, without loading
    dossiers; only pseudonyms are searched and ordered in Python (they are not stored)."""
    query = query.checked()
    statement = _filtered(viewer, query)
    start = (query.page - 1) * query.per_page
    if viewer.pseudonymised:
        # Researchers search pseudonyms, never codes: a code search would reveal the mapping.
        aliases = sorted(
            (pseudonym(code, viewer.pseudonym_key), code) for code in session.scalars(statement)
        )
        needle = query.search.upper()
        codes = [code for alias, code in aliases if needle in alias]
        total, page_codes = len(codes), codes[start : start + query.per_page]
    else:
        if query.search:
            statement = statement.where(
                PatientRow.code.ilike(f"%{_escape_like(query.search)}%", escape="\\")
            )
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(session.scalar(counted) or 0)
        page_codes = list(session.scalars(statement.limit(query.per_page).offset(start)))
    items = [_listed(found, viewer) for found in patient_listings(session, page_codes)]
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


def visible_dossiers(session: Session, viewer: Viewer) -> list[r.PatientDossier]:
    """Every dossier this viewer may see (for the CLI overview and exports)."""
    codes = list(session.scalars(_filtered(viewer, PatientQuery())))
    return [shown(d, viewer) for d in load_dossiers(session, codes)]


def load_patient(session: Session, viewer: Viewer, code: str) -> r.PatientDossier:
    """One dossier, or RecordNotFoundError if it does not exist or the viewer may not see it."""
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
    return shown(stored_dossier(session, real), viewer)


def stored_dossier(session: Session, code: str) -> r.PatientDossier:
    """The stored dossier, kept per process under the record's version (`record_version`: one
    query, where loading takes a dozen and validates about a thousand records at 20 visits).
    Any write to the record changes the version, from any process. Read-only: the same object
    is handed to every caller until the record changes."""
    version = record_version(session, code)
    if version is None:
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return DOSSIERS.get(("dossier", code, version), lambda: load_dossier(session, code))


def shown(dossier: r.PatientDossier, viewer: Viewer) -> r.PatientDossier:
    return pseudonymise(dossier, viewer.pseudonym_key) if viewer.pseudonymised else dossier


def pseudonymise(dossier: r.PatientDossier, key: bytes) -> r.PatientDossier:
    """The dossier without what identifies a person: code replaced, birth year, free-text notes,
    sources and assessor names removed. Dates of visits and courses stay (the timeline needs
    them); ages at entry stay (they are not dates of birth)."""
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
    )


def pseudonymise_patient(patient: r.Patient, key: bytes) -> r.Patient:
    """The patient under a pseudonym, without birth year, note or source."""
    update = {"code": pseudonym(patient.code, key), "birth_year": None, "note": None}
    return patient.model_copy(update={**update, "source": None})


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
