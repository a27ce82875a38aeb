"""Fault benchmark (issue 15, item 4): PostgreSQL stopped and restarted under load.

A PRIVATE PostgreSQL cluster (initdb into a temporary folder, its own port on 127.0.0.1 and its
own socket folder; never the machine's shared server) backs one `myoivig serve` process. Client
threads read (`GET /api/v1/patients`) and write (`POST /api/v1/patients`) without pause while
the cluster is stopped (`pg_ctl stop -m fast`, then in a second round `-m immediate`, a crash)
and started again. The application is never restarted.

Checked, per round: every request during the outage answers 503 with `Retry-After` and the
message "the database ... cannot be reached just now ...; nothing was written" (no 500, no
other status, no connection error); no request takes longer than the client's timeout; after
`pg_ctl start` the same process answers reads 200 and writes 201 again. At the end: every write
acknowledged with 201 is in the database with its audit entry, and the audit chain verifies.

Printed: requests during each outage, how many answered 503, the slowest answer, seconds from
`pg_ctl start` returning to the first 200 (read) and 201 (write), writes acknowledged, lost
writes, and writes answered 503 that were nevertheless stored (a COMMIT cut off mid-way).

Bounded: two rounds of about 20 s each, loopback only; stops by itself; exits 1 when a check
fails. Needs the PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin); as root, the
cluster runs as the `postgres` user (the server refuses root).

Run: PYTHONPATH=src .venv/bin/python benchmarks/fault_pg_restart.py [--writers 4] [--readers 2]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
REQUEST_TIMEOUT = 10.0  # seconds: an answer slower than this counts as a hang
UNAVAILABLE_TEXT = "cannot be reached just now"


def server_bin() -> Path | None:
    """The newest PostgreSQL server binaries folder on this machine, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.sockets = folder / "sockets"
        self.log = folder / "server.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:  # the server refuses to run as root
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        self.sockets.mkdir()
        if self.user:
            shutil.chown(self.folder, self.user)
            shutil.chown(self.sockets, self.user)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> float:
        """Start the server and wait until it accepts connections; returns seconds taken."""
        began = time.monotonic()
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return time.monotonic() - began

    def stop(self, mode: str) -> float:
        """`pg_ctl stop -m fast` (sessions ended, clean shutdown) or `immediate` (a crash)."""
        began = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        return time.monotonic() - began

    def running(self) -> bool:
        status = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def private_cluster(bin_dir: Path) -> Iterator[PrivateCluster]:
    """An initialised, running private cluster; stopped and deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="myoivig-pg-"))
    cluster = PrivateCluster(bin_dir, folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Answer:
    """One request: when it started and ended (monotonic), kind, status or failure."""

    kind: str  # "read" or "write"
    started: float
    ended: float
    status: int | None
    retry_after: str | None = None
    detail: str = ""
    failure: str | None = None  # a connection error or timeout: no HTTP answer
    code: str | None = None  # the patient code of a write

    @property
    def clean_unavailable(self) -> bool:
        return (
            self.status == 503 and self.retry_after is not None and UNAVAILABLE_TEXT in self.detail
        )


@dataclass
class Round:
    """The figures of one stop/start round."""

    mode: str
    stopped_at: float = 0.0
    started_at: float = 0.0
    stop_seconds: float = 0.0
    start_seconds: float = 0.0
    during: list[Answer] = field(default_factory=list)
    read_back_after: float | None = None
    write_back_after: float | None = None

    @property
    def unavailable(self) -> int:
        return sum(1 for a in self.during if a.clean_unavailable)

    @property
    def unclean(self) -> list[Answer]:
        """Answers during the outage other than a clean 503 (or a success just before it)."""
        return [a for a in self.during if not a.clean_unavailable and a.status not in (200, 201)]


@dataclass
class Outcome:
    rounds: list[Round]
    answers: list[Answer]
    acknowledged: list[str]
    lost: list[str]
    unaudited: list[str]
    stored_after_503: list[str]
    server_errors: list[Answer]
    no_answer: list[Answer]
    slowest: float
    chain_ok: bool
    chain_problem: str | None
    same_process: bool

    def problems(self) -> list[str]:
        """Every failed check, said plainly (empty: all passed)."""
        found = []
        for r in self.rounds:
            if not r.during:
                found.append(f"{r.mode}: no request was made during the outage")
            elif r.unavailable == 0:
                found.append(f"{r.mode}: no request answered a clean 503 during the outage")
            for a in r.unclean[:3]:
                found.append(
                    f"{r.mode}: a {a.kind} during the outage answered {a.status or a.failure} "
                    f"(Retry-After {a.retry_after!r}): {a.detail[:200]}"
                )
            if r.read_back_after is None or r.write_back_after is None:
                found.append(f"{r.mode}: the application did not answer 200/201 after the restart")
        for a in self.server_errors[:3]:
            found.append(f"a {a.kind} answered {a.status}: {a.detail[:300]}")
        for a in self.no_answer[:3]:
            found.append(
                f"a {a.kind} got no answer ({a.failure}) after {a.ended - a.started:.1f} s"
            )
        if self.lost:
            found.append(f"acknowledged (201) but not stored: {self.lost[:10]}")
        if self.unaudited:
            found.append(f"stored without an audit entry: {self.unaudited[:10]}")
        if not self.chain_ok:
            found.append(f"the audit chain does not verify: {self.chain_problem}")
        if not self.same_process:
            found.append("the application process did not survive the outages")
        return found


def _cli(url: str, *args: str) -> subprocess.Popen[bytes]:
    code = "import sys; from myoivig.launcher import main; sys.argv[0] = 'myoivig'; main()"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "MYOIVIG_DATABASE_URL": url,
        "MYOIVIG_ACTOR": "fault-bench",
    }
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


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
    raise RuntimeError(f"the server at {base} did not come up")


class Load:
    """Reader and writer threads calling the API without pause until stopped."""

    def __init__(self, base: str, token: str, writers: int, readers: int) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.run_id = uuid.uuid4().hex[:4].upper()
        self.threads = [
            threading.Thread(target=self._loop, args=("write", n), daemon=True)
            for n in range(writers)
        ] + [
            threading.Thread(target=self._loop, args=("read", n), daemon=True)
            for n in range(readers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    def _loop(self, kind: str, worker: int) -> None:
        import httpx

        with httpx.Client(base_url=self.base, headers=self.headers) as client:
            n = 0
            while not self.halt.is_set():
                n += 1
                code = f"R{self.run_id}{worker:02d}{n:05d}" if kind == "write" else None
                began = time.monotonic()
                try:
                    if code is not None:
                        body = {
                            "code": code,
                            "site_code": "NORTH",
                            "sex": "F",
                            "diagnosis": "polymyositis",
                        }
                        reply = client.post("/api/v1/patients", json=body, timeout=REQUEST_TIMEOUT)
                    else:
                        reply = client.get("/api/v1/patients", timeout=REQUEST_TIMEOUT)
                except httpx.HTTPError as error:
                    answer = Answer(
                        kind, began, time.monotonic(), None, failure=type(error).__name__, code=code
                    )
                else:
                    answer = Answer(
                        kind,
                        began,
                        time.monotonic(),
                        reply.status_code,
                        reply.headers.get("retry-after"),
                        reply.text,
                        code=code,
                    )
                with self.lock:
                    self.answers.append(answer)
                if answer.status not in (200, 201):
                    time.sleep(0.05)  # a client backing off a little, as Retry-After asks

    def snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)


def _first_success(load: Load, kind: str, after: float, wait: float) -> float | None:
    """Seconds from `after` to the end of the first success of `kind` that started after it."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        done = [
            a.ended - after
            for a in load.snapshot()
            if a.kind == kind and a.started >= after and a.status in (200, 201)
        ]
        if done:
            return min(done)
        time.sleep(0.1)
    return None


