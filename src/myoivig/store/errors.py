"""The store's error class, apart from the engine so that commands can catch it cheaply."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database cannot be used as asked (unreachable, not migrated, ...)."""


class DatabaseUnavailableError(StoreError):
    """The database server cannot be reached or refused the connection; nothing was written."""


class DatabaseFullError(StoreError):
    """The database file's disk (or its size limit) is full; the change was rolled back."""
