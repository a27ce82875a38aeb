"""Screening pages: one record at a time for a reviewer, the progress panel, and conflicts with
Cohen's kappa for the third reviewer. Rules live in review.service and review.screening."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import Role
from myoivig.review import fulltexts, service
from myoivig.review.repository import ReviewStateError
from myoivig.review.screening.events import ScreeningError, Stage, Verdict, parse_stage
from myoivig.review.screening.live import LiveRankings
from myoivig.web.auth import Caller, require, store_of
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Screener = Annotated[Caller, Depends(require(Role.REVIEWER, Role.ADMIN))]
StageQuery = Annotated[str, Query(max_length=16)]


def _rankings(request: Request) -> LiveRankings:
    rankings: LiveRankings = request.app.state.rankings
    return rankings


def _problem(request: Request, caller: Caller, status: int, title: str, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"caller": caller, "title": title, "message": message},
        status_code=status,
    )


def _refusal(request: Request, caller: Caller, review: str, error: Exception) -> Response:
    if isinstance(error, ReviewStateError):
        return _problem(request, caller, 404, "No such review", str(error))
    return _problem(request, caller, 403, "Not allowed", str(error))


def _verdict(text: str) -> Verdict:
    try:
        return Verdict(text)
    except ValueError:
        raise ScreeningError(f"verdict: unknown value {text!r}") from None


def _screen_url(review: str, stage: Stage, **extra: str) -> str:
    query = urlencode({"stage": stage.value, **{k: v for k, v in extra.items() if v}})
    return f"/reviews/{review}/screen?{query}"


@router.get("/reviews/{review}/screen")
def screen_page(
    request: Request,
    caller: Screener,
    review: str,
    stage: StageQuery = "title_abstract",
    record: Annotated[str, Query(max_length=200)] = "",
    skip: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    store = store_of(request)
    name = caller.user.name
    try:
        stage_value = parse_stage(stage)
        skipped = tuple(s for s in skip.split(",") if s)
        page = service.screening_page(
            store,
            review,
            name,
            stage_value,
            _rankings(request),
            record_id=record or None,
            skipped=skipped,
        )
        fulltext = (  # the full-text stage shows the report's PDF, when one is attached
            fulltexts.fulltext_info(store, review, page.shown.record.record_id)
            if page.shown.record is not None and stage_value is Stage.FULL_TEXT
            else None
        )
    except (ScreeningError, ReviewStateError) as problem:
        return _refusal(request, caller, review, problem)
    shown, progress = page.shown, page.progress
    curve = {"screened": progress.curve_screened, "relevant": progress.curve_relevant}
    return templates.TemplateResponse(
        request,
        "screen.html",
        {
            "caller": caller,
            "review": review,
            "shown": shown,
            "progress": progress,
            "curve_json": json.dumps(curve),
            "skip": ",".join(skipped),
            "next_url": _screen_url(
                review,
                stage_value,
                skip=",".join([*skipped, shown.record.record_id] if shown.record else skipped),
            ),
            "undo_url": f"/reviews/{review}/undo?stage={stage_value.value}",
            "error": error,
            "fulltext": fulltext,
            "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        },
    )


@router.post("/reviews/{review}/screen")
def screen_decision(
    request: Request,
    caller: Screener,
    review: str,
    record_id: Annotated[str, Form(max_length=200)],
    verdict: Annotated[str, Form(max_length=16)],
    stage: Annotated[str, Form(max_length=16)] = "title_abstract",
    reason: Annotated[str, Form(max_length=200)] = "",
    skip: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    store = store_of(request)
    try:
        stage_value = parse_stage(stage)
    except ScreeningError as problem:
        return _problem(request, caller, 400, "Unknown stage", str(problem))
    try:
        chosen = _verdict(verdict)
        service.screen_record(  # refuses a user who is not a screener of the review
            store,
            review,
            reviewer=caller.user.name,
            stage=stage_value,
            record_id=record_id,
            verdict=chosen,
            reason=reason or None,
            rankings=_rankings(request),
        )
    except ReviewStateError as problem:
        return _refusal(request, caller, review, problem)
    except ScreeningError as problem:
        target = _screen_url(review, stage_value, record=record_id, error=str(problem), skip=skip)
        return RedirectResponse(target, status_code=303)
    remaining = ",".join(s for s in skip.split(",") if s and s != record_id)
    return RedirectResponse(_screen_url(review, stage_value, skip=remaining), status_code=303)


@router.get("/reviews/{review}/undo")
def undo(
    request: Request, caller: Screener, review: str, stage: StageQuery = "title_abstract"
) -> Response:
    """Re-open the reviewer's latest decision that may still change (the record is incomplete)."""
    store = store_of(request)
    try:
        stage_value = parse_stage(stage)
        service.require_screener(store, review, caller.user.name)
        last = service.last_own_decision(store, review, caller.user.name, stage_value)
    except (ScreeningError, ReviewStateError) as problem:
        return _refusal(request, caller, review, problem)
    if last is None:
        message = "nothing to undo: your last decision is final (the record is complete)"
        return RedirectResponse(_screen_url(review, stage_value, error=message), status_code=303)
    return RedirectResponse(_screen_url(review, stage_value, record=last), status_code=303)


@router.get("/reviews/{review}/conflicts")
def conflicts_page(
    request: Request,
    caller: Screener,
    review: str,
    stage: StageQuery = "title_abstract",
    error: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    store = store_of(request)
    try:
        stage_value = parse_stage(stage)
        conflicts = service.conflicts_for_resolver(store, review, stage_value, caller.user.name)
        pairs = service.kappa_table(store, review)
    except (ScreeningError, ReviewStateError) as problem:
        return _refusal(request, caller, review, problem)
    return templates.TemplateResponse(
        request,
        "conflicts.html",
        {
            "caller": caller,
            "review": review,
            "stage": stage_value,
            "conflicts": conflicts,
            "pairs": pairs,
            "error": error,
        },
    )


@router.post("/reviews/{review}/conflicts")
def resolve(
    request: Request,
    caller: Screener,
    review: str,
    record_id: Annotated[str, Form(max_length=200)],
    verdict: Annotated[str, Form(max_length=16)],
    stage: Annotated[str, Form(max_length=16)] = "title_abstract",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    store = store_of(request)
    try:
        stage_value = parse_stage(stage)
        chosen = _verdict(verdict)
        service.screen_record(
            store,
            review,
            reviewer=caller.user.name,
            stage=stage_value,
            record_id=record_id,
            verdict=chosen,
            reason=reason or None,
            resolution=True,
        )
    except ReviewStateError as problem:
        return _refusal(request, caller, review, problem)
    except ScreeningError as problem:
        query = urlencode({"stage": stage, "error": str(problem)})
        return RedirectResponse(f"/reviews/{review}/conflicts?{query}", status_code=303)
    return RedirectResponse(f"/reviews/{review}/conflicts?stage={stage_value.value}", 303)
