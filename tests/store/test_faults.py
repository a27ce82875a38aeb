"""Faults (issue 15, item 4): a full SQLite disk, a process killed in the middle of an import,
a database server that stops accepting connections under the running application, and a
private PostgreSQL cluster stopped (fast and immediate) and restarted under load.

Each case checks what a user relies on: a clear error, nothing half-written, the data intact,
and recovery without restarting anything.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from myoivig.demo import load_trial_cohort, trial_cohort_path
from myoivig.store import Store
from myoivig.store.errors import DatabaseFullError
from myoivig.store.tables import Base

SRC = Path(__file__).parents[2] / "src"


def _counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


def test_full_sqlite_disk_is_a_clear_error_and_nothing_is_corrupted(tmp_path: Path) -> None:
    """SQLite's size limit (max_page_count) stands in for a full disk: the same SQLITE_FULL."""
    path = tmp_path / "small.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.upgrade()
    with sqlite3.connect(path) as raw:
        pages = raw.execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(store.engine, "connect")
    def _limit(dbapi_connection: sqlite3.Connection, _: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 3}")

    store.engine.dispose()  # new connections take the limit
    before = _counts(store)
    with pytest.raises(DatabaseFullError) as info:
        load_trial_cohort(store)
    message = str(info.value)
    assert "is full" in message and "nothing of it was written" in message
    assert _counts(store) == before
    store.dispose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # with room again, the same import goes through whole
    roomy = Store.from_url(f"sqlite:///{path}")
    assert load_trial_cohort(roomy)["patients"] == 16
    roomy.dispose()


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    code = "import sys; from myoivig.launcher import main; sys.argv[0] = 'myoivig'; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "MYOIVIG_DATABASE_URL": url,
        "MYOIVIG_ACTOR": "fault-test",
    }


def test_full_disk_from_the_command_line_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    with sqlite3.connect(path) as raw:
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    # max_page_count is per connection: the child process sets it on every connection it opens
    # (a small tmpfs, the other way to fill a disk, cannot be mounted in every sandbox)
    sitecustomize = tmp_path / "cap" / "sitecustomize.py"
    sitecustomize.parent.mkdir()
    sitecustomize.write_text(
        "import sqlite3, sqlite3.dbapi2\n"
        "_connect = sqlite3.dbapi2.connect\n"
        "def connect(*a, **k):\n"
        "    c = _connect(*a, **k)\n"
        f"    c.execute('PRAGMA max_page_count = {pages + 4}')\n"
        "    return c\n"
        "sqlite3.connect = sqlite3.dbapi2.connect = connect\n",
        encoding="utf-8",
    )
    env = _env(f"sqlite:///{path}")
    env["PYTHONPATH"] = f"{sitecustomize.parent}{os.pathsep}{SRC}"
    proc = _cli(env, "import", str(trial_cohort_path()))
    out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 2, (out.decode(), text)
    assert "is full" in text and "Traceback" not in text
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("SELECT count(*) FROM patients").fetchone()[0] == 0


def _big_ris(path: Path, records: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(records):
            out.write(
                f"TY  - JOUR\nAU  - Author{i}, A.\nTI  - Intravenous immunoglobulin in myositis "
                f"report number {i}\nPY  - {1990 + i % 30}\nJO  - Journal {i % 50}\nER  - \n\n"
            )


def test_import_killed_midway_stores_all_or_nothing(empty_url: str, tmp_path: Path) -> None:
    """SIGKILL during a 30,000-record import: afterwards the review holds none of the file
    (the transaction never committed) or all of it; never a part."""
    store = Store.from_url(empty_url)
    store.upgrade()
    export = tmp_path / "big.ris"
    _big_ris(export, 30_000)
    env = _env(empty_url)
    outcomes = []
    for delay in (1.5, 4.0):
        proc = _cli(env, "review", "import", str(export), "--source", "MEDLINE", "--again")
        time.sleep(delay)
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with store.session() as session:
            from myoivig.review.tables import ReviewRecordRow

            stored = int(session.scalar(select(func.count()).select_from(ReviewRecordRow)) or 0)
        outcomes.append((still_running, stored))
        assert stored % 30_000 == 0, f"a killed import left {stored} records: half an import"
    assert any(running for running, _ in outcomes), "no import was killed while it ran"
    store.dispose()


@pytest.fixture
def pg_database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """A database of its own, so connections to it can be refused without touching others."""
    import psycopg

    admin_url = postgres_server.rsplit("/", 1)[0] + "/postgres"
    name = f"myoivig_fault_{uuid.uuid4().hex[:10]}"
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}", name
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _set_accepting(admin_url: str, name: str, accepting: bool) -> None:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(accepting).lower()}')
        if not accepting:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_database_that_stops_accepting_connections_gives_503_then_recovers(
    pg_database: tuple[str, str],
) -> None:
    from fastapi.testclient import TestClient

    from myoivig.accounts.service import add_user, create_token
    from myoivig.web.app import create_app
    from myoivig.web.settings import WebSettings

    url, name = pg_database
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    store = Store.from_url(url)
    store.upgrade()
    load_trial_cohort(store)
    add_user(store, "test", "ada", "admin", [], "correct horse battery staple")
    token = create_token(store, "fault", "ada")
    app = create_app(WebSettings(database_url=url), store)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/patients", headers=headers).status_code == 200
        _set_accepting(admin_url, name, False)
        try:
            down = client.get("/api/v1/patients", headers=headers)
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] == "5"
            assert "cannot be reached" in down.json()["detail"]
            page = client.get("/login")  # pages that need no database still answer
            assert page.status_code == 200
        finally:
            _set_accepting(admin_url, name, True)
        # back without restarting the application: stale pooled connections are pinged
        again = client.get("/api/v1/patients", headers=headers)
        assert again.status_code == 200 and again.json()["total"] == 16
    store.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server at {base} did not come up")


