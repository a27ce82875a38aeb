"""Time from `myoivig run` (already installed, empty SQLite database) to the first page served.

Issue 12's target: under 5 s. Peer: the same command with --no-serve (loading the demo and
printing the overview, which is what `make run` did before the web application), so the figure
shows what starting the web stack adds. Each run uses a fresh temporary database, talks to
127.0.0.1 only, and stops the server itself. CPU seconds of the child (from /proc) are printed
beside wall time because wall time on a shared machine depends on its load.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LAUNCH = "from myoivig.launcher import main; main()"
TARGET_S = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_page(folder: Path, src: Path | None = None) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) until GET /login answers 200; `src`: another source
    tree to run (the code before a change)."""
    port = _free_port()
    env = {**os.environ, "MYOIVIG_DATABASE_URL": f"sqlite:///{folder / 'run.db'}"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < 120:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    return time.monotonic() - started, _cpu_seconds(child.pid)
            except httpx.TransportError:
                time.sleep(0.05)
        raise SystemExit("no page within 120 s")
    finally:
        child.terminate()
        child.wait(timeout=30)


def overview_only(folder: Path) -> float:
    env = {**os.environ, "MYOIVIG_DATABASE_URL": f"sqlite:///{folder / 'peer.db'}"}
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--no-serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--peer-src", type=Path, default=None,
        help="also time the first page of this source tree (e.g. the code before a change)",
    )  # fmt: skip
    args = parser.parse_args()
    walls, cpus, peers, old_walls, old_cpus = [], [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = first_page(Path(tmp))
            walls.append(wall)
            cpus.append(cpu)
            peers.append(overview_only(Path(tmp)))
        if args.peer_src is not None:
            with tempfile.TemporaryDirectory() as tmp:
                wall, cpu = first_page(Path(tmp), args.peer_src)
                old_walls.append(wall)
                old_cpus.append(cpu)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}")
    print(
        f"myoivig run -> first page: median {statistics.median(walls):.2f} s wall "
        f"(max {max(walls):.2f}), {statistics.median(cpus):.2f} s CPU; target < {TARGET_S:g} s"
    )
    print(f"peer, myoivig run --no-serve (overview only): median {statistics.median(peers):.2f} s")
    if old_walls:
        print(
            f"peer, {args.peer_src} run -> first page: median {statistics.median(old_walls):.2f} s "
            f"wall (max {max(old_walls):.2f}), {statistics.median(old_cpus):.2f} s CPU"
        )
    sys.exit(0 if statistics.median(walls) < TARGET_S else 1)


if __name__ == "__main__":
    main()
