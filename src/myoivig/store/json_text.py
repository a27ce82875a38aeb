"""JSON written as it was already serialised, so bulk writes need not serialise twice.

Records are pydantic models; `model_dump_json` (Rust) is several times faster than `model_dump`
followed by `json.dumps`. A `JsonText` value put into a JSON column is stored as it is; anything
else is serialised with `json.dumps`, as SQLAlchemy and psycopg would do by default.
"""

from __future__ import annotations

import json
from typing import Any


class JsonText(str):
    """A JSON document that is already text (e.g. from pydantic's `model_dump_json`)."""


def dumps(value: Any) -> str:
    """The store engines' JSON serialiser: `JsonText` passes through, the rest is json.dumps."""
    if isinstance(value, JsonText):
        return str(value)
    return json.dumps(value)
