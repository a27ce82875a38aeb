"""Measures on record-shaped data: run-in, myometry, grades, functional tasks, enzymes."""

from __future__ import annotations

import datetime as dt

import pytest
from outcomes_shapes import NP, Grade, Myo, Task, Visit

from myoivig.domain.vocab import (
    MMT8_MUSCLE_GROUPS,
    TRIAL_MUSCLE_GROUPS,
    FunctionalTask,
    MuscleGroup,
    Phase,
    Side,
)
from myoivig.outcomes.enzymes import EnzymeChange
from myoivig.outcomes.functional import functional_change
from myoivig.outcomes.myometry import baseline_forces, mean_force, myometry_change, site_forces
from myoivig.outcomes.runin import BaselineMethod, run_in_baseline
from myoivig.outcomes.strength_grades import (
    Mmt8Scale,
    MrcCounting,
    mmt8_total,
    mrc_improvement,
    site_grades,
)

D0 = dt.date(1995, 1, 1)


def test_run_in_mean_last_slope_and_ci() -> None:
    points = [(D0, 100.0), (D0 + dt.timedelta(days=30), 96.0), (D0 + dt.timedelta(days=61), 91.0)]
    mean = run_in_baseline(points)
    assert mean.value == pytest.approx(287 / 3)
    assert mean.warnings == ()
    assert run_in_baseline(points, BaselineMethod.LAST).value == 91.0
    trend = mean.trend
    assert trend is not None and trend.ci_low is not None and trend.ci_high is not None
    # by hand: x = 0, 30, 61 days / 30.436875; Sxy / Sxx = -9.0241 / 2.0085
    assert trend.slope_per_month == pytest.approx(-4.493, abs=0.001)
    assert trend.ci_low < trend.slope_per_month < trend.ci_high
    # nearly collinear decline: even with t(0.975, 1) = 12.706 the CI stays below zero
    assert trend.ci_high < 0
    assert mean.deteriorating(higher_is_better=True) is True
    assert mean.deteriorating(higher_is_better=False) is False
    noisy = run_in_baseline([(d, v) for (d, _), v in zip(points, (100.0, 92.0, 99.0), strict=True)])
    assert noisy.deteriorating(higher_is_better=True) is False


def test_run_in_clear_decline_is_deteriorating_and_few_points_warn() -> None:
    points = [(D0 + dt.timedelta(days=15 * i), 100.0 - 5 * i + (i % 2) * 0.1) for i in range(6)]
    assert run_in_baseline(points).deteriorating(higher_is_better=True) is True
    two = run_in_baseline(points[:2])
    assert two.warnings and "at least 3" in two.warnings[0]
    assert two.trend is not None and two.trend.ci_low is None
    assert two.deteriorating(True) is None
    with pytest.raises(ValueError, match="no run-in"):
        run_in_baseline([])


def _myo(values: list[float | str]) -> list[Myo]:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    return [Myo(g, s, v) for (g, s), v in zip(sites, values, strict=True)]


def test_myometry_change_paired_t_test_and_not_performed() -> None:
    before = site_forces(_myo([100, 110, 90, 95, 150, 160, 200, NP]))
    after = site_forces(_myo([120, 125, 100, 110, 170, 185, 230, 250]))
    assert len(before) == 7
    change = myometry_change(before, after)
    assert len(change.sites) == 7  # the not-performed site is not paired
    assert change.mean_before_n == pytest.approx(905 / 7)
    assert change.percent_change == pytest.approx((1040 - 905) / 905 * 100)
    assert change.p_value is not None and change.p_value < 0.001
    assert change.significant is True
    noisy = myometry_change(before, site_forces(_myo([101, 108, 91, 96, 149, 162, 199, 0])))
    assert noisy.significant is False


def test_myometry_baseline_from_run_in_only() -> None:
    visits = [
        Visit(D0, Phase.RUN_IN, myometry=_myo([100] * 8)),
        Visit(D0 + dt.timedelta(days=30), Phase.RUN_IN, myometry=_myo([90] * 8)),
        Visit(D0 + dt.timedelta(days=90), Phase.TREATMENT, myometry=_myo([10] * 8)),
    ]
    assert mean_force(baseline_forces(visits)) == 95
    assert mean_force(baseline_forces(visits, BaselineMethod.LAST)) == 90
    with pytest.raises(ValueError, match="force_n"):
        site_forces([Myo(MuscleGroup.HIP_FLEXORS, Side.LEFT, -1.0)])


