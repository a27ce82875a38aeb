"""The default review name and the stored-review error, apart from the repository.

Commands need both to declare their options and catch errors; keeping them here lets a command
start (and answer `--help`) without importing SQLAlchemy, which the repository needs.
"""

from __future__ import annotations

DEFAULT_REVIEW = "default"


class ReviewStateError(ValueError):
    """The stored review cannot take this change (unknown record, duplicate import, ...)."""


class StrictImportRefused(ValueError):
    """`--strict` and the file has malformed records or breaks off: nothing was stored."""


class ExportFormatError(ValueError):
    """An export format that is not written."""


class ReviewNotFoundError(ReviewStateError):
    """No review of that name is stored (a missing record, not a bad input)."""
