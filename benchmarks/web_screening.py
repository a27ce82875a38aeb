"""Screening page speed at 5,000 records and 10,000 decisions on PostgreSQL (issue 13, "Speed").

Targets: the next record appears in under 150 ms at the 95th percentile while retraining runs;
a decision is stored in under 50 ms. Peer: the targets themselves (and the CLI, which takes
seconds per decision). A fresh database is created on the local PostgreSQL, filled with a
SYNTHETIC review (5,000 records; 10,000 - N decisions stored up front by three screeners: a and b
decide records 1 to 5,000 - N, c the last N), served by uvicorn on 127.0.0.1, and timed over
HTTP on the loopback: screener `a` gives the second decision on c's N records (the N decisions
that bring the log to exactly 10,000) and fetches the next record after each, while the model
retrains in the background after every decision (in-process jobs, the embedded default). The
first page view after start-up (which replays the log once) is not timed. Bounded by
--max-seconds; the database is dropped at the end.

    .venv/bin/python benchmarks/web_screening.py [--decisions 200] [--max-seconds 300]
        [--peer-src DIR]

--peer-src runs the same benchmark again, in a child process, on the code in DIR (e.g. the
source tree before a change, unpacked with `git archive <commit> src | tar -x -C /tmp/peer`),
and prints its figures under the same conditions. Besides wall times it prints the server
process's CPU time per decision + next page (every thread but the client's; a retrain running
in a thread of the server counts, one in a worker process does not), which the machine's load
disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import psycopg
import uvicorn

from myoivig.accounts.service import add_user
from myoivig.review import repository as repo
from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
from myoivig.review.screening.stored import ScreeningRecorded
from myoivig.review.screening.synthetic import seed_review
from myoivig.store import Store
from myoivig.web.app import create_app
from myoivig.web.settings import WebSettings

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PASSWORD = "benchmark password 1"
REVIEW = "bench"
NEXT_TARGET_MS = 150.0
DECISION_TARGET_MS = 50.0


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def _fill(store: Store, n_records: int, n_decisions: int, timed: int) -> None:
    """Synthetic review; a and b decide the first records (complete), c the last `timed`."""
    add_user(store, "bench", "a", "reviewer", [], PASSWORD)
    add_user(store, "bench", "b", "reviewer", [], PASSWORD)
    add_user(store, "bench", "c", "reviewer", [], PASSWORD)
    records = seed_review(store, REVIEW, n_records, ["a", "b", "c"], ["r"], seed=1)
    pairs, odd = divmod(n_decisions - 2 * timed, 2)  # records decided by both a and b
    if odd or pairs < 0 or pairs + timed > n_records:
        raise SystemExit(f"{n_decisions} decisions do not fit {n_records} records with {timed}")
    now = datetime.now(UTC)
    events = []
    for i, record in enumerate(records[: pairs + timed]):
        relevant = "IVIg" in (record.title or "") or "immunoglobulin" in (record.title or "")
        verdict = Verdict.INCLUDE if relevant else Verdict.EXCLUDE
        reason = None if relevant else "not a clinical study"
        for reviewer in ("a", "b") if i < pairs else ("c",):
            events.append(
                ScreeningEvent(
                    EventKind.DECISION,
                    Stage.TITLE_ABSTRACT,
                    record.record_id,
                    reviewer,
                    verdict,
                    now,
                    reason,
                )
            )
    with store.unit_of_work(actor="bench") as session:
        for event in events:
            repo.append_event(session, ScreeningRecorded.from_event(event), REVIEW)
    with store.session() as session:
        repo.load_screening(session, REVIEW)  # the stored log is valid under the workflow rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=200, help="timed decisions")
    parser.add_argument("--total", type=int, default=10000, help="decisions in the log at the end")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--peer-src", help="source tree of the code to compare with")
    args = parser.parse_args(argv)
    name = f"myoivig_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    server = None
    try:
        store = Store.from_url(url)
        store.upgrade()
        started = time.perf_counter()
        _fill(store, args.records, args.total, args.decisions)
        took = time.perf_counter() - started
        stored = args.total - args.decisions
        print(f"filled {args.records} records, {stored} decisions in {took:.1f} s")
        app = create_app(WebSettings(database_url=url), store)
        port = 8765 + (uuid.uuid4().int % 1000)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, timeout=30)
        login = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"name": "a", "password": PASSWORD, "csrf_token": csrf})
        next_ms: list[float] = []
        decide_ms: list[float] = []
        retraining_during: list[bool] = []
        deadline = time.monotonic() + args.max_seconds
        page = client.get(f"/reviews/{REVIEW}/screen").text
        cpu_start, client_start = time.process_time(), time.thread_time()
        for _ in range(args.decisions):
            if time.monotonic() > deadline:
                print("time bound reached", file=sys.stderr)
                break
            found = re.search(r'data-testid="record-id">([^<]+)<', page)
            if not found:
                print("no record on the page:", page[:300], file=sys.stderr)
                break
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            t0 = time.perf_counter()
            answer = client.post(
                f"/reviews/{REVIEW}/screen",
                data={
                    "csrf_token": token,
                    "record_id": found.group(1),
                    "verdict": "exclude",
                    "reason": "case report",
                },
                follow_redirects=False,
            )
            decide_ms.append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 303, answer.text[:500]
            t0 = time.perf_counter()
            page = client.get(answer.headers["location"]).text
            next_ms.append((time.perf_counter() - t0) * 1000)
            retraining_during.append("retraining in the background" in page)
        server_cpu = (time.process_time() - cpu_start) - (time.thread_time() - client_start)
        load = os.getloadavg()
        print(
            f"{len(decide_ms)} decisions by one reviewer over HTTP on 127.0.0.1 (PostgreSQL), "
            f"log {stored} -> {stored + len(decide_ms)} decisions; load average "
            f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"decision stored (POST, 303): median {statistics.median(decide_ms):.0f} ms, "
            f"p95 {_p95(decide_ms):.0f} ms; target < {DECISION_TARGET_MS:.0f} ms: "
            f"{'met' if _p95(decide_ms) < DECISION_TARGET_MS else 'NOT met'}"
        )
        print(
            f"next record page (GET): median {statistics.median(next_ms):.0f} ms, p95 "
            f"{_p95(next_ms):.0f} ms; a retrain was running for {sum(retraining_during)} of "
            f"{len(next_ms)} pages; target p95 < {NEXT_TARGET_MS:.0f} ms: "
            f"{'met' if _p95(next_ms) < NEXT_TARGET_MS else 'NOT met'}"
        )
        per_cycle = server_cpu / len(next_ms) * 1000
        print(f"server process CPU per decision + next page: {per_cycle:.0f} ms")
    finally:
        if server is not None:
            server.should_exit = True
            time.sleep(0.5)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.peer_src:
        _run_peer(args)
    return 0


def _run_peer(args: argparse.Namespace) -> None:
    """The same benchmark on the peer's code, in a child process with that code on its path."""
    command = [sys.executable, __file__, "--records", str(args.records), "--decisions",
               str(args.decisions), "--total", str(args.total), "--max-seconds",
               str(args.max_seconds)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": args.peer_src}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        print(f"peer ({args.peer_src}): {line}")


if __name__ == "__main__":
    raise SystemExit(main())
