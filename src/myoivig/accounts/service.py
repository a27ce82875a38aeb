"""Accounts use cases shared by the CLI and the web: users, sites, passwords, tokens, sessions.

Passwords are hashed with argon2id (argon2-cffi's default type). API tokens and session tokens
are long random strings; only their SHA-256 is stored, so a copy of the database cannot be used
to sign in. Failed sign-ins are counted per user name to throttle guessing.

A generated password (the first admin's, `myoivig users add` without --password-stdin, the
Users page) is one-time: the account is flagged `must_change_password` and may do nothing but
change it or sign out until its owner has chosen their own (`password_change_required`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from myoivig.accounts.roles import ALL_SITES, PSEUDONYMISED, Role
from myoivig.accounts.tables import (
    ApiTokenRow,
    AppSecretRow,
    LoginFailureRow,
    UserRow,
    UserSiteRow,
    WebSessionRow,
)
from myoivig.domain.records import Site
from myoivig.store import Store
from myoivig.store.repository import add_site as stage_site
from myoivig.store.tables import SiteRow

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,127}$")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "myo_"
_hasher = PasswordHasher()
# Verifying against this hash when the user does not exist keeps the timing of both paths alike.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (names the field and value)."""


class LoginRefusedError(PermissionError):
    """Wrong name or password, or an inactive account (never says which)."""


class LoginThrottledError(PermissionError):
    """Too many failed sign-ins for this name in the throttle window."""


@dataclass(frozen=True)
class User:
    """A signed-in person as the rest of myoivig sees them."""

    id: int
    name: str
    role: Role
    site_codes: frozenset[str]
    active: bool = True
    must_change_password: bool = False

    @property
    def all_sites(self) -> bool:
        return self.role in ALL_SITES

    @property
    def pseudonymised(self) -> bool:
        return self.role in PSEUDONYMISED


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        site_codes=frozenset(link.site.site_code for link in row.sites),
        active=row.active,
        must_change_password=row.must_change_password,
    )


def _user_query() -> Select[tuple[UserRow]]:
    return select(UserRow).options(selectinload(UserRow.sites).selectinload(UserSiteRow.site))


def _delete_all(session: Session, statement: Select[Any]) -> None:
    # Row by row through the session: bulk DELETE statements are refused by the store.
    for row in session.scalars(statement).all():
        session.delete(row)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generate_password() -> str:
    """A random password for a new account (about 120 bits), printed once by the CLI."""
    return secrets.token_urlsafe(15)


def check_password_policy(who: str, password: str, field: str = "password") -> None:
    """The project's password rule (at least `MIN_PASSWORD_LENGTH` characters), one place for
    new accounts and changed passwords; the error names the user and the form field."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"{who}: {field} must have at least {MIN_PASSWORD_LENGTH} characters")


def password_change_required(user: User) -> bool:
    """Whether this caller must change the password before doing anything else.

    True for an account whose password was generated and handed over (printed by `myoivig run`
    or `myoivig users add`, shown on the Users page): whoever saw it could sign in with it, so
    it is good for one sign-in only. The account's API tokens are refused too (the token acts
    as the account, and the account has not yet been taken over by its owner)."""
    return user.must_change_password


# --- sites -----------------------------------------------------------------------------------


def add_site(store: Store, actor: str, site_code: str, name: str, country: str | None) -> Site:
    site = Site(site_code=site_code, name=name, country=country)
    with store.unit_of_work(actor) as session:
        if session.scalar(select(SiteRow.id).where(SiteRow.site_code == site.site_code)):
            raise AccountError(f"site: site_code {site.site_code!r} already exists")
        stage_site(session, site)
    return site


# --- users -----------------------------------------------------------------------------------


def add_user(
    store: Store,
    actor: str,
    name: str,
    role: str,
    site_codes: list[str],
    password: str,
    must_change_password: bool = False,
) -> User:
    """Create an account; clinicians and pharmacists must belong to at least one site.
    `must_change_password` is for a generated password: its owner must replace it at their
    first sign-in (a password the user typed themselves needs no change)."""
    if not USER_NAME.match(name):
        raise AccountError(
            f"user: name {name!r} must be 1-128 letters, digits or . _ @ - (starting with a "
            "letter or digit)"
        )
    try:
        user_role = Role(role)
    except ValueError as error:
        choices = ", ".join(r.value for r in Role)
        raise AccountError(f"user {name}: role {role!r} is not one of {choices}") from error
    check_password_policy(f"user {name}", password)
    if user_role in (Role.CLINICIAN, Role.PHARMACIST) and not site_codes:
        raise AccountError(f"user {name}: role {user_role.value} needs at least one site")
    with store.unit_of_work(actor) as session:
        if session.scalar(select(UserRow.id).where(UserRow.name == name)):
            raise AccountError(f"user: name {name!r} already exists")
        row = UserRow(
            name=name,
            role=user_role.value,
            password_hash=_hasher.hash(password),
            must_change_password=must_change_password,
        )
        for code in dict.fromkeys(site_codes):
            site = session.scalars(select(SiteRow).where(SiteRow.site_code == code)).one_or_none()
            if site is None:
                raise AccountError(f"user {name}: site {code!r} does not exist (myoivig sites add)")
            row.sites.append(UserSiteRow(site=site))
        session.add(row)
        session.flush()
        return _user(row)


def list_users(session: Session) -> list[User]:
    return [_user(row) for row in session.scalars(_user_query().order_by(UserRow.name)).all()]


def user_count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)


def find_user(session: Session, name: str) -> User | None:
    row = session.scalars(_user_query().where(UserRow.name == name)).one_or_none()
    return None if row is None else _user(row)


def create_token(store: Store, actor: str, name: str, label: str | None = None) -> str:
    """A new API token for a user; returned once, stored only as its SHA-256."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.unit_of_work(actor) as session:
        user_id = session.scalar(select(UserRow.id).where(UserRow.name == name))
        if user_id is None:
            raise AccountError(f"user: name {name!r} does not exist")
        session.add(ApiTokenRow(user_id=user_id, token_hash=sha256(token), label=label))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalars(
        _user_query()
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_hash == sha256(token), ApiTokenRow.revoked.is_(False))
    ).one_or_none()
    return None if row is None or not row.active else _user(row)


