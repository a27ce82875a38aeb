"""The audit trail is a hash chain: edited, deleted and forged entries are named by verify."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import func, select, text

from myoivig.demo import load_trial_cohort
from myoivig.store import Store
from myoivig.store.audit import bulk_insert
from myoivig.store.audit_chain import GENESIS, entry_hash, verify_chain
from myoivig.store.tables import AuditChainHeadRow, AuditRow, PatientRow, SiteRow


def _check(store: Store):  # type: ignore[no-untyped-def]
    with store.session() as session:
        return verify_chain(session)


def _entries(store: Store) -> list[AuditRow]:
    with store.session() as session:
        rows = list(session.scalars(select(AuditRow).order_by(AuditRow.chain_seq)))
        session.expunge_all()  # keep the loaded values after the read session ends
        return rows


def _raw(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql), params)


@pytest.fixture
def written(store: Store) -> Store:
    """Inserts (per row and bulk), an update and a delete, so every kind of entry is chained."""
    load_trial_cohort(store)
    with store.unit_of_work(actor="dr.jones") as session:
        patient = session.scalars(select(PatientRow).where(PatientRow.code == "MAS98-01")).one()
        patient.note = "seen in clinic, \u00e9t\u00e9 2026"
    with store.unit_of_work(actor="admin") as session:
        session.delete(
            session.scalars(select(PatientRow).where(PatientRow.code == "MAS98-16")).one()
        )
    with store.unit_of_work(actor="importer") as session:
        bulk_insert(
            session,
            SiteRow,
            [
                {"site_code": f"S{n}", "name": f"Site {n}", "country": None, "note": None}
                for n in range(3)
            ],
            key="site_code",
        )
    return store


def test_a_fresh_database_has_an_empty_verified_chain(store: Store) -> None:
    check = _check(store)
    assert check.ok and check.entries == 0 and check.head_hash == GENESIS


def test_every_write_is_a_verified_link(written: Store) -> None:
    entries = _entries(written)
    check = _check(written)
    assert check.ok, check.problem
    assert check.entries == len(entries) > 50
    assert [e.chain_seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in pairwise(entries))
    assert check.head_hash == entries[-1].entry_hash
    assert {"insert", "update", "delete", "bulk_insert"} <= {e.action for e in entries}
    assert "audit chain OK" in check.summary() and str(check.entries) in check.summary()


@pytest.mark.parametrize(
    ("column", "sql_value"),
    [("actor", "'someone.else'"), ("record_id", "record_id + 1"), ("occurred_at", None)],
)
def test_an_edited_entry_is_named(written: Store, column: str, sql_value: str | None) -> None:
    target = _entries(written)[20]
    value = sql_value or ":when"
    _raw(
        written,
        f"UPDATE audit_log SET {column} = {value} WHERE id = :id",
        id=target.id,
        when=datetime(2020, 1, 1, tzinfo=UTC),
    )
    check = _check(written)
    assert not check.ok and check.entry_id == target.id
    assert f"entry {target.id} " in (check.problem or "") and "was edited" in (check.problem or "")
    assert check.entries == 20, "the entries before the edit still verify"


def test_an_edited_value_inside_changes_is_named(written: Store) -> None:
    target = next(e for e in _entries(written) if e.action == "update")
    forged = dict(target.changes)
    forged["note"] = {"from": None, "to": "something else"}
    with written.engine.begin() as connection:
        connection.execute(
            AuditRow.__table__.update().where(AuditRow.id == target.id).values(changes=forged)
        )
    check = _check(written)
    assert check.entry_id == target.id and "was edited" in (check.problem or "")


def test_a_deleted_entry_leaves_a_named_gap(written: Store) -> None:
    entries = _entries(written)
    gone, after = entries[10], entries[11]
    _raw(written, "DELETE FROM audit_log WHERE id = :id", id=gone.id)
    check = _check(written)
    assert check.entry_id == after.id
    assert f"position {gone.chain_seq} are missing before entry {after.id}: deleted" in (
        check.problem or ""
    )


def test_deleting_the_newest_entries_is_found_from_the_head(written: Store) -> None:
    entries = _entries(written)
    _raw(written, "DELETE FROM audit_log WHERE chain_seq >= :seq", seq=entries[-2].chain_seq)
    check = _check(written)
    assert not check.ok
    assert f"positions {entries[-2].chain_seq}-{entries[-1].chain_seq}, are missing: deleted" in (
        check.problem or ""
    )


def test_a_forged_entry_is_named_even_with_a_correct_hash(written: Store) -> None:
    """The forger links a new entry to the newest one and computes its hash, but cannot move
    the head without also rewriting it: the entry lies beyond the head."""
    last = _entries(written)[-1]
    fields = {
        "occurred_at": datetime.now(UTC),
        "actor": "dr.jones",
        "action": "update",
        "table_name": "patients",
        "record_id": 1,
        "record_version": 2,
        "changes": {"note": {"from": None, "to": "never written by the application"}},
    }
    seq = last.chain_seq + 1
    with written.engine.begin() as connection:
        connection.execute(
            AuditRow.__table__.insert().values(
                **fields,
                chain_seq=seq,
                prev_hash=last.entry_hash,
                entry_hash=entry_hash(seq, last.entry_hash, fields),
            )
        )
    forged = _entries(written)[-1]
    check = _check(written)
    assert check.entry_id == forged.id
    assert "inserted outside the application" in (check.problem or "")


def test_a_forged_entry_in_the_middle_is_named(written: Store) -> None:
    """Positions shifted up by one to make room: the forged entry does not link (its hash
    was not recomputed over the entry before it), and is named."""
    entries = _entries(written)
    middle = entries[5]
    with written.engine.begin() as connection:
        # move every later entry up one position, from the top down (unique positions)
        for entry in reversed(entries[6:]):
            connection.execute(
                text("UPDATE audit_log SET chain_seq = chain_seq + 1 WHERE id = :id"),
                {"id": entry.id},
            )
        connection.execute(
            AuditRow.__table__.insert().values(
                occurred_at=middle.occurred_at,
                actor="intruder",
                action="insert",
                table_name="patients",
                record_id=999,
                record_version=1,
                changes={"code": "FAKE-1"},
                chain_seq=middle.chain_seq + 1,
                prev_hash=GENESIS,
                entry_hash=GENESIS,
            )
        )
    forged_id = max(e.id for e in _entries(written))
    check = _check(written)
    assert check.entry_id == forged_id and "does not link to" in (check.problem or "")


def test_a_deleted_head_is_reported(written: Store) -> None:
    _raw(written, "DELETE FROM audit_chain_head")
    check = _check(written)
    assert "chain head" in (check.problem or "")


def test_concurrent_writers_keep_one_unbroken_chain(store: Store) -> None:
    """Several threads writing at once: every entry gets its own position and the chain holds."""
    load_trial_cohort(store)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(8):
                with store.unit_of_work(actor=f"nurse.{worker}") as session:
                    patient = session.scalars(
                        select(PatientRow).where(PatientRow.code == f"MAS98-0{worker + 1}")
                    ).one()
                    patient.note = f"round {n}"
                    session.add(SiteRow(site_code=f"W{worker}-{n}", name="ward"))
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    check = _check(store)
    assert check.ok, check.problem
    with store.session() as session:
        sites = session.scalar(
            select(func.count())
            .select_from(AuditRow)
            .where(AuditRow.table_name == "sites", AuditRow.actor.like("nurse.%"))
        )
        head = session.get(AuditChainHeadRow, 1)
        session.expunge_all()
    assert sites == 32
    assert head is not None and head.seq == check.entries


def test_the_migration_links_entries_written_before_it(empty_url: str) -> None:
    old = Store.from_url(empty_url)
    old.upgrade("0008_plotsfast_screening_state")
    with old.engine.begin() as connection:
        for n in range(5):
            connection.execute(
                text(
                    "INSERT INTO audit_log (occurred_at, actor, action, table_name, record_id,"
                    " record_version, changes) VALUES (:at, 'old', 'insert', 'patients', :n, 1,"
                    " :changes)"
                ),
                {
                    "at": datetime(2025, 1, n + 1, 12, tzinfo=UTC),
                    "n": n,
                    "changes": f'{{"code": "P-{n}", "height_cm": {170.5 + n}}}',
                },
            )
    old.upgrade()
    check = _check(old)
    assert check.ok and check.entries == 5
    load_trial_cohort(old)
    after = _check(old)
    assert after.ok and after.entries > 5
    old.dispose()


def test_a_rewritten_history_is_caught_by_a_kept_anchor(written: Store) -> None:
    """The forger edits an entry and recomputes every later hash and the head: the chain is
    consistent again, but the hash kept from an earlier verify no longer matches."""
    kept = _check(written)
    entries = _entries(written)
    anchor = {kept.entries: kept.head_hash}
    assert _check_with(written, anchor).ok
    prev = entries[9].prev_hash
    with written.engine.begin() as connection:
        for entry in entries[9:]:
            fields = {
                "occurred_at": entry.occurred_at,
                "actor": "rewritten" if entry is entries[9] else entry.actor,
                "action": entry.action,
                "table_name": entry.table_name,
                "record_id": entry.record_id,
                "record_version": entry.record_version,
                "changes": connection.execute(
                    text("SELECT CAST(changes AS TEXT) FROM audit_log WHERE id = :id"),
                    {"id": entry.id},
                ).scalar_one(),
            }
            digest = entry_hash(entry.chain_seq, prev, fields)
            connection.execute(
                text(
                    "UPDATE audit_log SET actor = :actor, prev_hash = :prev, entry_hash = :h"
                    " WHERE id = :id"
                ),
                {"actor": fields["actor"], "prev": prev, "h": digest, "id": entry.id},
            )
            prev = digest
        connection.execute(text("UPDATE audit_chain_head SET entry_hash = :h"), {"h": prev})
    assert _check(written).ok, "a full rewrite is consistent: the chain alone cannot see it"
    caught = _check_with(written, anchor)
    assert caught.entry_id == entries[-1].id and "was rewritten" in (caught.problem or "")
    gone = _check_with(written, {kept.entries + 5: kept.head_hash})
    assert f"no entry holds chain position {kept.entries + 5}" in (gone.problem or "")


def _check_with(store: Store, anchors: dict[int, str]):  # type: ignore[no-untyped-def]
    with store.session() as session:
        return verify_chain(session, anchors)