def run_outages(
    bin_dir: Path,
    modes: tuple[str, ...] = ("fast", "immediate"),
    writers: int = 4,
    readers: int = 2,
    before: float = 3.0,
    outage: float = 4.0,
    settle: float = 2.0,
) -> Outcome:
    """The whole scenario on a private cluster; returns what happened (checks in `problems`)."""
    from sqlalchemy import select

    from myoivig.accounts.service import add_site, add_user, create_token
    from myoivig.store import Store
    from myoivig.store.audit_chain import verify_chain
    from myoivig.store.tables import AuditRow, PatientRow

    with private_cluster(bin_dir) as cluster:
        url = cluster.create_database("myoivig_fault")
        store = Store.from_url(url)
        store.upgrade()
        add_site(store, "bench", "NORTH", "North clinic", None)
        add_user(store, "bench", "carl", "clinician", ["NORTH"], "correct horse battery staple")
        token = create_token(store, "bench", "carl")
        store.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = _cli(url, "serve", "--host", "127.0.0.1", "--port", str(port))
        rounds: list[Round] = []
        try:
            _wait_up(base)
            pid = server.pid
            load = Load(base, token, writers, readers)
            load.start()
            try:
                for mode in modes:
                    time.sleep(before)
                    current = Round(mode)
                    current.stopped_at = time.monotonic()
                    current.stop_seconds = cluster.stop(mode)
                    time.sleep(outage)
                    current.started_at = time.monotonic()
                    current.start_seconds = cluster.start()
                    up = time.monotonic()
                    current.read_back_after = _first_success(load, "read", up, 30)
                    current.write_back_after = _first_success(load, "write", up, 30)
                    rounds.append(current)
                time.sleep(settle)
            finally:
                load.stop()
            same_process = server.poll() is None and server.pid == pid
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)
        answers = load.snapshot()
        for r in rounds:
            # the outage: from the stop command to the server accepting connections again
            r.during = [a for a in answers if r.stopped_at <= a.started and a.ended <= r.started_at]
        store = Store.from_url(url)
        with store.session() as session:
            stored = set(session.scalars(select(PatientRow.code)).all())
            audited = {
                changes.get("code")
                for changes in session.scalars(
                    select(AuditRow.changes).where(AuditRow.table_name == "patients")
                ).all()
            }
            chain = verify_chain(session)
        store.dispose()
    acknowledged = [a.code for a in answers if a.kind == "write" and a.status == 201 and a.code]
    return Outcome(
        rounds=rounds,
        answers=answers,
        acknowledged=acknowledged,
        lost=sorted(set(acknowledged) - stored),
        unaudited=sorted(set(acknowledged) - audited),
        stored_after_503=sorted(
            a.code for a in answers if a.status == 503 and a.code and a.code in stored
        ),
        server_errors=[
            a
            for a in answers
            if a.status is not None and a.status >= 500 and not a.clean_unavailable
        ],
        no_answer=[a for a in answers if a.failure is not None],
        slowest=max((a.ended - a.started for a in answers), default=0.0),
        chain_ok=chain.ok,
        chain_problem=chain.problem,
        same_process=same_process,
    )


