"""Accounts use cases shared by the CLI and the web: users, sites, passwords, tokens, sessions.

Passwords are hashed with argon2id (argon2-cffi's default type). API tokens and session tokens
are long random strings; only their SHA-256 is stored, so a copy of the database cannot be used
to sign in. Failed sign-ins are counted per user name to throttle guessing.
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
from sqlalchemy.orm import Session, joinedload, selectinload

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
) -> User:
    """Create an account; clinicians and pharmacists must belong to at least one site."""
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"user {name}: password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    if user_role in (Role.CLINICIAN, Role.PHARMACIST) and not site_codes:
        raise AccountError(f"user {name}: role {user_role.value} needs at least one site")
    with store.unit_of_work(actor) as session:
        if session.scalar(select(UserRow.id).where(UserRow.name == name)):
            raise AccountError(f"user: name {name!r} already exists")
        row = UserRow(name=name, role=user_role.value, password_hash=_hasher.hash(password))
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
        row = session.scalars(_user_query().where(UserRow.name == name)).one_or_none()
        try:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
            ok = row is not None and row.active
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            session.add(LoginFailureRow(user_name=name[:128], occurred_at=now))
            session.commit()
            raise LoginRefusedError("wrong user name or password")
        _delete_all(session, select(LoginFailureRow).where(LoginFailureRow.user_name == name))
        return _user(row)


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
    fresh = BrowserSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    with store.unit_of_work(user.name) as session:
        if replaces:
            _delete_all(
                session, select(WebSessionRow).where(WebSessionRow.token_hash == sha256(replaces))
            )
        session.add(
            WebSessionRow(
                token_hash=sha256(fresh.token),
                user_id=user.id,
                csrf_token=fresh.csrf_token,
                created_at=now,
                last_seen_at=now,
            )
        )
    return fresh


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
        # one query for the session, its user and the user's sites (it runs on every request)
        found = (
            session.execute(
                select(
                    WebSessionRow.id,
                    WebSessionRow.csrf_token,
                    WebSessionRow.last_seen_at,
                    UserRow,
                )
                .outerjoin(UserRow, UserRow.id == WebSessionRow.user_id)
                .options(joinedload(UserRow.sites).joinedload(UserSiteRow.site))
                .where(WebSessionRow.token_hash == sha256(token))
            )
            .unique()
            .one_or_none()
        )
        if found is None:
            return None
        user = None if found.UserRow is None else _user(found.UserRow)
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