def test_server_killed_during_a_burst_of_writes_keeps_every_acknowledged_write(
    empty_url: str,
) -> None:
    """Eight clients create patients through the API; the server is SIGKILLed mid-burst. Every
    write it acknowledged (201) is in the database, with its audit entry, after the kill."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from myoivig.accounts.service import add_site, add_user, create_token
    from myoivig.store.tables import AuditRow, PatientRow

    store = Store.from_url(empty_url)
    store.upgrade()
    add_site(store, "test", "NORTH", "North clinic", None)
    add_user(store, "test", "carl", "clinician", ["NORTH"], "correct horse battery staple")
    token = create_token(store, "test", "carl")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _cli(_env(empty_url), "serve", "--host", "127.0.0.1", "--port", str(port))
    acknowledged: list[str] = []
    try:
        _wait_up(base)
        headers = {"Authorization": f"Bearer {token}"}

        def write(n: int) -> None:
            code = f"K{n:05d}"
            body = {"code": code, "site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis"}
            try:
                answer = httpx.post(
                    f"{base}/api/v1/patients", json=body, headers=headers, timeout=10
                )
            except httpx.HTTPError:
                return  # not acknowledged: the server died first
            if answer.status_code == 201:
                acknowledged.append(code)

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(write, n) for n in range(400)]
            while len(acknowledged) < 40 and not all(f.done() for f in futures):
                time.sleep(0.01)
            server.send_signal(signal.SIGKILL)
            for future in futures:
                future.result()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert len(acknowledged) >= 40
    assert len(acknowledged) < 400, "the kill came after the burst: nothing was tested"
    with store.session() as session:
        stored = set(session.scalars(select(PatientRow.code)).all())
        audited = {
            changes.get("code")
            for changes in session.scalars(
                select(AuditRow.changes).where(AuditRow.table_name == "patients")
            ).all()
        }
    missing = sorted(set(acknowledged) - stored)
    assert not missing, f"acknowledged but lost: {missing}"
    assert set(acknowledged) <= audited, "an acknowledged write has no audit entry"
    store.dispose()


def _restart_benchmark() -> Any:
    """benchmarks/fault_pg_restart.py, which holds the private cluster and the load clients."""
    import importlib.util

    path = Path(__file__).parents[2] / "benchmarks" / "fault_pg_restart.py"
    spec = importlib.util.spec_from_file_location("fault_pg_restart", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_postgres_stopped_and_restarted_under_load_gives_503_then_recovers() -> None:
    """A private PostgreSQL cluster (its own folder and port; the machine's shared server is not
    touched) is stopped with `pg_ctl stop -m fast`, then crashed with `-m immediate`, while
    clients read and write through a running `myoivig serve`, and started again each time."""
    bench = _restart_benchmark()
    bin_dir = bench.server_bin()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to run a cluster"
        )
    outcome = bench.run_outages(bin_dir, writers=3, readers=2, before=2.0, outage=3.0)
    report = "\n".join(bench.report(outcome))
    assert [r.mode for r in outcome.rounds] == ["fast", "immediate"], report
    for r in outcome.rounds:
        # during the outage: requests were made, and every one answered a clean 503 with
        # Retry-After and "cannot be reached just now" (no 500, no other status, no hang)
        assert r.during and r.unavailable == len(r.during), report
        assert any(a.kind == "write" for a in r.during), report
        assert r.unavailable and all(a.retry_after == "5" for a in r.during), report
        # back without restarting the application
        assert r.read_back_after is not None and r.write_back_after is not None, report
    assert not outcome.server_errors and not outcome.no_answer, report
    assert outcome.slowest < bench.REQUEST_TIMEOUT, report
    assert outcome.same_process, report
    # every acknowledged write before, between and after the outages is stored and audited
    assert len(outcome.acknowledged) >= 20, report
    assert not outcome.lost and not outcome.unaudited, report
    assert outcome.chain_ok, report
    assert outcome.problems() == [], report
