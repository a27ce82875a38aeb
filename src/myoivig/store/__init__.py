"""The store: the one layer through which records are read and written (SQLAlchemy + Alembic).

`Store` and `StoreError` are loaded on first use (PEP 562), so a command that only needs the
error class, or only prints `--help`, does not pay for importing SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myoivig.store.errors import StoreError
    from myoivig.store.store import Store

__all__ = ["Store", "StoreError"]


def __getattr__(name: str) -> Any:
    if name == "StoreError":
        from myoivig.store.errors import StoreError

        return StoreError
    if name == "Store":
        from myoivig.store.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
