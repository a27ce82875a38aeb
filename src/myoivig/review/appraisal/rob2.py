"""Cochrane RoB 2 (randomised trials, effect of assignment): signalling answers -> judgements.

Decision algorithms transcribed from the RoB 2 decision diagrams (Sterne et al., BMJ 2019;366:l4898
and the 2019 guidance). One function per
domain, each returning the judgement and the path taken, so the reasoning is auditable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from myoivig.review.appraisal.answers import NO, YES, Answer, ask


class Judgement(StrEnum):
    LOW = "low"
    SOME_CONCERNS = "some_concerns"
    HIGH = "high"


_ORDER = {Judgement.LOW: 0, Judgement.SOME_CONCERNS: 1, Judgement.HIGH: 2}


@dataclass(frozen=True)
class DomainResult:
    domain: str
    judgement: Judgement
    path: str


def _worse(a: Judgement, b: Judgement) -> Judgement:
    return a if _ORDER[a] >= _ORDER[b] else b


def randomisation(ans: dict[str, Answer]) -> DomainResult:
    """D1: 1.1 random sequence, 1.2 allocation concealed, 1.3 baseline imbalance."""
    d = "RoB2 D1"
    q12 = ask(ans, "1.2", d)
    if q12 in NO:
        return DomainResult("D1", Judgement.HIGH, "1.2 N/PN: allocation not concealed")
    if q12 == Answer.NI:
        q13 = ask(ans, "1.3", d)
        if q13 in YES:
            return DomainResult("D1", Judgement.HIGH, "1.2 NI and 1.3 Y/PY")
        return DomainResult("D1", Judgement.SOME_CONCERNS, "1.2 NI and 1.3 N/PN/NI")
    q11 = ask(ans, "1.1", d)
    if q11 in NO:
        return DomainResult("D1", Judgement.SOME_CONCERNS, "1.2 Y/PY but 1.1 N/PN")
    q13 = ask(ans, "1.3", d)
    if q13 in YES:
        return DomainResult("D1", Judgement.SOME_CONCERNS, "1.2 Y/PY, 1.3 Y/PY imbalance")
    return DomainResult("D1", Judgement.LOW, "1.1 Y/PY/NI, 1.2 Y/PY, 1.3 N/PN/NI")


def deviations(ans: dict[str, Answer]) -> DomainResult:
    """D2 (effect of assignment): part 1 questions 2.1-2.5, part 2 questions 2.6-2.7."""
    d = "RoB2 D2"
    q21, q22 = ask(ans, "2.1", d), ask(ans, "2.2", d)
    if q21 in NO and q22 in NO:
        part1, why1 = Judgement.LOW, "2.1 and 2.2 N/PN (blinded)"
    else:
        q23 = ask(ans, "2.3", d)
        if q23 in NO:
            part1, why1 = Judgement.LOW, "2.3 N/PN: no deviations from trial context"
        elif q23 == Answer.NI:
            part1, why1 = Judgement.SOME_CONCERNS, "2.3 NI"
        else:
            q24 = ask(ans, "2.4", d)
            if q24 in NO:
                part1, why1 = Judgement.SOME_CONCERNS, "2.3 Y/PY, 2.4 N/PN"
            else:
                q25 = ask(ans, "2.5", d)
                if q25 in YES:
                    part1, why1 = Judgement.SOME_CONCERNS, "2.4 Y/PY/NI, 2.5 balanced"
                else:
                    part1, why1 = Judgement.HIGH, "2.4 Y/PY/NI, 2.5 N/PN/NI"
    q26 = ask(ans, "2.6", d)
    if q26 in YES:
        part2, why2 = Judgement.LOW, "2.6 Y/PY appropriate analysis"
    else:
        q27 = ask(ans, "2.7", d)
        if q27 in NO:
            part2, why2 = Judgement.SOME_CONCERNS, "2.6 N/PN/NI, 2.7 N/PN"
        else:
            part2, why2 = Judgement.HIGH, "2.6 N/PN/NI, 2.7 Y/PY/NI"
    return DomainResult("D2", _worse(part1, part2), f"part 1: {why1}; part 2: {why2}")


def missing_data(ans: dict[str, Answer]) -> DomainResult:
    """D3: 3.1 data for nearly all, 3.2 evidence of no bias, 3.3 could depend, 3.4 likely."""
    d = "RoB2 D3"
    if ask(ans, "3.1", d) in YES:
        return DomainResult("D3", Judgement.LOW, "3.1 Y/PY")
    if ask(ans, "3.2", d) in YES:
        return DomainResult("D3", Judgement.LOW, "3.2 Y/PY")
    if ask(ans, "3.3", d) in NO:
        return DomainResult("D3", Judgement.LOW, "3.3 N/PN")
    if ask(ans, "3.4", d) in NO:
        return DomainResult("D3", Judgement.SOME_CONCERNS, "3.3 Y/PY/NI, 3.4 N/PN")
    return DomainResult("D3", Judgement.HIGH, "3.3 Y/PY/NI, 3.4 Y/PY/NI")


def measurement(ans: dict[str, Answer]) -> DomainResult:
    """D4: 4.1 inappropriate method, 4.2 differed between groups, 4.3-4.5 assessor awareness."""
    d = "RoB2 D4"
    if ask(ans, "4.1", d) in YES:
        return DomainResult("D4", Judgement.HIGH, "4.1 Y/PY")
    q42 = ask(ans, "4.2", d)
    if q42 in YES:
        return DomainResult("D4", Judgement.HIGH, "4.2 Y/PY")
    # With 4.2 = NI, the exits that would be Low become Some concerns.
    low = Judgement.LOW if q42 in NO else Judgement.SOME_CONCERNS
    tag = "4.2 N/PN" if q42 in NO else "4.2 NI"
    if ask(ans, "4.3", d) in NO:
        return DomainResult("D4", low, f"{tag}, 4.3 N/PN")
    if ask(ans, "4.4", d) in NO:
        return DomainResult("D4", low, f"{tag}, 4.3 Y/PY/NI, 4.4 N/PN")
    if ask(ans, "4.5", d) in NO:
        return DomainResult("D4", Judgement.SOME_CONCERNS, f"{tag}, 4.4 Y/PY/NI, 4.5 N/PN")
    return DomainResult("D4", Judgement.HIGH, f"{tag}, 4.4 Y/PY/NI, 4.5 Y/PY/NI")


def reported_result(ans: dict[str, Answer]) -> DomainResult:
    """D5: 5.1 pre-specified plan, 5.2 multiple measurements, 5.3 multiple analyses."""
    d = "RoB2 D5"
    q52, q53 = ask(ans, "5.2", d), ask(ans, "5.3", d)
    if q52 in YES or q53 in YES:
        return DomainResult("D5", Judgement.HIGH, "5.2 or 5.3 Y/PY")
    if Answer.NI in (q52, q53):
        return DomainResult("D5", Judgement.SOME_CONCERNS, "5.2/5.3 NI")
    if ask(ans, "5.1", d) in YES:
        return DomainResult("D5", Judgement.LOW, "5.2 and 5.3 N/PN, 5.1 Y/PY")
    return DomainResult("D5", Judgement.SOME_CONCERNS, "5.2 and 5.3 N/PN, 5.1 N/PN/NI")


DOMAINS = (randomisation, deviations, missing_data, measurement, reported_result)


@dataclass(frozen=True)
class Rob2Result:
    domains: tuple[DomainResult, ...]
    overall: Judgement
    reason: str


def assess(
    answers: dict[str, Answer], some_concerns_in_several_is_high: int | None = None
) -> Rob2Result:
    """All five domains and the overall judgement.

    Official rule: Low if all Low; High if any High; otherwise Some concerns, with reviewers free to
    judge 'Some concerns in multiple domains' as High. That judgement is a setting here:
    `some_concerns_in_several_is_high=k` makes k or more Some-concerns domains High (default off).
    """
    results = tuple(domain(answers) for domain in DOMAINS)
    highs = [r.domain for r in results if r.judgement == Judgement.HIGH]
    concerns = [r.domain for r in results if r.judgement == Judgement.SOME_CONCERNS]
    if highs:
        return Rob2Result(results, Judgement.HIGH, f"high in {', '.join(highs)}")
    if not concerns:
        return Rob2Result(results, Judgement.LOW, "low in all domains")
    if some_concerns_in_several_is_high and len(concerns) >= some_concerns_in_several_is_high:
        return Rob2Result(
            results,
            Judgement.HIGH,
            f"some concerns in {len(concerns)} domains ({', '.join(concerns)}) judged high",
        )
    return Rob2Result(results, Judgement.SOME_CONCERNS, f"some concerns in {', '.join(concerns)}")
