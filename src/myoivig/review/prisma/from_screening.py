"""Turn the screening workflow's final outcomes into PRISMA `FinalDecision` events.

The screening package (`myoivig.review.screening`, built separately) reports one final outcome
per record and stage after dual screening and arbitration. It is read structurally here (any
object with `record_id`, `stage`, `verdict`, `reasons`), so this module does not import it.
'maybe' moves a record forward like 'include' at title/abstract only; a full-text outcome must be
include or exclude (a 'maybe' there is refused, never counted as an inclusion). PRISMA needs one
primary reason per full-text exclusion; when agreeing reviewers gave different reasons, the first
in sorted order is used (documented in docs/review.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.events import FinalDecision


class ScreeningOutcome(Protocol):
    @property
    def record_id(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def reasons(self) -> Sequence[str]: ...


def final_decisions(
    outcomes: Iterable[ScreeningOutcome], actor: str = "screening"
) -> list[FinalDecision]:
    """One FinalDecision per outcome; unknown stages or verdicts raise naming the record."""
    out: list[FinalDecision] = []
    for o in outcomes:
        stage, verdict = str(o.stage), str(o.verdict)
        if stage not in {"title_abstract", "full_text"}:
            raise PrismaError(f"record {o.record_id}: unknown screening stage {stage!r}")
        if verdict not in {"include", "exclude", "maybe"}:
            raise PrismaError(f"record {o.record_id}: unknown verdict {verdict!r}")
        if stage == "full_text" and verdict == "maybe":
            raise PrismaError(
                f"record {o.record_id}: full_text verdict 'maybe' is not a final outcome "
                "(resolve it to include or exclude)"
            )
        reasons = sorted(r for r in o.reasons if r)
        out.append(
            FinalDecision(
                record_id=o.record_id,
                stage="title_abstract" if stage == "title_abstract" else "full_text",
                include=verdict != "exclude",
                reason=reasons[0] if reasons and verdict == "exclude" else None,
                actor=actor,
            )
        )
    return out