# --- signing in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """At most `max_failures` failed sign-ins per name within `window`."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def authenticate(
    store: Store, name: str, password: str, throttle: Throttle, now: datetime | None = None
) -> User:
    """The user with this name and password, else LoginRefusedError / LoginThrottledError."""
    now = now or datetime.now(UTC)
    with store.unit_of_work("myoivig-login") as session:
        _refuse_when_throttled(session, name, throttle, now)
        row = session.scalars(_user_query().where(UserRow.name == name)).one_or_none()
        ok = _verifies(row.password_hash if row else _DUMMY_HASH, password)
        if not ok or row is None or not row.active:
            _record_failure(session, name, now)
            raise LoginRefusedError("wrong user name or password")
        _delete_all(session, select(LoginFailureRow).where(LoginFailureRow.user_name == name))
        return _user(row)


def _refuse_when_throttled(session: Session, name: str, throttle: Throttle, now: datetime) -> None:
    failures = session.scalar(
        select(func.count())
        .select_from(LoginFailureRow)
        .where(
            LoginFailureRow.user_name == name,
            LoginFailureRow.occurred_at > now - throttle.window,
        )
    )
    if (failures or 0) >= throttle.max_failures:
        raise LoginThrottledError(
            f"too many failed sign-ins for {name!r}; try again in "
            f"{int(throttle.window.total_seconds() // 60)} minutes"
        )


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(session: Session, name: str, now: datetime) -> None:
    """Count a wrong password for the throttle; committed at once, since the caller raises."""
    session.add(LoginFailureRow(user_name=name[:128], occurred_at=now))
    session.commit()


def _session_rows(token: str) -> Select[tuple[WebSessionRow]]:
    return select(WebSessionRow).where(WebSessionRow.token_hash == sha256(token))


@dataclass(frozen=True)
class BrowserSession:
    token: str
    csrf_token: str


def start_session(
    store: Store, user: User, replaces: str | None = None, now: datetime | None = None
) -> BrowserSession:
    """A fresh session (new token, new CSRF token); the one it replaces is ended (fixation)."""
    now = now or datetime.now(UTC)
    with store.unit_of_work(user.name) as session:
        if replaces:
            _delete_all(
                session, select(WebSessionRow).where(WebSessionRow.token_hash == sha256(replaces))
            )
        return _add_session(session, user.id, now)


def _add_session(session: Session, user_id: int, now: datetime) -> BrowserSession:
    fresh = BrowserSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    session.add(
        WebSessionRow(
            token_hash=sha256(fresh.token),
            user_id=user_id,
            csrf_token=fresh.csrf_token,
            created_at=now,
            last_seen_at=now,
        )
    )
    return fresh


CURRENT_PASSWORD = "current_password"
NEW_PASSWORD = "new_password"
NEW_PASSWORD_AGAIN = "new_password_again"
"""The fields of the change-password form (and the names its errors use)."""


