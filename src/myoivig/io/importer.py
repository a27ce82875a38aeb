"""Atomic import of the tabular format: every row is checked first, then all land or none.

Checks run in three layers, and every problem found is reported, not just the first:
1. the file: known tables and columns;
2. each row: the record's own field rules (types, units, ranges, vocabularies);
3. across rows and against the database: unique keys, references, date order, and no recorded
   infusion rate step above the product's applicable maximum (`io.infusion_rules`, the rule the
   REDCap and FHIR imports apply).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from myoivig.clinic.recording import InfusionRules
from myoivig.domain import records as r
from myoivig.domain.consistency import check_dossier
from myoivig.domain.plausibility import DEFAULT_PLAUSIBILITY, PlausibilitySettings
from myoivig.io.infusion_rules import rate_problems
from myoivig.io.plausibility_gate import plausibility_problems
from myoivig.io.problems import ImportRejectedError, Problem
from myoivig.io.sheets import ROW, RawTable, read_tables
from myoivig.io.tables import TABLES, TABLES_BY_NAME, Table
from myoivig.store import Store, repository

MEASUREMENT_TABLES = ("myometry", "muscle_grades", "functional_tasks", "core_set", "enzymes")
ASSESSMENT_LISTS = {
    "myometry": "myometry",
    "muscle_grades": "muscle_grades",
    "functional_tasks": "functional_tasks",
    "core_set": "core_set",
    "enzymes": "enzymes",
}


@dataclass
class Parsed:
    """Valid rows per table, each with its spreadsheet row number.

    `rejected` holds the key cells (as written) of rows that failed their own checks, so that
    rows referring to them are not reported again as "unknown": one bad height cell is one
    problem, not one per course, lab and assessment of that patient.
    """

    rows: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))
    rejected: dict[str, set[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class Bundle:
    """What an import will write: sites and whole patient dossiers."""

    sites: list[r.Site]
    dossiers: list[r.PatientDossier]

    def counts(self) -> dict[str, int]:
        """Records per kind; infusion days only when there are some (most sources carry
        none; REDCap and FHIR carry those recorded)."""
        days = sum(len(d.infusion_days) for d in self.dossiers)
        return {
            "sites": len(self.sites),
            "patients": len(self.dossiers),
            "courses": sum(len(d.courses) for d in self.dossiers),
            "assessments": sum(len(d.assessments) for d in self.dossiers),
            "labs": sum(len(d.labs) for d in self.dossiers),
            "adverse_events": sum(len(d.adverse_events) for d in self.dossiers),
            **({"infusion_days": days} if days else {}),
        }


def _pydantic_problems(
    table: Table, row_number: int, raw: dict[str, str | None], error: ValidationError
) -> list[Problem]:
    back = {v: k for k, v in table.renames.items()}
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if isinstance(part, str)]
        field_name = loc[0] if loc else getattr(item.get("ctx", {}).get("error"), "field", "")
        column = back.get(field_name, field_name)
        message = str(item["msg"]).removeprefix("Value error, ")
        value = raw.get(column) if column else None
        problems.append(Problem(table.name, row_number, column, value, message))
    return problems


def parse_tables(
    raw_tables: dict[str, RawTable], headers: dict[str, list[str]]
) -> tuple[Parsed, list[Problem]]:
    """Layers 1 and 2: known tables/columns, then each row against its record model."""
    parsed = Parsed()
    problems: list[Problem] = []
    for name in raw_tables:
        if name not in TABLES_BY_NAME:
            known = ", ".join(t.name for t in TABLES)
            problems.append(
                Problem(name, None, "", None, f"unknown table; expected one of {known}")
            )
    if "patients" not in raw_tables and raw_tables:
        problems.append(Problem("patients", None, "", None, "the patients table is missing"))
    for table in TABLES:
        if table.name not in raw_tables:
            continue
        columns = table.column_names()
        header = headers.get(table.name, [])
        for column in header:
            if column not in columns:
                problems.append(
                    Problem(
                        table.name, 1, column, None, f"unknown column; expected {list(columns)}"
                    )
                )
        for position, column in enumerate(header):
            if header.index(column) != position:
                problems.append(Problem(table.name, 1, column, None, "column appears twice"))
        required = [
            c for c in columns if table.model.model_fields[table.field_for(c)].is_required()
        ]
        missing = [c for c in required if c not in header]
        for column in missing:
            problems.append(Problem(table.name, 1, column, None, "required column is missing"))
        if missing:
            continue
        for position, raw in enumerate(raw_tables[table.name], start=2):
            index = _row_number(raw, position)
            if "__extra__" in raw:
                problems.append(
                    Problem(
                        table.name,
                        index,
                        "",
                        raw["__extra__"],
                        "cells outside the header's columns (more cells than the header, "
                        "or under a blank header cell)",
                    )
                )
                continue
            data = {table.field_for(c): v for c, v in raw.items() if c in columns and v is not None}
            try:
                row = table.model.model_validate(data)
                if hasattr(row, "to_record"):
                    row.to_record()  # the stored record's own cross-field rules
                parsed.rows[table.name].append((index, row))
            except ValidationError as error:
                problems.extend(_pydantic_problems(table, index, raw, error))
                parsed.rejected[table.name].add(_raw_key(table, raw))
    return parsed, problems


def _row_number(raw: dict[str, str | None], position: int) -> int:
    """The row's number as the reader saw it (blank rows counted), else its position."""
    number = raw.get(ROW)
    return int(number) if number else position


