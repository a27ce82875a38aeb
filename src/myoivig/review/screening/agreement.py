"""Inter-rater agreement: Cohen's kappa and agreement counts per stage and reviewer pair.

Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas 1960;20:37-46:
kappa = (p_o - p_e) / (1 - p_e), p_o the observed share of agreement and p_e the agreement
expected from each rater's marginal category shares. Undefined (None) when p_e = 1, i.e. both
raters used one and the same category for every record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations

from myoivig.review.screening.events import ScreeningError, Stage
from myoivig.review.screening.workflow import RecordStatus, ScreeningLog


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa for two raters' category labels on the same items (None if undefined)."""
    if len(first) != len(second):
        raise ScreeningError(
            f"kappa: the two raters have {len(first)} and {len(second)} ratings; they must match"
        )
    n = len(first)
    if n == 0:
        return None
    observed = sum(1 for a, b in zip(first, second, strict=True) if a == b) / n
    counts_a = Counter(first)
    counts_b = Counter(second)
    expected = sum(counts_a[c] * counts_b[c] for c in counts_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two reviewers on the records both decided at one stage."""

    stage: Stage
    reviewer_a: str
    reviewer_b: str
    n_records: int
    n_agree: int
    kappa: float | None
    table: dict[str, int]  # "verdict_a|verdict_b" -> count

    @property
    def percent_agreement(self) -> float | None:
        """Observed agreement as a share of jointly screened records."""
        return self.n_agree / self.n_records if self.n_records else None


def pair_agreements(log: ScreeningLog, stage: Stage) -> list[PairAgreement]:
    """Kappa and counts for every reviewer pair that decided at least one record in common.

    Uses each reviewer's effective (final) independent decision on complete records only;
    resolutions are not ratings.
    """
    by_reviewer: dict[str, dict[str, str]] = {}
    for rid in log.eligible(stage):
        if log.status(stage, rid) is RecordStatus.PENDING:
            continue  # incomplete records stay blind, even in aggregate
        for event in log.decisions(stage, rid):
            by_reviewer.setdefault(event.reviewer, {})[rid] = event.verdict.value
    result: list[PairAgreement] = []
    for a, b in combinations(sorted(by_reviewer), 2):
        common = [rid for rid in by_reviewer[a] if rid in by_reviewer[b]]
        if not common:
            continue
        va = [by_reviewer[a][rid] for rid in common]
        vb = [by_reviewer[b][rid] for rid in common]
        table = Counter(f"{x}|{y}" for x, y in zip(va, vb, strict=True))
        result.append(
            PairAgreement(
                stage=stage,
                reviewer_a=a,
                reviewer_b=b,
                n_records=len(common),
                n_agree=sum(1 for x, y in zip(va, vb, strict=True) if x == y),
                kappa=cohen_kappa(va, vb),
                table=dict(sorted(table.items())),
            )
        )
    return result
