"""Reading and writing the tables as CSV files in a folder or as sheets of one Excel workbook."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader

from myoivig.atomic_files import replacing, write_text
from myoivig.domain.values import NotPerformed

RawTable = list[dict[str, str | None]]  # data rows; the file's header gives the keys
ROW = "__row__"  # key of a raw row's number in its sheet or file (the header is row 1)


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
                | {ROW: str(number)}
                for number, row in enumerate(reader, start=2)  # blank lines are rows too
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


# Excel's own limits: a sheet part claiming more is not a workbook Excel wrote, and reading it
# as declared (a dimension of A1:XFD1048576, a row numbered 10**12) would take hours.
MAX_ROWS = 1_048_576
MAX_CELLS = 20_000_000  # cells looked at per workbook, empty ones of padded rows included
_NOT_ZIP = {
    b"\xd0\xcf\x11\xe0": "a password-protected workbook or an old .xls file (not .xlsx); "
    "remove the password or save it as .xlsx",
}


def _reason(error: BaseException) -> str:
    """One line saying what is wrong: openpyxl wraps the parser's error in a three-line one."""
    if str(error).startswith("Unable to read workbook") and error.__cause__ is not None:
        error = error.__cause__
    text = " ".join(str(error).split()) or type(error).__name__
    return text


def _open_workbook(path: Path) -> Any:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head in _NOT_ZIP:
        raise FormatError(f"{path}: not a readable Excel workbook: {_NOT_ZIP[head]}")
    try:
        reader = ExcelReader(path, read_only=True, data_only=True)
        reader.read()
        listed = [sheet.name for sheet in reader.parser.sheets]
    except Exception as error:  # openpyxl raises many types for a broken file
        raise FormatError(f"{path}: not a readable Excel workbook ({_reason(error)})") from error
    book = reader.wb
    found = [sheet.title for sheet in (*book.worksheets, *book.chartsheets)]
    missing = [name for name in listed if name not in found]
    if missing:  # openpyxl skips a sheet whose part is gone; its rows would be lost unsaid
        book.close()
        raise FormatError(
            f"{path}: not a readable Excel workbook (sheet {missing[0]!r} is "
            "listed but its contents are missing from the file)"
        )
    return book


def _sheet_rows(path: Path, sheet: Any, budget: list[int]) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows as values, parsed lazily; an unreadable part becomes a FormatError."""
    sheet.reset_dimensions()  # the declared size is not trusted: rows are as long as written
    rows = sheet.iter_rows(values_only=True)
    for number in itertools.count(1):
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as error:  # XML, zip (CRC, inflate) and cell-reference errors
            raise FormatError(
                f"{path}: sheet {sheet.title!r} cannot be read near row {number} ({_reason(error)})"
            ) from error
        budget[0] -= len(row) + 1
        if number > MAX_ROWS or budget[0] < 0:
            raise FormatError(
                f"{path}: sheet {sheet.title!r} is larger than an Excel sheet can be "
                f"(more than {MAX_ROWS} rows or {MAX_CELLS} cells)"
            )
        yield row


def _read_workbook(path: Path) -> tuple[dict[str, RawTable], dict[str, list[str]]]:
    book = _open_workbook(path)
    tables: dict[str, RawTable] = {}
    headers: dict[str, list[str]] = {}
    budget = [MAX_CELLS]
    try:
        for sheet in book.worksheets:
            if sheet.title.casefold() in {name.casefold() for name in tables}:
                raise FormatError(f"{path}: two sheets are named {sheet.title!r}")
            rows = _sheet_rows(path, sheet, budget)
            first = next(rows, None)
            if first is None:
                continue
            header = [str(h).strip() if h is not None else "" for h in first]
            headers[sheet.title] = header
            tables[sheet.title] = [
                raw | {ROW: str(number)}
                for number, row in enumerate(rows, start=2)
                if (raw := _raw_row(header, row))
            ]
    finally:
        book.close()
    return tables, headers


def _raw_row(header: list[str], row: tuple[Any, ...]) -> dict[str, str | None]:
    """A data row by column name; cells under no name kept as `__extra__` (as in a CSV file)
    so that they are reported, not dropped. Empty rows give an empty dict."""
    raw: dict[str, str | None] = {}
    stray: list[str] = []
    for name, value in itertools.zip_longest(header, row):
        cell = _cell(value)
        if name:
            raw[name] = cell
        elif cell is not None:
            stray.append(cell)
    if stray:
        raw["__extra__"] = ",".join(stray)
    return raw if any(v is not None for v in raw.values()) else {}


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
