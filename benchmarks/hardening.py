"""Hardening benchmark (issue 15): audit chain verification, and backup/restore round trips.

Bounded: one database per backend holding both bundled demo datasets (about 28,000 audit
entries), loopback only, a fixed number of runs; stops by itself. For each backend:

- **audit verify**: `verify_chain` over every entry, against the named peer **plain read** (the
  same rows read without hashing: the floor any verification pays);
- **backup**: `myoivig backup` (snapshot + manifest + chain check + zip), against the peer
  **bare copy** (SQLite: copying the file, which is NOT consistent while the server writes;
  PostgreSQL: a bare `pg_dump --format=custom`);
- **restore**: `myoivig restore` into an empty database (checks + all-or-nothing load + chain
  check), against the peer **bare load** (SQLite: copying the file over; PostgreSQL: bare
  `pg_restore`);
- **round trip**: every row of every table equal after restore, and the chain verifies;
- **while writing**: a writer thread commits one audited change after another during a backup;
  the restored copy must verify (whole transactions only) — the commits made meanwhile are
  counted;
- **audit page check**: the pages' incremental check (store/audit_chain.py `verify_for_page`),
  first view (whole chain) and later views with nothing new and with 20 new entries, against
  the whole-chain verify every view paid before;
- **tamper**: one entry of the restored copy edited with raw SQL; verify must name it, and the
  pages' incremental check within its stated number of views.

Exits 1 when a round trip differs, a chain does not verify, or the edit is not found.

Run: .venv/bin/python benchmarks/hardening.py [--runs 3] [--no-postgres]
     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select, text

from myoivig.demo import load_demo
from myoivig.store import Store
from myoivig.store.audit_chain import (
    PAGE_WINDOW,
    ChainCheck,
    read_checkpoint,
    verify_chain,
    verify_for_page,
)
from myoivig.store.backup import (
    all_rows,
    backup,
    libpq_options,
    pg_tool,
    restore,
    server_major,
)
from myoivig.store.tables import AuditRow, SiteRow

ADMIN_URL = os.environ.get(
    "MYOIVIG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _timed(action: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def _database(kind: str, folder: Path, admin_url: str) -> Iterator[Store]:
    """An empty, migrated store; PostgreSQL databases are created and dropped here."""
    if kind == "sqlite":
        store = Store(f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}")
        store.upgrade()
        yield store
        store.dispose()
        return
    import psycopg

    name = f"myoivig_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    store = Store(f"{admin_url.rsplit('/', 1)[0]}/{name}")
    try:
        store.upgrade()
        yield store
    finally:
        store.dispose()
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _verify(store: Store) -> int:
    with store.session() as session:
        check = verify_chain(session)
    if not check.ok:
        raise SystemExit(f"FAIL: chain does not verify: {check.problem}")
    return check.entries


def _plain_read(store: Store) -> int:
    with store.session() as session:
        return len(session.execute(select(AuditRow.__table__)).all())


def _bare_copy(store: Store, out: Path) -> None:
    if store.engine.dialect.name == "sqlite":
        shutil.copyfile(str(store.engine.url.database), out)
        return
    with store.engine.connect() as connection:
        major = server_major(connection)
    args, env = libpq_options(store.engine.url)
    subprocess.run(
        [pg_tool("pg_dump", major), *args, "--format=custom", "--file", str(out)],
        env=env,
        check=True,
    )


def _bare_load(dump: Path, target: Store) -> None:
    if target.engine.dialect.name == "sqlite":
        target.dispose()
        shutil.copyfile(dump, str(target.engine.url.database))
        return
    with target.engine.connect() as connection:
        major = server_major(connection)
    target.dispose()
    args, env = libpq_options(target.engine.url)
    subprocess.run(
        [pg_tool("pg_restore", major), *args, "--clean", "--if-exists", "--no-owner", str(dump)],
        env=env,
        check=True,
        capture_output=True,
    )


def _writes_during_backup(store: Store, out: Path) -> int:
    """Back up while a writer commits audited changes; returns the commits made meanwhile."""
    stop, commits, failures = threading.Event(), [0], []

    def write() -> None:
        try:
            while not stop.is_set():
                with store.unit_of_work(actor="bench.writer") as session:
                    session.add(SiteRow(site_code=f"W{uuid.uuid4().hex[:10]}", name="bench"))
                commits[0] += 1
        except Exception as error:  # reported below
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.2)
    before = commits[0]
    try:
        backup(store, out, force=True)
    finally:
        during = commits[0] - before
        stop.set()
        writer.join()
    if failures:
        raise SystemExit(f"FAIL: the writer failed during the backup: {failures[0]}")
    return during


def _page_view(store: Store) -> ChainCheck:
    with store.session() as session:
        return verify_for_page(session)


def _page_figures(store: Store, runs: int, whole_s: float) -> tuple[bool, int]:
    """The audit pages' check: before (the whole chain, as every view did) and after (from the
    checkpoint, with the rolling window), with nothing new and with 20 new entries. Returns
    whether it verified, and the number of entries now (the writes added some)."""
    with store.session() as session:
        first = read_checkpoint(session)
    if first is not None:
        raise SystemExit("FAIL: a fresh database already has a page checkpoint")
    start = time.perf_counter()
    initial = _page_view(store)  # no checkpoint yet: the whole chain, then one is recorded
    initial_s = time.perf_counter() - start
    still = _timed(lambda: _page_view(store), max(runs, 5))

    def twenty_new() -> float:
        for n in range(20):
            with store.unit_of_work(actor="bench") as session:
                session.add(SiteRow(site_code=f"PV{uuid.uuid4().hex[:8]}", name=f"ward {n}"))
        start = time.perf_counter()
        check = _page_view(store)
        took = time.perf_counter() - start
        if not check.ok:
            raise SystemExit(f"FAIL: the page check fails after new writes: {check.problem}")
        return took

    grown = statistics.median(twenty_new() for _ in range(max(runs, 3)))
    check = _page_view(store)
    print(
        f"audit page check    before: whole chain {whole_s:.2f} s each view; after: first view "
        f"{initial_s:.2f} s (whole chain, records the checkpoint), later views "
        f"{still * 1000:.0f} ms (nothing new) / {grown * 1000:.0f} ms (20 new entries), window "
        f"{PAGE_WINDOW} older entries, every entry re-checked within {check.sweep} views"
    )
    return initial.ok and check.ok, check.entries


def _views_to_find(store: Store, victim: int | None, entries: int) -> tuple[int, int, bool]:
    """Page views until the incremental check names the edited entry, and the stated bound."""
    bound = -(-entries // PAGE_WINDOW)
    for view in range(1, bound + 2):
        check = _page_view(store)
        if not check.ok:
            return view, bound, check.entry_id == victim and view <= bound
    return bound + 1, bound, False


def run_backend(kind: str, runs: int, admin_url: str) -> bool:
    print(f"\n## {kind}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="myoivig-hardening-") as tmp:
        folder = Path(tmp)
        with _database(kind, folder, admin_url) as source:
            start = time.perf_counter()
            load_demo(source)
            print(f"demo data loaded (both datasets): {time.perf_counter() - start:.1f} s")
            entries = _verify(source)
            rows = sum(len(v) for v in all_rows(source).values())
            print(f"database: {rows} rows, {entries} audit entries")
            verify_s = _timed(lambda: _verify(source), runs)
            read_s = _timed(lambda: _plain_read(source), runs)
            print(
                f"audit verify        {verify_s:7.2f} s  ({verify_s / entries * 1e6:.0f} µs/entry)"
                f"   peer plain read {read_s:6.2f} s"
            )
            page_ok, entries = _page_figures(source, runs, verify_s)  # it adds entries
            ok &= page_ok
            out, bare = folder / "db.backup", folder / "bare.copy"
            backup_s = _timed(lambda: backup(source, out, force=True), runs)
            bare_s = _timed(lambda: _bare_copy(source, bare), runs)
            size = out.stat().st_size / 1e6
            print(
                f"backup              {backup_s:7.2f} s  ({size:.1f} MB)"
                f"   peer bare copy  {bare_s:6.2f} s ({bare.stat().st_size / 1e6:.1f} MB)"
            )
            expected = all_rows(source)
            with _database(kind, folder, admin_url) as target:
                restore_s = _timed(lambda: restore(target, out, force=True), runs)
                same = all_rows(target) == expected
                restored_entries = _verify(target)
                with _database(kind, folder, admin_url) as peer:
                    peer_s = _timed(lambda: _bare_load(bare, peer), 1)
                print(f"restore             {restore_s:7.2f} s   peer bare load  {peer_s:6.2f} s")
                print(
                    f"round trip: every row of {len(expected)} tables equal: {same}; "
                    f"restored chain verifies {restored_entries} entries"
                )
                ok &= same and restored_entries == entries
                during = _writes_during_backup(source, folder / "live.backup")
                restore(target, folder / "live.backup", force=True)
                live_entries = _verify(target)
                print(
                    f"while writing: {during} commits during the backup; the restored copy "
                    f"verifies ({live_entries} entries)"
                )
                with target.session() as session:
                    victim = session.scalar(
                        select(AuditRow.id).order_by(AuditRow.id).offset(live_entries // 2)
                    )
                    verify_for_page(session)  # the pages' checkpoint, before the edit
                with target.engine.begin() as connection:
                    connection.execute(
                        text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"),
                        {"id": victim},
                    )
                with target.session() as session:
                    check = verify_chain(session)
                found = check.entry_id == victim
                print(f"tamper: edited entry {victim}; verify names it: {found} ({check.problem})")
                ok &= found
                views, bound, page_found = _views_to_find(target, victim, live_entries)
                print(
                    f"tamper: the audit page's incremental check names it after {views} views "
                    f"(bound ceil({live_entries} / {PAGE_WINDOW}) = {bound}): {page_found}"
                )
                ok &= page_found
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(f"hardening benchmark; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = run_backend("sqlite", args.runs, args.postgres_url)
    if not args.no_postgres:
        ok &= run_backend("postgresql", args.runs, args.postgres_url)
    print("\nall checks passed" if ok else "\nFAIL: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
