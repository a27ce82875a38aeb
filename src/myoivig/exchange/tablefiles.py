"""Analysis tables as CSV (ISO dates, true/false, blank for missing) and typed Parquet."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from myoivig.exchange.analysis import AnalysisTable
from myoivig.exchange.csvfiles import write_csv
from myoivig.io.sheets import format_value

ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def _cell(value: Any) -> str:
    return format_value(value)


def write_table_csv(path: Path, table: AnalysisTable) -> None:
    names = [c.name for c in table.columns]
    write_csv(path, names, [[_cell(row.get(n)) for n in names] for row in table.rows])


def _arrow_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "date" and not isinstance(value, date):
        return date.fromisoformat(str(value))
    return value


def arrow_table(table: AnalysisTable) -> pa.Table:
    schema = pa.schema(
        [
            pa.field(
                c.name, ARROW_TYPES[c.kind], metadata={"description": c.description, "unit": c.unit}
            )
            for c in table.columns
        ]
    )
    arrays = [
        pa.array(
            [_arrow_value(c.kind, row.get(c.name)) for row in table.rows], type=ARROW_TYPES[c.kind]
        )
        for c in table.columns
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_table_parquet(path: Path, table: AnalysisTable) -> None:
    pq.write_table(arrow_table(table), path)
