"""Patient pages: the searchable list and one patient's page with the timeline chart."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from myoivig.accounts.roles import READS_PATIENTS
from myoivig.clinic.list_filters import RESPONDER_VALUES, STATUSES
from myoivig.clinic.overview import ABBREVIATIONS
from myoivig.clinic.service import (
    PatientQuery,
    QueryError,
    list_patients,
)
from myoivig.domain.vocab import Diagnosis
from myoivig.store.repository import RecordNotFoundError, list_sites
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.patient_page import patient_page as built_patient_page
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(require(*sorted(READS_PATIENTS)))]
PER_PAGE = 25


@router.get("/patients")
def patient_list(
    request: Request,
    caller: Reader,
    session: ReadSession,
    search: Annotated[str, Query(max_length=64)] = "",
    site: Annotated[str, Query(max_length=64)] = "",
    diagnosis: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: Annotated[str, Query(max_length=64)] = "",
    responder: Annotated[str, Query(max_length=64)] = "",
    due: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    query = PatientQuery(
        search,
        site or None,
        diagnosis or None,
        page,
        PER_PAGE,
        status=status or None,
        responder=responder or None,
        due=due or None,
    )
    error = None
    try:
        result = list_patients(session, caller.viewer, query)
    except QueryError as problem:
        error = str(problem)
        result = list_patients(session, caller.viewer, PatientQuery(per_page=PER_PAGE))
    sites = [
        s
        for s in list_sites(session)
        if caller.user.all_sites or s.site_code in caller.user.site_codes
    ]
    partial = request.headers.get("hx-request") == "true"
    return templates.TemplateResponse(
        request,
        "patients_table.html" if partial else "patients.html",
        {
            "caller": caller,
            "result": result,
            "query": query,
            "error": error,
            "sites": sites,
            "diagnoses": [d.value for d in Diagnosis],
            "statuses": STATUSES,
            "today": date.today().isoformat(),
            "responders": RESPONDER_VALUES,
            "abbreviations": ABBREVIATIONS,
        },
        status_code=422 if error else 200,
    )


def no_such_patient(request: Request, caller: Caller, code: str) -> Response:
    """The 404 page, the same for an unknown code and for a patient the caller may not see."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "caller": caller,
            "title": "No such patient",
            "message": f"There is no patient {code!r} that you may see.",
        },
        status_code=404,
    )


@router.get("/patients/{code}")
def patient_page(request: Request, caller: Reader, session: ReadSession, code: str) -> Response:
    try:
        page = built_patient_page(store_of(request), session, caller.viewer, caller.user.role, code)
    except RecordNotFoundError:
        return no_such_patient(request, caller, code)
    return templates.TemplateResponse(
        request, "patient.html", {"caller": caller, "code": page.code, "body": page.body}
    )
