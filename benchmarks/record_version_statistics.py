"""`record_version` on PostgreSQL right after a bulk load, before and after `ANALYZE`.

Why: every patient view reads the record's version first (`repository.record_version`). Right
after a bulk load PostgreSQL still plans with the statistics of empty tables; this script shows
what that costs and what `Store.refresh_statistics` (run by the tabular import after its bulk
path) brings. Peer: the same query on the same data after `ANALYZE`, in the same run.

What it does, all on 127.0.0.1: a fresh PostgreSQL database with a unique name (dropped at the
end, also on errors) is filled with SYNTHETIC patients through the store's bulk path without
refreshing statistics, then `record_version` is timed for `--calls` patients (wall time, median
and maximum), `Store.refresh_statistics` runs, and the same calls are timed again. Bounded: it
stops by itself. Statistics are fresh only where autovacuum has not analysed the tables in
between; the script prints the server's autovacuum setting.

    PYTHONPATH=src .venv/bin/python benchmarks/record_version_statistics.py [--patients 1000]
        [--visits 20] [--calls 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

from load_common import scratch_database
from sqlalchemy import text

from myoivig.demo_clinic.scaled import scaled_dossier, scaled_sites
from myoivig.store import Store, repository


def timed(store: Store, codes: list[str]) -> list[float]:
    with store.session() as session:
        took = []
        for code in codes:
            started = time.perf_counter()
            repository.record_version(session, code)
            took.append((time.perf_counter() - started) * 1000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    with scratch_database("myoivig_rvstats") as url:
        store = Store(url)
        store.upgrade()
        with store.unit_of_work("record-version-benchmark") as session:
            sites = {s.site_code: repository.add_site(session, s) for s in scaled_sites()}
            session.flush()
            site_ids = {code: row.id for code, row in sites.items()}
            for start in range(1, args.patients + 1, 250):
                stop = min(args.patients, start + 249)
                dossiers = [scaled_dossier(n, args.visits) for n in range(start, stop + 1)]
                repository.bulk_add_dossiers(session, dossiers, site_ids)
        with store.session() as session:
            autovacuum = session.execute(text("SHOW autovacuum")).scalar()
            codes = sorted(session.scalars(text("SELECT code FROM patients")).all())
        chosen = codes[:: max(1, len(codes) // args.calls)][: args.calls]
        before = timed(store, chosen)
        store.refresh_statistics()
        after = timed(store, chosen)
        store.dispose()
    print(f"{args.patients} patients x {args.visits} visits, autovacuum {autovacuum}")
    for label, took in (("right after the bulk load", before), ("peer: after ANALYZE", after)):
        print(
            f"record_version, {label}: median {statistics.median(took):.1f} ms, "
            f"max {max(took):.1f} ms ({len(took)} calls)"
        )


if __name__ == "__main__":
    main()