def change_password(
    store: Store,
    user: User,
    current: str,
    new: str,
    again: str,
    throttle: Throttle,
    now: datetime | None = None,
) -> BrowserSession:
    """Replace the signed-in user's password with one they chose, clear `must_change_password`,
    and return a fresh browser session.

    The current password is asked again (an open session is not enough), and a wrong one
    counts as a failed sign-in for the throttle. The new one follows the project's rule, is
    typed twice and must differ from the current one (else a one-time password would stay).
    Every session of the user is ended, so whoever else held the old password is signed out,
    and the browser gets a new session id (no fixation). The change is one audited unit of
    work by the user; the audit trail shows the hash as redacted and the flag going to false.
    """
    now = now or datetime.now(UTC)
    who = f"user {user.name}"
    if not current:
        raise AccountError(f"{who}: {CURRENT_PASSWORD} is required")
    with store.unit_of_work(user.name) as session:
        _refuse_when_throttled(session, user.name, throttle, now)
        row = session.get(UserRow, user.id)
        if row is None or not row.active:
            raise LoginRefusedError("this account no longer exists or is inactive")
        if not _verifies(row.password_hash, current):
            _record_failure(session, user.name, now)
            raise AccountError(f"{who}: {CURRENT_PASSWORD} is wrong")
        check_password_policy(who, new, NEW_PASSWORD)
        if new != again:
            raise AccountError(f"{who}: {NEW_PASSWORD_AGAIN} does not match {NEW_PASSWORD}")
        if new == current:
            raise AccountError(f"{who}: {NEW_PASSWORD} must differ from the current password")
        row.password_hash = _hasher.hash(new)
        row.must_change_password = False
        _delete_all(session, select(LoginFailureRow).where(LoginFailureRow.user_name == row.name))
        _delete_all(session, select(WebSessionRow).where(WebSessionRow.user_id == row.id))
        return _add_session(session, row.id, now)


def end_session(store: Store, token: str) -> None:
    with store.unit_of_work("myoivig-logout") as session:
        _delete_all(session, _session_rows(token))


TOUCH_EVERY = timedelta(seconds=60)


def resume_session(
    store: Store, token: str, idle: timedelta, now: datetime | None = None
) -> tuple[User, str] | None:
    """The user and CSRF token of a live session; an idle one is ended and gives None."""
    now = now or datetime.now(UTC)
    with store.session() as session:
        # one query for the session, its user and the user's sites (a row per site); it runs
        # on every request, so without the ORM's objects (a third of a page's time before)
        rows = (
            session.connection()
            .execute(
                select(
                    WebSessionRow.id,
                    WebSessionRow.csrf_token,
                    WebSessionRow.last_seen_at,
                    UserRow.id.label("user_id"),
                    UserRow.name,
                    UserRow.role,
                    UserRow.active,
                    UserRow.must_change_password,
                    SiteRow.site_code,
                )
                .select_from(WebSessionRow)
                .outerjoin(UserRow, UserRow.id == WebSessionRow.user_id)
                .outerjoin(UserSiteRow, UserSiteRow.user_id == UserRow.id)
                .outerjoin(SiteRow, SiteRow.id == UserSiteRow.site_id)
                .where(WebSessionRow.token_hash == sha256(token))
            )
            .all()
        )
    if not rows:
        return None
    found = rows[0]
    user = None
    if found.user_id is not None:
        user = User(
            id=found.user_id,
            name=found.name,
            role=Role(found.role),
            site_codes=frozenset(row.site_code for row in rows if row.site_code is not None),
            active=found.active,
            must_change_password=found.must_change_password,
        )
    last_seen = found.last_seen_at
    if last_seen.tzinfo is None:  # SQLite returns naive datetimes
        last_seen = last_seen.replace(tzinfo=UTC)
    if now - last_seen > idle or user is None or not user.active:
        end_session(store, token)
        return None
    if now - last_seen > TOUCH_EVERY:
        with store.unit_of_work("myoivig-session") as session:
            live = session.get(WebSessionRow, found.id)
            if live is not None:
                live.last_seen_at = now
    return user, found.csrf_token


# --- secrets ---------------------------------------------------------------------------------


def app_secret(store: Store, name: str = "session-signing-key") -> str:
    """A generated secret kept in the database (created on first use, never a fixed default)."""
    with store.session() as session:
        value = session.scalar(select(AppSecretRow.value).where(AppSecretRow.name == name))
    if value:
        return value
    value = secrets.token_urlsafe(48)
    try:
        with store.unit_of_work("myoivig-setup") as session:
            session.add(AppSecretRow(name=name, value=value))
    except IntegrityError:  # another process created it first: use theirs
        with store.session() as session:
            return str(session.scalar(select(AppSecretRow.value).where(AppSecretRow.name == name)))
    return value
