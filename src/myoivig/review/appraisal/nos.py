"""Newcastle-Ottawa Scale (cohort studies) with the AHRQ Good/Fair/Poor conversion.

Items and star limits: Wells GA, Shea B, O'Connell D, et al. The Newcastle-Ottawa Scale (NOS) for
assessing the quality of nonrandomised studies in meta-analyses (Ottawa Hospital Research
Institute). AHRQ thresholds as used by many reviews:
Good = selection 3-4, comparability 1-2, outcome 2-3; Fair = selection 2, comparability 1-2,
outcome 2-3; Poor = selection 0-1 or comparability 0 or outcome 0-1.
"""

from __future__ import annotations

from dataclasses import dataclass

from myoivig.review.appraisal import AppraisalError

SELECTION_ITEMS = (
    "representativeness_of_exposed",
    "selection_of_non_exposed",
    "ascertainment_of_exposure",
    "outcome_absent_at_start",
)
OUTCOME_ITEMS = ("assessment_of_outcome", "follow_up_long_enough", "adequacy_of_follow_up")


@dataclass(frozen=True)
class NosResult:
    selection: int
    comparability: int
    outcome: int
    total: int
    ahrq: str  # good | fair | poor
    reason: str


def assess_cohort(stars: dict[str, int]) -> NosResult:
    """Stars per item (0/1; comparability 0-2) -> totals and AHRQ standard."""
    for item in (*SELECTION_ITEMS, *OUTCOME_ITEMS):
        value = stars.get(item)
        if value not in (0, 1):
            raise AppraisalError(f"NOS: {item} must be 0 or 1 stars, got {value!r}")
    comparability = stars.get("comparability")
    if comparability not in (0, 1, 2):
        raise AppraisalError(f"NOS: comparability must be 0-2 stars, got {comparability!r}")
    unknown = set(stars) - {*SELECTION_ITEMS, *OUTCOME_ITEMS, "comparability"}
    if unknown:
        raise AppraisalError(f"NOS: unknown items {sorted(unknown)}")
    sel = sum(stars[i] for i in SELECTION_ITEMS)
    out = sum(stars[i] for i in OUTCOME_ITEMS)
    comp = int(comparability)
    if sel <= 1 or comp == 0 or out <= 1:
        ahrq, why = "poor", "selection 0-1 or comparability 0 or outcome 0-1"
    elif sel >= 3:
        ahrq, why = "good", "selection 3-4, comparability 1-2, outcome 2-3"
    else:
        ahrq, why = "fair", "selection 2, comparability 1-2, outcome 2-3"
    return NosResult(sel, comp, out, sel + comp + out, ahrq, why)
