"""Signing in and out, and changing one's password (pages)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from myoivig.accounts.roles import Role
from myoivig.accounts.service import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    BrowserSession,
    LoginRefusedError,
    LoginThrottledError,
    Throttle,
    authenticate,
    change_password,
    end_session,
    password_change_required,
    start_session,
)
from myoivig.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    NotSignedInError,
    require,
    resolve_caller,
    session_token,
    settings_of,
    signer,
    store_of,
)
from myoivig.web.templating import templates

router = APIRouter(include_in_schema=False)
CHANGE_PASSWORD_PATH = "/account/password"
# The change-password page and sign-out are the routes an account with a one-time password may use.
PasswordCaller = Annotated[Caller, Depends(require(while_password_change_due=True))]


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may be the place to go after sign-in;
    "" means the signed-in user's home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def home_for(role: Role) -> str:
    """Where a role starts: reviewers work on reviews, everyone else on the patient list."""
    return "/reviews" if role is Role.REVIEWER else "/patients"


def _login_form(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next": _safe_next(request.query_params.get("next")),
            "error": error,
            "caller": None,
        },
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings_of(request).cookie_secure,
        path="/login",
    )
    return response


@router.get("/")
def home(request: Request) -> RedirectResponse:
    caller = resolve_caller(request)
    return RedirectResponse(home_for(caller.user.role) if caller else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_form(request, 403, "The sign-in form expired; please try again.")
    settings = settings_of(request)
    store = store_of(request)
    throttle = Throttle(settings.login_max_failures, settings.login_window)
    try:
        user = authenticate(store, name.strip(), password, throttle)
    except LoginThrottledError as error:
        return _login_form(request, 429, str(error))
    except LoginRefusedError as error:
        return _login_form(request, 401, str(error))
    # A new session id at every sign-in, and the old one (if any) ended: no session fixation.
    fresh = start_session(store, user, replaces=session_token(request))
    response = RedirectResponse(_safe_next(next) or home_for(user.role), status_code=303)
    _set_session_cookie(request, response, fresh)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _set_session_cookie(request: Request, response: Response, fresh: BrowserSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signer(request).sign(fresh.token).decode("ascii"),
        httponly=True,
        samesite="lax",
        secure=settings_of(request).cookie_secure,
        path="/",
    )


def _password_form(
    request: Request, caller: Caller, next: str, status: int = 200, error: str | None = None
) -> Response:
    return templates.TemplateResponse(
        request,
        "change_password.html",
        {
            "caller": caller,
            "next": _safe_next(next),
            "error": error,
            "forced": password_change_required(caller.user),
            "min_length": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.get(CHANGE_PASSWORD_PATH)
def password_page(request: Request, caller: PasswordCaller) -> Response:
    return _password_form(request, caller, request.query_params.get("next", ""))


@router.post(CHANGE_PASSWORD_PATH)
def password_change(
    request: Request,
    caller: PasswordCaller,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password_again: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Changes the password (accounts.service.change_password); on success the browser gets a
    new session id and goes where it was going, or to the user's home page."""
    settings = settings_of(request)
    throttle = Throttle(settings.login_max_failures, settings.login_window)
    try:
        fresh = change_password(
            store_of(request),
            caller.user,
            current_password,
            new_password,
            new_password_again,
            throttle,
        )
    except LoginThrottledError as error:
        return _password_form(request, caller, next, 429, str(error))
    except AccountError as error:
        return _password_form(request, caller, next, 422, str(error))
    except LoginRefusedError as error:  # the account was removed or deactivated meanwhile
        raise NotSignedInError() from error
    response = RedirectResponse(_safe_next(next) or home_for(caller.user.role), status_code=303)
    _set_session_cookie(request, response, fresh)
    return response


@router.post("/logout")
def logout(request: Request, caller: PasswordCaller) -> Response:
    token = session_token(request)
    if token:
        end_session(store_of(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
