"""Migrations create the whole schema on an empty database of either kind, and match the models."""

from __future__ import annotations

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
