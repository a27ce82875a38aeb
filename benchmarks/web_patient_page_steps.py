"""CPU time of each step of the patient page and the patient list, in process (no HTTP).

What a patient page does (`web/routes/patients.py`): read the stored dossier (first time, and
again from the per-process cache under the record's version), compute the criteria panel and
charts (`clinic.service.patient_views`) and the next course's plan and advice
(`protocol.service.next_course`), each cold and then from the cache; the list page is
`clinic.service.list_patients` (one page of 25). Each figure is the median CPU time
(`time.process_time`) over the chosen patients.

Peer (same run, same database): `--peer-src DIR`, another source tree (e.g. the code before a
change, unpacked with `git archive REV src | tar -x -C DIR`), timed by the same function in a
child process. Loopback only: a temporary SQLite database, or `--database-url` (a PostgreSQL
database of your own: it is filled, not dropped).

    PYTHONPATH=src .venv/bin/python benchmarks/web_patient_page_steps.py [--patients 60]
        [--visits 20] [--peer-src /tmp/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = (
    "dossier, first read",
    "dossier, again (cached)",
    "criteria panel + charts, cold",
    "criteria panel + charts, cached",
    "next-course plan + advice, cold",
    "next-course plan + advice, cached",
    "patient list, one page of 25",
)


def fill(url: str, patients: int, visits: int) -> None:
    """SYNTHETIC patients through the store's bulk path (as benchmarks/web_load.py does)."""
    from myoivig.demo_clinic.scaled import scaled_dossier, scaled_sites
    from myoivig.store import Store, repository

    store = Store(url)
    store.upgrade()
    with store.unit_of_work("page-steps-benchmark") as session:
        sites = {s.site_code: repository.add_site(session, s) for s in scaled_sites()}
        session.flush()
        dossiers = [scaled_dossier(n, visits) for n in range(1, patients + 1)]
        repository.bulk_add_dossiers(session, dossiers, {c: r.id for c, r in sites.items()})
    store.dispose()


def _cpu_ms(action: Callable[[], Any]) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def _patient_steps(store: Any, code: str) -> list[float]:
    """CPU milliseconds of each step for one patient, from empty caches."""
    from myoivig.clinic.derived_cache import DERIVED, DOSSIERS
    from myoivig.clinic.service import (
        CLI_OPERATOR,
        PatientQuery,
        list_patients,
        load_patient,
        patient_views,
    )
    from myoivig.protocol.service import next_course

    DOSSIERS.clear()
    DERIVED.clear()
    found: dict[str, Any] = {}
    with store.session() as session:
        first = _cpu_ms(lambda: found.update(d=load_patient(session, CLI_OPERATOR, code)))
        again = _cpu_ms(lambda: load_patient(session, CLI_OPERATOR, code))
    dossier = found["d"]
    views = [_cpu_ms(lambda: patient_views(dossier)) for _ in range(2)]
    plans = [_cpu_ms(lambda: next_course(store, dossier)) for _ in range(2)]
    with store.session() as session:
        listed = _cpu_ms(lambda: list_patients(session, CLI_OPERATOR, PatientQuery()))
    return [first, again, *views, *plans, listed]


def measure(url: str) -> dict[str, float]:
    """Median CPU milliseconds per step over every stored patient (run by each source tree)."""
    from sqlalchemy import text

    from myoivig.clinic.service import CLI_OPERATOR, load_patient
    from myoivig.store import Store

    store = Store(url)
    with store.session() as session:
        codes = [row[0] for row in session.execute(text("SELECT code FROM patients ORDER BY id"))]
        load_patient(session, CLI_OPERATOR, codes[0])  # imports and first connection: not timed
    rows = [_patient_steps(store, code) for code in codes[1:]]
    store.dispose()
    return {step: statistics.median(row[i] for row in rows) for i, step in enumerate(STEPS)}


def _in_child(src: Path, url: str) -> dict[str, float]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from web_patient_page_steps import measure; print(json.dumps(measure(sys.argv[2])))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--database-url", help="a database of your own (default: temporary SQLite)")
    parser.add_argument("--peer-src", type=Path, help="another source tree, timed the same way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'steps.db'}"
        started = time.monotonic()
        fill(url, args.patients, args.visits)
        print(f"filled {args.patients} patients x {args.visits} visits in "
              f"{time.monotonic() - started:.1f} s; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")  # fmt: skip
        this = _in_child(Path(__file__).parents[1] / "src", url)
        peer = _in_child(args.peer_src, url) if args.peer_src else None
    head = "| step (one patient of 20 visits) | this tree, ms CPU |"
    print(head + (f" peer {args.peer_src}, ms CPU |" if peer else ""))
    print("|---|---|" + ("---|" if peer else ""))
    for step in STEPS:
        row = f"| {step} | {this[step]:.1f} |"
        print(row + (f" {peer[step]:.1f} |" if peer else ""))


if __name__ == "__main__":
    main()
