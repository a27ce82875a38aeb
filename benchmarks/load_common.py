"""Shared parts of the web load benchmarks (`web_load.py`, `web_load_writes.py`).

A scratch PostgreSQL database of the benchmark's own (created with a unique name, dropped at the
end), filled with SYNTHETIC patients through the store's bulk path; clinician accounts; the real
`myoivig serve` in a child process on a free loopback port; signing in through the form; and
the quantiles both scripts report. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import psycopg

from myoivig.accounts.service import add_user
from myoivig.demo_clinic.scaled import scaled_dossier, scaled_sites
from myoivig.store import Store, repository

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
PASSWORD = "load test password 1"
LAUNCH = "from myoivig.launcher import main; main()"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
THIS_SRC = Path(__file__).resolve().parents[1] / "src"
USER_LIMITS = httpx.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=20)
"""Per simulated user: two connections, like a browser's few; an idle one is let go after 20 s,
before the server closes it (`web.launch.KEEP_ALIVE_S`, 30 s), so that no request is sent on a
connection the server is closing at that moment (a closed connection instead of an answer)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by rank (nearest rank below), NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, uniquely named PostgreSQL database on 127.0.0.1:5432; dropped afterwards, also on
    errors. No other database is touched."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(url: str, patients: int, visits: int, users: int, actor: str) -> list[str]:
    """Schema, SYNTHETIC patients (bulk, audited) and clinician accounts `clin00`... at every
    site; returns the patient codes."""
    store = Store(url)
    store.upgrade()
    started = time.monotonic()
    codes: list[str] = []
    with store.unit_of_work(actor) as session:
        sites = {s.site_code: repository.add_site(session, s) for s in scaled_sites()}
        session.flush()
        site_ids = {code: row.id for code, row in sites.items()}
        for start in range(1, patients + 1, 250):
            dossiers = [
                scaled_dossier(n, visits) for n in range(start, min(patients, start + 249) + 1)
            ]
            repository.bulk_add_dossiers(session, dossiers, site_ids)
            codes += [d.patient.code for d in dossiers]
    store.refresh_statistics()  # as the product's import does after a bulk load
    print(
        f"filled {patients} patients x {visits} visits in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    for i in range(users):
        add_user(store, actor, f"clin{i:02d}", "clinician", sorted(site_ids), PASSWORD)
    store.dispose()
    return codes


class Server:
    """`myoivig serve` in a child process on a free loopback port. `log`: a file that receives
    the server's stdout and stderr (else stdout is discarded and stderr is ours)."""

    def __init__(
        self,
        url: str,
        src: Path,
        workers: int | None,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, **(env or {}), "MYOIVIG_DATABASE_URL": url, "PYTHONPATH": str(src)}
        command = [sys.executable, "-c", LAUNCH, "serve", "--port", str(self.port)]
        if workers is not None:
            command += ["--workers", str(workers)]
        self._log: IO[bytes] | None = log.open("ab") if log is not None else None
        self.child = subprocess.Popen(
            command,
            env=env,
            stdout=self._log if self._log is not None else subprocess.DEVNULL,
            stderr=self._log if self._log is not None else None,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
                raise SystemExit(f"server exited with {self.child.returncode}")
            try:
                if httpx.get(f"{self.base}/login", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("server did not answer within 120 s")

    def wait_for_line(self, text: str, count: int, timeout: float) -> list[str]:
        """Wait until the server's log holds `count` lines containing `text` (e.g. each
        worker's end of the page warm-up); those lines."""
        if self.log is None:
            raise ValueError("the server was started without a log")
        deadline = time.monotonic() + timeout
        while True:
            found = [
                line for line in self.log.read_text(errors="replace").splitlines() if text in line
            ]
            if len(found) >= count:
                return found
            if self.child.poll() is not None:
                raise SystemExit(f"server exited with {self.child.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"no {count} lines {text!r} in the server log within {timeout} s")
            time.sleep(0.5)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes so far."""
        total, pending = 0.0, [self.child.pid]
        while pending:
            pid = pending.pop()
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            pending += [int(c) for c in children]
        return total

    def stop(self) -> None:
        self.child.terminate()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait(timeout=30)
        if self._log is not None:
            self._log.close()


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> None:
    form = await client.get("/login")
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    answer = await client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token.group(1), "next": "/"},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of {name} answered {answer.status_code}")


def stop_on_sigterm() -> None:
    """SIGTERM ends the run through SystemExit, so the server and database are cleaned up."""

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _stop)
