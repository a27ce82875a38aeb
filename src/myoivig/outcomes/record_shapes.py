"""The record shapes the outcome rules read (structural types, no store import).

The foundation's pydantic records (myoivig.domain.records) satisfy these protocols, and so do
plain dataclasses in tests: the rules only read attributes. "Not performed" (the foundation's
`NP`) is any non-numeric value in a numeric field; it is distinct from `None` (missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from myoivig.domain.vocab import (
    CoreSetMeasure,
    Enzyme,
    FunctionalTask,
    MuscleGroup,
    Phase,
    Side,
)


class MyometryReadingLike(Protocol):
    @property
    def muscle_group(self) -> MuscleGroup: ...
    @property
    def side(self) -> Side: ...
    @property
    def force_n(self) -> object: ...


class MuscleGradeLike(Protocol):
    @property
    def muscle_group(self) -> MuscleGroup: ...
    @property
    def side(self) -> Side: ...
    @property
    def kendall_grade(self) -> object: ...


class FunctionalTaskResultLike(Protocol):
    @property
    def task(self) -> FunctionalTask: ...
    @property
    def able(self) -> bool | None: ...
    @property
    def time_s(self) -> float | None: ...
    @property
    def not_performed(self) -> bool: ...


class CoreSetValueLike(Protocol):
    @property
    def measure(self) -> CoreSetMeasure: ...
    @property
    def value(self) -> object: ...
    @property
    def scale_max(self) -> float | None: ...


class EnzymeResultLike(Protocol):
    @property
    def enzyme(self) -> Enzyme: ...
    @property
    def value_u_per_l(self) -> object: ...
    @property
    def uln_u_per_l(self) -> float | None: ...


class AssessmentLike(Protocol):
    @property
    def assessment_date(self) -> dt.date: ...
    @property
    def phase(self) -> Phase: ...
    @property
    def myometry(self) -> Sequence[MyometryReadingLike]: ...
    @property
    def muscle_grades(self) -> Sequence[MuscleGradeLike]: ...
    @property
    def functional_tasks(self) -> Sequence[FunctionalTaskResultLike]: ...
    @property
    def core_set(self) -> Sequence[CoreSetValueLike]: ...
    @property
    def enzymes(self) -> Sequence[EnzymeResultLike]: ...


def numeric(value: object) -> float | None:
    """The number in a `float | NP | None` field; None for missing and for not performed."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