def _raw_key(table: Table, raw: dict[str, str | None]) -> tuple[str, ...]:
    return tuple((raw.get(column) or "").strip() for column in table.key)


def _duplicates(raw_tables: dict[str, RawTable]) -> list[Problem]:
    """Duplicated keys, found on the raw cells so that rows with other errors count too."""
    problems = []
    for table in TABLES:
        if not table.key:
            continue
        seen: dict[tuple[str, ...], int] = {}
        for position, raw in enumerate(raw_tables.get(table.name, []), start=2):
            row_number = _row_number(raw, position)
            key = tuple((raw.get(column) or "").strip() for column in table.key)
            if not all(key):
                continue  # a missing key cell is reported by the row check
            if key in seen:
                shown = ", ".join(f"{c}={k}" for c, k in zip(table.key, key, strict=True))
                problems.append(
                    Problem(
                        table.name,
                        row_number,
                        table.key[-1],
                        key[-1],
                        f"duplicated key ({shown}); first at row {seen[key]}",
                    )
                )
            else:
                seen[key] = row_number
    return problems


def _refers_to_rejected(parsed: Parsed, row: Any) -> bool:
    """A measurement whose patient or assessment row was itself refused (already reported)."""
    return (row.patient_code,) in parsed.rejected["patients"] or (
        row.patient_code,
        row.assessment_date.isoformat(),
    ) in parsed.rejected["assessments"]


def assemble(parsed: Parsed) -> tuple[Bundle, list[Problem]]:
    """Layer 3 (in the file): group rows into dossiers, check keys and references."""
    problems: list[Problem] = []
    sites = [site for _, site in parsed.rows.get("sites", [])]
    site_codes = {site.site_code for site in sites}
    dossiers: dict[str, r.PatientDossier] = {}
    patient_rows: dict[str, int] = {}
    for row_number, patient in parsed.rows.get("patients", []):
        if patient.code in dossiers:
            continue  # reported as a duplicate
        if patient.site_code is not None and patient.site_code not in site_codes:
            problems.append(
                Problem(
                    "patients",
                    row_number,
                    "site_code",
                    patient.site_code,
                    "unknown site; add it to the sites table",
                )
            )
        dossiers[patient.code] = r.PatientDossier(patient=patient)
        patient_rows[patient.code] = row_number

    def owner(table: str, row_number: int, code: str) -> r.PatientDossier | None:
        dossier = dossiers.get(code)
        if dossier is None and (code,) not in parsed.rejected["patients"]:
            problems.append(
                Problem(
                    table,
                    row_number,
                    "patient_code",
                    code,
                    "unknown patient; add it to the patients table",
                )
            )
        return dossier

    for table, attribute in (
        ("therapies", "therapies"),
        ("courses", "courses"),
        ("adverse_events", "adverse_events"),
        ("infusion_days", "infusion_days"),
    ):
        for row_number, record in parsed.rows.get(table, []):
            if (dossier := owner(table, row_number, record.patient_code)) is not None:
                getattr(dossier, attribute).append(record)
    for row_number, lab in parsed.rows.get("labs", []):
        if (dossier := owner("labs", row_number, lab.patient_code)) is not None:
            dossier.labs.append(lab.to_record())
    for row_number, outcome in parsed.rows.get("reported_outcomes", []):
        if (dossier := owner("reported_outcomes", row_number, outcome.patient_code)) is not None:
            dossier.reported_outcome = outcome
    assessments: dict[tuple[str, date], r.Assessment] = {}
    for row_number, row in parsed.rows.get("assessments", []):
        if (dossier := owner("assessments", row_number, row.patient_code)) is not None:
            key = (row.patient_code, row.assessment_date)
            if key not in assessments:
                assessments[key] = row.to_record()
                dossier.assessments.append(assessments[key])
    for table in MEASUREMENT_TABLES:
        for row_number, row in parsed.rows.get(table, []):
            assessment = assessments.get((row.patient_code, row.assessment_date))
            if assessment is None and not _refers_to_rejected(parsed, row):
                problems.append(
                    Problem(
                        table,
                        row_number,
                        "assessment_date",
                        row.assessment_date.isoformat(),
                        f"no assessment of patient {row.patient_code} on this date in the "
                        "assessments table",
                    )
                )
            if assessment is None:
                continue
            getattr(assessment, ASSESSMENT_LISTS[table]).append(row.to_record())
    for code, dossier in dossiers.items():
        for finding in check_dossier(dossier):
            problems.append(
                Problem(
                    finding.table,
                    None,
                    finding.column,
                    finding.value,
                    f"patient {code}: {finding.reason}",
                )
            )
    for dossier in dossiers.values():
        dossier.assessments.sort(key=lambda a: a.assessment_date)
    return Bundle(sites=sites, dossiers=list(dossiers.values())), problems


