"""Research pages: the 1998 trial's analyses for the stored cohort, filtered, with downloads.

The numbers come from `myoivig.outcomes.service.research_view` (what `myoivig cohort table` and
`cohort summary` call); the patients come through the clinic's viewer, so a researcher sees
pseudonyms only and the downloads hold exactly the tables the page shows.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from myoivig.accounts.roles import Role
from myoivig.clinic.service import visible_dossiers
from myoivig.domain.vocab import Diagnosis
from myoivig.outcomes.service import (
    EXPORT_FORMATS,
    CohortFilter,
    CohortFilterError,
    research_tables,
    research_view,
)
from myoivig.store.repository import list_sites
from myoivig.web.auth import Caller, ReadSession, require
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Researcher = Annotated[Caller, Depends(require(Role.ADMIN, Role.RESEARCHER))]
Text = Annotated[str, Query(max_length=64)]


def _filter(site: str, diagnosis: str, start: str, end: str) -> CohortFilter:
    def day(text: str, label: str) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError as err:
            raise CohortFilterError(f"{label} {text!r}: not a date (YYYY-MM-DD)") from err

    return CohortFilter(
        site or None, diagnosis or None, day(start, "period from"), day(end, "period to")
    ).checked()


def _query(wanted: CohortFilter) -> str:
    parts = {
        "site": wanted.site or "",
        "diagnosis": wanted.diagnosis or "",
        "start": wanted.start.isoformat() if wanted.start else "",
        "end": wanted.end.isoformat() if wanted.end else "",
    }
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in parts.items() if v})


@router.get("/research")
def research_page(
    request: Request,
    caller: Researcher,
    session: ReadSession,
    site: Text = "",
    diagnosis: Text = "",
    start: Text = "",
    end: Text = "",
) -> Response:
    context: dict[str, Any] = {
        "caller": caller,
        "sites": [s.site_code for s in list_sites(session)],
        "diagnoses": [d.value for d in Diagnosis],
        "chosen": {"site": site, "diagnosis": diagnosis, "start": start, "end": end},
        "formats": list(EXPORT_FORMATS),
    }
    try:
        wanted = _filter(site, diagnosis, start, end)
    except CohortFilterError as err:
        context["error"] = str(err)
        return templates.TemplateResponse(request, "research.html", context, status_code=422)
    view = research_view(
        visible_dossiers(session, caller.viewer), wanted, caller.viewer.pseudonymised
    )
    tables = research_tables(view)
    context |= {
        "view": view,
        "s": view.summary,
        "tables": {
            name: frame.astype(object).where(frame.notna(), None).to_dict("records")
            for name, frame in tables.items()
        },
        "query": _query(wanted),
    }
    return templates.TemplateResponse(request, "research.html", context)


@router.get("/research/export")
def research_export(
    caller: Researcher,
    session: ReadSession,
    fmt: Annotated[str, Query(max_length=8)] = "csv",
    part: Text = "table",
    site: Text = "",
    diagnosis: Text = "",
    start: Text = "",
    end: Text = "",
) -> Response:
    from myoivig.outcomes.service import export_research

    try:
        wanted = _filter(site, diagnosis, start, end)
        if fmt not in EXPORT_FORMATS:
            raise CohortFilterError(f"format {fmt!r}: use {', '.join(EXPORT_FORMATS)}")
        view = research_view(
            visible_dossiers(session, caller.viewer), wanted, caller.viewer.pseudonymised
        )
        body = export_research(research_tables(view), fmt, part)
    except CohortFilterError as err:
        return Response(str(err), status_code=422, media_type="text/plain")
    name = f"cohort-{'all' if fmt == 'xlsx' else part}.{fmt}"
    return Response(
        body,
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
