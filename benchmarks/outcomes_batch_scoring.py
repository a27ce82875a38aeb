"""Benchmark: batch TIS + IMACS DOI scoring, Parquet -> Parquet, against a plain NumPy pass.

Generates `--rows` seeded baseline/follow-up pairs into a temporary directory, then runs in
separate subprocesses (so peak memory is per run): (1) `score_file` Parquet -> Parquet, and
(2) a plain pass that reads the same columns chunk by chunk, converts them to NumPy the same
way the scorer does (nulls -> NaN) and sums them.
Prints wall time and peak RSS (ru_maxrss of the child) of both and their ratio.
Target (issue 3): 20 million pairs in <= 20 s and <= 6 GB on 2 cores.

    .venv/bin/python benchmarks/outcomes_batch_scoring.py --rows 20000000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from myoivig.outcomes.batch import INPUT_COLUMNS, NUMERIC_COLUMNS

GEN_CHUNK = 1_000_000
ULN = {"ck": 200.0, "aldolase": 7.6, "ast": 34.0, "alt": 41.0, "ldh": 225.0}


def _grid(rng: np.random.Generator, n: int, high: float, step: float, missing: float) -> np.ndarray:
    values = rng.integers(0, round(high / step) + 1, n) * step
    values[rng.random(n) < missing] = np.nan
    return values


def generate(path: Path, rows: int, seed: int) -> None:
    """Write `rows` valid pairs (values on clinical grids, blanks as nulls) to Parquet
    (pyarrow defaults: snappy, dictionary encoding, one row group per million rows)."""
    rng = np.random.default_rng(seed)
    writer: pq.ParquetWriter | None = None
    population_dict = pa.array(["adult", "juvenile"])
    for start in range(0, rows, GEN_CHUNK):
        n = min(GEN_CHUNK, rows - start)
        cols: dict[str, pa.Array] = {
            "id": pa.array(np.arange(start, start + n, dtype=np.int64)),
            "population": pa.DictionaryArray.from_arrays(
                pa.array((rng.random(n) < 0.1).astype(np.int8)), population_dict
            ),
        }
        for name in ("physician_global", "patient_global", "extramuscular"):
            for suffix in ("bl", "fu"):
                cols[f"{name}_{suffix}"] = pa.array(_grid(rng, n, 10, 0.1, 0.05), from_pandas=True)
        for suffix in ("bl", "fu"):
            cols[f"haq_{suffix}"] = pa.array(_grid(rng, n, 3, 0.125, 0.05), from_pandas=True)
        mmt_max = np.where(rng.random(n) < 0.5, 80.0, 150.0)
        for suffix in ("bl", "fu"):
            cols[f"mmt8_{suffix}"] = pa.array(np.floor(rng.random(n) * (mmt_max + 1)))
        cols["mmt8_max"] = pa.array(mmt_max)
        for enzyme, uln in ULN.items():
            measured = rng.random(n) < (0.9 if enzyme == "ck" else 0.3)
            for suffix in ("bl", "fu"):
                values = np.round(rng.lognormal(np.log(uln * 2), 1.0, n), 1)
                cols[f"{enzyme}_{suffix}"] = pa.array(
                    np.where(measured, values, np.nan), from_pandas=True
                )
            cols[f"{enzyme}_uln"] = pa.array(np.where(measured, uln, np.nan), from_pandas=True)
        batch = pa.RecordBatch.from_pydict({c: cols[c] for c in INPUT_COLUMNS})
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_batch(batch)
    assert writer is not None
    writer.close()


SCORE_CODE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from myoivig.outcomes.batch_io import score_file
    t = time.perf_counter()
    report = score_file(Path(sys.argv[1]), Path(sys.argv[2]))
    assert report.ok, report.issues[:5]
    print(time.perf_counter() - t, report.rows)
    """
)

NUMPY_CODE = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import pyarrow.parquet as pq
    from myoivig.outcomes.batch_io import float_values, tune_allocator
    tune_allocator()  # same allocator settings as the scorer, for a fair comparison
    columns = sys.argv[2].split(",")
    t = time.perf_counter()
    total, rows = 0.0, 0
    for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=1 << 20, columns=columns):
        for column in batch.columns:
            total += float(np.nansum(float_values(column)))
        rows += batch.num_rows
    print(time.perf_counter() - t, rows, total)
    """
)


def run_child(code: str, *args: str) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of a fresh interpreter running `code`."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = max(usage.ru_maxrss, before)  # a running maximum over all children so far
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return wall, cpu, peak_kib / 1024, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outcomes_bench_") as tmp:
        source = Path(tmp) / "pairs.parquet"
        t = time.perf_counter()
        generate(source, args.rows, args.seed)
        size_mb = source.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} pairs ({size_mb:,.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
        # NumPy pass first: its child is small, so the max-RSS of the scoring child that follows
        # is not masked by it (ru_maxrss of RUSAGE_CHILDREN is a running maximum).
        print(f"load average before runs: {os.getloadavg()[0]:.2f} (2-core target machine)")
        np_wall, np_cpu, np_peak, np_out = run_child(
            NUMPY_CODE, str(source), ",".join(NUMERIC_COLUMNS)
        )
        sc_wall, sc_cpu, sc_peak, sc_out = run_child(
            SCORE_CODE, str(source), str(Path(tmp) / "scores.parquet")
        )
        sc_inner = float(sc_out.split()[0])
        np_inner = float(np_out.split()[0])
        print(
            f"numpy read+sum : {np_wall:6.2f} s wall ({np_inner:.2f} s in child), "
            f"{np_cpu:.2f} s CPU, "
            f"peak {np_peak:,.0f} MiB"
        )
        print(
            f"score TIS + DOI: {sc_wall:6.2f} s wall ({sc_inner:.2f} s in child), "
            f"{sc_cpu:.2f} s CPU, "
            f"peak {sc_peak:,.0f} MiB"
        )
        print(
            f"ratio scoring / numpy pass: wall {sc_wall / np_wall:.2f}, CPU {sc_cpu / np_cpu:.2f}"
        )
        print(f"load average after runs: {os.getloadavg()[0]:.2f}")
        print(
            f"target 20M pairs: <= 20 s and <= 6144 MiB -> rows scored {int(sc_out.split()[1]):,}"
        )


if __name__ == "__main__":
    main()
