"""Web settings: one typed object, read from the environment.

The cookie-signing key is MYOIVIG_SECRET_KEY when given; otherwise it is generated on first start
and kept in the database (table app_secrets), so there is never a fixed default key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from myoivig.store.store import DEFAULT_URL, URL_ENV

WARM_PAGES_ENV = "MYOIVIG_WARM_PAGES"

ENV = {
    "database_url": URL_ENV,
    "secret_key": "MYOIVIG_SECRET_KEY",
    "session_idle_minutes": "MYOIVIG_SESSION_IDLE_MINUTES",
    "login_max_failures": "MYOIVIG_LOGIN_MAX_FAILURES",
    "login_window_minutes": "MYOIVIG_LOGIN_WINDOW_MINUTES",
    "cookie_secure": "MYOIVIG_COOKIE_SECURE",
    "jobs": "MYOIVIG_JOBS",
    "redis_url": "MYOIVIG_REDIS_URL",
    "eutils_url": "MYOIVIG_EUTILS_URL",
    "ncbi_email": "NCBI_EMAIL",
    "ncbi_api_key": "NCBI_API_KEY",
    "warm_pages": WARM_PAGES_ENV,
}


class SettingsError(ValueError):
    """An environment variable holds a value the web application cannot use."""


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = DEFAULT_URL
    secret_key: SecretStr | None = None
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    cookie_secure: bool = False
    """Served over TLS (e.g. behind an HTTPS proxy): cookies go over HTTPS only, and every
    response carries Strict-Transport-Security."""
    jobs: Literal["inprocess", "redis"] = "inprocess"
    """Background jobs: in this process (one server process) or an RQ queue on Redis."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    eutils_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    """PubMed E-utilities base address (the review pages' searches; tests use a local fake)."""
    ncbi_email: str | None = None
    """Contact e-mail NCBI asks every E-utilities client to send."""
    ncbi_api_key: SecretStr | None = None
    warm_pages: bool = False
    """Build patient pages ahead of their readers in a background thread (web.page_warming);
    `myoivig serve` and `myoivig run` turn it on unless MYOIVIG_WARM_PAGES says otherwise."""
    """An NCBI API key raises the request rate from 3 to 10 per second."""

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def login_window(self) -> timedelta:
        return timedelta(minutes=self.login_window_minutes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WebSettings:
        """Settings from MYOIVIG_* variables (unset or empty ones keep their defaults)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            field: env[name] for field, name in ENV.items() if env.get(name)
        }
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{ENV.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(problems) from error
