"""Reading and writing the CSV files of the exchange formats (UTF-8, optional BOM)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from myoivig.io.problems import ImportRejectedError, Problem


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows (blank lines kept so row numbers match); unreadable means rejected."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportRejectedError([Problem(str(path), None, "", None, "file not found")]) from None
    except (UnicodeDecodeError, OSError) as error:
        reason = f"cannot read the file as UTF-8 text: {error}"
        raise ImportRejectedError([Problem(str(path), None, "", None, reason)]) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = list(reader)
    if not lines:
        raise ImportRejectedError([Problem(path.name, None, "", None, "the file is empty")])
    header = [h.strip() for h in lines[0]]
    rows = []
    problems = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) > len(header):
            problems.append(
                Problem(
                    path.name,
                    number,
                    "",
                    ",".join(cells[len(header) :]),
                    "more cells than the header",
                )
            )
            continue
        cells = cells + [""] * (len(header) - len(cells))
        rows.append(dict(zip(header, (c.strip() for c in cells), strict=True)))
    if problems:
        raise ImportRejectedError(problems)
    return header, rows


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.write_text(csv_text(header, rows), encoding="utf-8")
