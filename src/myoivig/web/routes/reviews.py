"""Review projects: the list of reviews, a new review from a protocol form, a review's page with
its imports, and uploads imported as background jobs whose progress the page polls.

Rules live in `review.projects` (shared with the CLI's protocol and import commands); these
handlers read the request, call it and render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import Role
from myoivig.jobs import JobRunner, JobState
from myoivig.review import appraising, duplicates, extracting, fulltexts, projects
from myoivig.review.appraisal import AppraisalError, grade, nos, robins_i
from myoivig.review.dedup.merges import MergeError
from myoivig.review.extraction import ExtractionError
from myoivig.review.importers import SUPPORTED_FORMATS
from myoivig.review.names import ReviewNotFoundError, ReviewStateError
from myoivig.review.search import run_search_job
from myoivig.web.auth import Caller, require, settings_of, store_of
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Caller, Depends(require(Role.ADMIN, Role.REVIEWER))]
PROTOCOL_FIELDS = (
    "name",
    "title",
    "population",
    "intervention",
    "comparator",
    "outcomes",
    "sources",
    "date_from",
    "date_to",
    "languages",
    "inclusion_criteria",
    "exclusion_criteria",
    "exclusion_reasons",
    "reviewers",
    "reviewers_per_record",
)


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def _not_found(request: Request, caller: Caller, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"caller": caller, "title": "No such review", "message": message},
        status_code=404,
    )


@router.get("/reviews")
def review_list(request: Request, caller: Reviewer) -> Response:
    store = store_of(request)
    return templates.TemplateResponse(
        request, "reviews.html", {"caller": caller, "reviews": projects.review_summaries(store)}
    )


def _new_form(
    request: Request, caller: Caller, values: dict[str, str], error: str | None, status: int
) -> Response:
    return templates.TemplateResponse(
        request,
        "review_new.html",
        {
            "caller": caller,
            "values": values,
            "error": error,
            "accounts": sorted(projects.reviewer_accounts(store_of(request))),
        },
        status_code=status,
    )


@router.get("/reviews/new")
def new_review_form(request: Request, caller: Reviewer) -> Response:
    return _new_form(request, caller, projects.protocol_form_defaults(), None, 200)


@router.post("/reviews/new")
async def create_review(request: Request, caller: Reviewer) -> Response:
    form = await request.form()
    values = {key: str(form.get(key, ""))[:20_000] for key in PROTOCOL_FIELDS}
    store = store_of(request)
    try:
        name = projects.check_review_name(values["name"].strip())
        protocol = projects.protocol_from_form(values, projects.reviewer_accounts(store))
        projects.create_review(store, name, protocol, actor=caller.user.name)
    except projects.ReviewProjectError as error:
        return _new_form(request, caller, values, str(error), 422)
    return RedirectResponse(f"/reviews/{name}", status_code=303)


def _review_page(
    request: Request,
    caller: Caller,
    review: str,
    error: str | None = None,
    status: int = 200,
    search_error: str | None = None,
) -> Response:
    try:
        overview = projects.review_overview(store_of(request), review)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "caller": caller,
            "review": overview,
            "formats": SUPPORTED_FORMATS,
            "kinds": projects.SOURCE_KINDS,
            "error": error,
            "search": projects.search_form_defaults(overview.protocol),
            "search_error": search_error,
        },
        status_code=status,
    )


@router.get("/reviews/{review}")
def review_page(request: Request, caller: Reviewer, review: str) -> Response:
    return _review_page(request, caller, review)


@router.post("/reviews/{review}/imports")
async def upload_export(
    request: Request,
    caller: Reviewer,
    review: str,
    file: UploadFile,
    source: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "database",
    fmt: Annotated[str, Form(alias="format", max_length=32)] = "",
    encoding: Annotated[str, Form(max_length=32)] = "",
    strict: Annotated[str, Form(max_length=8)] = "",
    again: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    data = await file.read(projects.MAX_UPLOAD_BYTES + 1)
    try:
        upload = projects.prepare_import(
            store_of(request), review, file_name=file.filename or "upload", data=data,
            source=source, kind=kind, fmt=fmt or None, encoding=encoding or None,
            strict=bool(strict), again=bool(again), actor=caller.user.name,
        )  # fmt: skip
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except projects.ReviewProjectError as problem:
        return _review_page(request, caller, review, str(problem), 422)
    job = _jobs(request).submit(
        projects.run_import, upload, description=f"import {upload.source} into {review}"
    )
    return RedirectResponse(f"/reviews/{review}/imports/{job.id}", status_code=303)


def _job_page(
    request: Request,
    caller: Caller,
    review: str,
    job_id: str,
    kind: str,
    templates_: tuple[str, str],
) -> Response:
    """A background job's page (or, for HTMX polling, its status part): where it stands, its
    progress, then its result or why it failed."""
    handle = _jobs(request).handle(job_id)
    if handle is None:
        message = f"no {kind} job {job_id!r} (finished jobs are kept a while)"
        return _not_found(request, caller, message)
    state = handle.state()
    context = {
        "caller": caller,
        "review": review,
        "job_id": job_id,
        "state": state.value,
        "progress": handle.progress(),
        "summary": handle.result() if state is JobState.FINISHED else None,
        "failure": handle.error(),
    }
    partial = request.headers.get("hx-request") == "true"
    return templates.TemplateResponse(request, templates_[0 if partial else 1], context)


@router.get("/reviews/{review}/imports/{job_id}")
def import_status(request: Request, caller: Reviewer, review: str, job_id: str) -> Response:
    pages = ("_import_status.html", "review_import.html")
    return _job_page(request, caller, review, job_id, "import", pages)


# -- duplicates ---------------------------------------------------------------------------------


def _duplicates_page(
    request: Request,
    caller: Caller,
    review: str,
    job_id: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    handle = _jobs(request).handle(job_id) if job_id else None
    state = handle.state() if handle else None
    queue = handle.result() if state is JobState.FINISHED and handle else []
    if request.headers.get("hx-request") == "true" and state not in (
        JobState.QUEUED,
        JobState.RUNNING,
    ):
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    try:
        page = duplicates.duplicates_page(store_of(request), review, queue)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return templates.TemplateResponse(
        request,
        "review_duplicates.html",
        {
            "caller": caller,
            "review": review,
            "page": page,
            "job_id": job_id if handle else "",
            "state": state.value if state else None,
            "failure": handle.error() if handle else None,
            "unknown_job": bool(job_id) and handle is None,
            "error": error,
        },
        status_code=status,
    )


@router.get("/reviews/{review}/duplicates")
def duplicates_view(
    request: Request, caller: Reviewer, review: str, job: Annotated[str, Query(max_length=80)] = ""
) -> Response:
    return _duplicates_page(request, caller, review, job)


@router.post("/reviews/{review}/duplicates/find")
def find_duplicates(request: Request, caller: Reviewer, review: str) -> Response:
    store = store_of(request)
    try:
        projects.review_overview(store, review)  # the review exists: refuse before queueing
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    job = _jobs(request).submit(
        duplicates.run_dedup_job, store.url, review, caller.user.name,
        description=f"find duplicates in {review}",
    )  # fmt: skip
    return RedirectResponse(f"/reviews/{review}/duplicates?job={job.id}", status_code=303)


@router.post("/reviews/{review}/duplicates/merge")
def merge_duplicates(
    request: Request,
    caller: Reviewer,
    review: str,
    record_ids: Annotated[str, Form(max_length=2000)] = "",
    job: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    ids = [r for r in record_ids.split(",") if r]
    try:
        duplicates.merge_records(store_of(request), review, ids, actor=caller.user.name)
    except ReviewStateError as problem:
        return _duplicates_page(request, caller, review, job, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/duplicates?job={job}", status_code=303)


@router.post("/reviews/{review}/duplicates/unmerge")
def unmerge_duplicates(
    request: Request,
    caller: Reviewer,
    review: str,
    merge_id: Annotated[str, Form(max_length=80)] = "",
    job: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    try:
        duplicates.unmerge_records(store_of(request), review, merge_id, actor=caller.user.name)
    except (ReviewStateError, MergeError) as problem:
        return _duplicates_page(request, caller, review, job, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/duplicates?job={job}", status_code=303)


# -- PubMed searches ----------------------------------------------------------------------------


@router.post("/reviews/{review}/searches")
def start_search(
    request: Request,
    caller: Reviewer,
    review: str,
    query: Annotated[str, Form(max_length=4000)] = "",
    year_from: Annotated[str, Form(max_length=8)] = "",
    year_to: Annotated[str, Form(max_length=8)] = "",
    count_only: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    settings = settings_of(request)
    store = store_of(request)
    try:
        search = projects.pubmed_search_from_form(
            store, review, query=query, year_from=year_from, year_to=year_to,
            count_only=bool(count_only), base_url=settings.eutils_url, email=settings.ncbi_email,
            api_key=settings.ncbi_api_key.get_secret_value() if settings.ncbi_api_key else None,
        )  # fmt: skip
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except projects.ReviewProjectError as problem:
        return _review_page(request, caller, review, search_error=str(problem), status=422)
    job = _jobs(request).submit(
        run_search_job, store.url, review, search, caller.user.name,
        description=f"PubMed search for {review}",
    )  # fmt: skip
    return RedirectResponse(f"/reviews/{review}/searches/{job.id}", status_code=303)


@router.get("/reviews/{review}/searches/{job_id}")
def search_status(request: Request, caller: Reviewer, review: str, job_id: str) -> Response:
    pages = ("_search_status.html", "review_search.html")
    return _job_page(request, caller, review, job_id, "search", pages)


# -- dual extraction ----------------------------------------------------------------------------


def _extraction_list(
    request: Request, caller: Caller, review: str, error: str | None = None, status: int = 200
) -> Response:
    try:
        studies = extracting.extraction_overview(store_of(request), review, caller.user.name)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return templates.TemplateResponse(
        request,
        "review_extraction.html",
        {"caller": caller, "review": review, "studies": studies, "error": error},
        status_code=status,
    )


@router.get("/reviews/{review}/extraction")
def extraction_list(request: Request, caller: Reviewer, review: str) -> Response:
    return _extraction_list(request, caller, review)


@router.post("/reviews/{review}/extraction/studies")
def assign_study(
    request: Request,
    caller: Reviewer,
    review: str,
    study_id: Annotated[str, Form(max_length=200)] = "",
    record_ids: Annotated[str, Form(max_length=4000)] = "",
    in_meta_analysis: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    ids = [r.strip() for r in record_ids.replace("\n", ",").split(",") if r.strip()]
    try:
        extracting.assign_study(
            store_of(request), review, study_id, ids, actor=caller.user.name,
            in_meta_analysis=bool(in_meta_analysis),
        )  # fmt: skip
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except ExtractionError as problem:
        return _extraction_list(request, caller, review, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/extraction", status_code=303)


def _extraction_form(
    request: Request,
    caller: Caller,
    review: str,
    study_id: str,
    values: dict[str, str],
    error: str | None,
    status: int,
) -> Response:
    return templates.TemplateResponse(
        request,
        "review_extraction_form.html",
        {
            "caller": caller,
            "review": review,
            "study_id": study_id,
            "v": values,
            "error": error,
            "designs": extracting.DESIGNS,
            "diagnoses": extracting.DIAGNOSES,
            "rows": range(extracting.RESPONSE_ROWS),
        },
        status_code=status,
    )


@router.get("/reviews/{review}/extraction/{study_id}")
def extraction_form(request: Request, caller: Reviewer, review: str, study_id: str) -> Response:
    try:
        form = extracting.own_form(store_of(request), review, study_id, caller.user.name)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return _extraction_form(
        request, caller, review, study_id, extracting.form_fields(form), None, 200
    )


@router.post("/reviews/{review}/extraction/{study_id}")
async def save_extraction(
    request: Request, caller: Reviewer, review: str, study_id: str
) -> Response:
    posted = await request.form()
    values = {k: str(v)[:4000] for k, v in posted.items() if k != "csrf_token"}
    try:
        extracting.save_own_form(
            store_of(request), review, study_id, values, reviewer=caller.user.name
        )
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except ExtractionError as problem:
        return _extraction_form(request, caller, review, study_id, values, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/extraction", status_code=303)


def _reconcile_page(
    request: Request, caller: Caller, review: str, study_id: str, error: str | None, status: int
) -> Response:
    try:
        found = extracting.reconciliation(store_of(request), review, study_id, caller.user.name)
    except ReviewNotFoundError as problem:
        return _not_found(request, caller, str(problem))
    except ReviewStateError as problem:  # blind: own form first
        return templates.TemplateResponse(
            request,
            "error.html",
            {"caller": caller, "title": "Not yet", "message": str(problem)},
            status_code=403,
        )
    except ExtractionError as problem:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"caller": caller, "title": "Nothing to reconcile", "message": str(problem)},
            status_code=409,
        )
    return templates.TemplateResponse(
        request,
        "review_reconcile.html",
        {"caller": caller, "review": review, "r": found, "error": error},
        status_code=status,
    )


@router.get("/reviews/{review}/extraction/{study_id}/reconcile")
def reconcile_page(request: Request, caller: Reviewer, review: str, study_id: str) -> Response:
    return _reconcile_page(request, caller, review, study_id, None, 200)


@router.post("/reviews/{review}/extraction/{study_id}/reconcile")
async def reconcile_extraction(
    request: Request, caller: Reviewer, review: str, study_id: str
) -> Response:
    posted = await request.form()
    choices = {
        str(k).removeprefix("choose_"): str(v)
        for k, v in posted.items()
        if str(k).startswith("choose_")
    }
    try:
        extracting.store_reconciled(
            store_of(request), review, study_id, choices, reviewer=caller.user.name
        )
    except ReviewNotFoundError as problem:
        return _not_found(request, caller, str(problem))
    except (ReviewStateError, ExtractionError) as problem:
        return _reconcile_page(request, caller, review, study_id, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/extraction/{study_id}/reconcile", status_code=303)


# -- appraisal and GRADE ------------------------------------------------------------------------


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form()
    return {str(k): str(v)[:2000] for k, v in form.items() if k != "csrf_token"}


def _appraisal_page(
    request: Request,
    caller: Caller,
    review: str,
    study_id: str,
    tool: str,
    values: dict[str, str],
    error: str | None = None,
    status: int = 200,
    partial: bool = False,
) -> Response:
    try:
        _, judged = appraising.preview(tool, values, study_id)
    except AppraisalError as problem:
        error, judged = str(problem), None
        status = 422
    context = {
        "caller": caller,
        "review": review,
        "study_id": study_id,
        "tool": tool,
        "tools": appraising.TOOLS,
        "v": values,
        "judged": judged,
        "error": error,
        "questions": appraising.ROB2_QUESTIONS,
        "rob2_domains": appraising.ROB2_DOMAINS,
        "answers": appraising.ANSWERS,
        "robins_domains": robins_i.DOMAINS,
        "robins_judgements": appraising.ROBINS_JUDGEMENTS,
        "nos_items": (*nos.SELECTION_ITEMS, "comparability", *nos.OUTCOME_ITEMS),
    }
    name = "_appraisal_result.html" if partial else "review_appraisal.html"
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/reviews/{review}/appraisal/{study_id}")
def appraisal_form(
    request: Request,
    caller: Reviewer,
    review: str,
    study_id: str,
    tool: Annotated[str, Query(max_length=16)] = "rob2",
) -> Response:
    if tool not in appraising.TOOLS:
        tool = "rob2"
    try:
        stored = appraising.stored_appraisal(store_of(request), review, study_id, tool)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    values = appraising.stored_fields(tool, stored["inputs"]) if stored else {}
    return _appraisal_page(request, caller, review, study_id, tool, values)


@router.post("/reviews/{review}/appraisal/{study_id}/preview")
async def appraisal_preview(
    request: Request, caller: Reviewer, review: str, study_id: str
) -> Response:
    values = await _posted(request)
    tool = values.get("tool", "rob2")
    return _appraisal_page(request, caller, review, study_id, tool, values, partial=True)


@router.post("/reviews/{review}/appraisal/{study_id}")
async def save_appraisal(
    request: Request, caller: Reviewer, review: str, study_id: str
) -> Response:
    values = await _posted(request)
    tool = values.get("tool", "")
    try:
        appraising.save_appraisal(
            store_of(request), review, study_id, tool, values, actor=caller.user.name
        )
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except AppraisalError as problem:
        safe_tool = tool if tool in appraising.TOOLS else "rob2"
        return _appraisal_page(
            request, caller, review, study_id, safe_tool, values, str(problem), 422
        )
    return RedirectResponse(
        f"/reviews/{review}/appraisal/{study_id}?tool={tool}&saved=1", status_code=303
    )


def _grade_page(
    request: Request,
    caller: Caller,
    review: str,
    values: dict[str, str],
    error: str | None = None,
    status: int = 200,
    partial: bool = False,
) -> Response:
    preview = None
    if values.get("outcome", "").strip():
        try:
            preview = appraising.grade_result(appraising.grade_from_form(values))
        except AppraisalError as problem:
            error = error or str(problem)
    context: dict[str, object] = {
        "caller": caller,
        "review": review,
        "v": values,
        "preview": preview,
        "error": error,
        "down_domains": grade.DOWN_DOMAINS,
        "up_domains": grade.UP_DOMAINS,
    }
    if partial:
        return templates.TemplateResponse(request, "_grade_result.html", context)
    try:
        context["ratings"] = appraising.grade_ratings(store_of(request), review)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return templates.TemplateResponse(request, "review_grade.html", context, status_code=status)


@router.get("/reviews/{review}/grade")
def grade_page(request: Request, caller: Reviewer, review: str) -> Response:
    return _grade_page(request, caller, review, {"randomised": "yes"})


@router.post("/reviews/{review}/grade/preview")
async def grade_preview(request: Request, caller: Reviewer, review: str) -> Response:
    return _grade_page(request, caller, review, await _posted(request), partial=True)


@router.post("/reviews/{review}/grade")
async def save_grade(request: Request, caller: Reviewer, review: str) -> Response:
    values = await _posted(request)
    try:
        appraising.save_grade(store_of(request), review, values, actor=caller.user.name)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except AppraisalError as problem:
        return _grade_page(request, caller, review, values, str(problem), 422)
    return RedirectResponse(f"/reviews/{review}/grade", status_code=303)


# -- full texts ---------------------------------------------------------------------------------


@router.post("/reviews/{review}/records/{record_id}/fulltext")
async def attach_fulltext(
    request: Request,
    caller: Reviewer,
    review: str,
    record_id: str,
    file: UploadFile,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    data = await file.read(fulltexts.MAX_PDF_BYTES + 1)
    try:
        fulltexts.attach_fulltext(
            store_of(request), review, record_id, file.filename or "fulltext.pdf", data,
            actor=caller.user.name,
        )  # fmt: skip
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    except fulltexts.FullTextError as problem:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"caller": caller, "title": "Full text not attached", "message": str(problem)},
            status_code=422,
        )
    target = back if back.startswith(f"/reviews/{review}/") else f"/reviews/{review}"
    return RedirectResponse(target, status_code=303)


@router.get("/reviews/{review}/records/{record_id}/fulltext")
def read_fulltext(request: Request, caller: Reviewer, review: str, record_id: str) -> Response:
    try:
        info, pdf = fulltexts.fulltext_pdf(store_of(request), review, record_id)
    except ReviewStateError as problem:
        return _not_found(request, caller, str(problem))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{info.file_name}"'},
    )
