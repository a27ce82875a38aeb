"""Living PRISMA: a review's PRISMA 2020 diagram and its included-studies table, from its events.

Nothing is cached: each request derives the counts from the stored events
(`myoivig.review.service`, as `myoivig review prisma` does), so the page follows the review; a
review in progress shows its flow so far and what still awaits a decision.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from myoivig.accounts.roles import Role
from myoivig.review import repository as repo
from myoivig.review.prisma import PrismaError
from myoivig.review.service import (
    included_studies,
    prisma_counts,
    prisma_counts_csv,
    prisma_image,
)
from myoivig.web.auth import Caller, ReadSession, require, store_of
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Caller, Depends(require(Role.ADMIN, Role.REVIEWER))]
MEDIA = {"svg": "image/svg+xml", "png": "image/png", "csv": "text/csv"}


def _missing(request: Request, caller: Caller, review: str, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"caller": caller, "title": "No such review", "message": message},
        status_code=404,
    )


@router.get("/prisma")
def review_list(request: Request, caller: Reviewer, session: ReadSession) -> Response:
    return templates.TemplateResponse(
        request, "prisma.html", {"caller": caller, "reviews": repo.review_names(session)}
    )


@router.get("/prisma/{review}")
def prisma_page(request: Request, caller: Reviewer, review: str) -> Response:
    store = store_of(request)
    context: dict[str, Any] = {"caller": caller, "review": review}
    try:
        counts = prisma_counts(store, review)
    except repo.ReviewNotFoundError as err:
        return _missing(request, caller, review, str(err))
    except PrismaError as err:  # events that contradict each other (never a review in progress)
        context |= {
            "counts": None,
            "studies": [],
            "columns": [],
            "error": f"The review's events do not yield a consistent PRISMA flow: {err}",
        }
        return templates.TemplateResponse(request, "prisma_review.html", context)
    try:
        png = prisma_image(counts, "png", title=review)
        context["diagram"] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    except PrismaError as err:
        context["error"] = f"The counts do not add up yet, so no diagram is drawn: {err}"
    studies = included_studies(store, review)
    context |= {
        "counts": counts,
        "studies": studies.astype(object).where(studies.notna(), None).to_dict("records"),
        "columns": list(studies.columns),
    }
    return templates.TemplateResponse(request, "prisma_review.html", context)


@router.get("/prisma/{review}/download/{name}")
def prisma_download(request: Request, caller: Reviewer, review: str, name: str) -> Response:
    stem, _, fmt = name.rpartition(".")
    if (
        stem not in ("prisma", "included-studies")
        or fmt not in MEDIA
        or (stem, fmt)
        == (
            "included-studies",
            "png",
        )
    ):
        return Response(f"no download {name!r}", status_code=404, media_type="text/plain")
    store = store_of(request)
    try:
        if stem == "included-studies":
            if fmt != "csv":
                raise ValueError("the included-studies table downloads as CSV")
            body = included_studies(store, review).to_csv(index=False).encode("utf-8")
        else:
            counts = prisma_counts(store, review)
            if fmt == "csv":
                body = prisma_counts_csv(counts).encode("utf-8")
            else:
                body = prisma_image(counts, fmt, title=review)
    except repo.ReviewNotFoundError as err:
        return Response(str(err), status_code=404, media_type="text/plain")
    except (PrismaError, ValueError) as err:
        return Response(str(err), status_code=422, media_type="text/plain")
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{review}-{name}"'},
    )
