"""The rules on the foundation's real pydantic records (NP included)."""

from __future__ import annotations

import datetime as dt

import pytest

from myoivig.domain.records import (
    Assessment,
    CoreSetValue,
    EnzymeResult,
    MuscleGrade,
    MyometryReading,
)
from myoivig.domain.values import NP
from myoivig.domain.vocab import (
    TRIAL_MUSCLE_GROUPS,
    CoreSetMeasure,
    Diagnosis,
    Enzyme,
    MuscleGroup,
    Phase,
    Side,
)
from myoivig.outcomes.from_records import (
    core_set_change,
    core_set_visit,
    population_for,
    run_in_points,
)
from myoivig.outcomes.imacs_doi import imacs_definition_of_improvement
from myoivig.outcomes.myometry import baseline_forces, mean_force, myometry_change, site_forces
from myoivig.outcomes.proderm import confirmed_deterioration
from myoivig.outcomes.runin import run_in_baseline
from myoivig.outcomes.strength_grades import mrc_improvement, site_grades
from myoivig.outcomes.tis import total_improvement_score
from myoivig.outcomes.tis_table import Population, TisCategory

D0 = dt.date(2024, 1, 8)


def visit(
    day: int, phase: Phase, phys: float, mmt: float, ck: float | None, force: float
) -> Assessment:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    return Assessment(
        patient_code="P-1",
        assessment_date=D0 + dt.timedelta(days=day),
        phase=phase,
        myometry=[
            MyometryReading(muscle_group=g, side=s, force_n=NP if i == 0 else force * (1 + i / 20))
            for i, (g, s) in enumerate(sites)
        ],
        muscle_grades=[
            MuscleGrade(muscle_group=g, side=s, kendall_grade=min(10, round(force / 20)))
            for g, s in sites
        ],
        core_set=[
            CoreSetValue(measure=CoreSetMeasure.PHYSICIAN_GLOBAL, value=phys),
            CoreSetValue(measure=CoreSetMeasure.PATIENT_GLOBAL, value=NP),
            CoreSetValue(measure=CoreSetMeasure.HAQ, value=1.5 - phys / 10),
            CoreSetValue(measure=CoreSetMeasure.EXTRAMUSCULAR, value=phys / 2),
            CoreSetValue(measure=CoreSetMeasure.MMT8, value=mmt, scale_max=150),
        ],
        enzymes=[]
        if ck is None
        else [EnzymeResult(enzyme=Enzyme.CK, value_u_per_l=ck, uln_u_per_l=200)],
    )


def test_tis_doi_and_deterioration_from_assessments() -> None:
    baseline = visit(0, Phase.RUN_IN, 6.0, 100, 2000, 100)
    later = visit(120, Phase.FOLLOW_UP, 2.0, 140, 300, 160)
    change = core_set_change(baseline, later, population_for(Diagnosis.DERMATOMYOSITIS))
    assert change.patient_global.baseline is None  # NP is not a number to score
    result = total_improvement_score(change)
    # physician 40 % -> 17.5; MMT 26.7 % -> 27.5; HAQ 0.9 -> 1.3 worse -> 0;
    # extramuscular 20 % -> 12.5; CK 85 % -> 7.5; patient global NP -> 0 to 10
    assert (result.tis_min, result.tis_max) == (65, 75)
    assert result.category is TisCategory.MAJOR
    assert imacs_definition_of_improvement(change).responder is True
    assert population_for(Diagnosis.JUVENILE_DERMATOMYOSITIS) is Population.JUVENILE
    worse = visit(150, Phase.FOLLOW_UP, 9.0, 70, 2000, 60)
    visits = [core_set_visit(v) for v in (later, worse, worse)]
    assert confirmed_deterioration(core_set_visit(baseline), visits, 150).confirmed_at_visit == 2


def test_measures_from_assessments_with_not_performed() -> None:
    run_in = [visit(d, Phase.RUN_IN, 6, 100, 2000, 100 - d / 10) for d in (0, 30, 60)]
    after = visit(120, Phase.FOLLOW_UP, 2, 140, 300, 140)
    points = run_in_points([*run_in, after], lambda a: mean_force(site_forces(a.myometry)))
    assert len(points) == 3
    base = run_in_baseline(points)
    assert base.warnings == () and base.deteriorating(higher_is_better=True) is True
    before_forces = baseline_forces(run_in)
    assert (MuscleGroup.SHOULDER_ABDUCTORS, Side.LEFT) not in before_forces  # NP left out
    change = myometry_change(before_forces, site_forces(after.myometry))
    assert change.significant is True and change.percent_change > 30
    grades_before = site_grades(run_in[-1].muscle_grades)
    grades_after = site_grades(after.muscle_grades)
    assert mrc_improvement(grades_before, grades_after).improved


def test_mismatched_mmt_scales_are_rejected() -> None:
    a = visit(0, Phase.RUN_IN, 6, 70, None, 100)
    b = visit(30, Phase.FOLLOW_UP, 5, 70, None, 100).model_copy(
        update={"core_set": [CoreSetValue(measure=CoreSetMeasure.MMT8, value=70, scale_max=80)]}
    )
    with pytest.raises(ValueError, match="scale_max differs"):
        core_set_change(a, b, Population.ADULT)
