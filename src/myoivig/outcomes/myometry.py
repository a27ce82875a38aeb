"""Myometry: mean isometric force, percent change from baseline and the paired t test.

Mastaglia 1998 (methods item 1): bilateral myometry of shoulder abductors, elbow
extensors, hip flexors and knee extensors; "The force in Newtons for these muscle groups was
averaged and the mean percentage change before IVIg and after IVIg was calculated. A paired t
test was performed to determine the statistical significance of changes after IVIg." The table
marks NS = "not significant at p<0.05".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, MuscleGroup, Phase, Side
from myoivig.outcomes.record_shapes import AssessmentLike, MyometryReadingLike, numeric
from myoivig.outcomes.runin import BaselineMethod
from myoivig.outcomes.student_t import paired_t

SIGNIFICANCE_LEVEL = 0.05  # Mastaglia 1998 table footnote: "NS=not significant at p<0.05"

Site = tuple[MuscleGroup, Side]


@dataclass(frozen=True)
class MyometryChange:
    sites: tuple[Site, ...]  # the muscle-group/side values paired before and after
    mean_before_n: float
    mean_after_n: float
    percent_change: float
    t_statistic: float | None
    p_value: float | None  # None when the test is undefined (< 2 pairs, constant differences)
    significant: bool | None
    t_test_note: str | None = None  # why the paired t test is undefined, when it is


def site_forces(
    readings: Iterable[MyometryReadingLike], groups: Sequence[MuscleGroup] = TRIAL_MUSCLE_GROUPS
) -> dict[Site, float]:
    """Force per (muscle group, side) for the chosen groups; not performed values are left out."""
    forces: dict[Site, float] = {}
    for reading in readings:
        value = numeric(reading.force_n)
        if reading.muscle_group in groups and value is not None:
            if value < 0 or not math.isfinite(value):
                raise ValueError(
                    f"myometry {reading.muscle_group.value}/{reading.side.value}: "
                    f"force_n must be a finite number >= 0, got {value!r}"
                )
            forces[(reading.muscle_group, reading.side)] = value
    return forces


def mean_force(forces: Mapping[Site, float]) -> float:
    """Mean force over the assessed muscle groups and sides (the trial's myometer score)."""
    if not forces:
        raise ValueError("no myometry values to average")
    return sum(forces.values()) / len(forces)


def baseline_forces(
    assessments: Iterable[AssessmentLike],
    method: BaselineMethod = BaselineMethod.MEAN,
    groups: Sequence[MuscleGroup] = TRIAL_MUSCLE_GROUPS,
) -> dict[Site, float]:
    """Per-site run-in baseline: mean of the run-in values (default) or the last one."""
    series: dict[Site, list[tuple[object, float]]] = {}
    for assessment in sorted(assessments, key=lambda a: a.assessment_date):
        if assessment.phase is not Phase.RUN_IN:
            continue
        for site, value in site_forces(assessment.myometry, groups).items():
            series.setdefault(site, []).append((assessment.assessment_date, value))
    if method is BaselineMethod.MEAN:
        return {site: sum(v for _, v in vals) / len(vals) for site, vals in series.items()}
    return {site: vals[-1][1] for site, vals in series.items()}


def myometry_change(before: Mapping[Site, float], after: Mapping[Site, float]) -> MyometryChange:
    """Mean force before/after over the sites measured both times, % change and paired t test."""
    sites = tuple(site for site in before if site in after)
    if not sites:
        raise ValueError("no muscle group/side was measured both before and after")
    xs = [before[s] for s in sites]
    ys = [after[s] for s in sites]
    mean_before = sum(xs) / len(xs)
    mean_after = sum(ys) / len(ys)
    if mean_before <= 0:
        raise ValueError(f"mean baseline force must be > 0 N to compute a % change: {mean_before}")
    pct = (mean_after - mean_before) / mean_before * 100
    t_stat: float | None = None
    p_value: float | None = None
    note = paired_t_undefined([y - x for x, y in zip(xs, ys, strict=True)])
    if note is None:
        result = paired_t(ys, xs)
        t_stat, p_value = result.statistic, result.p_value
    significant = None if p_value is None else p_value < SIGNIFICANCE_LEVEL
    return MyometryChange(sites, mean_before, mean_after, pct, t_stat, p_value, significant, note)


def paired_t_undefined(diffs: Sequence[float]) -> str | None:
    """Why a paired t test on these differences is undefined, or None when it is defined.

    Differences that agree to within floating-point rounding (1e-9 of their size) have zero
    variance: t would be a rounding artefact such as 1.6e16, so no t or p is reported.
    """
    if len(diffs) < 2:
        return "paired t test undefined: fewer than 2 muscle group/side pairs"
    scale = max(1.0, max(abs(d) for d in diffs))
    if max(diffs) - min(diffs) <= 1e-9 * scale:
        return (
            "paired t test undefined: the change is the same at every site "
            "(zero variance of the differences)"
        )
    return None
