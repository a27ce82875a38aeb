"""Continuation advice after each course, following the trial's stopping rules.

Mastaglia et al. 1998 (J Neurol Neurosurg Psychiatry 65:107-110): treatment "was continued
until there was no further improvement and the patient's condition remained stable over two
successive monthly assessments, or for a minimum of two courses if there was no improvement";
"if there is no improvement after the third course of treatment it is reasonable to discontinue
therapy"; IBM patients gained no functional benefit. The taper suggestion follows Ontario (reduce
to the minimum effective dose) and ProDERM (step down to 1 g/kg when stable) [C]; references in
docs/sources.md. Every threshold is a setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from myoivig.domain.vocab import Diagnosis
from myoivig.protocol.improvement import (
    AssessmentLike,
    Change,
    ImprovementRule,
    Judgement,
    trial_rule,
)
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings

SRC_TRIAL_METHODS = (
    "Mastaglia et al., J Neurol Neurosurg Psychiatry 1998;65:107-110, methods: continuation "
    "and minimum courses"
)
SRC_TRIAL_DISCUSSION = (
    "Mastaglia et al., J Neurol Neurosurg Psychiatry 1998;65:107-110, discussion: stop if no "
    "improvement after the third course"
)
SRC_TAPER = (
    "Ontario IVIG utilization guideline, inflammatory myopathies (reduce to the minimum "
    "effective dose); ProDERM (Aggarwal et al., N Engl J Med 2022;387:1264-78) step-down to "
    "1 g/kg when stable"
)
SRC_IBM = (
    "Mastaglia 1998: none of 5 IBM patients improved functionally; NBA: IBM weakness evidence 2b, "
    "long-term treatment not justified (NBA Criteria for the clinical use of immunoglobulin, "
    "inclusion body myositis)"
)


class Action(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"
    REDUCE = "reduce_dose_or_extend_interval"
    REVIEW = "review"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class AssessmentJudgement:
    assessment_date: date
    courses_before: int
    vs_baseline: Judgement
    vs_previous: Judgement | None


@dataclass(frozen=True)
class Advice:
    action: Action
    rule: str  # stable code of the rule that fired
    message: str
    source: str
    courses_given: int
    improved: bool
    flags: tuple[str, ...]
    flag_messages: tuple[str, ...]
    evidence: tuple[AssessmentJudgement, ...]


def advise(
    course_starts: Sequence[date],
    assessments: Sequence[AssessmentLike],
    diagnosis: Diagnosis | None = None,
    rule: ImprovementRule | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> Advice:
    """Advise on the next course from dated course starts and recorded assessments."""
    judge = rule or trial_rule(settings)
    starts = sorted(course_starts)
    ordered = sorted(assessments, key=lambda a: a.assessment_date)
    flags: list[str] = []
    flag_messages: list[str] = []
    if diagnosis is Diagnosis.INCLUSION_BODY_MYOSITIS:
        flags.append("ibm_low_expected_benefit")
        flag_messages.append(
            "Inclusion body myositis: low expected benefit from IVIg for weakness (no functional "
            f"improvement in the trial's IBM patients); review the indication. Source: {SRC_IBM}"
        )

    def done(
        action: Action,
        code: str,
        message: str,
        source: str,
        improved: bool = False,
        evidence: Sequence[AssessmentJudgement] = (),
    ) -> Advice:
        return Advice(
            action,
            code,
            message,
            source,
            len(starts),
            improved,
            tuple(flags),
            tuple(flag_messages),
            tuple(evidence),
        )

    if not starts:
        return done(Action.INSUFFICIENT_DATA, "no_courses", "No IVIg course recorded.", "-")
    # Assessments are taken before the day's infusion: one on a course's start day comes before
    # that course (so one on the first course's day is still a baseline).
    before = [a for a in ordered if a.assessment_date <= starts[0]]
    if not before:
        return done(
            Action.INSUFFICIENT_DATA,
            "no_baseline",
            "No assessment before the first course: response cannot be judged.",
            SRC_TRIAL_METHODS,
        )
    baseline = before[-1]
    after = [a for a in ordered if a.assessment_date > starts[0]]
    evidence: list[AssessmentJudgement] = []
    previous: AssessmentLike | None = None
    for a in after:
        evidence.append(
            AssessmentJudgement(
                a.assessment_date,
                courses_before(starts, a.assessment_date),
                judge(baseline, a),
                judge(previous, a) if previous is not None else None,
            )
        )
        previous = a
    if not evidence:
        return done(
            Action.CONTINUE,
            "no_follow_up_assessment",
            "No assessment since IVIg started: assess before deciding on the next course.",
            SRC_TRIAL_METHODS,
        )
    latest = evidence[-1]
    # Response is judged on the LATEST assessment: a transient gain (the trial's patient 1
    # improved at 9 days, deteriorated by 3 weeks and did not respond to a further course) must
    # not switch the stop rule off.
    improved = latest.vs_baseline.change is Change.IMPROVED
    responded_before = any(e.vs_baseline.change is Change.IMPROVED for e in evidence[:-1])
    best = _best_state(after, judge)
    vs_best = judge(best, after[-1]) if best is not after[-1] else None
    relapsed = vs_best is not None and vs_best.change is Change.WORSE
    n = latest.courses_before
    if not improved:
        transient = " An earlier improvement was not sustained." if responded_before else ""
        if n >= settings.stop_after_courses_without_improvement:
            return done(
                Action.STOP,
                "no_improvement_after_third_course",
                f"No improvement over baseline after {n} courses "
                f"({latest.vs_baseline.reason}).{transient} Stopping IVIg is reasonable.",
                SRC_TRIAL_DISCUSSION,
                evidence=evidence,
            )
        if responded_before and relapsed:
            assert vs_best is not None
            return done(
                Action.REVIEW,
                "deterioration_after_response",
                "Improved earlier, now no better than baseline and worse than the best "
                f"post-IVIg assessment ({vs_best.reason}). Clinical review.",
                "myoivig design rule [D]: the trial paper gives no rule for relapse on IVIg",
                evidence=evidence,
            )
        if n < settings.min_courses_before_judging:
            return done(
                Action.CONTINUE,
                "too_early_to_judge",
                f"{n} course(s) given; response is judged only after "
                f"{settings.min_courses_before_judging}. Continue.",
                SRC_TRIAL_METHODS,
                evidence=evidence,
            )
        return done(
            Action.CONTINUE,
            "no_improvement_yet",
            f"No improvement yet after {n} courses;{transient} improvement may appear only "
            f"after course {settings.stop_after_courses_without_improvement}. Continue and "
            "reassess.",
            SRC_TRIAL_DISCUSSION,
            evidence=evidence,
        )
    if relapsed:
        assert vs_best is not None
        return done(
            Action.REVIEW,
            "deterioration_after_response",
            f"Still better than baseline but worse than the best post-IVIg assessment "
            f"({vs_best.reason}). Clinical review.",
            "myoivig design rule [D]: the trial paper gives no rule for relapse on IVIg",
            improved=True,
            evidence=evidence,
        )
    k = settings.stable_assessments
    recent = [e.vs_previous for e in evidence[-k:]]
    if len(recent) == k and all(
        j is not None and j.change is Change.NO_CHANGE and not j.any_gain for j in recent
    ):
        return done(
            Action.REDUCE,
            "stable_after_response",
            f"Improved, and no further change over the last {k} successive assessments. "
            "Suggest the lowest effective dose or a longer interval between courses.",
            f"{SRC_TRIAL_METHODS}; {SRC_TAPER}",
            improved=True,
            evidence=evidence,
        )
    return done(
        Action.CONTINUE,
        "still_improving",
        "Improved over baseline and not yet stable over "
        f"{k} successive assessments: continue courses.",
        SRC_TRIAL_METHODS,
        improved=True,
        evidence=evidence,
    )


def courses_before(starts: Sequence[date], assessment_date: date) -> int:
    """Courses started strictly before the assessment: an assessment is taken before the day's
    infusion, so a course starting that day has not been given yet."""
    return sum(1 for s in starts if s < assessment_date)


def _best_state(after: Sequence[AssessmentLike], judge: ImprovementRule) -> AssessmentLike:
    """The best post-IVIg assessment: the latest one that improved on (or gained over, without
    worsening) the best before it. Relapse is judged against it [D]."""
    best = after[0]
    for a in after[1:]:
        j = judge(best, a)
        if j.change is Change.IMPROVED or (j.change is Change.NO_CHANGE and j.any_gain):
            best = a
    return best
