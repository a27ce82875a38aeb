"""Report downloads (HTML or PDF): patient report, infusion sheet, cohort report, review report.

Each route reads its options and calls `myoivig.reports.downloads`, which builds the report
with the same functions and templates as `myoivig report …` for what the caller may see. A
blocked infusion plan gives a refusal page listing the blocking alerts (409), never a sheet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from myoivig.accounts.roles import PLANS_DOSES, READS_PATIENTS, Role
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.inputs import PlanFields
from myoivig.protocol.service import patient_options
from myoivig.protocol.settings_file import load_settings
from myoivig.reports import downloads
from myoivig.reports.infusion import SheetBlocked, SheetRequest
from myoivig.reports.render import ReportError, ReportFile, ReportFormat, ReportNotFoundError
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, require, store_of
from myoivig.web.routes.patients import no_such_patient
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(require(*sorted(READS_PATIENTS)))]
Planner = Annotated[Caller, Depends(require(*sorted(PLANS_DOSES)))]
Researcher = Annotated[Caller, Depends(require(Role.ADMIN, Role.RESEARCHER))]
Reviewer = Annotated[Caller, Depends(require(Role.ADMIN, Role.REVIEWER))]
Format = Annotated[str, Query(alias="format", max_length=8)]
REPORT_KEYS = {"format", "course_number", "day"}  # the sheet's own options; the rest plan


def _download(report: ReportFile) -> Response:
    return Response(
        report.body,
        media_type=report.media_type,
        headers={"Content-Disposition": f'attachment; filename="{report.name}"'},
    )


def _refused(request: Request, caller: Caller, status: int, title: str, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "report_refused.html",
        {"caller": caller, "title": title, "message": message, "alerts": []},
        status_code=status,
    )


def _format(text: str) -> ReportFormat:
    try:
        return ReportFormat(text)
    except ValueError:
        raise ReportError(f"format {text!r}: use pdf or html") from None


@router.get("/patients/{code}/report")
def patient_report(request: Request, caller: Reader, code: str, fmt: Format = "pdf") -> Response:
    try:
        report = downloads.patient_report(store_of(request), caller.viewer, code, _format(fmt))
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except ReportError as err:
        return _refused(request, caller, 422, "No patient report", str(err))
    return _download(report)


def _positive(text: str | None, label: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ReportError(f"{label} {text!r}: a whole number from 1")
    return int(text)


@router.get("/patients/{code}/plan/report")
def infusion_sheet(request: Request, caller: Planner, code: str) -> Response:
    """The infusion sheet of one day of the next course, with the planner's options."""
    query = request.query_params
    pairs = [(k, v) for k, v in query.multi_items() if k not in REPORT_KEYS]
    try:
        fmt = _format(query.get("format", "pdf"))
        day = _positive(query.get("day"), "day")
        if day is None:
            raise ReportError("day: choose the infusion day of the course (1, 2, ...)")
        entered = PlanFields.from_form(pairs)
        fields = entered.dated()
        sheet = SheetRequest(
            code,
            _positive(query.get("course_number"), "course_number"),
            day,
            patient_options(fields),
            fields.settings(load_settings()),
        )
        report = downloads.approved_infusion_sheet(
            store_of(request), caller.viewer, sheet, fmt, entered
        )
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    except SheetBlocked as blocked:
        return templates.TemplateResponse(
            request,
            "report_refused.html",
            {
                "caller": caller,
                "title": "No infusion sheet: NOT READY TO GIVE",
                "message": blocked.explanation,
                "alerts": blocked.outcome.blocking_alerts,
                "code": code,
            },
            status_code=409,
        )
    except downloads.SheetNotApproved as waiting:
        return _refused(request, caller, 409, "No infusion sheet", waiting.explanation)
    except (ReportError, ProtocolError) as err:
        return _refused(request, caller, 422, "No infusion sheet", str(err))
    return _download(report)


@router.get("/research/report")
def cohort_report(
    request: Request,
    caller: Researcher,
    fmt: Format = "pdf",
    trajectory: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    try:
        report = downloads.cohort_report(
            store_of(request), caller.viewer, trajectory or None, _format(fmt)
        )
    except ReportNotFoundError as err:
        return _refused(request, caller, 404, "No cohort report", str(err))
    except ReportError as err:
        return _refused(request, caller, 422, "No cohort report", str(err))
    return _download(report)


@router.get("/prisma/{review}/report")
def review_report(request: Request, caller: Reviewer, review: str, fmt: Format = "pdf") -> Response:
    try:
        report = downloads.review_report(store_of(request), review, _format(fmt))
    except ReportNotFoundError as err:
        return _refused(request, caller, 404, "No such review", str(err))
    except ReportError as err:
        return _refused(request, caller, 422, "No review report", str(err))
    return _download(report)
