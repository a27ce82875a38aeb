"""Opening databases, migrating them, and the two kinds of session (read, audited write)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from myoivig.store import audit, json_text
from myoivig.store.errors import StoreError
from myoivig.store.revision import at_head
from myoivig.store.tables import PatientRow

if TYPE_CHECKING:  # Alembic is imported only when the schema is checked or changed (start-up)
    from alembic.config import Config

DEFAULT_URL = "sqlite:///./myoivig.db"
URL_ENV = "MYOIVIG_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"
POOL_SIZE = 10  # connections kept open per process
POOL_OVERFLOW = 10  # more opened under load (a web worker needs up to 2 per request thread)


SUPPORTED_URLS = (
    "sqlite:///path/to/file.db (the default is sqlite:///./myoivig.db)",
    "postgresql+psycopg://user:password@host:5432/database",
)


def parse_url(url: str) -> URL:
    """The URL if it names a backend myoivig supports; otherwise a StoreError listing them.

    `postgresql://` without a driver means psycopg (version 3), the driver myoivig installs.
    """
    supported = "supported: " + "; ".join(SUPPORTED_URLS)
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(f"cannot read database URL {url!r}; {supported}") from error
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}:
        shown = parsed.render_as_string(hide_password=True)
        raise StoreError(f"database URL {shown!r} uses an unsupported backend; {supported}")
    return parsed


def _unusable(url: URL, error: DBAPIError) -> StoreError:
    """A one-line message for a database that cannot be opened: where, why, what to check."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    if url.get_backend_name() == "sqlite":
        return StoreError(
            f"cannot open the SQLite database {url.database!r}: {reason}; check that the folder "
            "exists and is writable, or set MYOIVIG_DATABASE_URL"
        )
    return StoreError(
        f"cannot reach the PostgreSQL database {url.database!r} on host {url.host or 'localhost'}, "
        f"port {url.port or 5432}: {reason}. Check that the server is running and accepts TCP "
        "connections there, that the database exists and the user may log in, and the host, "
        f"port and name in {URL_ENV}"
    )


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _pool(url: URL) -> dict[str, int]:
    """Pool sizes; an in-memory SQLite database has a single connection per thread instead."""
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Store:
    """A database holding myoivig records, reached by SQLAlchemy URL."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        if engine is None:
            parsed = parse_url(url)
            url = parsed.render_as_string(hide_password=False)
            try:
                engine = create_engine(parsed, json_serializer=json_text.dumps, **_pool(parsed))
            except (NoSuchModuleError, ImportError) as error:  # a driver that is not installed
                raise StoreError(
                    f"cannot use database URL {self.safe(parsed)!r}: {error}"
                ) from error
        self.url = url
        self.engine = engine
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        audit.install(self._sessions)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(url)

    @classmethod
    def default(cls) -> Store:
        """The database named by MYOIVIG_DATABASE_URL, else the embedded ./myoivig.db."""
        return cls(os.environ.get(URL_ENV) or DEFAULT_URL)

    @staticmethod
    def safe(url: URL) -> str:
        return url.render_as_string(hide_password=True)

    def upgrade(self, revision: str = "head") -> None:
        """Create or upgrade the schema with the Alembic migrations (the only way it changes)."""
        if revision == "head" and at_head(self.engine, MIGRATIONS / "versions"):
            return  # already current: no need to load Alembic (see store/revision.py)
        from alembic import command

        self.current_revision()  # an unreachable database is a StoreError, not a traceback
        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def exists(self) -> bool:
        """False only for a SQLite file that is not there (connecting would create it)."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return True
        return Path(url.database).exists()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except DBAPIError as error:
            raise _unusable(self.engine.url, error) from error

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def require_current(self) -> None:
        """Refuse a database that is missing, unreachable or at another schema revision.

        A missing SQLite file is reported, not created: a read-only command must not leave an
        empty database behind (it would hide a mistyped path).
        """
        if self.exists() and at_head(self.engine, MIGRATIONS / "versions"):
            return  # the common case, answered without importing Alembic (about 0.5 s)
        if not self.exists():
            raise StoreError(
                f"no database at {self.engine.url.database}: nothing has been recorded there yet. "
                f"Create it with `myoivig init` (or `myoivig run`), or set {URL_ENV} to the "
                "database you meant"
            )
        current, head = self.current_revision(), self.head_revision()
        if current is None:
            raise StoreError(
                f"database {self.safe_url} holds no myoivig tables: run `myoivig init` to create "
                f"them, or check {URL_ENV}"
            )
        if current != head:
            raise StoreError(
                f"database {self.safe_url} is at schema revision {current!r}, expected {head!r}: "
                "run `myoivig init` to upgrade it"
            )

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only session: any attempted write raises."""
        session = self._sessions()
        session.info[audit.READ_ONLY_KEY] = True
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def unit_of_work(self, actor: str) -> Iterator[Session]:
        """An audited write transaction: all of it commits, or none of it does."""
        if not actor or not actor.strip():
            raise ValueError("unit_of_work needs the name of who is making the change")
        session = self._sessions()
        session.info[audit.ACTOR_KEY] = actor.strip()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def patient_count(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).select_from(PatientRow)) or 0)

    def dispose(self) -> None:
        self.engine.dispose()
