"""File edge of batch scoring: CSV or Parquet in, CSV or Parquet out, streamed in chunks.

Bad rows: the command fails. Every out-of-range value is reported (row number, id, column,
value, reason) and no output file is written; the output is written to a temporary file next
to the target and renamed only when the whole input scored cleanly, so a failure never leaves a
half-written file behind. This keeps a registry export from silently losing patients; fix or
drop the listed rows and run again.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from myoivig.atomic_files import replacing
from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.batch import (
    CATEGORY_NAMES,
    F64,
    INPUT_COLUMNS,
    NUMERIC_COLUMNS,
    BatchScores,
    Bools,
    RowIssue,
    invalid_rows,
    score_columns,
)
from myoivig.outcomes.core_set import (
    CoreSetChange,
    EnzymeValues,
    Pair,
    ScoringSettings,
    validate,
)
from myoivig.outcomes.tis_table import Population

CHUNK_ROWS = 1 << 20
SCORING_THREADS = 2  # the target machine has 2 cores
MAX_ISSUES_KEPT = 10_000
POPULATIONS = (Population.ADULT.value, Population.JUVENILE.value)
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
OUTPUT_SCHEMA_FIELDS = ("id", "tis", "tis_category", "tis_min", "tis_max", "imacs_doi")


_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_allocator_tuned = False


def tune_allocator() -> None:
    """Let glibc keep freed chunk-sized arrays instead of returning them to the kernel.

    Scoring allocates many temporary 8 MB arrays per chunk; with glibc's defaults each one is
    mmap-ed (or trimmed) and page-faulted afresh, which cost ~30 % of the scoring CPU time in our
    measurements. Raising the mmap threshold to 32 MB and the trim threshold to 1 GB keeps them
    in the heap. Process-wide and idempotent; a no-op where glibc is not the C library.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


class BatchInputError(ValueError):
    """The input file cannot be read as a scoring table (format, columns, types)."""


@dataclass
class BatchReport:
    rows: int = 0
    invalid_rows: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    issue_ids: list[object] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.invalid_rows == 0


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BatchInputError(f"{path}: use a .csv or .parquet file (got {suffix or 'no suffix'!r})")


def _check_columns(path: Path, names: list[str]) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in names]
    unknown = [c for c in names if c not in INPUT_COLUMNS]
    problems = []
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        problems.append(f"duplicated columns: {', '.join(duplicated)}")
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)}")
    if problems:
        raise BatchInputError(f"{path}: " + "; ".join(problems))


def read_batches(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """Stream the input as record batches with the input columns."""
    kind = _format(path)
    if not path.exists():
        raise BatchInputError(f"{path}: no such file")
    try:
        if kind == "parquet":
            parquet = pq.ParquetFile(path, read_dictionary=["population"])
            _check_columns(path, parquet.schema_arrow.names)
            yield from parquet.iter_batches(batch_size=chunk_rows, columns=list(INPUT_COLUMNS))
        else:
            types: dict[str, pa.DataType] = {c: pa.float64() for c in NUMERIC_COLUMNS}
            types["population"] = pa.string()
            types["id"] = pa.string()
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
            _check_columns(path, reader.schema.names)
            for batch in reader:
                yield batch.select(list(INPUT_COLUMNS))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        cells = _non_numeric_cells(path) if kind == "csv" else []
        if cells:
            raise BatchInputError(f"{path}: not numbers: " + "; ".join(cells)) from exc
        raise BatchInputError(f"{path}: {exc}") from exc


def _non_numeric_cells(path: Path, limit: int = 20) -> list[str]:
    """Where a CSV has text in numeric columns (row, id, column, value), for the error message.

    Only run after the fast reader failed, so the slow scan costs nothing on good input.
    """
    found: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=1):
            for column in NUMERIC_COLUMNS:
                cell = (row.get(column) or "").strip()
                if not cell:
                    continue
                try:
                    float(cell)
                except ValueError:
                    found.append(
                        f"row {row_number} (id {row.get('id')!r}) column {column}: {cell!r}"
                    )
                    if len(found) >= limit:
                        return found
    return found


