"""The meta-analysis page: pool an uploaded study table (metafor column names) and show it all.

Every number and figure comes from `myoivig.evidence.service`, the functions `myoivig meta run`
calls. The page keeps no state: the table travels back in the form, and figures and tables are
offered for download as data URIs built from the same bytes the page shows.
"""

from __future__ import annotations

import base64
import io
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from myoivig.accounts.roles import Role
from myoivig.evidence.errors import EvidenceError
from myoivig.jobs import JobRunner, JobState
from myoivig.review.evidence_table import poolable
from myoivig.review.repository import ReviewNotFoundError, review_names
from myoivig.review.service import included_studies
from myoivig.web.auth import Caller, require, store_of
from myoivig.web.templating import templates

if TYPE_CHECKING:
    from myoivig.evidence.service import MetaOptions

router = APIRouter(include_in_schema=False)
Analyst = Annotated[Caller, Depends(require(Role.ADMIN, Role.REVIEWER, Role.RESEARCHER))]
MAX_TABLE_BYTES = 1_000_000
"""A study table of a meta-analysis is a few kilobytes; a megabyte is thousands of studies."""


SUBGROUP_SHOWN = (
    "group", "k", "estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "pooled",
    "pooled_lower", "pooled_upper", "tau2", "i2", "q", "q_df", "q_p",
)  # fmt: skip


class UploadError(ValueError):
    """The upload is missing, too large or not text."""


def _evidence() -> ModuleType:
    """The meta-analysis engine, loaded on the first use of this page: it brings numpy, pandas,
    scipy and matplotlib (about 2 s), which every server start (and `make run`) paid before."""
    from myoivig.evidence import service

    return service


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _csv_uri(frame: Any) -> str:
    return _data_uri(frame.to_csv(index=False).encode("utf-8"), "text/csv")


async def _table_text(request: Request) -> tuple[str, str]:
    """The study table from the upload (or from the hidden field of a re-run) and its name."""
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_TABLE_BYTES + 64_000:
        raise UploadError(f"the upload is {size:,} bytes; the limit is {MAX_TABLE_BYTES:,} bytes")
    form = await request.form()
    upload = form.get("table")
    review = form.get("review")
    if (
        isinstance(review, str)
        and review
        and not (isinstance(upload, UploadFile) and upload.filename)
    ):
        # The review's agreed study table, rows with complete counts (what `review extract
        # table --complete` writes for `meta run`).
        studies = poolable(included_studies(store_of(request), review))
        return studies.to_csv(index=False), f"{review}-studies.csv"
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_TABLE_BYTES + 1)
        name = upload.filename
    else:
        kept = form.get("table_text")
        raw = kept.encode("utf-8") if isinstance(kept, str) else b""
        name = str(form.get("table_name") or "table.csv")
    if not raw.strip():
        raise UploadError("choose a CSV study table to upload")
    if len(raw) > MAX_TABLE_BYTES:
        raise UploadError(f"{name}: larger than the limit of {MAX_TABLE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8-sig"), name
    except UnicodeDecodeError as err:
        raise UploadError(f"{name}: not UTF-8 text (byte {err.start})") from err


def _options(form: Any) -> MetaOptions:
    def text(key: str, default: str = "") -> str:
        value = form.get(key)
        return value.strip() if isinstance(value, str) else default

    mods = tuple(m.strip() for m in text("mods").split(",") if m.strip())
    try:
        add = float(text("add", "0.5") or "0.5")
    except ValueError as err:
        raise UploadError(f"continuity correction {text('add')!r}: not a number") from err
    return _evidence().MetaOptions(
        measure=text("measure", "GEN") or "GEN",
        method=text("method", "REML") or "REML",
        test=text("test", "z") or "z",
        by=text("by") or None,
        mods=mods,
        add=add,
        to=text("to", "only0") or "only0",
        drop00=text("drop00") == "on",
        log_ci=text("log_ci") == "on",
    )


