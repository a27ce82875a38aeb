"""Interim "did the patient improve?" judgement between two assessments.

INTERIM: the outcomes area (issue 3) owns the trial's response rule; until its branch is merged
this module implements the trial's published rule so continuation advice works. Advice accepts
any `ImprovementRule`, so rewiring means passing the outcomes function instead of
`trial_rule()` (see docs/protocol.md).

Trial rule (Mastaglia 1998, seed 000, methods): MRC grades improved when at least one level on the
10-level Kendall scale is gained in at least four muscle groups (each side counted separately,
as the grading was bilateral [D]); functional improvement when a task the patient could not do
becomes possible. Worsening mirrors this [D].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

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


class Change(StrEnum):
    IMPROVED = "improved"
    NO_CHANGE = "no_change"
    WORSE = "worse"
    NOT_ASSESSABLE = "not_assessable"


@dataclass(frozen=True)
class Judgement:
    change: Change
    reason: str


ImprovementRule = Callable[[AssessmentLike, AssessmentLike], Judgement]


def _grades(a: AssessmentLike) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for g in a.muscle_grades:
        grade = g.kendall_grade
        if isinstance(grade, int) and not isinstance(grade, bool):
            out[(str(g.muscle_group), str(g.side))] = grade
    return out


def _abilities(a: AssessmentLike) -> dict[str, bool]:
    return {
        str(t.task): t.able
        for t in a.functional_tasks
        if t.able is not None and not t.not_performed
    }


def trial_rule(settings: ProtocolSettings = DEFAULT_SETTINGS) -> ImprovementRule:
    """The trial's MRC + functional rule with thresholds from settings."""

    def judge(reference: AssessmentLike, current: AssessmentLike) -> Judgement:
        before, after = _grades(reference), _grades(current)
        common = before.keys() & after.keys()
        up = sum(1 for k in common if after[k] - before[k] >= settings.kendall_min_levels)
        down = sum(1 for k in common if before[k] - after[k] >= settings.kendall_min_levels)
        mrc_up = up >= settings.kendall_min_groups
        mrc_down = down >= settings.kendall_min_groups

        ab_before, ab_after = _abilities(reference), _abilities(current)
        tasks = ab_before.keys() & ab_after.keys()
        gained = sorted(t for t in tasks if ab_after[t] and not ab_before[t])
        lost = sorted(t for t in tasks if ab_before[t] and not ab_after[t])

        if not common and not tasks:
            return Judgement(Change.NOT_ASSESSABLE, "no comparable MRC grades or tasks")
        detail = (
            f"MRC: {up} of {len(common)} muscle groups up, {down} down "
            f"(>= {settings.kendall_min_levels} level in >= {settings.kendall_min_groups} needed);"
            f" tasks gained: {', '.join(gained) or 'none'}; lost: {', '.join(lost) or 'none'}"
        )
        better = mrc_up or bool(gained)
        worse = mrc_down or bool(lost)
        if better and not worse:
            return Judgement(Change.IMPROVED, detail)
        if worse and not better:
            return Judgement(Change.WORSE, detail)
        return Judgement(Change.NO_CHANGE, detail)

    return judge
