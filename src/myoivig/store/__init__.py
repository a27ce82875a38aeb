"""The store: the one layer through which records are read and written (SQLAlchemy + Alembic)."""

from myoivig.store.store import Store, StoreError

__all__ = ["Store", "StoreError"]