def _page(request: Request, caller: Caller, status: int = 200, **context: Any) -> Response:
    base = {
        "caller": caller,
        "measures": _evidence().MEASURES,
        "methods": _evidence().METHODS,
        "tests": _evidence().TESTS,
        "options": _evidence().MetaOptions("GEN"),
        "max_bytes": MAX_TABLE_BYTES,
        "reviews": _reviews(request),
    }
    return templates.TemplateResponse(request, "meta.html", base | context, status_code=status)


def _reviews(request: Request) -> list[str]:
    with store_of(request).session() as session:
        return review_names(session)


@router.get("/meta")
def meta_form(request: Request, caller: Analyst) -> Response:
    return _page(request, caller)


def _results(text: str, name: str, options: MetaOptions) -> dict[str, Any]:
    """Fit, figures and tables for the page; EvidenceError/ValueError for refused input."""
    import pandas as pd

    from myoivig.evidence.tables import read_table_from

    evidence = _evidence()
    frame = read_table_from(io.BytesIO(text.encode("utf-8")), name)
    analysis = evidence.run_meta(frame, options)
    found = evidence.diagnostics(analysis)
    summary = evidence.summary_table(analysis)
    tables = {"summary": summary}
    shown: dict[str, list[str]] = {}
    if found.leave1out:
        tables["leave-one-out"] = pd.DataFrame(found.leave1out)
    if found.cumulative:
        tables["cumulative"] = pd.DataFrame(found.cumulative)
    if analysis.summary.get("subgroups"):
        tables["subgroups"] = pd.DataFrame(analysis.summary["subgroups"])
        shown["subgroups"] = [c for c in SUBGROUP_SHOWN if c in tables["subgroups"].columns]
    if analysis.summary.get("coefficients"):
        tables["coefficients"] = pd.DataFrame(analysis.summary["coefficients"])
    return {
        "analysis": analysis,
        "s": analysis.summary,
        "diagnostics": found,
        # The page shows the main columns of the subgroup table; its CSV holds every column.
        "tables": {
            key: frame[shown.get(key, list(frame.columns))].to_dict("records")
            for key, frame in tables.items()
        },
        "downloads": {key: _csv_uri(frame) for key, frame in tables.items()},
    }


@router.post("/meta")
async def meta_run(request: Request, caller: Analyst) -> Response:
    form = await request.form()
    try:
        options = _options(form)
        text, name = await _table_text(request)
    except (UploadError, ReviewNotFoundError) as err:
        return _page(request, caller, 422, error=str(err), options=_safe_options(form))
    context: dict[str, Any] = {"options": options, "table_text": text, "table_name": name}
    try:
        context |= _results(text, name, options)
    except (EvidenceError, ValueError) as err:
        return _page(request, caller, 422, error=str(err), **context)
    if context["analysis"].plottable:  # the plots are drawn in the background; the page polls
        job = _jobs(request).submit(
            _evidence().plot_images, text, name, options, description="meta plots"
        )
        context["plots_job"] = job.id
    return _page(request, caller, **context)


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


@router.get("/meta/plots/{job_id}")
def meta_plots(request: Request, caller: Analyst, job_id: str) -> Response:
    """The forest and funnel plots of a meta-analysis drawn by a background job: while it runs
    the part says so (HTMX polls it), then the figures with their downloads."""
    handle = _jobs(request).handle(job_id)
    if handle is None:
        return Response(f"no plot job {job_id!r}", status_code=404, media_type="text/plain")
    state = handle.state()
    figures: dict[str, dict[str, str]] = {}
    if state is JobState.FINISHED:
        mime = {"png": "image/png", "svg": "image/svg+xml"}
        figures = {
            key: {fmt: _data_uri(data, mime[fmt]) for fmt, data in images.items()}
            for key, images in handle.result().items()
        }
    return templates.TemplateResponse(
        request,
        "_meta_plots.html",
        {"job_id": job_id, "state": state.value, "figures": figures, "failure": handle.error()},
    )


def _safe_options(form: Any) -> MetaOptions:
    try:
        return _options(form)
    except UploadError:
        return _evidence().MetaOptions("GEN")
