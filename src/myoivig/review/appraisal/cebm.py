"""Oxford CEBM Levels of Evidence (March 2009), therapy column, from the extracted design.

Levels and definitions: Phillips B, Ball C, Sackett D, et al. Oxford Centre for Evidence-based
Medicine Levels of Evidence (March 2009) - the table Wang 2012 cites (its reference 2).
The design-to-level mapping follows that table's therapy column: a low-quality RCT
(< 80 % follow-up) is 2b; poor-quality cohort and case-control studies are 4; a single-arm
before-after study is a case series (4). A '-' suffix marks inconclusive evidence (wide CI or
troublesome heterogeneity), which per the 2009 notes can only support grade D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from myoivig.review.appraisal import AppraisalError

FOLLOW_UP_ADEQUATE = 0.80  # CEBM 2009: "low quality RCT (e.g., <80% follow-up)" is 2b


class EvidenceKind(StrEnum):
    SYSTEMATIC_REVIEW_RCT = "systematic_review_rct"
    RCT = "rct"
    ALL_OR_NONE = "all_or_none"
    SYSTEMATIC_REVIEW_COHORT = "systematic_review_cohort"
    COHORT = "cohort"  # controlled prospective or retrospective study with a comparison group
    OUTCOMES_RESEARCH = "outcomes_research"
    SYSTEMATIC_REVIEW_CASE_CONTROL = "systematic_review_case_control"
    CASE_CONTROL = "case_control"
    CASE_SERIES = "case_series"  # incl. single-arm prospective open studies
    CASE_REPORT = "case_report"
    EXPERT_OPINION = "expert_opinion"


@dataclass(frozen=True)
class CebmInput:
    kind: EvidenceKind
    follow_up_fraction: float | None = None
    wide_confidence_interval: bool = False
    heterogeneity_troublesome: bool = False
    poor_quality: bool = False  # CEBM's 'poor quality cohort/case-control' definition


@dataclass(frozen=True)
class CebmLevel:
    level: str  # '1a' ... '5', possibly with '-' suffix
    reasons: list[str] = field(default_factory=list)

    @property
    def inconclusive(self) -> bool:
        return self.level.endswith("-")


def kind_from_design(design: str, has_control_group: bool = False) -> EvidenceKind:
    """Map the extraction design (rct, controlled, prospective_open, ...) to a CEBM row."""
    if design == "rct":
        return EvidenceKind.RCT
    if design == "controlled":
        return EvidenceKind.COHORT
    if design in {"prospective_open", "retrospective"}:
        return EvidenceKind.COHORT if has_control_group else EvidenceKind.CASE_SERIES
    if design == "case_series":
        return EvidenceKind.CASE_SERIES
    if design == "case_report":
        return EvidenceKind.CASE_REPORT
    raise AppraisalError(f"CEBM: unknown design {design!r}")


def level(item: CebmInput) -> CebmLevel:
    k = item.kind
    reasons: list[str] = []
    if item.follow_up_fraction is not None and not 0 <= item.follow_up_fraction <= 1:
        raise AppraisalError(f"CEBM: follow_up_fraction {item.follow_up_fraction} not in [0, 1]")
    if k == EvidenceKind.SYSTEMATIC_REVIEW_RCT:
        base = "1a"
    elif k == EvidenceKind.RCT:
        base = "1b"
        if item.follow_up_fraction is not None and item.follow_up_fraction < FOLLOW_UP_ADEQUATE:
            reasons.append(f"follow-up {item.follow_up_fraction:.0%} < 80 %: low-quality RCT")
            base = "2b"
    elif k == EvidenceKind.ALL_OR_NONE:
        base = "1c"
    elif k == EvidenceKind.SYSTEMATIC_REVIEW_COHORT:
        base = "2a"
    elif k == EvidenceKind.COHORT:
        base = "4" if item.poor_quality else "2b"
        if item.poor_quality:
            reasons.append("poor-quality cohort counts as level 4")
    elif k == EvidenceKind.OUTCOMES_RESEARCH:
        base = "2c"
    elif k == EvidenceKind.SYSTEMATIC_REVIEW_CASE_CONTROL:
        base = "3a"
    elif k == EvidenceKind.CASE_CONTROL:
        base = "4" if item.poor_quality else "3b"
        if item.poor_quality:
            reasons.append("poor-quality case-control counts as level 4")
    elif k in {EvidenceKind.CASE_SERIES, EvidenceKind.CASE_REPORT}:
        base = "4"
    else:
        base = "5"
    reasons.insert(0, f"{k.value} -> {base}")
    if item.wide_confidence_interval and base[0] in "123":
        reasons.append("wide confidence interval: inconclusive ('-')")
        base += "-"
    elif item.heterogeneity_troublesome and k.value.startswith("systematic_review"):
        reasons.append("troublesome heterogeneity: inconclusive ('-')")
        base += "-"
    return CebmLevel(base, reasons)
