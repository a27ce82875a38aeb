"""Export the whole store in the tabular format, so that export then import is lossless."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from myoivig.atomic_files import OutputPathError, check_output
from myoivig.domain import records as r
from myoivig.io import rows
from myoivig.io.sheets import format_value, write_csv_folder, write_workbook
from myoivig.io.tables import TABLES, Table
from myoivig.store import Store, repository

TableData = dict[str, tuple[list[str], list[list[str]]]]


def _records(table: str, sites: list[r.Site], dossiers: list[r.PatientDossier]) -> Iterator[Any]:
    if table == "sites":
        yield from sites
        return
    for d in dossiers:
        code = d.patient.code
        if table == "patients":
            yield d.patient
        elif table in {"therapies", "courses", "adverse_events", "infusion_days"}:
            yield from getattr(d, table)
        elif table == "labs":
            yield from (rows.LabRow.from_record(lab) for lab in d.labs)
        elif table == "reported_outcomes" and d.reported_outcome is not None:
            yield d.reported_outcome
        else:
            yield from _assessment_records(table, code, d.assessments)


def _assessment_records(table: str, code: str, assessments: list[r.Assessment]) -> Iterator[Any]:
    for a in assessments:
        key = rows.AssessmentKey(patient_code=code, assessment_date=a.assessment_date)
        if table == "assessments":
            yield rows.AssessmentRow(**a.model_dump(include=set(rows.AssessmentRow.model_fields)))
        elif table == "functional_tasks":
            yield from (rows.FunctionalTaskRow.from_record(key, t) for t in a.functional_tasks)
        elif table in {"myometry", "muscle_grades", "core_set", "enzymes"}:
            for item in getattr(a, table):
                yield {**key.model_dump(), **dict(item)}


def table_data(sites: list[r.Site], dossiers: list[r.PatientDossier]) -> TableData:
    data: TableData = {}
    for table in TABLES:
        columns = list(table.column_names())
        body = [_row(table, columns, record) for record in _records(table.name, sites, dossiers)]
        data[table.name] = (columns, body)
    return data


def _row(table: Table, columns: list[str], record: Any) -> list[str]:
    values = record if isinstance(record, dict) else dict(record)
    return [format_value(values.get(table.field_for(column))) for column in columns]


def _workbook_path(out: Path) -> Path:
    return out if out.suffix.lower() == ".xlsx" else out / "myoivig.xlsx"


def export_store(store: Store, out: Path, fmt: str) -> dict[str, int]:
    """Write every table; `fmt` is csv (a folder) or xlsx (a workbook file or folder).

    The target is checked before the store is read, and each file is written atomically.
    """
    if fmt == "csv":
        if out.suffix.lower() == ".xlsx":
            raise OutputPathError(f"{out}: a CSV export is a folder; use --format xlsx for a file")
        if out.exists() and not out.is_dir():
            raise OutputPathError(f"{out} is a file; a CSV export needs a folder")
        check_output(out / "patients.csv")
    elif fmt == "xlsx":
        check_output(_workbook_path(out), {".xlsx"})
    else:
        raise OutputPathError(f"unknown export format {fmt!r}: use csv or xlsx")
    with store.session() as session:
        sites = repository.list_sites(session)
        dossiers = repository.list_dossiers(session)
    data = table_data(sites, dossiers)
    if fmt == "csv":
        write_csv_folder(out, data)
    else:
        write_workbook(_workbook_path(out), data)
    return {name: len(body) for name, (_, body) in data.items()}
