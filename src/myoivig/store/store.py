"""Opening databases, migrating them, and the two kinds of session (read, audited write)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from myoivig.store import audit, json_text
from myoivig.store.errors import DatabaseFullError, DatabaseUnavailableError, StoreError
from myoivig.store.revision import at_head
from myoivig.store.tables import PatientRow

if TYPE_CHECKING:  # Alembic is imported only when the schema is checked or changed (start-up)
    from alembic.config import Config

DEFAULT_URL = "sqlite:///./myoivig.db"
URL_ENV = "MYOIVIG_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"
UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "55000"})
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


def _quietly(step: Any) -> None:
    """Roll back or close after a failure without hiding it behind a second one (a dead
    connection cannot roll back; the server discards the transaction anyway)."""
    with suppress(DBAPIError):
        step()


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
                engine = create_engine(
                    parsed, json_serializer=json_text.dumps, pool_pre_ping=True, **_pool(parsed)
                )
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

    def refresh_statistics(self) -> None:
        """Refresh PostgreSQL's table statistics after a bulk load (`ANALYZE`). Its planner
        chooses by them: with the counts of an empty table, reading one patient's record
        scanned every measurement of every patient (about 50 ms instead of 1 ms at 1,000
        patients) until autovacuum analysed the tables, minutes later or, where autovacuum is
        off, never. SQLite plans without statistics; nothing to do there."""
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))

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
        except OperationalError as error:
            raise self.fault(error) from error
        finally:
            _quietly(session.rollback)
            _quietly(session.close)

    @contextmanager
    def unit_of_work(self, actor: str, reason: str | None = None) -> Iterator[Session]:
        """An audited write transaction: all of it commits, or none of it does. A `reason`
        (why records are changed or deleted) is kept with each update and delete entry."""
        if not actor or not actor.strip():
            raise ValueError("unit_of_work needs the name of who is making the change")
        session = self._sessions()
        session.info[audit.ACTOR_KEY] = actor.strip()
        if reason:
            session.info[audit.REASON_KEY] = reason
        try:
            yield session
            session.commit()
        except OperationalError as error:
            _quietly(session.rollback)
            raise self.fault(error) from error
        except BaseException:
            _quietly(session.rollback)
            raise
        finally:
            _quietly(session.close)

    def fault(self, error: OperationalError) -> StoreError | OperationalError:
        """A database failure the user can act on, said plainly; others are returned as they
        are. A full SQLite disk and a server that is down or refuses connections are named."""
        text = str(error.orig) if error.orig is not None else str(error)
        where = self.safe(make_url(self.url))
        if "database or disk is full" in text:
            return DatabaseFullError(
                f"the database {where} is full (its disk or size limit): the change was rolled "
                "back and nothing of it was written; free space and try again"
            )
        # PostgreSQL: no SQLSTATE (the connection failed), class 08 (connection exception),
        # 57P01-03 (server shutting down or starting), 55000 (database not accepting connections)
        sqlstate = getattr(error.orig, "sqlstate", None)
        server_gone = self.engine.dialect.name != "sqlite" and (
            sqlstate is None or sqlstate.startswith("08") or sqlstate in UNREACHABLE_STATES
        )
        if error.connection_invalidated or server_gone:
            first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
            return DatabaseUnavailableError(
                f"the database {where} cannot be reached just now ({first}); nothing was "
                "written; try again in a moment"
            )
        return error

    def patient_count(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).select_from(PatientRow)) or 0)

    def dispose(self) -> None:
        self.engine.dispose()
