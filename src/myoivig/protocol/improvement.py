"""Did the patient improve between two assessments? The trial's rule, from the outcome engine.

Continuation advice asks this question; the answer comes from the outcome engine's pure
functions (`myoivig.outcomes.strength_grades.mrc_improvement` and
`myoivig.outcomes.functional.functional_change`), so the clinic and the research reports judge
improvement the same way. Advice accepts any `ImprovementRule`, so a site can plug in another.

Trial rule (Mastaglia 1998, methods): MRC grades improved when at least one level on the
10-level Kendall scale is gained in at least four muscle groups (each side counted separately,
the outcome engine's default); functional improvement when a task becomes possible or the 30 m
walk is at least 20 % faster, with no task lost (the outcome engine's documented setting).
"Improved" needs BOTH (the trial's responders, `myoivig.outcomes.trial_response`) unless the
setting `improvement_requires` is "either"; a gain in only one is reported as `any_gain` so
that advice does not call a still-improving patient "stable". Worsening mirrors this [D]:
>= 4 groups down, a task lost, or the walk >= 20 % slower, with no gain in either. All
muscle groups that were graded both times count, not only the trial's four, because clinics
grade other sets (e.g. MMT-8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, cast

from myoivig.domain.vocab import MuscleGroup
from myoivig.outcomes.functional import (
    DEFAULT_WALK_IMPROVEMENT_PCT,
    FunctionalChange,
    functional_change,
)
from myoivig.outcomes.record_shapes import FunctionalTaskResultLike, MuscleGradeLike
from myoivig.outcomes.strength_grades import mrc_improvement, site_grades
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings


class GradeLike(Protocol):
    @property
    def muscle_group(self) -> object: ...
    @property
    def side(self) -> object: ...
    @property
    def kendall_grade(self) -> object: ...  # int 0-10, or the not-performed marker


class TaskLike(Protocol):
    @property
    def task(self) -> object: ...
    @property
    def able(self) -> bool | None: ...
    @property
    def not_performed(self) -> bool: ...


class AssessmentLike(Protocol):
    """The fields of `myoivig.domain.records.Assessment` this rule reads."""

    @property
    def assessment_date(self) -> date: ...
    @property
    def muscle_grades(self) -> Sequence[GradeLike]: ...
    @property
    def functional_tasks(self) -> Sequence[TaskLike]: ...


ALL_GROUPS: tuple[MuscleGroup, ...] = tuple(MuscleGroup)


class Change(StrEnum):
    IMPROVED = "improved"
    NO_CHANGE = "no_change"
    WORSE = "worse"
    NOT_ASSESSABLE = "not_assessable"


@dataclass(frozen=True)
class Judgement:
    change: Change
    reason: str
    # True when MRC or function improved, even if that is not enough for IMPROVED under the
    # `improvement_requires` setting ("no further improvement" means neither improved).
    any_gain: bool = False


ImprovementRule = Callable[[AssessmentLike, AssessmentLike], Judgement]


def _ability_changes(reference: AssessmentLike, current: AssessmentLike) -> FunctionalChange:
    return functional_change(
        cast("list[FunctionalTaskResultLike]", list(reference.functional_tasks)),
        cast("list[FunctionalTaskResultLike]", list(current.functional_tasks)),
    )


def trial_rule(settings: ProtocolSettings = DEFAULT_SETTINGS) -> ImprovementRule:
    """The trial's MRC + functional rule with thresholds from settings."""

    def judge(reference: AssessmentLike, current: AssessmentLike) -> Judgement:
        before = site_grades(cast("list[MuscleGradeLike]", list(reference.muscle_grades)))
        after = site_grades(cast("list[MuscleGradeLike]", list(current.muscle_grades)))
        mrc = mrc_improvement(
            before,
            after,
            groups=ALL_GROUPS,
            min_levels=settings.kendall_min_levels,
            min_groups=settings.kendall_min_groups,
        )
        tasks = _ability_changes(reference, current)
        walk_pct = tasks.walk_30m_change_pct
        if mrc.compared_units == 0 and walk_pct is None and not _comparable(reference, current):
            return Judgement(Change.NOT_ASSESSABLE, "no comparable MRC grades or tasks")
        up, down = len(mrc.improved_units), len(mrc.worsened_units)
        detail = (
            f"MRC: {up} of {mrc.compared_units} muscle groups up, {down} down "
            f"(>= {settings.kendall_min_levels} level in >= {settings.kendall_min_groups} needed);"
            f" tasks gained: {', '.join(t.value for t in tasks.gained) or 'none'};"
            f" lost: {', '.join(t.value for t in tasks.lost) or 'none'}"
            + (f"; 30 m walk {walk_pct:+.0f} %" if walk_pct is not None else "")
        )
        slower = walk_pct is not None and walk_pct >= DEFAULT_WALK_IMPROVEMENT_PCT
        functional = tasks.improved()
        if settings.improvement_requires == "both":
            better = mrc.improved and functional
        else:
            better = mrc.improved or functional
        any_gain = mrc.improved or functional
        detail += f" (improvement requires {settings.improvement_requires})"
        worse = down >= settings.kendall_min_groups or bool(tasks.lost) or slower
        if better and not worse:
            return Judgement(Change.IMPROVED, detail, any_gain)
        if worse and not any_gain:
            return Judgement(Change.WORSE, detail, any_gain)
        return Judgement(Change.NO_CHANGE, detail, any_gain)

    return judge


def _comparable(reference: AssessmentLike, current: AssessmentLike) -> bool:
    def done(a: AssessmentLike) -> set[object]:
        return {t.task for t in a.functional_tasks if t.able is not None and not t.not_performed}

    return bool(done(reference) & done(current))
