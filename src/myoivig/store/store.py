"""Opening databases, migrating them, and the two kinds of session (read, audited write)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from myoivig.store import audit
from myoivig.store.errors import StoreError
from myoivig.store.revision import at_head
from myoivig.store.tables import PatientRow

if TYPE_CHECKING:  # Alembic is imported only when the schema is checked or changed (start-up)
    from alembic.config import Config

DEFAULT_URL = "sqlite:///./myoivig.db"
URL_ENV = "MYOIVIG_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Store:
    """A database holding myoivig records, reached by SQLAlchemy URL."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_engine(url)
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

    def upgrade(self, revision: str = "head") -> None:
        """Create or upgrade the schema with the Alembic migrations (the only way it changes)."""
        if revision == "head" and at_head(self.engine, MIGRATIONS / "versions"):
            return  # already current: no need to load Alembic (see store/revision.py)
        from alembic import command

        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def require_current(self) -> None:
        current, head = self.current_revision(), self.head_revision()
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
