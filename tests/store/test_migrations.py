"""Migrations create the whole schema on an empty database of either kind, and match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from myoivig.store import Store
from myoivig.store.registry import target_metadata


def test_upgrade_empty_database_to_head(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    assert store.current_revision() is None
    store.upgrade()
    assert store.current_revision() == store.head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {"patients", "courses", "assessments", "audit_log", "reported_outcomes"} <= tables
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), target_metadata())
    assert diff == [], f"models and migrations disagree: {diff}"
    store.upgrade()  # idempotent
    assert store.current_revision() == store.head_revision()
    store.dispose()


def test_unmigrated_database_is_refused(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        store.require_current()
    except Exception as error:
        assert "myoivig init" in str(error)
    else:
        raise AssertionError("an unmigrated database must be refused")
    finally:
        store.dispose()


def test_fast_head_check_agrees_with_alembic(empty_url: str) -> None:
    """`Store.upgrade` skips Alembic only when the database is certainly at the newest
    migration; the migration files' head read without Alembic is Alembic's own head."""
    from myoivig.store.revision import at_head, database_revision, script_head
    from myoivig.store.store import MIGRATIONS

    store = Store.from_url(empty_url)
    versions = MIGRATIONS / "versions"
    assert script_head(versions) == store.head_revision()
    assert database_revision(store.engine) is None and not at_head(store.engine, versions)
    store.upgrade()
    assert at_head(store.engine, versions)
    store.dispose()


def test_fast_head_check_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    from myoivig.store.revision import script_head

    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n',
                                   encoding="utf-8")  # fmt: skip
    assert script_head(tmp_path) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n', encoding="utf-8")
    assert script_head(tmp_path) is None  # two heads: leave it to Alembic
    (tmp_path / "c.py").write_text("revision = make_id()\n", encoding="utf-8")
    assert script_head(tmp_path) is None
