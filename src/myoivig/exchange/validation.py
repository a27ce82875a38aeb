"""Turning a record model's validation error into (attribute, reason) pairs, one per failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError


def validated(
    model: type[Any], data: dict[str, Any], located: bool = False
) -> tuple[Any, list[tuple[str, str]]]:
    """The record, or None and every failed attribute with its reason (`located`: failures
    inside lists say which item, see `located_failures`)."""
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, list(located_failures(error) if located else failures(error))


def failures(error: ValidationError) -> Iterator[tuple[str, str]]:
    for item in error.errors():
        loc = [str(p) for p in item["loc"] if isinstance(p, str)]
        attr = loc[0] if loc else getattr(item.get("ctx", {}).get("error"), "field", "")
        yield attr, str(item["msg"]).removeprefix("Value error, ")


def located_failures(error: ValidationError) -> Iterator[tuple[str, str]]:
    """Like `failures`, but a failure inside a list (a rate step, a reaction) says which item
    and which of its fields: one JSON cell can hold several problems."""
    for item in error.errors():
        loc = list(item["loc"])
        rule = getattr(item.get("ctx", {}).get("error"), "field", "")
        reason = str(item["msg"]).removeprefix("Value error, ")
        if not loc:
            yield rule, reason
            continue
        if len(loc) > 1 and isinstance(loc[1], int):
            inner = ".".join(str(p) for p in loc[2:]) or rule
            where = f"item {loc[1] + 1}" + (f" {inner}" if inner else "")
            reason = f"{where}: {reason}"
        yield str(loc[0]), reason
