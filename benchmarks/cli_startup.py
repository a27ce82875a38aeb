"""Start-up of every `myoivig` command, and one screening decision at 5,000 records / 10,000 events.

Peers, measured in the same run on the same machine (the machine's load affects all alike):

* ``launcher``: this tree through the console script (`myoivig.launcher`: one area at a time,
  heavy libraries imported inside the commands that use them);
* ``eager``: this tree through ``python -m myoivig.cli`` (every area imported up front);
* ``peer``: with ``--peer-src DIR``, another checkout's ``src`` (for example the main branch
  before this change: ``git worktree add /tmp/old main`` then ``--peer-src /tmp/old/src``),
  through its own console script, on its own database (its schema is older).

Per top-level command it prints the median wall time of ``--help`` and of one small real
invocation ("work": list patients, plan a stored patient, pool the bundled meta-analysis, ...)
on a database holding the bundled trial cohort. Screening: a review with 5,000 records and
10,000 screening events; the median wall time of one ``review screen decide`` from the command
line, and of its validation step in-process: reading the record's current decisions (this tree)
against replaying the whole log (`load_screening(...).log.with_event`, the old way).

Usage: ``.venv/bin/python benchmarks/cli_startup.py [--peer-src DIR] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCORE_HEADER_ROW = {"id": "ex1", "population": "adult", "physician_global_bl": "6",
                    "physician_global_fu": "3.5", "mmt8_bl": "120", "mmt8_fu": "135",
                    "mmt8_max": "150"}  # fmt: skip
CODE = "MAS98-01"  # a patient of the bundled 1998 trial cohort


def _runner(kind: str, peer_src: Path | None) -> list[str]:
    if kind == "eager":
        return [sys.executable, "-m", "myoivig.cli"]
    if kind == "peer":
        assert peer_src is not None
        code = f"import sys; sys.path.insert(0, {str(peer_src)!r}); "
        code += "from myoivig.launcher import main; main()"
        return [sys.executable, "-c", code]
    return [sys.executable, "-c", "from myoivig.launcher import main; main()"]


@dataclass(frozen=True)
class Timing:
    """Wall time and the child's CPU time (user + system), which a loaded machine disturbs
    much less than the wall time; both in seconds."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f}/{self.cpu:.2f}"


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[Timing, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu), done.returncode


def _median_of(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings)
    )


def _median(cmd: list[str], env: dict[str, str], cwd: Path, repeat: int) -> tuple[Timing, int]:
    timings, code = [], 0
    for _ in range(repeat):
        timing, code = _run(cmd, env, cwd)
        timings.append(timing)
    return _median_of(timings), code


def _score_input(folder: Path) -> Path:
    from myoivig.outcomes.batch_io import INPUT_COLUMNS

    path = folder / "score_in.csv"
    line = ",".join(SCORE_HEADER_ROW.get(c, "") for c in INPUT_COLUMNS)
    path.write_text(",".join(INPUT_COLUMNS) + "\n" + line + "\n", encoding="utf-8")
    return path


def _work(folder: Path, n: int) -> dict[str, list[str]]:
    """One small real invocation per top-level command (``n`` keeps output paths fresh)."""
    return {
        "init": ["init"],
        "import": ["import", str(folder / "export-0")],  # refused: the patients exist (exit 1)
        "export": ["export", "--out", str(folder / f"export-{n}")],
        "dictionary": ["dictionary"],
        "run": ["run"],
        "demo": ["demo", "load"],  # refused: already loaded (exit 1)
        "patients": ["patients", "list"],
        "patient": ["patient", "show", CODE],
        "meta": ["meta", "example"],
        "score": [
            "score",
            "--input",
            str(folder / "score_in.csv"),
            "--out",
            str(folder / f"s{n}.csv"),
        ],
        "outcomes": ["outcomes", CODE],
        "cohort": ["cohort", "summary"],
        "dose": ["dose", "--regimen", "2g/kg", "--weight-kg", "70"],
        "plan": ["plan", CODE],
        "advise": ["advise", CODE],
        "protocol": ["protocol", "products"],
        "review": ["review", "records"],
        "users": ["users", "list"],
        "sites": ["sites", "add", f"BENCH{n}", "--name", f"Bench site {n}"],
    }  # `serve` runs until stopped: its time to the first page is benchmarks/web_first_page.py


