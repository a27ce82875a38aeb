"""JSON API for patients: what the caller may see, and one dossier (404 when not theirs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from myoivig.accounts.roles import READS_PATIENTS
from myoivig.clinic.service import PatientQuery, QueryError, list_patients
from myoivig.domain import records as r
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.patient_page import patient_document

router = APIRouter(tags=["patients"])
Reader = Annotated[Caller, Depends(require(*sorted(READS_PATIENTS)))]


@router.get("/patients", response_model=dict[str, Any])
def api_patient_list(
    caller: Reader,
    session: ReadSession,
    search: Annotated[str, Query(max_length=64)] = "",
    site: Annotated[str | None, Query(max_length=64)] = None,
    diagnosis: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[
        str | None, Query(max_length=64, description="run_in, on_ivig, stopped or undated")
    ] = None,
    responder: Annotated[
        str | None,
        Query(
            max_length=64,
            description="yes, no or undetermined: the trial's responder rule at the latest visit",
        ),
    ] = None,
    due: Annotated[
        str | None,
        Query(
            max_length=64,
            description="overdue, or N: the next course is due within N days (0-365)",
        ),
    ] = None,
) -> Response:
    """The patients the caller may see (pseudonymised for researchers), one page at a time,
    each with its status, next course due and trial responder; an unknown filter value is 422
    naming the parameter and the value."""
    query = PatientQuery(
        search, site, diagnosis, page, per_page, status=status, responder=responder, due=due
    )
    try:
        result = list_patients(session, caller.viewer, query)
    except QueryError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    # The answer is made here, in the request thread, while the read session is open; left to
    # FastAPI, checking it against the return type would wait for another request thread with
    # the session's connection still held (30 s pool timeouts under load, see web.auth).
    answer = {
        "items": result.items,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
    }
    return JSONResponse(answer)  # plain str, number, bool and list values (`listing_summary`)


@router.get("/patients/{code}", response_model=r.PatientDossier)
def api_patient(
    caller: Reader, session: ReadSession, store: Annotated[Store, Depends(store_of)], code: str
) -> Response:
    """One dossier; 404 both for an unknown code and for a patient the caller may not see."""
    try:
        document, _ = patient_document(store, session, caller.viewer, code)
    except RecordNotFoundError as error:
        raise HTTPException(status_code=404, detail=f"no patient {code!r}") from error
    # Serialised by pydantic-core in one pass and kept under the record's version
    # (`web.patient_page.patient_document`): FastAPI's generic encoder walked the ~1,000
    # records of a 20-visit dossier in Python and took most of the request's time.
    return Response(document, media_type="application/json")