def report(outcome: Outcome) -> list[str]:
    lines = []
    for r in outcome.rounds:
        reads = sum(1 for a in r.during if a.kind == "read")
        read_back = f"{r.read_back_after:.2f} s" if r.read_back_after is not None else "never"
        write_back = f"{r.write_back_after:.2f} s" if r.write_back_after is not None else "never"
        lines.append(
            f"pg_ctl stop -m {r.mode}: stop took {r.stop_seconds:.2f} s, outage "
            f"{r.started_at - r.stopped_at:.1f} s + start {r.start_seconds:.2f} s; "
            f"{len(r.during)} requests during the outage ({reads} reads, "
            f"{len(r.during) - reads} writes): {r.unavailable} answered 503 with Retry-After "
            f"and the message, {len(r.unclean)} otherwise; first 200 (read) {read_back} and "
            f"first 201 (write) {write_back} after pg_ctl start returned"
        )
    lines.append(
        f"all {len(outcome.answers)} requests: slowest answer {outcome.slowest:.2f} s (client "
        f"timeout {REQUEST_TIMEOUT:.0f} s), server errors other than a clean 503: "
        f"{len(outcome.server_errors)}, no answer: {len(outcome.no_answer)}"
    )
    lines.append(
        f"writes acknowledged (201): {len(outcome.acknowledged)}; lost: {len(outcome.lost)}; "
        f"without audit entry: {len(outcome.unaudited)}; answered 503 but stored (COMMIT cut "
        f"off): {len(outcome.stored_after_503)}; audit chain verifies: "
        f"{'yes' if outcome.chain_ok else 'NO: ' + str(outcome.chain_problem)}; same "
        f"application process throughout: {'yes' if outcome.same_process else 'NO'}"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--outage", type=float, default=4.0, help="seconds the server is down")
    args = parser.parse_args()
    bin_dir = server_bin()
    if bin_dir is None:
        print("SKIP: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
        return 0
    print(f"private cluster from {bin_dir}; {args.writers} writers, {args.readers} readers")
    outcome = run_outages(bin_dir, writers=args.writers, readers=args.readers, outage=args.outage)
    for line in report(outcome):
        print(line)
    problems = outcome.problems()
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
