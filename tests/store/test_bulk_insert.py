"""The audited bulk insert: many rows, one audit entry listing them, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from myoivig.store import Store
from myoivig.store.audit import BULK_INSERT, BulkWriteError, ReadOnlySessionError, bulk_insert
from myoivig.store.tables import AuditRow, SiteRow


def _sites(n: int) -> list[dict[str, object]]:
    return [{"site_code": f"S{i:05d}", "name": f"Site {i} 中心", "country": "NZ"} for i in range(n)]


def _count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_rows_and_one_audit_entry_listing_every_id(store: Store) -> None:
    seen: list[tuple[int, int]] = []
    with store.unit_of_work(actor="importer") as s:
        ids = bulk_insert(
            s, SiteRow, _sites(4500), key="site_code", context={"batch": 7},
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
    assert seen == [(2000, 4500), (4000, 4500), (4500, 4500)]
    with store.session() as s:
        rows = s.execute(
            select(SiteRow.id, SiteRow.site_code, SiteRow.name, SiteRow.version,
                   SiteRow.updated_by, SiteRow.created_at).order_by(SiteRow.id)
        ).all()  # fmt: skip
        entries = s.execute(
            select(AuditRow.action, AuditRow.table_name, AuditRow.actor, AuditRow.changes)
        ).all()
    assert [r.id for r in rows] == ids  # ids come back in row order
    assert [r.site_code for r in rows] == [f"S{i:05d}" for i in range(4500)]
    assert rows[3].name == "Site 3 中心"
    assert {(r.version, r.updated_by) for r in rows} == {(1, "importer")}
    assert len({r.created_at for r in rows}) == 1
    assert len(entries) == 1
    action, table_name, actor, changes = entries[0]
    assert (action, table_name, actor) == (BULK_INSERT, "sites", "importer")
    assert changes["ids"] == ids and changes["count"] == 4500
    assert changes["key"] == "site_code"
    assert changes["keys"] == [f"S{i:05d}" for i in range(4500)]
    assert changes["context"] == {"batch": 7}


def test_rows_written_later_by_the_session_are_audited_as_usual(store: Store) -> None:
    with store.unit_of_work(actor="importer") as s:
        ids = bulk_insert(s, SiteRow, _sites(3))
        site = s.get(SiteRow, ids[0])
        assert site is not None
        site.name = "renamed"
    with store.session() as s:
        actions = s.scalars(select(AuditRow.action).order_by(AuditRow.id)).all()
        version = s.scalar(select(SiteRow.version).where(SiteRow.id == ids[0]))
    assert actions == [BULK_INSERT, "update"]
    assert version == 2


def test_a_failure_in_a_later_chunk_leaves_nothing_written(store: Store) -> None:
    rows = _sites(3000)
    rows[2500] = {**rows[2500], "site_code": "S00001"}  # unique constraint breaks chunk 2
    with pytest.raises(IntegrityError), store.unit_of_work(actor="importer") as s:
        bulk_insert(s, SiteRow, rows, key="site_code")
    assert _count(store, SiteRow) == 0
    assert _count(store, AuditRow) == 0


def test_an_error_after_the_insert_rolls_it_back(store: Store) -> None:
    with pytest.raises(RuntimeError, match="crash"), store.unit_of_work(actor="importer") as s:
        bulk_insert(s, SiteRow, _sites(10))
        raise RuntimeError("crash after the rows were written")
    assert _count(store, SiteRow) == 0
    assert _count(store, AuditRow) == 0


def test_unaudited_bulk_statements_are_still_refused(store: Store) -> None:
    rows = [{**row, "version": 1, "updated_by": "x"} for row in _sites(2)]
    with pytest.raises(BulkWriteError), store.unit_of_work(actor="admin") as s:
        s.execute(insert(SiteRow), rows)
    with pytest.raises(BulkWriteError), store.unit_of_work(actor="admin") as s:
        s.execute(insert(SiteRow.__table__), rows)
    assert _count(store, SiteRow) == 0


def test_reads_stamps_and_actor_are_enforced(store: Store) -> None:
    with pytest.raises(ReadOnlySessionError), store.session() as s:
        bulk_insert(s, SiteRow, _sites(1))
    with pytest.raises(ValueError, match="sets"), store.unit_of_work(actor="a") as s:
        bulk_insert(s, SiteRow, [{**_sites(1)[0], "version": 3}])
    with store.unit_of_work(actor="a") as s:
        assert bulk_insert(s, SiteRow, []) == []
    assert _count(store, AuditRow) == 0
