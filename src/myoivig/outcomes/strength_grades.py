"""Manual muscle grades: the trial's MRC improvement rule and MMT-8 totals.

- Mastaglia 1998 (methods item 2): "Bilateral grading of the same muscle groups was
  carried out using a 10 level modified MRC scale. A change of at least one level in at least
  four muscle groups was required to record an improvement in MRC grades." Grades are stored on
  the Kendall 0-10 scale (IMACS Form 04 key to muscle grading,
  after Kendall FP, Muscles: Testing and Function, 4th ed. 1993), one level = one Kendall step.
  Whether a "muscle group" is one side or both is not stated: `MrcCounting` is a setting;
  the default counts each graded side separately (8 bilateral values for 4 groups).
- MMT-8 (IMACS Form 04; Rider LG et al., Arthritis Care Res 2010;62:465): unilateral total 0-80 (8
  groups, right side, left when the right is not tested), bilateral total 0-150 (neck flexors once +
  7 groups x 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from myoivig.domain.vocab import MMT8_MUSCLE_GROUPS, TRIAL_MUSCLE_GROUPS, MuscleGroup, Side
from myoivig.outcomes.record_shapes import MuscleGradeLike, numeric

MRC_MIN_LEVELS = 1  # "a change of at least one level"
MRC_MIN_GROUPS = 4  # "in at least four muscle groups"
KENDALL_MAX = 10  # Kendall 0-10 (IMACS Form 04)
AXIAL_GROUPS = (MuscleGroup.NECK_FLEXORS, MuscleGroup.NECK_EXTENSORS)

Site = tuple[MuscleGroup, Side]


class MrcCounting(StrEnum):
    PER_SIDE = "per_side"  # each (group, side) grade counts as one muscle group (default)
    PER_GROUP = "per_group"  # a group counts when the mean of its sides rose by >= 1 level


class Mmt8Scale(StrEnum):
    UNILATERAL_80 = "80"
    BILATERAL_150 = "150"


@dataclass(frozen=True)
class MrcImprovement:
    improved_units: tuple[str, ...]
    worsened_units: tuple[str, ...]
    compared_units: int
    improved: bool


def site_grades(
    grades: Iterable[MuscleGradeLike], groups: Sequence[MuscleGroup] | None = None
) -> dict[Site, int]:
    """Kendall grade per (group, side); not performed grades are left out."""
    out: dict[Site, int] = {}
    for grade in grades:
        value = numeric(grade.kendall_grade)
        if value is None or (groups is not None and grade.muscle_group not in groups):
            continue
        if value != int(value) or not 0 <= value <= KENDALL_MAX:
            raise ValueError(
                f"muscle grade {grade.muscle_group.value}/{grade.side.value}: kendall_grade "
                f"must be an integer 0-{KENDALL_MAX}, got {value!r}"
            )
        out[(grade.muscle_group, grade.side)] = int(value)
    return out


def mrc_improvement(
    before: Mapping[Site, float],
    after: Mapping[Site, float],
    counting: MrcCounting = MrcCounting.PER_SIDE,
    groups: Sequence[MuscleGroup] = TRIAL_MUSCLE_GROUPS,
    min_levels: float = MRC_MIN_LEVELS,
    min_groups: int = MRC_MIN_GROUPS,
) -> MrcImprovement:
    """The trial's rule: >= 1 level gained in >= 4 muscle groups (before may be a run-in mean).

    `min_levels` and `min_groups` default to the paper's figures; clinics may set their own.
    """
    units: dict[str, tuple[float, float]] = {}
    if counting is MrcCounting.PER_SIDE:
        for (group, side), b in before.items():
            if group in groups and (group, side) in after:
                units[f"{group.value}/{side.value}"] = (b, after[(group, side)])
    else:
        for group in groups:
            sides = [s for (g, s) in before if g is group and (g, s) in after]
            if sides:
                b = sum(before[(group, s)] for s in sides) / len(sides)
                a = sum(after[(group, s)] for s in sides) / len(sides)
                units[group.value] = (b, a)
    improved = tuple(u for u, (b, a) in units.items() if a - b >= min_levels)
    worsened = tuple(u for u, (b, a) in units.items() if b - a >= min_levels)
    return MrcImprovement(improved, worsened, len(units), len(improved) >= min_groups)


def mmt8_total(grades: Mapping[Site, int], scale: Mmt8Scale) -> int | None:
    """MMT-8 total on 0-80 or 0-150; None when a required grade is missing or not performed."""
    total = 0
    for group in MMT8_MUSCLE_GROUPS:
        if group in AXIAL_GROUPS:
            value = grades.get((group, Side.AXIAL))
            if value is None:
                value = grades.get((group, Side.RIGHT), grades.get((group, Side.LEFT)))
            if value is None:
                return None
            total += value
        elif scale is Mmt8Scale.UNILATERAL_80:
            value = grades.get((group, Side.RIGHT), grades.get((group, Side.LEFT)))
            if value is None:
                return None
            total += value
        else:
            right, left = grades.get((group, Side.RIGHT)), grades.get((group, Side.LEFT))
            if right is None or left is None:
                return None
            total += right + left
    return total
