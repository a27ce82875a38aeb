"""Functional tasks: tasks gained or lost and the change in 30 m walk time.

Mastaglia 1998 (methods item 3): "The ability to stand up from the sitting position
without using the hands, to rise from the squatting position, and to climb stairs was measured,
and a 30 m walk was timed." The paper does not define "functional improvement"; our rule (a
documented setting): at least one task gained, or the 30 m walk faster by at least
`walk_improvement_pct` (default 20 %, the IMACS consensus for a clinically meaningful change,
Rider LG et al., Arthritis Care Res 2011;63 Suppl 11:S118, applied by analogy), and no task lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from myoivig.domain.vocab import FunctionalTask
from myoivig.outcomes.record_shapes import FunctionalTaskResultLike

DEFAULT_WALK_IMPROVEMENT_PCT = 20.0


@dataclass(frozen=True)
class FunctionalChange:
    gained: tuple[FunctionalTask, ...]
    lost: tuple[FunctionalTask, ...]
    walk_30m_before_s: float | None
    walk_30m_after_s: float | None

    @property
    def walk_30m_change_s(self) -> float | None:
        if self.walk_30m_before_s is None or self.walk_30m_after_s is None:
            return None
        return self.walk_30m_after_s - self.walk_30m_before_s

    @property
    def walk_30m_change_pct(self) -> float | None:
        change = self.walk_30m_change_s
        if change is None or not self.walk_30m_before_s:
            return None
        return change / self.walk_30m_before_s * 100

    def improved(self, walk_improvement_pct: float = DEFAULT_WALK_IMPROVEMENT_PCT) -> bool:
        pct = self.walk_30m_change_pct
        faster = pct is not None and -pct >= walk_improvement_pct
        return not self.lost and (bool(self.gained) or faster)


def _abilities(results: Iterable[FunctionalTaskResultLike]) -> dict[FunctionalTask, bool]:
    return {r.task: r.able for r in results if r.able is not None and not r.not_performed}


def _walk_time(results: Iterable[FunctionalTaskResultLike]) -> float | None:
    for r in results:
        if r.task is FunctionalTask.WALK_30M and not r.not_performed and r.time_s is not None:
            if r.time_s <= 0:
                raise ValueError(f"walk_30m time_s must be > 0, got {r.time_s!r}")
            return r.time_s
    return None


def functional_change(
    before: Iterable[FunctionalTaskResultLike], after: Iterable[FunctionalTaskResultLike]
) -> FunctionalChange:
    """Compare two assessments' functional tasks (tasks not performed either time are skipped)."""
    before_l, after_l = list(before), list(after)
    b, a = _abilities(before_l), _abilities(after_l)
    tasks = [t for t in FunctionalTask if t in b and t in a]
    gained = tuple(t for t in tasks if not b[t] and a[t])
    lost = tuple(t for t in tasks if b[t] and not a[t])
    return FunctionalChange(gained, lost, _walk_time(before_l), _walk_time(after_l))
