"""Turning a record model's validation error into (attribute, reason) pairs, one per failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError


def validated(model: type[Any], data: dict[str, Any]) -> tuple[Any, list[tuple[str, str]]]:
    """The record, or None and every failed attribute with its reason."""
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, list(failures(error))


def failures(error: ValidationError) -> Iterator[tuple[str, str]]:
    for item in error.errors():
        loc = [str(p) for p in item["loc"] if isinstance(p, str)]
        attr = loc[0] if loc else getattr(item.get("ctx", {}).get("error"), "field", "")
        yield attr, str(item["msg"]).removeprefix("Value error, ")
