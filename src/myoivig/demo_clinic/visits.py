"""What is measured at one visit: myometry, grades, tasks, 30 m walk, core set and CK."""

from __future__ import annotations

import random
from datetime import date

from myoivig.demo_clinic import trajectory as tr
from myoivig.demo_clinic.design import PatientDesign
from myoivig.demo_clinic.schedule import AXIAL, GRADED, MEASURED, Body, Visit
from myoivig.domain import records as r
from myoivig.domain.vocab import (
    MMT8_MUSCLE_GROUPS,
    CoreSetMeasure,
    Diagnosis,
    Enzyme,
    FunctionalTask,
    Side,
)

# Lower-limb deficit above which a task is no longer possible (harder tasks fail first).
TASK_LIMITS = {
    FunctionalTask.RISE_FROM_SQUAT: 2.2,
    FunctionalTask.RISE_FROM_CHAIR_WITHOUT_HANDS: 3.4,
    FunctionalTask.CLIMB_STAIRS: 4.2,
}


def assessment(
    design: PatientDesign, b: Body, visit: Visit, when: date, rng: random.Random
) -> r.Assessment:
    """Everything measured at one visit (myometry, grades, tasks, 30 m walk, core set, CK)."""
    day = visit.day
    deficit = tr.deficits(design, day)
    grades = []
    mmt8 = 0  # MMT-8 total on the bilateral 0-150 scale, from the same grades
    for group in GRADED:
        for side in (Side.AXIAL,) if group in AXIAL else (Side.LEFT, Side.RIGHT):
            grade = tr.kendall(deficit[group], b.side_offset[(group, side)])
            grades.append(r.MuscleGrade(muscle_group=group, side=side, kendall_grade=grade))
            mmt8 += grade if group in MMT8_MUSCLE_GROUPS else 0
    myometry = [
        r.MyometryReading(
            muscle_group=group,
            side=side,
            force_n=tr.force_n(
                design, group, deficit[group] + b.side_offset[(group, side)], day, rng
            ),
        )
        for group in MEASURED
        for side in (Side.LEFT, Side.RIGHT)
    ]
    lower = tr.lower_limb_deficit(design, day)
    tasks = [
        r.FunctionalTaskResult(task=task, able=lower < limit + b.task_shift)
        for task, limit in TASK_LIMITS.items()
    ]
    tasks.append(
        r.FunctionalTaskResult(
            task=FunctionalTask.WALK_30M,
            able=True,
            time_s=tr.walk_30m_s(design, b.walk_base_s, day, rng),
        )
    )
    act = tr.activity(design, day)
    skin = {
        Diagnosis.DERMATOMYOSITIS: 4.5,
        Diagnosis.JUVENILE_DERMATOMYOSITIS: 4.0,
        Diagnosis.OVERLAP_MYOSITIS: 3.5,
    }.get(design.diagnosis, 1.0)
    physician = _vas(1.0 + 5.5 * act + rng.gauss(0, 0.2))
    core = [
        r.CoreSetValue(measure=CoreSetMeasure.PHYSICIAN_GLOBAL, value=physician),
        r.CoreSetValue(
            measure=CoreSetMeasure.PATIENT_GLOBAL, value=_vas(physician + rng.gauss(0.4, 0.4))
        ),
        r.CoreSetValue(
            measure=CoreSetMeasure.EXTRAMUSCULAR, value=_vas(0.3 + skin * act + rng.gauss(0, 0.2))
        ),
        r.CoreSetValue(measure=CoreSetMeasure.HAQ, value=_haq(0.2 + 0.4 * lower)),
        r.CoreSetValue(measure=CoreSetMeasure.MMT8, value=mmt8, scale_max=150),
    ]
    ck = r.EnzymeResult(
        enzyme=Enzyme.CK,
        value_u_per_l=tr.ck_u_per_l(design, day, rng),
        uln_u_per_l=design.site.ck_uln_u_per_l,
    )
    return r.Assessment(
        patient_code=design.code,
        assessment_date=when,
        phase=visit.phase,
        assessor=f"{design.site.code} physiotherapist",
        myometry=myometry,
        muscle_grades=grades,
        functional_tasks=tasks,
        core_set=core,
        enzymes=[ck],
    )


def _vas(value: float) -> float:
    return round(min(10.0, max(0.0, value)), 1)


def _haq(value: float) -> float:
    return min(3.0, max(0.0, round(value * 8) / 8))  # HAQ-DI moves in steps of 0.125
