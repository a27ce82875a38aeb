"""Errors raised by the protocol rules.

Planning refuses impossible input instead of guessing, and says which field and value were wrong
so a nurse or pharmacist can correct the order.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base class for protocol-engine errors."""


class PlanningError(ProtocolError):
    """An input value makes the plan impossible; nothing is planned."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


class CatalogueError(ProtocolError):
    """The product or regimen data file is malformed (checked on load)."""
