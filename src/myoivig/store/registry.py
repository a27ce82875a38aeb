"""The metadata Alembic compares against: the clinical tables plus every area's own tables.

Areas with tables of their own (for example the review workflow) import them here so that a single
migration history covers the whole database.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from myoivig.store.tables import Base

AREA_TABLE_MODULES: tuple[str, ...] = (
    "myoivig.clinic.tables",
    "myoivig.review.tables",
    "myoivig.review.screening_state",
    "myoivig.protocol.tables",
    "myoivig.accounts.tables",
    "myoivig.store.page_snapshots",
)


def target_metadata() -> MetaData:
    for module in AREA_TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata
