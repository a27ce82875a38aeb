"""Reading and writing the tables as CSV files in a folder or as sheets of one Excel workbook."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from myoivig.atomic_files import replacing, write_text
from myoivig.domain.values import NotPerformed

RawTable = list[dict[str, str | None]]  # data rows; the file's header gives the keys


class FormatError(ValueError):
    """The file or folder is not in the tabular format at all."""


def read_tables(path: Path) -> tuple[dict[str, RawTable], dict[str, list[str]]]:
    """Raw rows and headers per table name, from a CSV folder or an .xlsx workbook."""
    if path.is_dir():
        return _read_csv_folder(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _read_workbook(path)
    if path.suffix.lower() == ".csv":
        raise FormatError(f"{path}: give the folder holding the CSV files, not one file")
    raise FormatError(f"{path}: expected a folder of CSV files or an .xlsx workbook")


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], dict[str, list[str]]]:
    tables: dict[str, RawTable] = {}
    headers: dict[str, list[str]] = {}
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise FormatError(f"{folder}: no .csv files found")
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            bad = error.object[error.start : error.start + 1]
            raise FormatError(
                f"{file.name}: not UTF-8 text (byte {error.start}: {bad!r}); "
                "save the file as UTF-8 CSV"
            ) from error
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            headers[file.stem] = [h.strip() for h in header]
            tables[file.stem] = [
                {name: _cell(value) for name, value in zip(headers[file.stem], row, strict=False)}
                | ({"__extra__": ",".join(row[len(header) :])} if len(row) > len(header) else {})
                for row in reader
                if any(cell.strip() for cell in row)
            ]
    return tables, headers


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        value = (
            value.isoformat()[:10]
            if not hasattr(value, "hour") or _midnight(value)
            else (value.isoformat())
        )
    text = str(value).strip()
    return text or None


def _midnight(value: Any) -> bool:
    return bool(value.hour == 0 and value.minute == 0 and value.second == 0)


def _read_workbook(path: Path) -> tuple[dict[str, RawTable], dict[str, list[str]]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken file
        raise FormatError(f"{path}: not a readable Excel workbook ({error})") from error
    tables: dict[str, RawTable] = {}
    headers: dict[str, list[str]] = {}
    for sheet in book.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            continue
        header = [str(h).strip() if h is not None else "" for h in values[0]]
        headers[sheet.title] = header
        tables[sheet.title] = [
            {name: _cell(value) for name, value in zip(header, row, strict=False) if name}
            for row in values[1:]
            if any(_cell(v) is not None for v in row)
        ]
    book.close()
    return tables, headers


def format_value(value: Any) -> str:
    """How a record value is written in a cell: blank, NP, true/false, ISO date, repr float."""
    if value is None:
        return ""
    if isinstance(value, NotPerformed):
        return "NP"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):  # nested records (infusion rate steps, reactions) as JSON
        items = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
        return json.dumps(items, separators=(",", ":")) if items else ""
    return str(value)


def write_csv_folder(folder: Path, tables: dict[str, tuple[list[str], list[list[str]]]]) -> None:
    for name, (header, body) in tables.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body)
        write_text(folder / f"{name}.csv", buffer.getvalue(), newline="")


def write_workbook(path: Path, tables: dict[str, tuple[list[str], list[list[str]]]]) -> None:
    book = Workbook()
    book.remove(book.active)
    for name, (header, body) in tables.items():
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in body:
            sheet.append(row)  # cells as text: the reader parses them exactly as CSV cells
    with replacing(path) as tmp:
        book.save(tmp)
