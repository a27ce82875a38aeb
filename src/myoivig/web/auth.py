"""Who is calling: a signed session cookie (pages) or an API token (`Authorization: Bearer`).

The session cookie holds a random token signed with the application key (HttpOnly, SameSite=Lax);
the database keeps only the token's SHA-256 with the session's CSRF token and last activity.
Every state-changing request made with a cookie must carry that CSRF token (form field
`csrf_token` or header `X-CSRF-Token`); token callers have no ambient credentials and need none.

An account whose password must be changed (`accounts.service.password_change_required`) gets
through `require` only on the routes that say so (the change-password page and sign-out); every
other page sends it to the change-password page and the API answers 403.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, Signer
from sqlalchemy.orm import Session

from myoivig.accounts.roles import Role
from myoivig.accounts.service import (
    User,
    password_change_required,
    resume_session,
    user_for_token,
)
from myoivig.clinic.service import Viewer
from myoivig.store import Store
from myoivig.web.settings import WebSettings

SESSION_COOKIE = "myoivig_session"
LOGIN_CSRF_COOKIE = "myoivig_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    user: User
    csrf_token: str | None
    """The session's CSRF token; None for API-token callers."""
    pseudonym_key: bytes

    @property
    def viewer(self) -> Viewer:
        return Viewer(
            name=self.user.name,
            all_sites=self.user.all_sites,
            site_codes=self.user.site_codes,
            pseudonymised=self.user.pseudonymised,
            pseudonym_key=self.pseudonym_key,
        )


class NotSignedInError(Exception):
    """No valid session or token."""


class ForbiddenError(Exception):
    """Signed in, but the role may not use this route."""


class CsrfError(Exception):
    """A cookie-authenticated write without the session's CSRF token."""


class PasswordChangeRequiredError(Exception):
    """Signed in with a one-time (generated) password that has not been changed yet."""


def store_of(request: Request) -> Store:
    """The application's store (a FastAPI dependency)."""
    store: Store = request.app.state.store
    return store


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only database session for one request (a FastAPI dependency); writes go through
    `Store.unit_of_work(actor=<signed-in user>)` in the services.

    Opened and closed on the event loop, used by the route in a request thread. As a plain
    generator its closing waited for a free request thread while it still held its database
    connection: under load, every request thread waited for a connection that only a closing
    could return, until the pool's 30 s timeout (seen with 50 users on the API list). The
    sign-in check (`require`) runs in a request thread for the same reason."""
    with store_of(request).session() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session, scope="function")]
"""Closed as soon as the route returns (`scope="function"`), not after the answer is sent: the
connection goes back to the pool before the answer is serialised and written."""


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def signer(request: Request) -> Signer:
    signing: Signer = request.app.state.signer
    return signing


def session_token(request: Request) -> str | None:
    """The session token from the signed cookie, or None when absent or tampered with."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return signer(request).unsign(raw).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def resolve_caller(request: Request) -> Caller | None:
    if hasattr(request.state, "caller"):
        cached: Caller | None = request.state.caller
        return cached
    store = store_of(request)
    key: bytes = request.app.state.pseudonym_key
    caller: Caller | None = None
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        with store.session() as session:
            user = user_for_token(session, credential.strip())
        caller = None if user is None else Caller(user, None, key)
    else:
        token = session_token(request)
        if token:
            found = resume_session(store, token, settings_of(request).idle_timeout)
            if found is not None:
                caller = Caller(found[0], found[1], key)
    request.state.caller = caller
    return caller


async def _check_csrf(request: Request, caller: Caller) -> None:
    if request.method in SAFE_METHODS or caller.csrf_token is None:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, caller.csrf_token):
        raise CsrfError()


def require(
    *roles: Role, while_password_change_due: bool = False
) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the caller, who must be signed in, have one of `roles` (any role when none
    are named) and, for cookie-authenticated writes, send the session's CSRF token. A caller who
    must change their password is refused unless `while_password_change_due` (only the
    change-password page and sign-out say so)."""

    async def dependency(request: Request) -> Caller:
        # in a request thread: a wait for a database connection must not stop the event loop,
        # which is what returns connections (closing the requests' read sessions)
        caller = await run_in_threadpool(resolve_caller, request)
        if caller is None:
            raise NotSignedInError()
        if not while_password_change_due and password_change_required(caller.user):
            raise PasswordChangeRequiredError()
        if roles and caller.user.role not in roles:
            raise ForbiddenError()
        await _check_csrf(request, caller)
        return caller

    dependency.allowed_roles = frozenset(roles or Role)  # type: ignore[attr-defined]
    return dependency
