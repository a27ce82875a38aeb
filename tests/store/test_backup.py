"""Backup and restore: a round trip reproduces every row of every table and the audit chain;
newer schemas, the other backend and a database holding data are refused; nothing half-done."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from myoivig.accounts.service import add_user
from myoivig.atomic_files import OutputPathError
from myoivig.demo import load_trial_cohort
from myoivig.store import Store
from myoivig.store.audit import bulk_insert
from myoivig.store.audit_chain import verify_chain
from myoivig.store.backup import (
    BackupError,
    all_rows,
    backup,
    data_tables,
    read_manifest,
    restore,
)
from myoivig.store.tables import PatientRow, SiteRow


def _fill(store: Store) -> None:
    load_trial_cohort(store)
    add_user(store, "test", "ada", "admin", [], "a long enough password 1")
    with store.unit_of_work(actor="dr.jones") as session:
        patient = session.scalars(select(PatientRow).where(PatientRow.code == "MAS98-02")).one()
        patient.note = "Unicode kept: \u00e9t\u00e9, \u6587\u732e; quotes ' \" and tab\tend"
        session.delete(
            session.scalars(select(PatientRow).where(PatientRow.code == "MAS98-16")).one()
        )
    with store.unit_of_work(actor="importer") as session:
        bulk_insert(
            session,
            SiteRow,
            [
                {"site_code": f"B{n}", "name": f"Site {n}", "country": "NL", "note": None}
                for n in range(5)
            ],
        )


def _chain_ok(store: Store) -> int:
    with store.session() as session:
        check = verify_chain(session)
    assert check.ok, check.problem
    return check.entries


def test_round_trip_reproduces_every_table_and_the_audit_chain(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    _fill(store)
    out = tmp_path / "clinic.backup"
    manifest = backup(store, out)
    assert manifest.backend == store.engine.dialect.name
    assert manifest.revision == store.head_revision() and manifest.audit_chain_ok
    assert manifest.tables["patients"] == 15 and manifest.tables["users"] == 1
    assert read_manifest(out) == manifest
    before = all_rows(store)
    result = restore(other_store, out)
    assert result.upgraded_to is None and result.replaced == {}
    after = all_rows(other_store)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after the round trip"
    assert _chain_ok(other_store) == manifest.audit_entries > 100
    # the restored database keeps working: new writes extend the same chain
    with other_store.unit_of_work(actor="after.restore") as session:
        session.add(SiteRow(site_code="NEW", name="after restore"))
    assert _chain_ok(other_store) == manifest.audit_entries + 1


def test_restore_refuses_a_database_holding_data_unless_forced(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    _fill(store)
    out = tmp_path / "a.backup"
    backup(store, out)
    with other_store.unit_of_work(actor="someone") as session:
        session.add(SiteRow(site_code="KEEP", name="holds data"))
    with pytest.raises(BackupError, match=r"already holds data \(.*sites 1.*--force"):
        restore(other_store, out)
    assert data_tables(other_store)["sites"] == 1, "the refused restore changed nothing"
    result = restore(other_store, out, force=True)
    assert result.replaced["sites"] == 1
    assert all_rows(other_store) == all_rows(store)


def _rewrite_manifest(source: Path, target: Path, **changes: Any) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "manifest.json":
                data = json.dumps(json.loads(data) | changes).encode()
            new.writestr(item, data)


def test_restore_refuses_a_newer_schema_naming_both_revisions(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    _fill(store)
    out, future = tmp_path / "now.backup", tmp_path / "future.backup"
    backup(store, out)
    _rewrite_manifest(out, future, revision="0042_from_the_future")
    head = other_store.head_revision()
    with pytest.raises(BackupError) as refused:
        restore(other_store, future)
    assert "0042_from_the_future" in str(refused.value) and repr(head) in str(refused.value)
    assert data_tables(other_store) == {}


def test_restore_refuses_the_other_backend(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    out, other = tmp_path / "now.backup", tmp_path / "other.backup"
    backup(store, out)
    kind = "postgresql" if store.engine.dialect.name == "sqlite" else "sqlite"
    _rewrite_manifest(out, other, backend=kind)
    with pytest.raises(BackupError, match=f"backup of a {kind} database"):
        restore(other_store, other, force=True)


def test_a_damaged_backup_changes_nothing(store: Store, other_store: Store, tmp_path: Path) -> None:
    _fill(store)
    out, damaged = tmp_path / "good.backup", tmp_path / "damaged.backup"
    backup(store, out)
    with other_store.unit_of_work(actor="someone") as session:
        session.add(SiteRow(site_code="KEEP", name="holds data"))
    before = all_rows(other_store)
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(damaged, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename != "manifest.json":  # keep the header, garble the middle
                middle = len(data) // 2
                data = data[:middle] + bytes(4096) + data[middle + 4096 :]
            new.writestr(item, data)
    with pytest.raises(BackupError):
        restore(other_store, damaged, force=True)
    assert all_rows(other_store) == before
    _chain_ok(other_store)


def test_backup_does_not_overwrite_a_file_unless_forced(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "x.backup"
    out.write_text("precious")
    with pytest.raises(OutputPathError, match="already exists"):
        backup(store, out)
    assert out.read_text() == "precious"
    backup(store, out, force=True)
    assert read_manifest(out).revision == store.head_revision()


def test_not_a_backup_file_is_a_clear_error(tmp_path: Path, store: Store) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(BackupError, match="not a myoivig backup"):
        restore(store, bad)
    with pytest.raises(FileNotFoundError, match="no such backup file"):
        restore(store, tmp_path / "missing.backup")


def test_backup_taken_while_writers_commit_is_consistent(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    """Writers commit throughout the backup: the copy holds whole transactions only, so its
    audit chain verifies, its head is its newest entry and every site has its audit entry."""
    load_trial_cohort(store)
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        n = 0
        try:
            while not stop.is_set():
                with store.unit_of_work(actor="busy.ward") as session:
                    session.add(SiteRow(site_code=f"C{n}", name="written during backup"))
                n += 1
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        manifests = [backup(store, tmp_path / f"live{k}.backup") for k in range(3)]
    finally:
        stop.set()
        writer.join()
    assert not failures, failures
    restore(other_store, tmp_path / "live2.backup")
    entries = _chain_ok(other_store)
    assert entries == manifests[-1].audit_entries
    with Session(other_store.engine) as session:
        sites = session.scalars(select(SiteRow.site_code)).all()
    assert len(sites) == manifests[-1].tables["sites"]
    assert manifests[0].tables["sites"] <= manifests[-1].tables["sites"]


def test_an_older_schema_backup_is_upgraded_after_restoring(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    from alembic import command

    from myoivig.store.store import alembic_config

    config = alembic_config(store.url)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_plotsfast_screening_state")
    out = tmp_path / "old.backup"
    manifest = backup(store, out)
    assert manifest.revision == "0008_plotsfast_screening_state"
    result = restore(other_store, out, force=True)
    assert result.upgraded_to == other_store.head_revision()
    _chain_ok(other_store)