def _grades(values: list[int]) -> dict[tuple[MuscleGroup, Side], int]:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    return site_grades(Grade(g, s, v) for (g, s), v in zip(sites, values, strict=True))


def test_mrc_rule_four_units_of_one_level() -> None:
    before = _grades([5, 5, 5, 5, 5, 5, 5, 5])
    assert mrc_improvement(before, _grades([6, 6, 6, 6, 5, 5, 5, 5])).improved
    assert not mrc_improvement(before, _grades([6, 6, 6, 5, 5, 5, 5, 5])).improved
    # per group: only the two groups whose mean rose by a full level count
    per_group = mrc_improvement(before, _grades([6, 6, 6, 6, 5, 5, 5, 5]), MrcCounting.PER_GROUP)
    assert per_group.improved_units == ("shoulder_abductors", "elbow_extensors")
    assert not per_group.improved
    with pytest.raises(ValueError, match="kendall_grade"):
        site_grades([Grade(MuscleGroup.HIP_FLEXORS, Side.LEFT, 11)])


def test_mmt8_totals_80_and_150() -> None:
    grades = []
    for group in MMT8_MUSCLE_GROUPS:
        if group is MuscleGroup.NECK_FLEXORS:
            grades.append(Grade(group, Side.AXIAL, 8))
        else:
            grades += [Grade(group, Side.RIGHT, 9), Grade(group, Side.LEFT, 7)]
    by_site = site_grades(grades)
    assert mmt8_total(by_site, Mmt8Scale.UNILATERAL_80) == 8 + 7 * 9
    assert mmt8_total(by_site, Mmt8Scale.BILATERAL_150) == 8 + 7 * 16
    del by_site[(MuscleGroup.QUADRICEPS, Side.RIGHT)]
    assert mmt8_total(by_site, Mmt8Scale.UNILATERAL_80) == 8 + 7 * 9 - 2  # left used
    assert mmt8_total(by_site, Mmt8Scale.BILATERAL_150) is None


def test_functional_tasks_gained_lost_and_walk() -> None:
    before = [
        Task(FunctionalTask.RISE_FROM_CHAIR_WITHOUT_HANDS, False),
        Task(FunctionalTask.CLIMB_STAIRS, True),
        Task(FunctionalTask.RISE_FROM_SQUAT, None, not_performed=True),
        Task(FunctionalTask.WALK_30M, True, 40.0),
    ]
    after = [
        Task(FunctionalTask.RISE_FROM_CHAIR_WITHOUT_HANDS, True),
        Task(FunctionalTask.CLIMB_STAIRS, True),
        Task(FunctionalTask.RISE_FROM_SQUAT, True),
        Task(FunctionalTask.WALK_30M, True, 30.0),
    ]
    change = functional_change(before, after)
    assert change.gained == (FunctionalTask.RISE_FROM_CHAIR_WITHOUT_HANDS,)
    assert change.lost == ()
    assert change.walk_30m_change_s == -10
    assert change.walk_30m_change_pct == -25
    assert change.improved()
    lost = functional_change(after, before)
    assert lost.lost == (FunctionalTask.RISE_FROM_CHAIR_WITHOUT_HANDS,)
    assert not lost.improved()
    walk_only = functional_change(before[3:], [Task(FunctionalTask.WALK_30M, True, 33.0)])
    assert not walk_only.improved()  # 17.5 % faster < 20 %
    assert walk_only.improved(walk_improvement_pct=15)


def test_enzyme_change_and_normalisation() -> None:
    ck = EnzymeChange(before=1932, after=29, uln=200)
    assert ck.percent_change == pytest.approx((29 - 1932) / 1932 * 100)
    assert ck.normalised and ck.normal_after and ck.abnormal_before
    edge = EnzymeChange(before=400, after=200, uln=200)
    assert edge.normalised  # at the ULN counts as normal
    assert EnzymeChange(0, 10, None).percent_change is None
    with pytest.raises(ValueError, match="before"):
        EnzymeChange(-1, 10, 100)