def load_bundle(
    path: Path,
    accept_warnings: bool = False,
    plausibility: PlausibilitySettings = DEFAULT_PLAUSIBILITY,
    rules: InfusionRules | None = None,
) -> Bundle:
    """Read and check a tabular file or folder; raise with every problem if any.

    Implausible values (see `plausibility_gate`) are problems unless `accept_warnings`. A
    recorded rate step above its applicable maximum is always a problem; `rules` are the
    catalogue and site settings it is checked against (default: the site's current ones).
    """
    raw_tables, headers = read_tables(path)
    parsed, problems = parse_tables(raw_tables, headers)
    problems.extend(_duplicates(raw_tables))
    bundle, more = assemble(parsed)
    problems.extend(more)
    problems.extend(plausibility_problems(bundle.dossiers, accept_warnings, plausibility))
    problems.extend(_rate_problems(bundle, parsed, rules or InfusionRules.current()))
    if problems:
        raise ImportRejectedError(problems)
    return bundle


def _rate_problems(bundle: Bundle, parsed: Parsed, rules: InfusionRules) -> list[Problem]:
    """Rate steps above the applicable maximum, named by their infusion_days row (the rule and
    its treatment shared with the REDCap and FHIR imports)."""
    rows: dict[tuple[str, int, int], int] = {}
    for row_number, day in parsed.rows.get("infusion_days", []):
        rows.setdefault((day.patient_code, day.course_number, day.day_number), row_number)

    def row_of(day: r.InfusionDay) -> int | None:
        return rows.get((day.patient_code, day.course_number, day.day_number))

    return rate_problems(
        bundle.dossiers, rules.catalogue, rules.settings, "infusion_days", "rate_steps", row_of
    )


def import_path(
    store: Store,
    path: Path,
    actor: str,
    accept_warnings: bool = False,
    plausibility: PlausibilitySettings = DEFAULT_PLAUSIBILITY,
) -> dict[str, int]:
    """Import a tabular file or folder into the store atomically; returns what was written."""
    bundle = load_bundle(path, accept_warnings, plausibility)
    return write_bundle(store, bundle, actor)


def write_bundle(store: Store, bundle: Bundle, actor: str) -> dict[str, int]:
    try:
        with store.unit_of_work(actor) as session:
            existing_codes = repository.existing_patient_codes(session)
            sites = repository.existing_sites(session)
            problems = [
                Problem(
                    "patients",
                    None,
                    "patient_code",
                    d.patient.code,
                    "duplicated code: a patient with this code is already in the database",
                )
                for d in bundle.dossiers
                if d.patient.code in existing_codes
            ]
            problems += [
                Problem(
                    "sites",
                    None,
                    "site_code",
                    s.site_code,
                    "duplicated code: this site is already in the database",
                )
                for s in bundle.sites
                if s.site_code in sites
            ]
            if problems:
                raise ImportRejectedError(problems)
            for site in bundle.sites:
                sites[site.site_code] = repository.add_site(session, site)
            problems = [
                Problem(
                    "patients",
                    None,
                    "site_code",
                    d.patient.site_code,
                    f"patient {d.patient.code}: no such site in the file or the database",
                )
                for d in bundle.dossiers
                if d.patient.site_code is not None and d.patient.site_code not in sites
            ]
            if problems:
                raise ImportRejectedError(problems)
            session.flush()
            # The bulk path with one audit entry per record: the same rows and entries as
            # adding each record through the session, several times faster.
            repository.bulk_add_dossiers(
                session,
                bundle.dossiers,
                {code: row.id for code, row in sites.items()},
                audit_each_row=True,
            )
    except IntegrityError as error:
        reason = f"the database refused the import: {error.orig}"
        raise ImportRejectedError([Problem("(database)", None, "", None, reason)]) from error
    store.refresh_statistics()
    return bundle.counts()
