"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at MYOIVIG_TEST_POSTGRES_URL (default: 127.0.0.1:5432, user postgres, db
test). Each test session creates its own throw-away database there, so parallel runs never meet.
With CI=true an unreachable server fails the run; elsewhere those tests are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from myoivig.store import Store

PG_ADMIN_URL = os.environ.get(
    "MYOIVIG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
# Data that is not part of the repository (published study tables, labelled screening sets).
# CI keeps the project's shared data folder beside the clone as ../shared; elsewhere the tests
# that need it skip and say what to put where.
OUTSIDE_DATA = Path(
    os.environ.get("MYOIVIG_OUTSIDE_DATA", Path(__file__).resolve().parents[2] / "shared")
)


@pytest.fixture
def outside_data() -> Callable[[str], Path]:
    """Path of a file under the shared data folder, or skip the test saying what is missing."""

    def locate(relative: str) -> Path:
        path = OUTSIDE_DATA / relative
        if not path.exists():
            pytest.skip(
                f"needs {relative!r} from outside the repository: put the project's shared data "
                f"folder beside the clone as ../shared (expected {path}) or set "
                "MYOIVIG_OUTSIDE_DATA to the folder that holds it"
            )
        return path

    return locate


def _psycopg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test session; dropped at the end."""
    import psycopg

    name = f"myoivig_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_dsn(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database of each backend kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_server")
    _reset_postgres(url)
    return url


@pytest.fixture
def store(empty_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    s = Store.from_url(empty_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def other_store(tmp_path: Path, store: Store) -> Iterator[Store]:
    """A second empty store of the same backend kind as `store` (for round trips)."""
    if store.engine.dialect.name == "sqlite":
        s = Store.from_url(f"sqlite:///{tmp_path / 'other.db'}")
    else:
        import psycopg

        name = f"myoivig_other_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        s = Store.from_url(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    s.upgrade()
    yield s
    s.dispose()
    if store.engine.dialect.name != "sqlite":
        import psycopg

        with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{s.engine.url.database}" WITH (FORCE)')


@pytest.fixture
def fresh_store(empty_url: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Makes new migrated, empty stores of the test's backend kind, one per call (a fuzz test
    wants an empty database after each example that imported); all are removed at the end."""
    made: list[Store] = []

    def make() -> Store:
        if empty_url.startswith("sqlite"):
            s = Store.from_url(f"sqlite:///{tmp_path / f'fresh-{len(made)}.db'}")
        else:
            import psycopg

            name = f"myoivig_fresh_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            s = Store.from_url(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
        made.append(s)
        s.upgrade()
        return s

    yield make
    for s in made:
        s.dispose()
        if s.engine.dialect.name != "sqlite":
            import psycopg

            with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{s.engine.url.database}" WITH (FORCE)')


_LOOPBACK_NAMES = {"localhost", "::1", "ip6-localhost"}


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host in _LOOPBACK_NAMES or host.startswith("127.") or host == "::1"
    return isinstance(address, str | bytes)  # unix-domain sockets


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    """Tests may talk to servers on this machine only; anything else fails loudly."""
    import socket

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach {address!r}: tests must not use the network")
        real_connect(self, address)  # type: ignore[arg-type]

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach {address!r}: tests must not use the network")
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
