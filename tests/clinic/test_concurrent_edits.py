"""Two edits of the same record at the same version, at the same moment, on PostgreSQL: one is
saved, the other is refused as stale (the API's 409), never a server error.

Found by benchmarks/web_load_writes.py: both edits passed the version check, the second one's
UPDATE then matched no row (the first had raised the version) and SQLAlchemy's StaleDataError
became a 500. The test holds the audit chain's lock (as a writer in the middle of its
transaction would) while both edits start, so both are in flight together every time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text

from myoivig.accounts.service import add_site
from myoivig.clinic.recording import (
    StaleEditError,
    add_lab,
    create_patient,
    delete_record,
    stored_records,
    update_patient,
    update_record,
)
from myoivig.clinic.service import Viewer
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError
from myoivig.store.tables import LabResultRow

CARL = Viewer(name="carl", all_sites=False, site_codes=frozenset({"NORTH"}))
PATIENT = {"site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis"}
LAB = {"test": "creatinine", "unit": "umol/L", "value": 80.0, "sample_date": "2024-01-02"}


@pytest.fixture
def pg_store(postgres_server: str) -> Any:
    with psycopg.connect(postgres_server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    store = Store.from_url(postgres_server)
    store.upgrade()
    add_site(store, "test", "NORTH", "North clinic", None)
    create_patient(store, CARL, {"code": "P1", **PATIENT})
    add_lab(store, CARL, "P1", LAB)
    yield store
    store.dispose()


def _race(store: Store, edits: list[Callable[[], object]]) -> list[object]:
    """Run the edits in threads while the chain lock is held, then let them go together."""
    results: list[object] = []
    holder = store.engine.connect()
    transaction = holder.begin()
    holder.execute(text("SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE"))

    def run(edit: Callable[[], object]) -> None:
        try:
            results.append(edit())
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=run, args=(e,)) for e in edits]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both edits reach the lock (before the fix: after their check)
    finally:
        transaction.rollback()
        holder.close()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_edits_of_one_lab_version_save_one_and_refuse_the_other(pg_store: Store) -> None:
    with pg_store.session() as session:
        (lab,) = stored_records(session, CARL, "P1", "labs")

    def edit(value: float) -> Callable[[], object]:
        return lambda: update_record(
            pg_store, CARL, "P1", "labs", lab.record_id, {**LAB, "value": value}, lab.version
        )

    results = _race(pg_store, [edit(81.0), edit(82.0)])
    stale = [r for r in results if isinstance(r, StaleEditError)]
    saved = [r for r in results if not isinstance(r, Exception)]
    assert len(stale) == 1 and len(saved) == 1, results
    assert stale[0].current_version == lab.version + 1
    with pg_store.session() as session:
        row = session.scalars(select(LabResultRow)).one()
        assert (row.version, row.value) == (lab.version + 1, saved[0].record.value)  # type: ignore[attr-defined]


def test_an_edit_and_a_delete_of_one_version_and_two_patient_edits(pg_store: Store) -> None:
    with pg_store.session() as session:
        (lab,) = stored_records(session, CARL, "P1", "labs")
    results = _race(
        pg_store,
        [
            lambda: update_record(
                pg_store, CARL, "P1", "labs", lab.record_id, {**LAB, "value": 90.0}, lab.version
            ),
            lambda: delete_record(
                pg_store, CARL, "P1", "labs", lab.record_id, lab.version, "entered twice"
            ),
        ],
    )
    # the edit first: the delete is stale (409); the delete first: the edit finds no record (404)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], StaleEditError | RecordNotFoundError), results

    def note(value: str) -> Callable[[], object]:
        return lambda: update_patient(pg_store, CARL, "P1", {**PATIENT, "note": value}, 1)

    results = _race(pg_store, [note("A"), note("B")])
    assert sum(isinstance(r, StaleEditError) for r in results) == 1, results
    assert sum(isinstance(r, tuple) for r in results) == 1, results
