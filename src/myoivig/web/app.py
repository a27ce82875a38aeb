"""The web application factory: `create_app(settings)` wires store, keys, routes and pages."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import quote

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import Signer
from sqlalchemy.exc import OperationalError

from myoivig.accounts.service import app_secret
from myoivig.jobs import runner_for
from myoivig.review.screening.live import LiveRankings
from myoivig.store import Store
from myoivig.store.errors import DatabaseFullError, DatabaseUnavailableError
from myoivig.web import openapi
from myoivig.web.auth import (
    CsrfError,
    ForbiddenError,
    NotSignedInError,
    PasswordChangeRequiredError,
)
from myoivig.web.page_warming import PageWarmer
from myoivig.web.routes import (
    admin,
    api_infusion,
    api_patients,
    api_plans,
    api_records,
    audit,
    auth,
    forms_edits,
    forms_infusion,
    forms_records,
    meta,
    patients,
    planner,
    prisma,
    reports,
    research,
    reviews,
    screening,
)
from myoivig.web.routes.auth import CHANGE_PASSWORD_PATH
from myoivig.web.settings import WebSettings
from myoivig.web.templating import STATIC_DIR, templates

API_PREFIX = "/api/v1"
PASSWORD_CHANGE_DUE = (
    "this account signed in with a one-time password that has not been changed yet: sign in "
    f"on the web pages and change it at {CHANGE_PASSWORD_PATH}; until then the account and "
    "its API tokens are refused"
)
REQUEST_THREADS = 4
"""Threads that run the (synchronous) route handlers of one server process. The work is CPU
bound and holds the interpreter lock, so more threads only make every request wait longer; and
a request may hold two database connections at once (the request's read session and a
service's own), so `REQUEST_THREADS` x 2 must stay within the store's connection pool
(`store.POOL_SIZE` + `store.POOL_OVERFLOW`): with anyio's default of 40 threads, 50 concurrent
users exhausted the pool of 15 and requests failed after its 30 s timeout."""
SECURITY_HEADERS = {
    # Scripts only from this server (htmx and plotly.js are shipped with the package);
    # plotly.js sets inline styles on the chart, hence 'unsafe-inline' for styles only.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
"""Sent only over TLS: a request that came by HTTPS, or `cookie_secure` (served behind a TLS
proxy). Over plain HTTP it would lock browsers out of a server that has no certificate."""


def served_over_tls(request: Request, settings: WebSettings) -> bool:
    return request.url.scheme == "https" or settings.cookie_secure


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "caller": getattr(request.state, "caller", None)},
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, error: NotSignedInError) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "sign in or send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PasswordChangeRequiredError)
    async def password_change_due(request: Request, error: PasswordChangeRequiredError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": PASSWORD_CHANGE_DUE}, status_code=403)
        target = CHANGE_PASSWORD_PATH
        if request.method == "GET":  # a form's POST cannot be repeated by a redirect: not kept
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += f"?next={quote(here, safe='')}"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, error: ForbiddenError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "your role may not use this route"}, status_code=403)
        return _error_page(request, 403, "Not allowed", "Your role may not open this page.")

    @app.exception_handler(DatabaseUnavailableError)
    @app.exception_handler(OperationalError)
    async def database_down(request: Request, error: Exception) -> Response:
        """The database is down or refuses connections: 503 with a plain message, and the
        application recovers by itself when it is back (pooled connections are pinged)."""
        message = (
            str(error)
            if isinstance(error, DatabaseUnavailableError)
            else "The database cannot be reached just now; nothing was written. Try again in "
            "a moment."
        )
        headers = {"Retry-After": "5"}
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=503, headers=headers)
        page = _error_page(request, 503, "Database unavailable", message)
        page.headers.update(headers)
        return page

    @app.exception_handler(DatabaseFullError)
    async def database_full(request: Request, error: DatabaseFullError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(error)}, status_code=507)
        return _error_page(request, 507, "Database full", str(error))

    @app.exception_handler(CsrfError)
    async def csrf(request: Request, error: CsrfError) -> Response:
        message = "The form was missing its security token or it was stale; reload and retry."
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return _error_page(request, 403, "Form refused", message)


def _security_headers(app: FastAPI, settings: WebSettings) -> None:
    @app.middleware("http")
    async def add_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Cache-Control" and request.url.path.startswith("/static/"):
                continue
            response.headers.setdefault(name, value)
        if served_over_tls(request, settings):
            response.headers.setdefault(*HSTS)
        return response


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Request threads for the process; the page warm-up thread when the settings ask for it."""
    to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
    warmer = None
    if app.state.settings.warm_pages:
        warmer = PageWarmer(app.state.store, app.state.pseudonym_key)
        warmer.start()
    app.state.page_warmer = warmer
    try:
        yield
    finally:
        if warmer is not None:
            warmer.stop()


def create_app(settings: WebSettings, store: Store | None = None) -> FastAPI:
    """The application for one database; the schema must be current (`myoivig init`)."""
    store = store or Store.from_url(settings.database_url)
    store.require_current()
    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else app_secret(store)
    )
    app = FastAPI(
        lifespan=_lifespan,
        title="myoivig",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN; the app must work offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.signer = Signer(secret, salt="myoivig-session")
    app.state.pseudonym_key = hashlib.sha256(
        app_secret(store, "pseudonym-key").encode("utf-8")
    ).digest()
    # background retraining for the screening pages: in this process, or RQ on Redis
    # (and imports from the review pages): in this process, or RQ on Redis
    app.state.jobs = runner_for(settings.jobs, settings.redis_url)
    app.state.rankings = LiveRankings(app.state.jobs, store.url)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(auth.router)
    app.include_router(forms_records.router)  # before /patients/{code}: /patients/new is a form
    app.include_router(forms_infusion.router)
    app.include_router(forms_edits.router)
    app.include_router(audit.router)
    app.include_router(patients.router)
    app.include_router(admin.router)
    app.include_router(planner.router)
    app.include_router(meta.router)
    app.include_router(research.router)
    app.include_router(prisma.router)
    app.include_router(reports.router)
    app.include_router(screening.router)
    app.include_router(reviews.router)
    app.include_router(api_patients.router, prefix=API_PREFIX)
    app.include_router(api_records.router, prefix=API_PREFIX)
    app.include_router(api_infusion.router, prefix=API_PREFIX)
    app.include_router(api_plans.router, prefix=API_PREFIX)
    _install_error_handlers(app)
    _security_headers(app, settings)
    openapi.install(app, API_PREFIX)
    return app


def app_from_environment() -> FastAPI:
    """`create_app` with the settings of the environment: the factory each uvicorn worker
    process calls when `myoivig serve --workers N` runs more than one."""
    return create_app(WebSettings.from_env())
