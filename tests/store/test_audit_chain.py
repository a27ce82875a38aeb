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
from myoivig.store.audit_chain import (
    GENESIS,
    PAGE_WINDOW,
    ChainCheck,
    Checkpoint,
    entry_hash,
    read_checkpoint,
    verify_chain,
    verify_for_page,
)
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


# --- the audit pages' incremental check ------------------------------------------------------


def _page(store: Store, window: int = PAGE_WINDOW) -> ChainCheck:
    with store.session() as session:
        return verify_for_page(session, window)


def _checkpoint(store: Store) -> Checkpoint | None:
    with store.session() as session:
        return read_checkpoint(session)


def _more_writes(store: Store, count: int, tag: str = "X") -> None:
    for n in range(count):
        with store.unit_of_work(actor="nurse") as session:
            session.add(SiteRow(site_code=f"{tag}{n}", name="ward"))


def test_the_first_page_view_verifies_everything_and_records_a_checkpoint(
    written: Store,
) -> None:
    assert _checkpoint(written) is None
    first = _page(written)
    assert first.ok and first.whole and first.checkpoint is None
    kept = _checkpoint(written)
    assert kept is not None and (kept.seq, kept.entry_hash) == (first.entries, first.head_hash)
    assert kept.window_start == 1
    # nothing new, and the trail fits in one window: the whole trail is verified again
    again = _page(written)
    assert again.ok and again.whole and again.checkpoint == kept.seq
    assert again.window == (1, kept.seq)
    assert _checkpoint(written) == kept, "nothing changed: nothing written"


def test_new_entries_are_verified_from_the_checkpoint_with_a_rolling_window(
    written: Store,
) -> None:
    base = _page(written).entries
    _more_writes(written, 3)
    check = _page(written, window=10)
    assert check.ok, check.problem
    assert check.checkpoint == base and check.entries == base + 3
    assert check.window == (1, 10) and not check.whole
    assert check.sweep == -(-base // 10)
    kept = _checkpoint(written)
    assert kept is not None and kept.seq == base + 3 and kept.window_start == 11
    assert _page(written, window=10).window == (11, 20)


def test_an_edit_of_a_new_entry_is_found_on_the_next_view(written: Store) -> None:
    _page(written)
    _more_writes(written, 4)
    target = _entries(written)[-2]
    _raw(written, "UPDATE audit_log SET actor = 'someone.else' WHERE id = :id", id=target.id)
    check = _page(written, window=5)
    assert not check.ok and check.entry_id == target.id
    assert f"entry {target.id} " in (check.problem or "") and "was edited" in (check.problem or "")
    kept = _checkpoint(written)
    assert kept is not None and kept.seq < target.chain_seq, "a broken chain moves no checkpoint"


def test_an_edit_of_an_old_entry_is_found_within_the_stated_number_of_views(
    written: Store,
) -> None:
    """Before the checkpoint only the rolling window sees a changed content: the edit is found
    when the window reaches it, at the latest after ceil(checkpoint / window) views."""
    window = 7
    first = _page(written)
    target = _entries(written)[40]
    _raw(written, "UPDATE audit_log SET actor = 'someone.else' WHERE id = :id", id=target.id)
    bound = -(-first.entries // window)
    views = []
    for _ in range(bound):
        check = _page(written, window=window)
        views.append(check)
        if not check.ok:
            break
    assert not views[-1].ok, f"not found within {bound} views"
    assert views[-1].entry_id == target.id and "was edited" in (views[-1].problem or "")
    assert all(
        v.ok and v.window is not None and not v.window[0] <= target.chain_seq <= v.window[1]
        for v in views[:-1]
    )
    assert len(views) == -(-target.chain_seq // window), "found exactly when the window got there"
    # and the whole verify finds it at once
    assert _check(written).entry_id == target.id


def test_a_deleted_old_entry_is_found_on_the_next_view(written: Store) -> None:
    _page(written)
    gone = _entries(written)[30]
    _raw(written, "DELETE FROM audit_log WHERE id = :id", id=gone.id)
    check = _page(written, window=5)  # the window is far from it
    assert not check.ok and "deleted among the older entries" in (check.problem or "")


def test_deleting_the_newest_entries_and_rewinding_the_head_is_found(written: Store) -> None:
    kept = _page(written)
    entries = _entries(written)
    _raw(written, "DELETE FROM audit_log WHERE chain_seq >= :seq", seq=entries[-3].chain_seq)
    _raw(
        written,
        "UPDATE audit_chain_head SET seq = :seq, entry_hash = :h",
        seq=entries[-4].chain_seq,
        h=entries[-4].entry_hash,
    )
    check = _page(written, window=5)
    assert not check.ok and "behind the position verified" in (check.problem or "")
    assert str(kept.entries) in (check.problem or "")


def test_new_entries_deleted_from_the_end_are_found(written: Store) -> None:
    _page(written)
    _more_writes(written, 3)
    last = _entries(written)[-1]
    _raw(written, "DELETE FROM audit_log WHERE id = :id", id=last.id)
    check = _page(written, window=5)
    assert not check.ok
    assert f"position {last.chain_seq}, are missing: deleted" in (check.problem or "")


def test_a_history_rewritten_through_the_head_is_found_at_the_checkpoint(
    written: Store,
) -> None:
    """The forger edits an old entry and recomputes every later hash and the head: the chain
    alone is consistent again, but the checkpoint's hash no longer matches."""
    kept = _page(written)
    _rewrite_from(written, 9)
    assert _check(written).ok, "a full rewrite is consistent: the chain alone cannot see it"
    check = _page(written, window=5)
    assert not check.ok and "the hash verified there" in (check.problem or "")
    assert f"chain position {kept.entries}" in (check.problem or "")


def test_page_checks_while_writers_commit_report_no_false_alarm(store: Store) -> None:
    """A writer committing between the head and the entries being read must not look like an
    entry beyond the head or missing newest entries."""
    load_trial_cohort(store)
    _page(store)
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(40):
                with store.unit_of_work(actor="nurse") as session:
                    session.add(SiteRow(site_code=f"C{n}", name="ward"))
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    checks = []
    while not done.is_set():
        checks.append(_page(store, window=50))
    writer.join()
    assert not failures, failures
    assert checks and all(c.ok for c in checks), [c.problem for c in checks if not c.ok]
    final = _page(store, window=50)
    assert final.ok and final.entries == _check(store).entries


def _rewrite_from(store: Store, index: int) -> None:
    """Edit entry `index` and recompute every later hash and the head, as a forger would."""
    entries = _entries(store)
    prev = entries[index].prev_hash
    with store.engine.begin() as connection:
        for entry in entries[index:]:
            fields = {
                "occurred_at": entry.occurred_at,
                "actor": "rewritten" if entry is entries[index] else entry.actor,
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
