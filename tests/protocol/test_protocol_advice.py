"""Continuation advice: each trial rule fires on a constructed course history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, Diagnosis, FunctionalTask, Side
from myoivig.protocol.advice import Action, advise
from myoivig.protocol.improvement import Change, Judgement, trial_rule
from myoivig.protocol.settings import ProtocolSettings


@dataclass(frozen=True)
class Grade:
    muscle_group: object
    side: object
    kendall_grade: object


@dataclass(frozen=True)
class Task:
    task: object
    able: bool | None
    not_performed: bool = False
    time_s: float | None = None


@dataclass(frozen=True)
class Visit:
    assessment_date: date
    muscle_grades: list[Grade]
    functional_tasks: list[Task] = field(default_factory=list)


START = date(2026, 1, 5)


def visit(day: int, grade: int, rise: bool | None = None) -> Visit:
    """All 8 trial muscle-side units at one Kendall grade; rising from a squat is possible from
    grade 6 unless `rise` says otherwise (so MRC and function improve together by default)."""
    grades = [Grade(g, s, grade) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    able = grade >= 6 if rise is None else rise
    return Visit(START + timedelta(days=day), grades, [Task(FunctionalTask.RISE_FROM_SQUAT, able)])


def courses(n: int) -> list[date]:
    return [START + timedelta(days=28 * i) for i in range(n)]


BASELINE = visit(-7, 5)


def test_rule_counts_four_groups() -> None:
    judge = trial_rule()
    assert judge(BASELINE, visit(20, 6)).change is Change.IMPROVED
    assert judge(BASELINE, visit(20, 5)).change is Change.NO_CHANGE
    assert judge(BASELINE, visit(20, 4)).change is Change.WORSE
    three_up = Visit(
        START,
        [Grade(g, Side.LEFT, 6) for g in TRIAL_MUSCLE_GROUPS[:3]]
        + [Grade(TRIAL_MUSCLE_GROUPS[3], Side.LEFT, 5)],
    )
    assert judge(BASELINE, three_up).change is Change.NO_CHANGE
    np_grades = Visit(START, [Grade(g, Side.LEFT, "NP") for g in TRIAL_MUSCLE_GROUPS])
    assert judge(BASELINE, np_grades).change is Change.NOT_ASSESSABLE


EITHER = ProtocolSettings(improvement_requires="either")


def test_trial_rule_needs_functional_and_mrc_improvement() -> None:
    # Seed 000: responders improved in MRC grades AND functional abilities (table: both "+").
    judge = trial_rule()
    function_only = judge(visit(-7, 5, rise=False), visit(20, 5, rise=True))
    mrc_only = judge(visit(-7, 5, rise=False), visit(20, 6, rise=False))
    both = judge(visit(-7, 5, rise=False), visit(20, 6, rise=True))
    assert function_only.change is Change.NO_CHANGE and function_only.any_gain
    assert mrc_only.change is Change.NO_CHANGE and mrc_only.any_gain
    assert both.change is Change.IMPROVED
    assert "requires both" in both.reason


def test_either_setting_counts_a_functional_or_an_mrc_gain() -> None:
    judge = trial_rule(EITHER)
    assert judge(visit(-7, 5, rise=False), visit(20, 5, rise=True)).change is Change.IMPROVED
    assert judge(visit(-7, 5, rise=False), visit(20, 6, rise=False)).change is Change.IMPROVED


def test_mrc_gain_alone_is_not_a_response_in_advice_by_default() -> None:
    history = [BASELINE, visit(20, 6, rise=False), visit(48, 6, rise=False), visit(76, 6, False)]
    assert advise(courses(3), history).rule == "no_improvement_after_third_course"
    assert advise(courses(3), history, settings=EITHER).improved


def test_too_early_after_one_course() -> None:
    advice = advise(courses(1), [BASELINE, visit(20, 5)])
    assert advice.action is Action.CONTINUE and advice.rule == "too_early_to_judge"


def test_no_improvement_after_two_courses_continues() -> None:
    advice = advise(courses(2), [BASELINE, visit(20, 5), visit(48, 5)])
    assert advice.rule == "no_improvement_yet" and advice.action is Action.CONTINUE


def test_stop_after_third_course_without_improvement() -> None:
    history = [BASELINE, visit(20, 5), visit(48, 5), visit(76, 5)]
    advice = advise(courses(3), history)
    assert advice.action is Action.STOP
    assert advice.rule == "no_improvement_after_third_course"
    assert "Mastaglia et al., J Neurol Neurosurg Psychiatry 1998" in advice.source


def test_still_improving_continues() -> None:
    history = [BASELINE, visit(20, 6), visit(48, 7)]
    advice = advise(courses(2), history)
    assert advice.action is Action.CONTINUE and advice.rule == "still_improving"
    assert advice.improved


def test_stable_over_two_successive_assessments_suggests_reduction() -> None:
    history = [BASELINE, visit(20, 6), visit(48, 7), visit(76, 7), visit(104, 7)]
    advice = advise(courses(4), history)
    assert advice.action is Action.REDUCE and advice.rule == "stable_after_response"
    # Only one stable interval is not enough.
    assert advise(courses(3), history[:4]).rule == "still_improving"


def test_deterioration_after_response_asks_for_review() -> None:
    history = [BASELINE, visit(20, 7), visit(48, 6)]
    assert advise(courses(2), history).action is Action.REVIEW


def test_thresholds_are_settings() -> None:
    history = [BASELINE, visit(20, 5), visit(48, 5)]
    strict = ProtocolSettings(stop_after_courses_without_improvement=2)
    assert advise(courses(2), history, settings=strict).action is Action.STOP
    lenient = ProtocolSettings(kendall_min_groups=9)  # 8 units can never reach 9
    assert (
        advise(courses(2), [BASELINE, visit(20, 6), visit(48, 7)], settings=lenient).improved
        is False
    )


def test_ibm_flag_and_missing_data() -> None:
    advice = advise(courses(1), [BASELINE], Diagnosis.INCLUSION_BODY_MYOSITIS)
    assert "ibm_low_expected_benefit" in advice.flags
    assert advice.rule == "no_follow_up_assessment"
    assert advise([], [BASELINE]).action is Action.INSUFFICIENT_DATA
    assert advise(courses(2), [visit(20, 6)]).rule == "no_baseline"


def test_custom_rule_can_be_injected() -> None:
    def always(_: object, __: object) -> Judgement:
        return Judgement(Change.IMPROVED, "outcomes engine says so")

    advice = advise(courses(3), [BASELINE, visit(20, 5)], rule=always)
    assert advice.improved


def test_walk_speed_counts_through_the_outcome_engine() -> None:
    judge = trial_rule(EITHER)  # no MRC grades here: only the functional part can improve
    slow = Visit(START, [], [Task(FunctionalTask.WALK_30M, True, time_s=50.0)])
    fast = Visit(START + timedelta(days=30), [], [Task(FunctionalTask.WALK_30M, True, time_s=39.0)])
    assert judge(slow, fast).change is Change.IMPROVED  # 22 % faster
    assert judge(fast, slow).change is Change.WORSE


def test_trial_patient_1_transient_improvement_still_reaches_the_stop_rule() -> None:
    # Seed 000, patient 1: improved by 9 days after the first course, deteriorated by 3 weeks,
    # no response to a further course. After the third course without a sustained response
    # the stop rule must fire.
    history = [
        BASELINE,
        visit(9, 6),  # improved (MRC + rising from a squat)
        visit(21, 5),  # back to baseline
        visit(48, 5),
        visit(76, 5),
    ]
    advice = advise(courses(3), history)
    assert advice.action is Action.STOP
    assert advice.rule == "no_improvement_after_third_course"
    assert not advice.improved
    assert "not sustained" in advice.message
    # Before the third course the lost response asks for a clinical review.
    early = advise(courses(2), history[:4])
    assert early.action is Action.REVIEW and early.rule == "deterioration_after_response"


def test_relapse_is_judged_against_the_best_post_ivig_state() -> None:
    # Climbed to grade 8, then fell to 7 over two visits (each step only 1 level down in
    # 8 groups is "worse" vs the best, still better than baseline): review.
    history = [BASELINE, visit(20, 7), visit(48, 8), visit(76, 8), visit(104, 7)]
    advice = advise(courses(4), history)
    assert advice.improved
    assert advice.action is Action.REVIEW and advice.rule == "deterioration_after_response"
    assert "best post-IVIg" in advice.message


def test_course_on_the_assessment_day_is_not_yet_given() -> None:
    # Course 2 starts on day 28; the day-28 assessment is taken before that infusion.
    history = [BASELINE, visit(20, 5), visit(28, 5)]
    advice = advise(courses(2), history)
    assert [e.courses_before for e in advice.evidence] == [1, 1]
    assert advice.rule == "too_early_to_judge"
    # Course 3 starts on day 56: an assessment that day follows 2 courses, not 3 (no stop yet).
    later = advise(courses(3), [BASELINE, visit(20, 5), visit(48, 5), visit(56, 5)])
    assert later.evidence[-1].courses_before == 2
    assert later.rule == "no_improvement_yet"


def test_assessment_on_the_first_course_day_is_the_baseline() -> None:
    advice = advise(courses(2), [visit(0, 5), visit(20, 6), visit(48, 7)])
    assert advice.rule == "still_improving"
    assert [e.assessment_date for e in advice.evidence] == [
        START + timedelta(days=d) for d in (20, 48)
    ]