def float_values(column: pa.Array) -> F64:
    """A numeric Arrow column as float64 with NaN for nulls.

    float64 columns are viewed in place and only masked where nulls exist (the generic
    `to_numpy(zero_copy_only=False)` path costs about as much as decoding the Parquet page).
    """
    if pa.types.is_float64(column.type):
        n, offset = len(column), column.offset
        validity, data = column.buffers()[:2]
        values = np.frombuffer(data, dtype=np.float64, count=offset + n)[offset:]
        if column.null_count == 0:
            return values
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        return np.where(bits[offset : offset + n].view(np.bool_), values, np.nan)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _float_column(batch: pa.RecordBatch, name: str) -> F64:
    column = batch.column(name)
    numeric = pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
    if not numeric and not pa.types.is_null(column.type):
        raise BatchInputError(f"column {name} must be numeric, found {column.type}")
    return float_values(column)


def _population(batch: pa.RecordBatch) -> tuple[Bools, Bools]:
    """(is juvenile, is a valid population) per row."""
    column = batch.column("population")
    if pa.types.is_dictionary(column.type):
        values = [v.as_py() for v in column.dictionary]
        juvenile_lut = np.array([v == Population.JUVENILE.value for v in values] + [False])
        valid_lut = np.array([v in POPULATIONS for v in values] + [False])
        idx = column.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
        return juvenile_lut[idx], valid_lut[idx]
    juvenile = pc.fill_null(pc.equal(column, Population.JUVENILE.value), False)
    valid = pc.fill_null(pc.is_in(column, value_set=pa.array(POPULATIONS)), False)
    return (
        np.asarray(juvenile.to_numpy(zero_copy_only=False), dtype=np.bool_),
        np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.bool_),
    )


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def change_from_row(cols: dict[str, F64], i: int, population: Population) -> CoreSetChange:
    """One batch row as the one-patient input (used for issue detail and in tests)."""

    def pair(name: str) -> Pair:
        return Pair(_value(cols[f"{name}_bl"][i]), _value(cols[f"{name}_fu"][i]))

    mx = _value(cols["mmt8_max"][i])
    return CoreSetChange(
        population=population,
        physician_global=pair("physician_global"),
        patient_global=pair("patient_global"),
        extramuscular=pair("extramuscular"),
        haq=pair("haq"),
        mmt8=pair("mmt8"),
        mmt8_max=mx,
        enzymes={
            e: EnzymeValues(*(_value(cols[f"{e.value}_{s}"][i]) for s in ("bl", "fu", "uln")))
            for e in Enzyme
        },
    )


def _record_issues(
    report: BatchReport,
    batch: pa.RecordBatch,
    cols: dict[str, F64],
    bad: Bools,
    population_ok: Bools,
    offset: int,
) -> None:
    ids = batch.column("id")
    populations = batch.column("population")
    for i in np.flatnonzero(bad):
        if len(report.issues) >= MAX_ISSUES_KEPT:
            break
        row_id = ids[int(i)].as_py()
        found: list[RowIssue] = []
        if row_id is None:
            found.append(RowIssue(offset + int(i), "id", None, "id is required"))
        if not population_ok[i]:
            found.append(
                RowIssue(
                    offset + int(i),
                    "population",
                    populations[int(i)].as_py(),
                    "must be adult or juvenile",
                )
            )
        for problem in validate(change_from_row(cols, int(i), Population.ADULT)):
            found.append(RowIssue(offset + int(i), problem.field, problem.value, problem.reason))
        for issue in found:
            report.issues.append(issue)
            report.issue_ids.append(row_id)


def _output_batch(ids: pa.Array, scores: BatchScores, for_csv: bool) -> pa.RecordBatch:
    undetermined_tis = scores.tis_half_min != scores.tis_half_max
    tis = pa.array(scores.tis_half_min / 2.0, mask=undetermined_tis)
    cat_idx = pa.array(scores.category, mask=scores.category < 0, type=pa.int8())
    category: pa.Array = pa.DictionaryArray.from_arrays(cat_idx, pa.array(CATEGORY_NAMES))
    if for_csv:
        category = category.cast(pa.string())
    doi = pa.array(scores.doi == 1, mask=scores.doi < 0)
    return pa.RecordBatch.from_arrays(
        [
            ids,
            tis,
            category,
            pa.array(scores.tis_half_min / 2.0),
            pa.array(scores.tis_half_max / 2.0),
            doi,
        ],
        names=list(OUTPUT_SCHEMA_FIELDS),
    )


