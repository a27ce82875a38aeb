"""Tables of users, their sites, API tokens, browser sessions, failed logins and app secrets.

Users, site memberships and tokens are versioned and audited like clinical rows (secret columns
are redacted in the audit trail). Sessions, failed logins and secrets are authentication state
written on every sign-in, so they are kept out of the audit trail on purpose.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from myoivig.store.tables import Base, SiteRow, Versioned


class UserRow(Versioned, Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    """The password was generated and handed over (first admin, `users add`, the Users page):
    the account may only change it or sign out until its owner sets one of their own."""
    sites: Mapped[list[UserSiteRow]] = relationship(
        cascade="all, delete-orphan", order_by="UserSiteRow.id"
    )


class UserSiteRow(Versioned, Base):
    __tablename__ = "user_sites"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    site: Mapped[SiteRow] = relationship()


class ApiTokenRow(Versioned, Base):
    __tablename__ = "api_tokens"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    label: Mapped[str | None] = mapped_column(String(128))
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    user: Mapped[UserRow] = relationship()


class WebSessionRow(Base):
    """One signed-in browser; the cookie holds the token, this row only its SHA-256."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginFailureRow(Base):
    """A failed sign-in, kept to throttle password guessing per user name."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AppSecretRow(Base):
    """Generated secrets (cookie signing key); never audited so they never reach the log."""

    __tablename__ = "app_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
