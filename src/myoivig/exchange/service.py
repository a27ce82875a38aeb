"""The exchange application layer: what the CLI (and later the web pages) call.

Each function loads from or writes to the store and calls the pure mapping modules; export
files are written atomically and never over existing files unless asked; imports are checked
completely first and then written in one transaction (all or nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from myoivig.clinic.recording import InfusionRules
from myoivig.domain import records as r
from myoivig.exchange import output
from myoivig.exchange.analysis import Pseudonymiser, analysis_tables, dictionary_table
from myoivig.exchange.csvfiles import read_csv, write_csv
from myoivig.exchange.fhir.export import bundle_of
from myoivig.exchange.fhir.read import read_bundle_text
from myoivig.exchange.fhir.validate import structure_errors
from myoivig.exchange.redcap import project
from myoivig.exchange.redcap.dictionary import COLUMNS, check_dictionary, dictionary_rows
from myoivig.exchange.redcap.fields import FIELDS_BY_NAME
from myoivig.exchange.redcap.records import export_records, header, read_records
from myoivig.exchange.tablefiles import write_table_csv, write_table_parquet
from myoivig.io.importer import Bundle, write_bundle
from myoivig.io.infusion_rules import rate_problems
from myoivig.io.problems import ImportRejectedError, Problem
from myoivig.store import Store, repository
from myoivig.store.repository import RecordNotFoundError

__all__ = ["RecordNotFoundError"]

REDCAP_FILES = {
    "data_dictionary.csv": "Project Setup > Data Dictionary > Upload (Designer > Data Dictionary)",
    "arms.csv": "Project Setup > Define My Events > Upload arms (CSV)",
    "events.csv": "Project Setup > Define My Events > Upload events (CSV)",
    "instrument_event_mapping.csv": "Project Setup > Designate Instruments for My Events > Upload",
    "repeating_instruments.csv": (
        "Project Setup > Enable optional modules > Repeating instruments and events > Upload"
    ),
    "records.csv": "Data Import Tool (CSV, records in rows, dates Y-M-D)",
}


def load(store: Store, patient: str | None = None) -> tuple[list[r.Site], list[r.PatientDossier]]:
    """Sites and dossiers (one patient if `patient` is given; RecordNotFoundError if unknown)."""
    with store.session() as session:
        sites = repository.list_sites(session)
        if patient is not None:
            return sites, [repository.load_dossier(session, patient)]
        return sites, repository.list_dossiers(session)


def export_redcap(store: Store, out: Path, force: bool = False) -> dict[str, Any]:
    """Write the REDCap project files and the records; returns counts and the upload steps."""
    output.check_folder(out, force)
    sites, dossiers = load(store)
    rows = export_records(sites, dossiers)
    columns = header()

    def fill(folder: Path) -> None:
        write_csv(
            folder / "data_dictionary.csv",
            list(COLUMNS),
            [[row[c] for c in COLUMNS] for row in dictionary_rows()],
        )
        for name, table in (
            ("arms.csv", project.arms()),
            ("events.csv", project.events()),
            ("instrument_event_mapping.csv", project.instrument_event_mapping()),
            ("repeating_instruments.csv", project.repeating_instruments()),
        ):
            write_csv(folder / name, *table)
        write_csv(
            folder / "records.csv", columns, [[row.get(c, "") for c in columns] for row in rows]
        )

    files = output.write_folder(out, force, fill)
    return {
        "out": str(out),
        "files": files,
        "patients": len(dossiers),
        "rows": len(rows),
        "upload": REDCAP_FILES,
    }


def read_redcap(dictionary: Path, records: Path) -> Bundle:
    """Check a REDCap dictionary and records export completely; raise with every problem."""
    dict_header, dict_rows = read_csv(dictionary)
    problems = check_dictionary(dict_header, dict_rows, dictionary.name)
    if not problems:
        dict_rows = [row for row in dict_rows if any(row.values())]
        problems = project.compare_dictionary(dict_rows, dictionary.name)
    columns, rows = read_csv(records)
    if not problems:
        declared = {row[COLUMNS[0]] for row in dict_rows}
        for column in columns:
            if column in FIELDS_BY_NAME and column not in declared:
                problems.append(
                    Problem(records.name, 1, column, None, "field is not in the data dictionary")
                )
    bundle, more = read_records(columns, rows)
    problems += more
    if not problems:
        problems = _rate_problems(bundle, records.name, "inf_rate_steps")
    if problems:
        raise ImportRejectedError(problems)
    return bundle


def _rate_problems(bundle: Bundle, source: str, column: str) -> list[Problem]:
    """Recorded rate steps above the applicable maximum (the clinic's rule, its catalogue and
    site settings)."""
    rules = InfusionRules.current()
    return rate_problems(bundle.dossiers, rules.catalogue, rules.settings, source, column)


def write_new(store: Store, bundle: Bundle, actor: str) -> dict[str, int]:
    """Write a checked bundle; sites already stored with the same values are reused."""
    with store.session() as session:
        existing = {s.site_code: s for s in repository.list_sites(session)}
    problems = [
        Problem(
            "sites",
            None,
            "site_code",
            s.site_code,
            "this site is already stored with another name or country",
        )
        for s in bundle.sites
        if s.site_code in existing and existing[s.site_code] != s
    ]
    if problems:
        raise ImportRejectedError(problems)
    new_sites = [s for s in bundle.sites if s.site_code not in existing]
    counts = write_bundle(store, Bundle(sites=new_sites, dossiers=bundle.dossiers), actor)
    counts["sites"] = len(new_sites)
    return counts


def import_redcap(store: Store, dictionary: Path, records: Path, actor: str) -> dict[str, int]:
    return write_new(store, read_redcap(dictionary, records), actor)


# --- FHIR ----------------------------------------------------------------------------------------


def fhir_bundle(store: Store, patient: str | None = None) -> dict[str, Any]:
    """The Bundle of every patient (or one); each resource validated against FHIR R4."""
    sites, dossiers = load(store, patient)
    bundle = bundle_of(sites, dossiers)
    problems = [
        Problem(f"{e['resource']['resourceType']} (entry {i})", i, path, value, reason)
        for i, e in enumerate(bundle["entry"], 1)
        for path, value, reason in structure_errors(e["resource"])
    ]
    if problems:  # a mapping bug, never user input: refuse rather than write an invalid file
        raise ImportRejectedError(problems)
    return bundle


def export_fhir(
    store: Store, out: Path, force: bool = False, patient: str | None = None
) -> dict[str, Any]:
    output.check_file(out, force)
    bundle = fhir_bundle(store, patient)
    output.write_file(
        out, force, (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode()
    )
    kinds: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"out": str(out), "entries": len(bundle["entry"]), "resources": kinds}


def read_fhir(path: Path) -> Bundle:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportRejectedError(
            [Problem(str(path), None, "", None, f"cannot read: {error}")]
        ) from error
    bundle, problems = read_bundle_text(text, path.name)
    if not problems:
        problems = _rate_problems(bundle, path.name, "extension(rate-step)")
    if problems:
        raise ImportRejectedError(problems)
    return bundle


def import_fhir(store: Store, path: Path, actor: str) -> dict[str, int]:
    return write_new(store, read_fhir(path), actor)


# --- analysis ------------------------------------------------------------------------------------


def export_analysis(
    store: Store,
    out: Path,
    fmt: str,
    force: bool = False,
    pseudonymise: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """Write the analysis tables and their dictionary as CSV or Parquet files in `out`."""
    if fmt not in {"csv", "parquet"}:
        raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
    output.check_folder(out, force)
    _, dossiers = load(store)
    pseudonymiser = (
        Pseudonymiser([d.patient.code for d in dossiers], seed) if pseudonymise else None
    )
    tables = analysis_tables(dossiers, pseudonymiser)
    tables.append(dictionary_table(tables))

    def fill(folder: Path) -> None:
        for t in tables:
            if fmt == "csv":
                write_table_csv(folder / f"{t.name}.csv", t)
            else:
                write_table_parquet(folder / f"{t.name}.parquet", t)

    files = output.write_folder(out, force, fill)
    return {
        "out": str(out),
        "files": files,
        "rows": {t.name: len(t.rows) for t in tables},
        "pseudonymised": pseudonymise,
    }
