"""A patient's measures over time, read from stored assessments with the outcome engine's rules.

The series are what the figures draw: mean myometry force (the trial's myometer score,
`mean_force`), per-muscle-group force (mean of the sides measured), MMT-8 totals, CK as a
multiple of the recorded upper limit of normal, and the dated IVIg courses to shade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from myoivig.domain.records import Assessment, Course
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, CoreSetMeasure, Enzyme, MuscleGroup
from myoivig.outcomes.myometry import mean_force, site_forces
from myoivig.outcomes.record_shapes import numeric


@dataclass(frozen=True)
class CourseSpan:
    number: int
    start: date
    end: date  # the last infusion day


@dataclass
class Timeline:
    mean_force_n: list[tuple[date, float]] = field(default_factory=list)
    group_force_n: dict[MuscleGroup, list[tuple[date, float]]] = field(default_factory=dict)
    mmt8: list[tuple[date, float, float]] = field(default_factory=list)  # date, total, scale
    ck_x_uln: list[tuple[date, float]] = field(default_factory=list)
    ck_without_uln: int = 0
    courses: list[CourseSpan] = field(default_factory=list)
    undated_courses: int = 0
    first_treatment: date | None = None

    @property
    def has_data(self) -> bool:
        return bool(self.mean_force_n or self.mmt8 or self.ck_x_uln)


def course_spans(courses: Sequence[Course]) -> tuple[list[CourseSpan], int]:
    """Dated courses as spans from the first to the last infusion day; undated are counted."""
    spans = [
        CourseSpan(c.course_number, c.start_date, c.start_date + timedelta(days=c.days - 1))
        for c in courses
        if c.start_date is not None
    ]
    return sorted(spans, key=lambda s: s.start), sum(1 for c in courses if c.start_date is None)


def timeline(assessments: Sequence[Assessment], courses: Sequence[Course]) -> Timeline:
    out = Timeline()
    out.courses, out.undated_courses = course_spans(courses)
    out.first_treatment = out.courses[0].start if out.courses else None
    for a in sorted(assessments, key=lambda a: a.assessment_date):
        when = a.assessment_date
        forces = site_forces(a.myometry)
        if forces:
            out.mean_force_n.append((when, mean_force(forces)))
        for group in TRIAL_MUSCLE_GROUPS:
            sides = [v for (g, _), v in forces.items() if g is group]
            if sides:
                out.group_force_n.setdefault(group, []).append((when, sum(sides) / len(sides)))
        for value in a.core_set:
            total = numeric(value.value)
            if value.measure is CoreSetMeasure.MMT8 and total is not None and value.scale_max:
                out.mmt8.append((when, total, value.scale_max))
        for enzyme in a.enzymes:
            ck = numeric(enzyme.value_u_per_l)
            if enzyme.enzyme is Enzyme.CK and ck is not None:
                if enzyme.uln_u_per_l:
                    out.ck_x_uln.append((when, ck / enzyme.uln_u_per_l))
                else:
                    out.ck_without_uln += 1
    return out
