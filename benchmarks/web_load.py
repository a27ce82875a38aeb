"""Patient page and patient list under 50 concurrent users on PostgreSQL (issue 12, "Speed").

Target: with 1,000 patients of 20 visits each, the patient page and the patient list answer in
under 100 ms at the 95th percentile with 50 concurrent simulated users, with no errors.

What it does, all on this machine (127.0.0.1 only):
1. creates a fresh PostgreSQL database with a unique name (dropped at the end, also on errors),
   brings it to the current schema and fills it with SYNTHETIC patients
   (`myoivig.demo_clinic.scaled`: the demo clinic's building blocks, N patients x V visits with
   myometry, MRC grades, tasks, core set, CK, courses, labs and adverse events) through the
   store's bulk path (`repository.bulk_add_dossiers`, audited);
2. adds clinician accounts (one per simulated user, all three sites);
3. starts the real server in a child process: `myoivig serve` (uvicorn with the project's app
   factory) with the stated number of workers; `--server-src DIR` serves another source tree
   instead (e.g. the code before a change, unpacked with `git archive`), so before and after are
   measured against the same database in one run;
4. each simulated user signs in through the sign-in form (CSRF double-submit, argon2) and then
   the users send a fixed number of requests per endpoint, 50 at a time (httpx, asyncio, one
   cookie jar per user, 30 s timeout per request): the patient page (first views after start,
   then repeat views), the patient list page, and their /api/v1 equivalents.

Peer (same server, same run): a static file (`/static/app.css`) and the sign-in page, which
touch no database: the floor of what the stack and the client cost per request here.

    .venv/bin/python benchmarks/web_load.py [--patients 1000] [--visits 20] [--users 50]
        [--requests 1000] [--workers 2] [--server-src /tmp/old/src]

Exit code 0 when every measured endpoint met the target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from load_common import (
    THIS_SRC,
    USER_LIMITS,
    Server,
    fill,
    quantile,
    scratch_database,
    sign_in,
    stop_on_sigterm,
)

TARGET_P95_MS = 100.0


@dataclass
class Figures:
    name: str
    latencies_ms: list[float]
    errors: int
    wall_s: float
    target: bool  # held to the 100 ms target (the peers are not)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0  # this load generator's own CPU (it shares the machine)
    bytes_received: int = 0

    def quantile(self, q: float) -> float:
        return quantile(self.latencies_ms, q)

    @property
    def met(self) -> bool:
        return self.errors == 0 and self.quantile(0.95) < TARGET_P95_MS

    def line(self) -> str:
        n = len(self.latencies_ms)
        verdict = ("met" if self.met else "NOT met") if self.target else "peer"
        return (
            f"| {self.name} | {n} | {self.errors} | {self.quantile(0.50):.0f} | "
            f"{self.quantile(0.95):.0f} | {self.quantile(0.99):.0f} | "
            f"{n / self.wall_s:.0f} | {self.server_cpu_s * 1000 / max(n, 1):.1f} | "
            f"{self.client_cpu_s * 1000 / max(n, 1):.1f} | "
            f"{self.bytes_received / max(n, 1) / 1000:.0f} | {verdict} |"
        )


@dataclass(frozen=True)
class Pace:
    think_ms: float  # mean pause of a user between two requests (uniform, 0.5x to 1.5x)
    max_seconds: float  # per endpoint: requests not sent by then count as errors


async def drive(
    clients: list[httpx.AsyncClient],
    name: str,
    paths: list[str],
    target: bool,
    pace: Pace,
    cpu: Callable[[], float],
) -> Figures:
    """Send `paths` (fixed list, so the run stops by itself), one client per concurrent user."""
    queue = list(reversed(paths))
    latencies: list[float] = []
    errors = 0
    received = 0
    deadline = time.perf_counter() + pace.max_seconds
    rng = random.Random(name)

    async def user(client: httpx.AsyncClient) -> None:
        nonlocal errors, received
        if pace.think_ms:  # users do not all start in the same millisecond
            await asyncio.sleep(rng.uniform(0, pace.think_ms) / 1000)
        while queue and time.perf_counter() < deadline:
            path = queue.pop()
            started = time.perf_counter()
            try:
                answer = await client.get(path)
                ok = answer.status_code == 200 and len(answer.content) > 0
                received += len(answer.content)
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok
            if pace.think_ms:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * pace.think_ms / 1000)

    started, cpu_before, own_before = time.perf_counter(), cpu(), time.process_time()
    await asyncio.gather(*(user(c) for c in clients))
    wall = time.perf_counter() - started
    errors += len(queue)  # not sent within --max-seconds
    own = time.process_time() - own_before
    return Figures(name, latencies, errors, wall, target, cpu() - cpu_before, own, received)


async def load(
    server: Server, codes: list[str], users: int, requests: int, seed: int, pace: Pace
) -> list[Figures]:
    base = server.base
    rng = random.Random(seed)
    limits = USER_LIMITS
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(users)]
    try:
        await asyncio.gather(*(sign_in(c, f"clin{i:02d}") for i, c in enumerate(clients)))
        pages = max(1, len(codes) // 25)
        first = codes[:]
        rng.shuffle(first)
        plan: list[tuple[str, list[str], bool]] = [
            ("peer: static file /static/app.css", ["/static/app.css"] * requests, False),
            ("peer: sign-in page /login", ["/login"] * requests, False),
            ("patient page, first views", [f"/patients/{c}" for c in first[:requests]], True),
            (
                "patient page, repeat views",
                [f"/patients/{rng.choice(codes)}" for _ in range(requests)],
                True,
            ),
            (
                "patient list page",
                [f"/patients?page={rng.randint(1, pages)}" for _ in range(requests)],
                True,
            ),
            (
                "API patient",
                [f"/api/v1/patients/{rng.choice(codes)}" for _ in range(requests)],
                True,
            ),
            (
                "API patient list",
                [
                    f"/api/v1/patients?page={rng.randint(1, pages // 2 or 1)}"
                    for _ in range(requests)
                ],
                True,
            ),
        ]
        return [
            await drive(clients, name, paths, target, pace, server.cpu_seconds)
            for name, paths, target in plan
        ]
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def report(title: str, figures: list[Figures]) -> None:
    out = functools.partial(print, flush=True)
    out(f"\n{title}")
    out(
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/req "
        "| load generator CPU ms/req | kB/answer | p95 < 100 ms |"
    )
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in figures:
        out(f.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of this tree")
    parser.add_argument(
        "--think-ms", type=float, action="append", default=[],
        help="mean pause of each user between requests (0: each sends the next at once); "
        "repeat to run this tree once per value (default 1000)",
    )  # fmt: skip
    parser.add_argument("--max-seconds", type=float, default=300, help="per endpoint")
    parser.add_argument(
        "--server-src", type=Path, action="append", default=[],
        help="also serve this source tree (1 worker, its own `serve`) as the before peer",
    )  # fmt: skip
    parser.add_argument("--peer-requests", type=int, default=100, help="per endpoint, peer")
    parser.add_argument("--peer-max-seconds", type=float, default=90, help="per endpoint, peer")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--no-warm", action="store_true",
        help="serve without building patient pages ahead (MYOIVIG_WARM_PAGES=false): every "
        "first view of a patient builds its page",
    )  # fmt: skip
    parser.add_argument("--warm-timeout", type=float, default=900, help="seconds")
    args = parser.parse_args()
    stop_on_sigterm()
    thinks = args.think_ms or [1000.0]
    this_src = THIS_SRC
    met = False
    ours: list[Figures] = []
    with scratch_database("myoivig_webload") as url:
        codes = fill(url, args.patients, args.visits, args.users, "web-load-benchmark")
        runs = [(f"before: {src} (1 worker)", src, None, args.peer_requests,
                  Pace(thinks[0], args.peer_max_seconds)) for src in args.server_src]  # fmt: skip
        runs += [(f"this tree ({args.workers} workers)", this_src, args.workers, args.requests,
                  Pace(think, args.max_seconds)) for think in thinks]  # fmt: skip
        warm = "false" if args.no_warm else "true"
        for title, src, workers, requests, pace in runs:
            log = Path(tempfile.mkdtemp(prefix="webload")) / "server.log"
            server = Server(url, src, workers, log=log, env={"MYOIVIG_WARM_PAGES": warm})
            try:
                if src == this_src and not args.no_warm:
                    # each worker process sweeps; measure once all have finished
                    for line in server.wait_for_line(
                        "patient pages ready", workers or 1, args.warm_timeout
                    ):
                        print(f"server: {line.strip()}", flush=True)
                started = time.monotonic()
                figures = asyncio.run(load(server, codes, args.users, requests, args.seed, pace))
                if src == this_src:
                    ours += figures
                wall = time.monotonic() - started
            finally:
                server.stop()
            load1, load5, _ = os.getloadavg()
            report(
                f"{title}: {args.patients} patients x {args.visits} visits, {args.users} users, "
                f"think time {pace.think_ms:g} ms, pages built ahead: {warm}, "
                f"{wall:.0f} s, load average {load1:.1f} "
                f"(5 min {load5:.1f}) on {os.cpu_count()} CPUs",
                figures,
            )
        met = all(f.met for f in ours if f.target)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
