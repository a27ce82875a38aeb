"""Reports as downloads for a signed-in viewer: the web pages' entry to the same builders and
templates `myoivig report …` uses.

Each function loads only what the viewer may see (the clinic's `load_patient` and
`visible_dossiers`: own sites, pseudonyms for a researcher), builds the report's content with the
CLI's builder and renders it. The infusion sheet keeps the CLI's safety rule: a blocked plan
without its recorded overrides raises `SheetBlocked` and nothing is rendered.
"""

from __future__ import annotations

from datetime import date

from myoivig.clinic.service import Viewer, load_patient, visible_dossiers
from myoivig.reports.cohort import dossiers_context
from myoivig.reports.infusion import SheetRequest, infusion_context
from myoivig.reports.patient import dossier_context
from myoivig.reports.render import ReportFile, ReportFormat, report_file
from myoivig.reports.review import review_context
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError


def patient_report(
    store: Store, viewer: Viewer, code: str, fmt: ReportFormat, today: date | None = None
) -> ReportFile:
    """The patient report of a patient the viewer may see (a researcher names the pseudonym
    and gets the pseudonymised report); RecordNotFoundError otherwise."""
    with store.session() as session:
        dossier = load_patient(session, viewer, code)
    context = dossier_context(dossier, today)
    return report_file("patient.html", context, fmt, f"patient-report-{dossier.patient.code}")


def infusion_sheet(
    store: Store,
    viewer: Viewer,
    request: SheetRequest,
    fmt: ReportFormat,
    today: date | None = None,
) -> ReportFile:
    """The infusion sheet of one day of the next course, as `myoivig report infusion` makes it;
    raises SheetBlocked for a blocked plan without recorded overrides, RecordNotFoundError for a
    patient the viewer may not see (pseudonymised viewers plan no doses)."""
    with store.session() as session:
        if viewer.pseudonymised:
            raise RecordNotFoundError(f"no patient with code {request.code!r}")
        load_patient(session, viewer, request.code)
    context = infusion_context(store, request, today)
    stem = f"infusion-sheet-{request.code}-course-{context['course']}-day-{request.day}"
    return report_file("infusion.html", context, fmt, stem)


def cohort_report(
    store: Store, viewer: Viewer, trajectory_patient: str | None, fmt: ReportFormat
) -> ReportFile:
    """The cohort report over the patients the viewer may see (pseudonyms for a researcher)."""
    with store.session() as session:
        dossiers = visible_dossiers(session, viewer)
    context = dossiers_context(dossiers, trajectory_patient, viewer.pseudonymised)
    return report_file("cohort.html", context, fmt, "cohort-report")


def review_report(store: Store, name: str, fmt: ReportFormat) -> ReportFile:
    """The review report of a stored review (no patient data in it)."""
    return report_file("review.html", review_context(store, name), fmt, f"review-report-{name}")