@dataclass
class _Chunk:
    batch: pa.RecordBatch
    cols: dict[str, F64]
    juvenile: Bools
    population_ok: Bools


def _prepared(path: Path, chunk_rows: int) -> Iterator[_Chunk]:
    for batch in read_batches(path, chunk_rows):
        cols = {name: _float_column(batch, name) for name in NUMERIC_COLUMNS}
        juvenile, population_ok = _population(batch)
        yield _Chunk(batch, cols, juvenile, population_ok)


def _prefetch(chunks: Iterator[_Chunk], depth: int = 2) -> Iterator[_Chunk]:
    """Read and convert the next chunks in a background thread while this one is scored."""
    done = object()
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                box.put(chunk)
            box.put(done)
        except BaseException as exc:  # handed to the consumer, re-raised there
            box.put(exc)

    worker = threading.Thread(target=produce, name="score-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Chunk)
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        worker.join()


def _score_parallel(
    pool: ThreadPoolExecutor, workers: int, chunk: _Chunk, settings: ScoringSettings | None
) -> BatchScores:
    """Score a chunk in as many slices as there are workers (NumPy releases the GIL)."""
    n = chunk.batch.num_rows
    parts = workers if n >= 65_536 else 1
    bounds = [n * i // parts for i in range(parts + 1)]
    futures = [
        pool.submit(
            score_columns,
            {k: v[a:b] for k, v in chunk.cols.items()},
            chunk.juvenile[a:b],
            settings,
        )
        for a, b in itertools.pairwise(bounds)
    ]
    results = [f.result() for f in futures]
    return BatchScores(
        *(np.concatenate([getattr(r, name) for r in results]) for name in BatchScores.__slots__)
    )


def score_file(
    input_path: Path,
    output_path: Path,
    settings: ScoringSettings | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> BatchReport:
    """Score `input_path` into `output_path`; nothing is written unless every row is valid."""
    out_kind = _format(output_path)
    if output_path.resolve() == input_path.resolve():
        raise BatchInputError(f"{output_path}: the output must not overwrite the input")
    tune_allocator()
    report = BatchReport()
    sink: _Sink | None = None
    workers = max(1, min(SCORING_THREADS, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    # The output replaces output_path only when every row is valid (else it is discarded).
    try:
        with replacing(output_path, commit=lambda: report.ok) as tmp:
            for chunk in _prefetch(_prepared(input_path, chunk_rows)):
                batch, cols = chunk.batch, chunk.cols
                ids = batch.column("id")
                bad = invalid_rows(cols, chunk.population_ok)
                if ids.null_count:
                    bad |= np.asarray(ids.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
                n_bad = int(bad.sum())
                if n_bad:
                    _record_issues(report, batch, cols, bad, chunk.population_ok, report.rows)
                    report.invalid_rows += n_bad
                report.rows += batch.num_rows
                if report.invalid_rows:
                    continue  # keep validating the rest so the report is complete; write nothing
                scores = _score_parallel(pool, workers, chunk, settings)
                out = _output_batch(ids, scores, out_kind == "csv")
                if sink is None:
                    sink = _Sink(tmp, out_kind, out.schema)
                sink.write(out)
            if sink is None and report.ok:
                empty = _output_batch(pa.array([], pa.string()), _empty_scores(), out_kind == "csv")
                sink = _Sink(tmp, out_kind, empty.schema)
            if sink is not None:
                sink.close()
                sink = None
    finally:
        pool.shutdown()
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.close()
    return report


class _Sink:
    """Parquet or CSV writer for the output batches (CSV header written unquoted by us)."""

    def __init__(self, path: Path, kind: str, schema: pa.Schema) -> None:
        self._handle: BinaryIO | None = None
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        if kind == "parquet":
            self._writer = pq.ParquetWriter(path, schema)
        else:
            self._handle = path.open("wb")
            self._handle.write((",".join(schema.names) + "\n").encode("utf-8"))
            self._writer = pacsv.CSVWriter(self._handle, schema, write_options=_CSV_OPTIONS)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            if self._handle is not None:
                self._handle.close()


def _empty_scores() -> BatchScores:
    return BatchScores(
        np.zeros(0, np.int16), np.zeros(0, np.int16), np.zeros(0, np.int8), np.zeros(0, np.int8)
    )
