"""Reads and writes by 50 concurrent users for two minutes on PostgreSQL (issue 15, item 3).

Target: zero errors (no 5xx answer, no connection error or timeout), zero lost updates (every
acknowledged write is in the database with the acknowledged values and has its audit entry),
the audit chain verifies, and no password, token, session id or patient identifier appears in
the server's log. p50/p95/p99 latency and requests/s are reported per kind of request.

What it does, all on this machine (127.0.0.1 only), bounded and stopping by itself:
1. creates a fresh PostgreSQL database with a unique name (dropped at the end, also on errors;
   no other database is touched) and fills it with SYNTHETIC patients through the store's bulk
   path (as `web_load.py`); adds one clinician per simulated user, an API token for each, and an
   admin with a generated password;
2. starts the real server, `myoivig serve --workers N`, with its stdout and stderr written to a
   log file (the server's normal logging: warnings, no access log);
3. each user signs in through the form (for the patient page) and, with a think time between
   requests (uniform 0.5-1.5 x the mean), picks one of: the API patient list, an API dossier,
   the patient page; creating a patient, adding a lab result or an adverse event (to patients
   nobody edits), editing a lab result or a patient of a small shared "hot" set (read with its
   version, an edit pause, then PUT with that version: a 409 is the correct answer when someone
   else saved in between, counted apart, never an error), until `--seconds` have passed or
   `--requests` operations were started;
4. stops the server and checks, in the database: every acknowledged create is there with the
   values sent and an `audit_log` insert entry for its table and row id; every acknowledged edit
   has its own version (two acknowledged edits of one version would be a lost update), its
   `audit_log` update entry at that version with the value sent, and the newest acknowledged
   edit of each record is what the record holds now; rows carrying this run's markers that no
   acknowledged write explains are counted apart (a write whose answer was lost, not a lost
   update); and the whole audit chain verifies (`verify_chain`, as `myoivig audit verify`);
5. greps the server's log for every API token, every password, every session cookie and every
   patient code, and the made-up names written into the new patients' notes.

    .venv/bin/python benchmarks/web_load_writes.py [--users 50] [--seconds 120]
        [--requests N] [--workers 2] [--patients 200] [--visits 8] [--think-ms 1000]
        [--hot 5] [--log FILE]

Exit code 0 when there was no error, no unexpected answer, no lost update, the chain verifies
and the log holds none of the secrets or identifiers; 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
from sqlalchemy import select

from myoivig.accounts.service import add_user, create_token, generate_password
from myoivig.store import Store
from myoivig.store.audit_chain import verify_chain
from myoivig.store.tables import AdverseEventRow, AuditRow, LabResultRow, PatientRow, SiteRow

ACTOR = "web-load-writes"
NUMERIC_LABS = {"creatinine", "egfr", "haemoglobin", "iga", "igg"}
# (operation, weight): reads about 60 %, writes about 40 %
MIX = (
    ("API patient list", 20),
    ("API patient", 20),
    ("patient page", 20),
    ("create patient", 10),
    ("add lab", 10),
    ("add adverse event", 8),
    ("edit lab", 8),
    ("edit patient", 4),
)
SITE_CODES: list[str] = []  # filled from the database before the load starts


@dataclass
class Tally:
    """Answers to one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    conflicts: int = 0  # 409: someone else saved first; nothing written
    unexpected: int = 0  # any other 4xx (or a 2xx without the expected body)
    errors: int = 0  # 5xx, connection error, timeout
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: what the server said it stored."""

    kind: str  # patient, lab, event, lab edit, patient edit
    code: str
    values: dict[str, Any]
    record_id: int | None = None
    version: int | None = None


@dataclass
class Run:
    marker: str  # in every code, term and note this run writes
    seeded: list[str]
    hot: list[str]
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    acks: list[Ack] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # acknowledged new patients
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    names: list[str] = field(default_factory=list)  # made-up names put into notes

    def next(self) -> int:
        return next(self.counter)


async def _timed(
    run: Run, name: str, send: Any, expect: tuple[int, ...] = (200,)
) -> httpx.Response | None:
    """Send one request, time it and classify the answer; None unless it is an expected 2xx."""
    tally = run.tallies[name]
    started = time.perf_counter()
    try:
        answer: httpx.Response = await send()
    except httpx.HTTPError as error:
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        tally.errors += 1
        tally.examples.append(f"{type(error).__name__}: {error}"[:200])
        return None
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    if answer.status_code in expect:
        tally.ok += 1
        return answer
    if answer.status_code == 409:
        tally.conflicts += 1
    elif answer.status_code >= 500:
        tally.errors += 1
        tally.examples.append(f"{answer.status_code}: {answer.text[:200]}")
    else:
        tally.unexpected += 1
        tally.examples.append(f"{answer.status_code}: {answer.text[:200]}")
    return answer if answer.status_code == 409 else None


class User:
    """One simulated clinician: an API client with its token and a browser-like client with its
    session cookie; remembers the versions it last saw of the hot patients."""

    def __init__(self, base: str, number: int, token: str, rng: random.Random) -> None:
        limits = USER_LIMITS
        self.api = httpx.AsyncClient(
            base_url=base,
            timeout=30,
            limits=limits,
            headers={"Authorization": f"Bearer {token}"},
        )
        self.browser = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
        self.name = f"clin{number:02d}"
        self.rng = rng
        self.patient_versions: dict[str, int] = {}

    async def close(self) -> None:
        await self.api.aclose()
        await self.browser.aclose()

    def _target(self, run: Run) -> str:
        """A patient that nobody edits: one of this run's new ones or a seeded one."""
        pool = run.created if run.created and self.rng.random() < 0.5 else run.seeded
        return self.rng.choice(pool)

    async def step(self, run: Run, operation: str, pace_ms: float) -> None:
        rng = self.rng
        if operation == "API patient list":
            page = rng.randint(1, max(1, (len(run.seeded) + len(run.created)) // 25))
            await _timed(run, operation, lambda: self.api.get(f"/api/v1/patients?page={page}"))
        elif operation == "API patient":
            code = rng.choice(run.hot) if rng.random() < 0.2 else self._target(run)
            await _timed(run, operation, lambda: self.api.get(f"/api/v1/patients/{code}"))
        elif operation == "patient page":
            code = self._target(run)
            await _timed(run, operation, lambda: self.browser.get(f"/patients/{code}"))
        elif operation == "create patient":
            await self._create_patient(run, operation)
        elif operation == "add lab":
            await self._add_lab(run, operation)
        elif operation == "add adverse event":
            await self._add_event(run, operation)
        elif operation == "edit lab":
            await self._edit_lab(run, operation, pace_ms)
        else:
            await self._edit_patient(run, operation, pace_ms)

    async def _create_patient(self, run: Run, operation: str) -> None:
        n = run.next()
        code = f"LW{run.marker}-{n:05d}"
        name = f"Loadname {run.marker}{n:05d}"  # a made-up name: must never reach the log
        run.names.append(name)
        body = {
            "code": code,
            "site_code": self.rng.choice(SITE_CODES),
            "sex": self.rng.choice(["F", "M"]),
            "diagnosis": self.rng.choice(["dermatomyositis", "polymyositis"]),
            "birth_year": self.rng.randint(1940, 2000),
            "height_cm": float(self.rng.randint(150, 190)),
            "note": f"SYNTHETIC load test patient; next of kin {name}",
        }
        answer = await _timed(
            run, operation, lambda: self.api.post("/api/v1/patients", json=body), (201,)
        )
        if answer is None or answer.status_code != 201:
            return
        stored = answer.json()
        if stored.get("version") != 1 or stored["patient"]["code"] != code:
            run.tallies[operation].unexpected += 1
            return
        values = {k: body[k] for k in ("sex", "diagnosis", "birth_year", "height_cm", "note")}
        run.acks.append(Ack("patient", code, {**values, "site_code": body["site_code"]}, None, 1))
        run.created.append(code)

    async def _add_lab(self, run: Run, operation: str) -> None:
        code = self._target(run)
        n = run.next()
        body = {
            "test": "creatinine",
            "unit": "umol/L",
            "value": round(60 + n / 1000, 3),  # unique to this write
            "sample_date": (date.today() - timedelta(days=self.rng.randint(1, 300))).isoformat(),
        }
        path = f"/api/v1/patients/{code}/labs"
        answer = await _timed(run, operation, lambda: self.api.post(path, json=body), (201,))
        if answer is not None and answer.status_code == 201:
            run.acks.append(Ack("lab", code, body))

    async def _add_event(self, run: Run, operation: str) -> None:
        code = self._target(run)
        n = run.next()
        body = {
            "term": f"Headache (load {run.marker} {n})",  # unique to this write
            "serious": False,
            "ctcae_grade": 1,
            "onset_date": (date.today() - timedelta(days=self.rng.randint(1, 300))).isoformat(),
        }
        path = f"/api/v1/patients/{code}/adverse-events"
        answer = await _timed(run, operation, lambda: self.api.post(path, json=body), (201,))
        if answer is not None and answer.status_code == 201:
            run.acks.append(Ack("event", code, body))

    async def _edit_lab(self, run: Run, operation: str, pace_ms: float) -> None:
        """Read a hot patient's labs with their versions, pause as someone editing would, save."""
        code = self.rng.choice(run.hot)
        listed = await _timed(
            run, "edit lab: read", lambda: self.api.get(f"/api/v1/patients/{code}/labs")
        )
        if listed is None:
            return
        items = [i for i in listed.json()["items"] if i["record"]["test"] in NUMERIC_LABS]
        items = [i for i in items if i["record"]["value"] is not None]
        if not items:
            return
        item = self.rng.choice(items)
        await asyncio.sleep(self.rng.uniform(0, pace_ms) / 1000)
        record = {k: v for k, v in item["record"].items() if k != "patient_code"}
        n = run.next()
        # the whole number as seeded, a fraction unique to this write: never the stored value
        record["value"] = round(int(record["value"]) + (n % 997 + 1) / 1000, 3)
        path = f"/api/v1/patients/{code}/labs/{item['id']}"
        answer = await _timed(
            run,
            operation,
            lambda: self.api.put(path, json={**record, "version": item["version"]}),
        )
        if answer is not None and answer.status_code == 200:
            saved = answer.json()
            run.acks.append(
                Ack("lab edit", code, {"value": record["value"]}, saved["id"], saved["version"])
            )

    async def _edit_patient(self, run: Run, operation: str, pace_ms: float) -> None:
        """Read a hot patient, pause, save a new note against the version this user last saw
        (a 409 tells it the current one)."""
        code = self.rng.choice(run.hot)
        read = await _timed(
            run, "edit patient: read", lambda: self.api.get(f"/api/v1/patients/{code}")
        )
        if read is None:
            return
        patient = read.json()["patient"]
        await asyncio.sleep(self.rng.uniform(0, pace_ms) / 1000)
        n = run.next()
        body = {k: v for k, v in patient.items() if k not in ("code", "site_code")}
        body["note"] = f"SYNTHETIC; edited under load ({run.marker} {n})"
        version = self.patient_versions.get(code, 1)
        path = f"/api/v1/patients/{code}"
        answer = await _timed(
            run, operation, lambda: self.api.put(path, json={**body, "version": version})
        )
        if answer is None:
            return
        saved = answer.json()
        self.patient_versions[code] = int(saved["version"])
        if answer.status_code == 200:
            run.acks.append(
                Ack("patient edit", code, {"note": body["note"]}, None, saved["version"])
            )


async def drive(
    base: str,
    tokens: list[str],
    admin_password: str,
    run: Run,
    seconds: float,
    requests: int,
    think_ms: float,
    seed: int,
) -> list[str]:
    """All users until the time or request budget is spent; returns the session cookies seen."""
    users = [User(base, i, t, random.Random(seed * 1000 + i)) for i, t in enumerate(tokens)]
    admin = httpx.AsyncClient(base_url=base, timeout=30)
    cookies: list[str] = []
    try:
        await asyncio.gather(*(sign_in(u.browser, u.name) for u in users))
        await sign_in(admin, "loadadmin", admin_password)
        cookies += [c for c in admin.cookies.values()]
        operations = [name for name, _ in MIX]
        weights = [w for _, w in MIX]
        budget = itertools.count()
        deadline = time.perf_counter() + seconds

        async def user_loop(user: User) -> None:
            await asyncio.sleep(user.rng.uniform(0, think_ms) / 1000)
            while time.perf_counter() < deadline and next(budget) < requests:
                operation = user.rng.choices(operations, weights)[0]
                await user.step(run, operation, think_ms)
                await asyncio.sleep(user.rng.uniform(0.5, 1.5) * think_ms / 1000)

        await asyncio.gather(*(user_loop(u) for u in users))
        for user in users:
            cookies += [c for c in user.browser.cookies.values()]
    finally:
        await asyncio.gather(*(u.close() for u in users), admin.aclose())
    return cookies


# --- checking the database after the run ------------------------------------------------------


@dataclass
class Check:
    lost: list[str] = field(default_factory=list)  # acknowledged but missing or different
    unexplained: list[str] = field(default_factory=list)  # present but never acknowledged
    chain: str = ""
    chain_ok: bool = False


def _inserted(session: Any, table: str) -> set[int]:
    rows = session.execute(
        select(AuditRow.record_id).where(AuditRow.table_name == table, AuditRow.action == "insert")
    )
    return {int(r[0]) for r in rows if r[0] is not None}


def _updates(session: Any, table: str) -> dict[tuple[int, int], dict[str, Any]]:
    rows = session.execute(
        select(AuditRow.record_id, AuditRow.record_version, AuditRow.changes).where(
            AuditRow.table_name == table, AuditRow.action == "update"
        )
    )
    return {(int(r[0]), int(r[1])): r[2] for r in rows}


def verify(url: str, run: Run) -> Check:
    """Every acknowledged write against the database and the audit trail (see the module doc)."""
    check = Check()
    store = Store(url)
    with store.session() as session:
        patients = {row.code: row for row in session.scalars(select(PatientRow))}
        sites = {row.id: row.site_code for row in session.scalars(select(SiteRow))}
        by_id = {row.id: row.code for row in patients.values()}
        labs = list(session.scalars(select(LabResultRow)))
        events = list(session.scalars(select(AdverseEventRow)))
        audited = {t: _inserted(session, t) for t in ("patients", "lab_results", "adverse_events")}
        updates = {t: _updates(session, t) for t in ("patients", "lab_results")}
        acked = {kind: [a for a in run.acks if a.kind == kind] for kind in
                 ("patient", "lab", "event", "lab edit", "patient edit")}  # fmt: skip

        for ack in acked["patient"]:
            row = patients.get(ack.code)
            if row is None:
                check.lost.append(f"patient {ack.code}: acknowledged, not in the database")
                continue
            stored = {k: getattr(row, k) for k in ack.values if k != "site_code"}
            stored["site_code"] = sites.get(row.site_id or 0)
            if stored != ack.values:
                check.lost.append(f"patient {ack.code}: stored {stored} != sent {ack.values}")
            if row.id not in audited["patients"]:
                check.lost.append(f"patient {ack.code}: no audit insert entry for row {row.id}")
        ours = {c for c in patients if c.startswith(f"LW{run.marker}-")}
        for code in sorted(ours - {a.code for a in acked["patient"]}):
            check.unexplained.append(f"patient {code}")

        def created(kind: str, rows: list[Any], table: str, key: str) -> None:
            found: dict[Any, list[Any]] = defaultdict(list)
            for row in rows:
                found[(by_id[row.patient_id], getattr(row, key))].append(row)
            for ack in acked[kind]:
                matches = found.pop((ack.code, ack.values[key]), [])
                if len(matches) != 1:
                    check.lost.append(
                        f"{kind} of {ack.code} {key}={ack.values[key]!r}: {len(matches)} rows"
                    )
                    continue
                row = matches[0]
                for name, sent in ack.values.items():
                    value = getattr(row, name)
                    value = value.isoformat() if isinstance(value, date) else value
                    if value != sent:
                        check.lost.append(f"{kind} {row.id}: {name} stored {value!r} != {sent!r}")
                if row.id not in audited[table]:
                    check.lost.append(f"{kind} {row.id}: no audit insert entry")
            return None

        created("lab", [r for r in labs if r.test == "creatinine"], "lab_results", "value")
        created("event", events, "adverse_events", "term")
        # rows the users wrote (seeded rows carry the seeding actor; hot patients' labs are only
        # edited) that no acknowledged write explains
        acked_values = {(a.code, a.values["value"]) for a in acked["lab"]}
        acked_terms = {a.values["term"] for a in acked["event"]}
        check.unexplained += [
            f"lab {r.id} of {by_id[r.patient_id]} value {r.value}"
            for r in labs
            if r.updated_by.startswith("clin")
            and by_id[r.patient_id] not in run.hot
            and (by_id[r.patient_id], r.value) not in acked_values
        ]
        check.unexplained += [
            f"adverse event {r.id}"
            for r in events
            if r.updated_by.startswith("clin") and r.term not in acked_terms
        ]

        def edited(acks: list[Ack], table: str, current: dict[Any, Any], name: str) -> None:
            per_record: dict[Any, list[Ack]] = defaultdict(list)
            for ack in acks:
                per_record[ack.record_id if table == "lab_results" else ack.code].append(ack)
            for key, record_acks in per_record.items():
                versions = Counter(a.version for a in record_acks)
                for version, times in versions.items():
                    if times > 1:
                        check.lost.append(
                            f"{table} {key}: {times} edits acknowledged as version {version}"
                        )
                row = current[key]
                newest = max(record_acks, key=lambda a: a.version or 0)
                if (newest.version or 0) > row.version:
                    check.lost.append(f"{table} {key}: acknowledged version {newest.version}, "
                                      f"stored {row.version}")  # fmt: skip
                elif (newest.version or 0) == row.version and getattr(row, name) != newest.values[
                    name
                ]:
                    check.lost.append(f"{table} {key}: newest acknowledged {name} not stored")
                elif (newest.version or 0) < row.version:
                    check.unexplained.append(f"{table} {key}: version {row.version} unacknowledged")
                for ack in record_acks:
                    entry = updates[table].get((row.id, ack.version or 0))
                    if entry is None or entry.get(name, {}).get("to") != ack.values[name]:
                        check.lost.append(f"{table} {key} v{ack.version}: no audit entry with it")

        edited(acked["lab edit"], "lab_results", {r.id: r for r in labs}, "value")
        edited(acked["patient edit"], "patients", patients, "note")
        chain = verify_chain(session)
        check.chain, check.chain_ok = chain.summary(), chain.ok
    store.dispose()
    return check


# --- the log ----------------------------------------------------------------------------------


def log_hits(log: Path, secrets: dict[str, list[str]]) -> dict[str, int]:
    """How many of each kind of secret or identifier occur in the log (each counted once)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return {kind: sum(1 for s in values if s and s in text) for kind, values in secrets.items()}


def report(run: Run, wall: float, title: str) -> None:
    out = functools.partial(print, flush=True)
    out(f"\n{title}")
    out("| request | sent | ok | 409 (someone saved first) | unexpected 4xx | errors "
        "| p50 ms | p95 ms | p99 ms | req/s |")  # fmt: skip
    out("|---|---|---|---|---|---|---|---|---|---|")
    order = [name for name, _ in MIX] + ["edit lab: read", "edit patient: read"]
    total = Tally()
    for name in order:
        t = run.tallies.get(name)
        if t is None:
            continue
        total.latencies_ms += t.latencies_ms
        for attr in ("ok", "conflicts", "unexpected", "errors"):
            setattr(total, attr, getattr(total, attr) + getattr(t, attr))
        out(_row(name, t, wall))
    out(_row("all", total, wall))


def _row(name: str, t: Tally, wall: float) -> str:
    n = len(t.latencies_ms)
    q = functools.partial(quantile, t.latencies_ms)
    return (
        f"| {name} | {n} | {t.ok} | {t.conflicts} | {t.unexpected} | {t.errors} | "
        f"{q(0.50):.0f} | {q(0.95):.0f} | {q(0.99):.0f} | {n / wall:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120, help="how long users keep going")
    parser.add_argument("--requests", type=int, default=1_000_000, help="operations at most")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--patients", type=int, default=200, help="seeded SYNTHETIC patients")
    parser.add_argument("--visits", type=int, default=8, help="visits per seeded patient (>= 6)")
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause between requests")
    parser.add_argument("--hot", type=int, default=5, help="patients every user edits")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--log", type=Path, help="keep the server's log here (default: temp)")
    args = parser.parse_args()
    stop_on_sigterm()
    marker = uuid.uuid4().hex[:6].upper()
    failed = True
    with tempfile.TemporaryDirectory() as scratch, scratch_database("myoivig_loadw") as url:
        log = args.log or Path(scratch) / "server.log"
        log.write_bytes(b"")
        codes = fill(url, args.patients, args.visits, args.users, "web-load-benchmark")
        store = Store(url)
        admin_password = generate_password()
        add_user(store, ACTOR, "loadadmin", "admin", [], admin_password)
        tokens = [create_token(store, ACTOR, f"clin{i:02d}", "load") for i in range(args.users)]
        with store.session() as session:
            SITE_CODES[:] = sorted(session.scalars(select(SiteRow.site_code)))
        store.dispose()
        rng = random.Random(args.seed)
        hot = rng.sample(codes, args.hot)
        run = Run(marker, [c for c in codes if c not in hot], hot)
        server = Server(url, THIS_SRC, args.workers, log)
        try:
            started = time.monotonic()
            cookies = asyncio.run(
                drive(server.base, tokens, admin_password, run, args.seconds, args.requests,
                      args.think_ms, args.seed)
            )  # fmt: skip
            wall = time.monotonic() - started
        finally:
            server.stop()
        load1, load5, _ = os.getloadavg()
        report(
            run,
            wall,
            f"{args.users} users, {args.workers} workers, think time {args.think_ms:g} ms, "
            f"{wall:.0f} s, {args.patients} seeded patients x {args.visits} visits, "
            f"{args.hot} hot patients; load average {load1:.1f} (5 min {load5:.1f}) on "
            f"{os.cpu_count()} CPUs",
        )
        check = verify(url, run)
        kinds = Counter(a.kind for a in run.acks)
        listed = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"\nacknowledged writes: {len(run.acks)} ({listed})")
        print(f"lost updates: {len(check.lost)}")
        for line in check.lost[:20]:
            print(f"  LOST {line}")
        print(f"present but never acknowledged (not lost): {len(check.unexplained)}")
        for line in check.unexplained[:10]:
            print(f"  {line}")
        print(check.chain)
        secrets = {
            "API tokens": tokens,
            "passwords": [admin_password, "load test password 1"],
            "session cookies": cookies,
            "patient codes": codes + run.created,
            "names in notes": run.names,
        }
        hits = log_hits(log, secrets)
        size = log.stat().st_size
        searched = ", ".join(f"{len(v)} {k}" for k, v in secrets.items())
        print(f"server log: {size} bytes; searched for {searched}")
        found = ", ".join(f"{k} {v}" for k, v in hits.items())
        print(f"log hits: {sum(hits.values())} ({found})")
        errors = sum(t.errors for t in run.tallies.values())
        unexpected = sum(t.unexpected for t in run.tallies.values())
        for t in run.tallies.values():
            for example in t.examples[:3]:
                print(f"  e.g. {example}")
        print(f"errors: {errors}; unexpected answers: {unexpected}")
        failed = bool(
            errors or unexpected or check.lost or not check.chain_ok or any(hits.values())
        )
        print("RESULT:", "FAILED" if failed else "OK (no error, no lost update, chain verifies, "
              "log clean)")  # fmt: skip
        if failed and args.log is None:  # keep the server's log (tracebacks) to find the cause
            kept = Path(tempfile.mkdtemp(prefix="web_load_writes-")) / "server.log"
            kept.write_bytes(log.read_bytes())
            print(f"server log kept at {kept}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