def startup(
    peers: list[str],
    peer_src: Path | None,
    repeat: int,
    folder: Path,
    only: list[str] | None = None,
) -> None:
    from myoivig.launcher import COMMAND_AREAS

    _score_input(folder)
    envs: dict[str, dict[str, str]] = {}
    for kind in peers:
        db = folder / ("peer.db" if kind == "peer" else "tree.db")
        env = {**os.environ, "MYOIVIG_DATABASE_URL": f"sqlite:///{db}", "MYOIVIG_ACTOR": "bench"}
        envs[kind] = env
        if not db.exists():
            for args in (["init"], ["demo", "load"], ["export", "--out", str(folder / "export-0")]):
                subprocess.run([*_runner(kind, peer_src), *args], env=env, cwd=folder,
                               capture_output=True, check=args[0] != "export")  # fmt: skip
    print(f"\nStart-up: median of {repeat} runs, wall/CPU seconds (exit code in brackets if not 0)")
    print(f"{'command':12}" + "".join(f"{k + ' --help':>16}{k + ' work':>18}" for k in peers))
    worst = {k: [Timing(0, 0), Timing(0, 0)] for k in peers}
    for name in only or ["--help", *COMMAND_AREAS]:
        cells = []
        for kind in peers:
            base = _runner(kind, peer_src)
            if name == "--help":
                help_t, _ = _median([*base, "--help"], envs[kind], folder, repeat)
                cells.append(f"{help_t!s:>16}{'':>18}")
                continue
            help_t, _ = _median([*base, name, "--help"], envs[kind], folder, repeat)
            if name not in _work(folder, 0):
                cells.append(f"{help_t!s:>16}{'-':>18}")
                continue
            timings, code = [], 0
            for n in range(repeat):
                timing, code = _run([*base, *_work(folder, n + 1)[name]], envs[kind], folder)
                timings.append(timing)
            work_t = _median_of(timings)
            worst[kind] = [
                Timing(max(worst[kind][0].wall, help_t.wall), max(worst[kind][0].cpu, help_t.cpu)),
                Timing(max(worst[kind][1].wall, work_t.wall), max(worst[kind][1].cpu, work_t.cpu)),
            ]
            mark = "" if code == 0 else f" [{code}]"
            cells.append(f"{help_t!s:>16}{f'{work_t}{mark}':>18}")
        print(f"{name:12}" + "".join(cells), flush=True)
    for kind, (h, w) in worst.items():
        print(f"slowest {kind}: --help {h} s, work {w} s (wall/CPU)")


def build_review(url: str, n_records: int, n_events: int) -> None:
    """A review of n_records records and n_events screening events, with the code on sys.path.

    All but 100 records carry both reviewers' title/abstract decisions; the last 100 carry two
    decisions by r1 (changed while incomplete), so r2 still has 100 records to decide."""
    from myoivig.review import repository as repo
    from myoivig.review.example.build import protocol
    from myoivig.review.records import BibRecord, ImportResult
    from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
    from myoivig.review.screening.stored import ScreeningRecorded
    from myoivig.store import Store

    pending = 100
    pairs = (n_events - 2 * pending) // 2
    if pairs + pending > n_records:
        raise SystemExit("too many events for that many records")
    store = Store.from_url(url)
    store.upgrade()
    records = [
        BibRecord(
            record_id=f"B-1:{i}",
            source="BENCH",
            source_format="ris",
            position=i,
            title=f"Immunoglobulin in myositis, report {i}",
            year=1990 + i % 30,
        )
        for i in range(1, n_records + 1)
    ]
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with store.unit_of_work(actor="bench") as s:
        repo.save_protocol(s, protocol(), "bench")
        repo.add_import(s, ImportResult(source="BENCH", source_format="ris", encoding="utf-8",
                                        records=records), review="bench")  # fmt: skip

    def event(reviewer: str, i: int, verdict: Verdict) -> ScreeningRecorded:
        reason = "case report" if verdict is Verdict.EXCLUDE else None
        return ScreeningRecorded.from_event(ScreeningEvent(
            EventKind.DECISION, Stage.TITLE_ABSTRACT, f"B-1:{i}", reviewer, verdict, at, reason
        ))  # fmt: skip

    with store.unit_of_work(actor="bench") as s:
        for i in range(1, pairs + 1):
            verdict = Verdict.EXCLUDE if i % 7 else Verdict.INCLUDE
            repo.append_event(s, event("r1", i, verdict), "bench")
            repo.append_event(s, event("r2", i, verdict), "bench")
        for i in range(n_records - pending + 1, n_records + 1):
            repo.append_event(s, event("r1", i, Verdict.INCLUDE), "bench")
            repo.append_event(s, event("r1", i, Verdict.EXCLUDE), "bench")
    store.dispose()


