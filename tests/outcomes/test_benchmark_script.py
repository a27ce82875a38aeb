"""The batch benchmark script still runs (tiny size) and its generated pairs are all valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_benchmark_runs_small() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "outcomes_batch_scoring.py"), "--rows", "3000"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "rows scored 3,000" in done.stdout
    assert "ratio scoring / numpy pass" in done.stdout
