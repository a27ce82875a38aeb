"""Value types with units and ranges: the checks live next to the field they guard.

`NotPerformed` is a value of its own: the paper's "NP" cell says a test was not done, which is
information, whereas a blank (None) only says that nothing is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import core_schema


class NotPerformed(Enum):
    """The measurement was not performed (the trial table's "NP")."""

    NP = "NP"

    def __str__(self) -> str:
        return "NP"


NP = NotPerformed.NP


class FieldRuleError(ValueError):
    """A rule that involves several fields failed; `field` names the one to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


NP_TOKENS = frozenset({"NP", "np", "not performed", "not_performed", "N/P"})


@dataclass(frozen=True)
class Spec:
    """Metadata for one field: its unit and allowed range, used by validation and the dictionary.

    Used as `Annotated[float | None, Spec(unit="N", minimum=0)]`: pydantic calls the hooks below,
    so the same object validates, serialises ("NP") and documents the field.
    """

    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    np_allowed: bool = False
    integer: bool = False
    required: bool = False
    rule: str | None = None

    def range_text(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"{_fmt(self.minimum)} to {_fmt(self.maximum)}"
        if self.minimum is not None:
            return f">= {_fmt(self.minimum)}"
        if self.maximum is not None:
            return f"<= {_fmt(self.maximum)}"
        return ""

    def validate(self, value: Any) -> Any:
        unit = f" {self.unit}" if self.unit else ""
        if _blank(value):
            if self.required:
                raise ValueError("a value is required")
            return None
        if _is_np(value):
            if self.np_allowed:
                return NP
            raise ValueError("'not performed' (NP) is not allowed here")
        number = _to_number(value, self.integer)
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise ValueError(f"must be {self.range_text()}{unit}, got {value!r}")
        return number

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(_serialize),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        out: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.unit:
            out["unit"] = self.unit
        return {"anyOf": [out, {"const": "NP"}]} if self.np_allowed else out


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_np(value: Any) -> bool:
    return value is NP or (isinstance(value, str) and value.strip() in NP_TOKENS)


def _to_number(value: Any, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        number: float | int = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    if integer:
        if float(number) != int(number):
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(number)
    return float(number)


def _serialize(value: Any) -> Any:
    return "NP" if value is NP else value


def _validate_past_date(value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None
    else:
        raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}")
    if parsed > date.today():
        raise ValueError(f"date {parsed.isoformat()} is in the future")
    return parsed


PastDate = Annotated[
    date | None,
    Spec(rule="ISO 8601 date, not in the future"),
    PlainValidator(_validate_past_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]


def _validate_flag(value: Any) -> Any:
    if _blank(value):
        return None
    if _is_np(value):
        return NP
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1", "+"}:
        return True
    if text in {"false", "no", "n", "0", "-", "−"}:
        return False
    raise ValueError(f"expected yes/no (true/false, +/-) or NP, got {value!r}")


Finding = Annotated[
    bool | NotPerformed | None,
    Spec(np_allowed=True, rule="yes/no, or NP when not performed"),
    PlainValidator(_validate_flag),
    PlainSerializer(_serialize),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"const": "NP"}]}),
]
"""A yes/no finding that may also be "not performed" (e.g. functional improvement)."""


def _validate_bool(value: Any) -> bool | None:
    result = _validate_flag(value)
    if result is NP:
        raise ValueError("'not performed' (NP) is not allowed here")
    return bool(result) if result is not None else None


OptionalBool = Annotated[
    bool | None,
    Spec(rule="yes/no (true/false)"),
    PlainValidator(_validate_bool),
    WithJsonSchema({"type": "boolean"}),
]


def spec_of(metadata: list[Any]) -> Spec | None:
    """The `Spec` attached to a field's metadata, if any."""
    for item in metadata:
        if isinstance(item, Spec):
            return item
    return None