def _validation_times(url: str, n_records: int, repeat: int) -> dict[str, Timing]:
    """In-process: the new record-state check against the old whole-log replay."""
    from myoivig.review import repository as repo
    from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
    from myoivig.review.screening_state import check_new_event
    from myoivig.store import Store

    store = Store.from_url(url)
    event = ScreeningEvent(EventKind.DECISION, Stage.TITLE_ABSTRACT, f"B-1:{n_records}", "r2",
                           Verdict.INCLUDE, datetime.now(UTC))  # fmt: skip
    out: dict[str, Timing] = {}
    for label, check in (
        ("record state (this tree)", lambda s: check_new_event(s, event, "bench")),
        ("full replay (old)", lambda s: repo.load_screening(s, "bench").log.with_event(event)),
    ):
        timings = []
        for _ in range(repeat):
            with store.session() as s:
                start, cpu = time.perf_counter(), time.process_time()
                check(s)
                timings.append(Timing(time.perf_counter() - start, time.process_time() - cpu))
        out[label] = _median_of(timings)
    store.dispose()
    return out


def screening(
    peers: list[str], peer_src: Path | None, repeat: int, folder: Path, n_rec: int, n_ev: int
) -> None:
    print(f"\nScreening decision at {n_rec:,} records / {n_ev:,} events (SQLite, median of "
          f"{repeat})")  # fmt: skip
    urls: dict[str, str] = {}
    for kind in ("tree", "peer") if "peer" in peers else ("tree",):
        url = f"sqlite:///{folder / f'screen-{kind}.db'}"
        urls[kind] = url
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        if kind == "peer":
            code += f"sys.path.insert(0, {str(peer_src)!r}); "
        code += f"import cli_startup; cli_startup.build_review({url!r}, {n_rec}, {n_ev})"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=folder)
        print(f"  built the {kind} review in {time.perf_counter() - start:.1f} s", flush=True)
    record = n_rec - 100  # r2 decides the records r1 left pending, one per run
    for kind in peers:
        url = urls["peer" if kind == "peer" else "tree"]
        env = {**os.environ, "MYOIVIG_DATABASE_URL": url, "MYOIVIG_ACTOR": "bench"}
        timings = []
        for _ in range(repeat):
            record += 1
            args = ["review", "screen", "decide", "--review", "bench", "--reviewer", "r2"]
            args += ["--record", f"B-1:{record}", "--stage", "ta", "--verdict", "include"]
            timing, status = _run([*_runner(kind, peer_src), *args], env, folder)
            if status != 0:
                raise SystemExit(f"{kind}: decide failed with exit code {status}")
            timings.append(timing)
        print(f"  CLI `review screen decide`, {kind:8}: {_median_of(timings)} s (wall/CPU)")
    for label, timing in _validation_times(urls["tree"], n_rec, repeat).items():
        print(f"  validation step in-process, {label}: {timing} s (wall/CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-src", type=Path, help="src/ of an older checkout to compare")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--only", choices=["startup", "screening"])
    parser.add_argument("--command", action="append", help="start-up of these commands only")
    args = parser.parse_args()
    peers = ["launcher", "eager", *(["peer"] if args.peer_src else [])]
    load = os.getloadavg()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")  # fmt: skip
    print(json.dumps({"peers": peers, "peer_src": str(args.peer_src or "")}))
    with tempfile.TemporaryDirectory(prefix="myoivig-bench-") as tmp:
        folder = Path(tmp)
        if args.only != "screening":
            startup(peers, args.peer_src, args.repeat, folder, args.command)
        if args.only != "startup":
            screening(peers, args.peer_src, args.repeat, folder, args.records, args.events)


if __name__ == "__main__":
    main()
