"""Benchmark: the patient list's status, next-due and responder filters against the unfiltered
list (the peer), through `clinic.service.list_patients` (what the page, API and CLI call).

Builds `--patients` SYNTHETIC patients with `--visits` assessments each (grades and forces for
the trial's muscle groups, one functional task) and monthly courses, in a temporary SQLite
database or the PostgreSQL database named by `--url` (tables are created there; use an empty
database; run again with the same `--url` to time it again without rebuilding). Then times
page 1 of the list: unfiltered, `status=on_ivig`, `due=overdue`,
`responder=yes` with an empty cache (first request), again (cached), and after one patient's
visit changed (one patient recomputed).

    .venv/bin/python benchmarks/web_patient_list_filters.py --patients 1000 --visits 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from myoivig.clinic import list_filters
from myoivig.clinic.service import CLI_OPERATOR, PatientQuery, list_patients
from myoivig.domain import records as r
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, Diagnosis, Phase, Sex, Side
from myoivig.store import Store
from myoivig.store.repository import add_dossier
from myoivig.store.tables import AssessmentRow, MuscleGradeRow, SiteRow


def _dossier(n: int, visits: int, today: date) -> r.PatientDossier:
    code = f"SYN-B{n:05d}"
    first = today - timedelta(days=28 * visits + (n % 60))
    assessments = []
    for v in range(visits):
        phase = Phase.RUN_IN if v < 3 else Phase.FOLLOW_UP
        grade = 5 + (min(v, 6) - 2 if n % 3 == 0 and v >= 3 else 0)
        assessments.append(
            r.Assessment(
                patient_code=code,
                assessment_date=first + timedelta(days=28 * v),
                phase=phase,
                muscle_grades=[
                    r.MuscleGrade(muscle_group=g, side=s, kendall_grade=min(grade, 10))
                    for g in TRIAL_MUSCLE_GROUPS
                    for s in (Side.LEFT, Side.RIGHT)
                ],
                myometry=[
                    r.MyometryReading(muscle_group=g, side=s, force_n=60.0 + v)
                    for g in TRIAL_MUSCLE_GROUPS
                    for s in (Side.LEFT, Side.RIGHT)
                ],
                functional_tasks=[
                    r.FunctionalTaskResult(task="rise_from_squat", able=n % 3 == 0 and v >= 3)
                ],
            )
        )
    courses = [
        r.Course(
            patient_code=code,
            course_number=c + 1,
            start_date=first + timedelta(days=28 * (c + 3) + 7),
            days=5,
        )
        for c in range(max(0, visits - 3 - (n % 4)))
    ]
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            site_code="BENCH",
            sex=Sex.FEMALE,
            diagnosis=Diagnosis.DERMATOMYOSITIS,
            source="SYNTHETIC benchmark patient",
        ),
        assessments=assessments,
        courses=courses,
    )


def _build(store: Store, patients: int, visits: int, today: date) -> float:
    started = time.perf_counter()
    with store.unit_of_work("benchmark") as session:
        site = SiteRow(site_code="BENCH", name="Benchmark clinic")
        session.add(site)
        for start in range(0, patients, 100):
            for n in range(start, min(patients, start + 100)):
                add_dossier(session, _dossier(n, visits, today), {"BENCH": site})
            session.flush()
            session.expunge_all()
            site = session.scalars(select(SiteRow).where(SiteRow.site_code == "BENCH")).one()
    return time.perf_counter() - started


def _timed(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--url",
        default="",
        help="an empty database, or one this script filled (default: temporary SQLite)",
    )
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        store = Store.from_url(url)
        store.upgrade()
        if store.patient_count() == 0:
            built = _build(store, args.patients, args.visits, today)
            print(
                f"{store.engine.dialect.name}: {args.patients} patients x {args.visits} visits "
                f"stored in {built:.1f} s"
            )
        else:  # a database this script filled before (--url): timings only
            print(f"{store.engine.dialect.name}: {store.patient_count()} patients already stored")

        def listed(**filters: str) -> Callable[[], object]:
            def call() -> object:
                with store.session() as session:
                    return list_patients(session, CLI_OPERATOR, PatientQuery(**filters))

            return call

        peer, page = _timed(listed(), args.repeat)
        print(f"peer, unfiltered list page 1: median {peer:.0f} ms ({page.total} patients)")  # type: ignore[attr-defined]
        for name, filters in (
            ("status=on_ivig", {"status": "on_ivig"}),
            ("due=overdue", {"due": "overdue"}),
        ):
            ms, page = _timed(listed(**filters), args.repeat)
            print(f"{name}: median {ms:.0f} ms ({page.total} match; {ms / peer:.2f} x peer)")  # type: ignore[attr-defined]
        list_filters._CACHE.clear()
        cold, page = _timed(listed(responder="yes"), 1)
        print(
            f"responder=yes, empty cache: {cold:.0f} ms "
            f"({page.total} match; {cold / peer:.2f} x peer)"
        )  # type: ignore[attr-defined]
        warm, _ = _timed(listed(responder="yes"), args.repeat)
        print(f"responder=yes, cached: median {warm:.0f} ms ({warm / peer:.2f} x peer)")
        with store.unit_of_work("benchmark") as session:
            grade = session.scalars(
                select(MuscleGradeRow).join(AssessmentRow).order_by(AssessmentRow.id.desc())
            ).first()
            assert grade is not None
            grade.kendall_grade = 10
            session.get(AssessmentRow, grade.assessment_id).note = "benchmark edit"  # type: ignore[union-attr]
        one, _ = _timed(listed(responder="yes"), 1)
        print(
            f"responder=yes after one patient's visit changed: {one:.0f} ms "
            f"({one / peer:.2f} x peer)"
        )
        store.dispose()


if __name__ == "__main__":
    main()
