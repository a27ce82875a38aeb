"""GRADE certainty of evidence per outcome, with the reason for every step down or up.

Rules (GRADE Handbook, Schünemann et al. 2013; Guyatt et al., J Clin Epidemiol 2011 series):
randomised evidence starts High, observational Low; rate down by 1 (serious) or 2 (very serious)
for risk of bias, inconsistency, indirectness, imprecision, and 1-2 for publication bias; rate up
(mainly observational evidence with no reason to rate down) for a large effect (+1, very large +2),
a dose-response gradient (+1), and plausible confounding that would reduce the effect (+1).
The effect-size thresholds for 'large' (RR > 2 or < 0.5) and 'very large' (RR > 5 or < 0.2) are
the GRADE examples (Guyatt GH et al., J Clin Epidemiol 2011;64:1311-1316), not fixed rules, so
they are settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from myoivig.review.appraisal import AppraisalError

DOWN_DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
UP_DOMAINS = {"large_effect": 2, "dose_response": 1, "plausible_confounding": 1}


class Certainty(IntEnum):
    VERY_LOW = 1
    LOW = 2
    MODERATE = 3
    HIGH = 4

    @property
    def symbol(self) -> str:
        return "⊕" * self.value + "◯" * (4 - self.value)


@dataclass(frozen=True)
class Step:
    domain: str
    change: int
    reason: str


@dataclass(frozen=True)
class GradeInput:
    outcome: str
    randomised: bool
    down: dict[str, tuple[int, str]] = field(default_factory=dict)  # domain -> (levels, reason)
    up: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class GradeResult:
    outcome: str
    start: Certainty
    certainty: Certainty
    steps: list[Step]
    notes: list[str]


def large_effect_levels(risk_ratio: float, large: float = 2.0, very_large: float = 5.0) -> int:
    """+2 for RR beyond very_large (or 1/very_large), +1 beyond large; settings, see module doc."""
    if risk_ratio <= 0:
        raise AppraisalError(f"GRADE: risk ratio must be > 0, got {risk_ratio}")
    ratio = max(risk_ratio, 1 / risk_ratio)
    return 2 if ratio > very_large else 1 if ratio > large else 0


def rate(item: GradeInput, upgrade_despite_downgrades: bool = False) -> GradeResult:
    """Certainty for one outcome; every applied and every refused step is explained."""
    start = Certainty.HIGH if item.randomised else Certainty.LOW
    steps: list[Step] = []
    notes: list[str] = [
        f"start {start.name.lower()}: "
        + ("randomised evidence" if item.randomised else "observational evidence")
    ]
    for domain, (levels, reason) in item.down.items():
        if domain not in DOWN_DOMAINS:
            raise AppraisalError(f"GRADE {item.outcome}: unknown rate-down domain {domain!r}")
        if levels not in (0, 1, 2):
            raise AppraisalError(f"GRADE {item.outcome}: {domain} must be 0, 1 or 2, got {levels}")
        if levels and not reason.strip():
            raise AppraisalError(f"GRADE {item.outcome}: rating down for {domain} needs a reason")
        if levels:
            steps.append(Step(domain, -levels, reason))
    downgraded = any(s.change < 0 for s in steps)
    for domain, (levels, reason) in item.up.items():
        if domain not in UP_DOMAINS:
            raise AppraisalError(f"GRADE {item.outcome}: unknown rate-up domain {domain!r}")
        if not 0 <= levels <= UP_DOMAINS[domain]:
            raise AppraisalError(
                f"GRADE {item.outcome}: {domain} allows 0-{UP_DOMAINS[domain]}, got {levels}"
            )
        if levels and not reason.strip():
            raise AppraisalError(f"GRADE {item.outcome}: rating up for {domain} needs a reason")
        if not levels:
            continue
        if downgraded and not upgrade_despite_downgrades:
            notes.append(f"{domain} not applied: evidence was rated down ({reason})")
            continue
        steps.append(Step(domain, levels, reason))
    total = start.value + sum(s.change for s in steps)
    clamped = min(max(total, Certainty.VERY_LOW.value), Certainty.HIGH.value)
    if clamped != total:
        notes.append(f"clamped from {total} to the scale ({clamped})")
    return GradeResult(item.outcome, start, Certainty(clamped), steps, notes)
