"""The store's error class, apart from the engine so that commands can catch it cheaply."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database cannot be used as asked (unreachable, not migrated, ...)."""
