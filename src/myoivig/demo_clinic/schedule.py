"""When a synthetic patient is seen and treated, and the body measures that change over time."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from myoivig.demo_clinic import trajectory as tr
from myoivig.demo_clinic.design import EARLIEST_START, REFERENCE_DATE, Intent, PatientDesign
from myoivig.domain.vocab import (
    MMT8_MUSCLE_GROUPS,
    TRIAL_MUSCLE_GROUPS,
    Diagnosis,
    MuscleGroup,
    Phase,
    Sex,
    Side,
)

GRADED = (*TRIAL_MUSCLE_GROUPS, *MMT8_MUSCLE_GROUPS)
MEASURED = (*TRIAL_MUSCLE_GROUPS, MuscleGroup.HIP_EXTENSORS)  # patient 10's figure adds these
AXIAL = (MuscleGroup.NECK_FLEXORS,)


@dataclass(frozen=True)
class Visit:
    day: int
    phase: Phase


@dataclass(frozen=True)
class Timeline:
    day0: date  # first IVIg course
    courses: tuple[int, ...]  # start day of each course
    visits: tuple[Visit, ...]

    def on(self, day: int) -> date:
        return self.day0 + timedelta(days=day)


def timeline(design: PatientDesign, rng: random.Random) -> Timeline:
    """Run-in visits, course days and follow-up visits, placed before the reference date."""
    run_in = [-84, -56, -28, -3] if rng.random() < 0.6 else [-84, -42, -3]
    visits = [Visit(d, Phase.RUN_IN) for d in run_in]
    intent = design.intent
    if intent is Intent.LATE:
        courses = [0, *range(tr.LATE_RESTART_DAY, tr.LATE_RESTART_DAY + 6 * 28, 28)]
        visits += [Visit(d, Phase.FOLLOW_UP) for d in (28, 84, 154)]
        visits += [Visit(d, Phase.TREATMENT) for d in courses[1:]]
        visits.append(Visit(courses[-1] + 28, Phase.TREATMENT))
    elif intent is Intent.RESPONDER:
        plateau = math.ceil((design.lag_days + design.ramp_days) / 28)
        n = min(12, max(6, plateau + rng.randint(1, 3)))  # some still improving at the cut-off
        courses = _monthly(n, rng)
        visits += [Visit(d, Phase.TREATMENT) for d in courses[1:]]
        visits.append(Visit(courses[-1] + 28, Phase.TREATMENT))
    else:  # three courses, then the follow-up visit at which the stop rule applies
        courses = _monthly(3, rng)
        if intent is Intent.TRANSIENT:
            visits += [Visit(9, Phase.TREATMENT), Visit(21, Phase.TREATMENT)]
        visits += [Visit(d, Phase.TREATMENT) for d in courses[1:]]
        visits.append(Visit(courses[-1] + 28, Phase.FOLLOW_UP))
    last = visits[-1].day
    first_day0 = EARLIEST_START + timedelta(days=84)
    latest_day0 = REFERENCE_DATE - timedelta(days=last)
    day0 = first_day0 + timedelta(days=rng.randint(0, (latest_day0 - first_day0).days))
    return Timeline(day0, tuple(courses), tuple(visits))


def _monthly(n: int, rng: random.Random) -> list[int]:
    """Course days every 4 weeks (the regimens' interval), some a few days late."""
    days = [0]
    for _ in range(n - 1):
        days.append(days[-1] + 28 + rng.choice((0, 0, 1, 2, 3)))
    return days


@dataclass(frozen=True)
class Body:
    height_cm: float
    weight_kg: float
    walk_base_s: float
    side_offset: dict[tuple[MuscleGroup, Side], float]
    task_shift: float
    weight_drift_per_year: float


def body(design: PatientDesign, rng: random.Random) -> Body:
    if design.diagnosis is Diagnosis.JUVENILE_DERMATOMYOSITIS:
        height = 116 + 6.2 * (design.age - 6) + rng.gauss(0, 4)
        bmi = rng.uniform(15, 20)
        drift = 0.10  # children grow
    else:
        mean = 163 if design.sex is Sex.FEMALE else 177
        height = rng.gauss(mean, 6)
        bmi = rng.uniform(20, 31)
        drift = rng.uniform(-0.03, 0.05)
    offsets = {}
    for group in dict.fromkeys((*GRADED, *MEASURED)):  # fixed order: reproducible draws
        sides = (Side.AXIAL,) if group in AXIAL else (Side.LEFT, Side.RIGHT)
        for side in sides:
            offsets[(group, side)] = round(rng.uniform(-0.3, 0.3), 2)
    walk = rng.uniform(17, 22) * (1.15 if design.age >= 65 else 1.0)
    return Body(
        round(height, 1),
        round(bmi * (height / 100) ** 2, 1),
        walk,
        offsets,
        rng.uniform(-0.3, 0.3),
        drift,
    )


def weight_on(b: Body, day: int, rng: random.Random) -> float:
    return round(b.weight_kg * (1 + b.weight_drift_per_year * day / 365) + rng.gauss(0, 0.3), 1)
