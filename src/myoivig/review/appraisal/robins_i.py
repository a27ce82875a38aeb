"""ROBINS-I (2016) overall judgement from the seven domain judgements.

Overall rule from the ROBINS-I tool (Sterne et al., BMJ 2016;355:i4919). Domain-level signalling
algorithms are NOT encoded: the 2016 tool leaves them to judgement and the V2 draft (Nov 2025) is
still changing; domain judgements are entered by the appraiser.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from myoivig.review.appraisal import AppraisalError

DOMAINS = (
    "confounding",
    "selection_of_participants",
    "classification_of_interventions",
    "deviations_from_intended_interventions",
    "missing_data",
    "measurement_of_outcomes",
    "selection_of_reported_result",
)


class RobinsJudgement(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    SERIOUS = "serious"
    CRITICAL = "critical"
    NO_INFORMATION = "no_information"


@dataclass(frozen=True)
class RobinsResult:
    overall: RobinsJudgement
    reason: str


def overall(domains: dict[str, RobinsJudgement]) -> RobinsResult:
    missing = [d for d in DOMAINS if d not in domains]
    if missing:
        raise AppraisalError(f"ROBINS-I: missing domain judgements {missing}")
    unknown = sorted(set(domains) - set(DOMAINS))
    if unknown:
        raise AppraisalError(f"ROBINS-I: unknown domains {unknown}")
    values = [domains[d] for d in DOMAINS]

    def named(j: RobinsJudgement) -> str:
        return ", ".join(d for d in DOMAINS if domains[d] == j)

    if RobinsJudgement.CRITICAL in values:
        return RobinsResult(
            RobinsJudgement.CRITICAL, f"critical in {named(RobinsJudgement.CRITICAL)}"
        )
    if RobinsJudgement.SERIOUS in values:
        return RobinsResult(RobinsJudgement.SERIOUS, f"serious in {named(RobinsJudgement.SERIOUS)}")
    if RobinsJudgement.NO_INFORMATION in values:
        return RobinsResult(
            RobinsJudgement.NO_INFORMATION,
            "no serious/critical domain but no information in "
            + named(RobinsJudgement.NO_INFORMATION),
        )
    if RobinsJudgement.MODERATE in values:
        return RobinsResult(
            RobinsJudgement.MODERATE, f"moderate in {named(RobinsJudgement.MODERATE)}"
        )
    return RobinsResult(RobinsJudgement.LOW, "low in all domains")
