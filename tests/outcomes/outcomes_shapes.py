"""Plain dataclasses shaped like the foundation records (used until/besides the real ones)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from myoivig.domain.vocab import (
    CoreSetMeasure,
    Enzyme,
    FunctionalTask,
    MuscleGroup,
    Phase,
    Side,
)

NP = "NP"  # stands in for the foundation's NotPerformed.NP (any non-numeric value)


@dataclass(frozen=True)
class Myo:
    muscle_group: MuscleGroup
    side: Side
    force_n: float | str


@dataclass(frozen=True)
class Grade:
    muscle_group: MuscleGroup
    side: Side
    kendall_grade: int | str


@dataclass(frozen=True)
class Task:
    task: FunctionalTask
    able: bool | None
    time_s: float | None = None
    not_performed: bool = False


@dataclass(frozen=True)
class CoreValue:
    measure: CoreSetMeasure
    value: float | str
    scale_max: float | None = None


@dataclass(frozen=True)
class EnzymeValue:
    enzyme: Enzyme
    value_u_per_l: float | str
    uln_u_per_l: float | None = None


@dataclass(frozen=True)
class Visit:
    assessment_date: dt.date
    phase: Phase
    myometry: list[Myo] = field(default_factory=list)
    muscle_grades: list[Grade] = field(default_factory=list)
    functional_tasks: list[Task] = field(default_factory=list)
    core_set: list[CoreValue] = field(default_factory=list)
    enzymes: list[EnzymeValue] = field(default_factory=list)
