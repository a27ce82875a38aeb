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
from myoivig.protocol.inputs import PlanFields
from myoivig.reports.infusion import SheetBlocked, SheetRequest, infusion_context
from myoivig.reports.patient import dossier_context
from myoivig.reports.render import ReportFile, ReportFormat, report_file
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


class SheetNotApproved(Exception):
    """The plan is not blocked (or its blocks are overridden) but no pharmacist has marked this
    very plan ready to give: the web hands a nurse a sheet only for an approved plan."""

    def __init__(self, blocking_codes: tuple[str, ...]) -> None:
        self.explanation = (
            "No pharmacist has marked this plan ready to give"
            + (f" (blocked by {', '.join(blocking_codes)})" if blocking_codes else "")
            + ". A pharmacist reviews and approves it on the dose planner page first. "
            "No sheet was made"
        )
        super().__init__(self.explanation)


def approved_infusion_sheet(
    store: Store,
    viewer: Viewer,
    request: SheetRequest,
    fmt: ReportFormat,
    entered: PlanFields,
) -> ReportFile:
    """The infusion sheet for the web: as `infusion_sheet`, and only for the plan a pharmacist
    approved (the same plan digest the printable sheet page checks); else SheetNotApproved."""
    from myoivig.protocol.service import review_entered

    reviewed = review_entered(store, request.code, entered, viewer)
    if not reviewed.ready_to_give:
        raise SheetBlocked(reviewed.outcome)
    if not reviewed.approved:
        raise SheetNotApproved(tuple(reviewed.outcome.blocking_codes))
    return infusion_sheet(store, viewer, request, fmt, entered.dated().start_date)


def cohort_report(
    store: Store, viewer: Viewer, trajectory_patient: str | None, fmt: ReportFormat
) -> ReportFile:
    """The cohort report over the patients the viewer may see (pseudonyms for a researcher)."""
    with store.session() as session:
        dossiers = visible_dossiers(session, viewer)
    from myoivig.reports.cohort import dossiers_context  # matplotlib: loaded when drawn

    context = dossiers_context(dossiers, trajectory_patient, viewer.pseudonymised)
    return report_file("cohort.html", context, fmt, "cohort-report")


def review_report(store: Store, name: str, fmt: ReportFormat) -> ReportFile:
    """The review report of a stored review (no patient data in it)."""
    from myoivig.reports.review import review_context  # pandas: loaded when a report is made

    return report_file("review.html", review_context(store, name), fmt, f"review-report-{name}")
