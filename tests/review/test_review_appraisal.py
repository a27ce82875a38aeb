"""Every decision path of the appraisal rules."""

from __future__ import annotations

import pytest

from myoivig.review.appraisal import AppraisalError, rob2
from myoivig.review.appraisal.answers import Answer
from myoivig.review.appraisal.cebm import CebmInput, EvidenceKind, kind_from_design, level
from myoivig.review.appraisal.grade import Certainty, GradeInput, large_effect_levels, rate
from myoivig.review.appraisal.nos import assess_cohort
from myoivig.review.appraisal.robins_i import DOMAINS, RobinsJudgement, overall

L, SC, H = rob2.Judgement.LOW, rob2.Judgement.SOME_CONCERNS, rob2.Judgement.HIGH


def A(**kw: str) -> dict[str, Answer]:
    return {k.replace("_", "."): Answer(v) for k, v in kw.items()}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (A(q1_2="N"), H),
        (A(q1_2="PN"), H),
        (A(q1_2="NI", q1_3="Y"), H),
        (A(q1_2="NI", q1_3="NI"), SC),
        (A(q1_2="Y", q1_1="N"), SC),
        (A(q1_2="PY", q1_1="Y", q1_3="PY"), SC),
        (A(q1_2="Y", q1_1="NI", q1_3="N"), L),
        (A(q1_2="Y", q1_1="Y", q1_3="NI"), L),
    ],
)
def test_rob2_d1_paths(answers: dict[str, Answer], expected: rob2.Judgement) -> None:
    answers = {k.removeprefix("q"): v for k, v in answers.items()}
    assert rob2.randomisation(answers).judgement == expected


def _d2(**kw: str) -> rob2.Judgement:
    return rob2.deviations({k.replace("_", "."): Answer(v) for k, v in kw.items()}).judgement


def test_rob2_d2_paths() -> None:
    assert _d2(**{"2_1": "N", "2_2": "PN", "2_6": "Y"}) == L
    assert _d2(**{"2_1": "Y", "2_2": "N", "2_3": "N", "2_6": "PY"}) == L
    assert _d2(**{"2_1": "Y", "2_2": "N", "2_3": "NI", "2_6": "Y"}) == SC
    assert _d2(**{"2_1": "Y", "2_2": "Y", "2_3": "Y", "2_4": "N", "2_6": "Y"}) == SC
    assert _d2(**{"2_1": "Y", "2_2": "Y", "2_3": "Y", "2_4": "Y", "2_5": "Y", "2_6": "Y"}) == SC
    assert _d2(**{"2_1": "Y", "2_2": "Y", "2_3": "Y", "2_4": "NI", "2_5": "N", "2_6": "Y"}) == H
    # part 2 drives the domain when worse
    assert _d2(**{"2_1": "N", "2_2": "N", "2_6": "N", "2_7": "N"}) == SC
    assert _d2(**{"2_1": "N", "2_2": "N", "2_6": "NI", "2_7": "NI"}) == H


def _d(fn: object, **kw: str) -> rob2.Judgement:
    answers = {k.replace("_", "."): Answer(v) for k, v in kw.items()}
    return fn(answers).judgement  # type: ignore[operator, no-any-return]


def test_rob2_d3_paths() -> None:
    f = rob2.missing_data
    assert _d(f, **{"3_1": "Y"}) == L
    assert _d(f, **{"3_1": "N", "3_2": "PY"}) == L
    assert _d(f, **{"3_1": "N", "3_2": "N", "3_3": "PN"}) == L
    assert _d(f, **{"3_1": "N", "3_2": "N", "3_3": "NI", "3_4": "N"}) == SC
    assert _d(f, **{"3_1": "PN", "3_2": "N", "3_3": "Y", "3_4": "NI"}) == H


def test_rob2_d4_paths() -> None:
    f = rob2.measurement
    assert _d(f, **{"4_1": "Y"}) == H
    assert _d(f, **{"4_1": "N", "4_2": "PY"}) == H
    assert _d(f, **{"4_1": "N", "4_2": "N", "4_3": "N"}) == L
    assert _d(f, **{"4_1": "N", "4_2": "N", "4_3": "Y", "4_4": "PN"}) == L
    assert _d(f, **{"4_1": "N", "4_2": "N", "4_3": "Y", "4_4": "Y", "4_5": "N"}) == SC
    assert _d(f, **{"4_1": "N", "4_2": "N", "4_3": "Y", "4_4": "Y", "4_5": "NI"}) == H
    # 4.2 NI: the Low exits become Some concerns
    assert _d(f, **{"4_1": "NI", "4_2": "NI", "4_3": "N"}) == SC
    assert _d(f, **{"4_1": "N", "4_2": "NI", "4_3": "NI", "4_4": "N"}) == SC
    assert _d(f, **{"4_1": "N", "4_2": "NI", "4_3": "Y", "4_4": "Y", "4_5": "Y"}) == H


def test_rob2_d5_paths() -> None:
    f = rob2.reported_result
    assert _d(f, **{"5_2": "Y", "5_3": "N"}) == H
    assert _d(f, **{"5_2": "N", "5_3": "PY"}) == H
    assert _d(f, **{"5_2": "NI", "5_3": "N"}) == SC
    assert _d(f, **{"5_2": "N", "5_3": "PN", "5_1": "Y"}) == L
    assert _d(f, **{"5_2": "N", "5_3": "N", "5_1": "NI"}) == SC


LOW_ALL = {
    "1.1": "Y", "1.2": "Y", "1.3": "N",
    "2.1": "N", "2.2": "N", "2.6": "Y",
    "3.1": "Y",
    "4.1": "N", "4.2": "N", "4.3": "N",
    "5.1": "Y", "5.2": "N", "5.3": "N",
}  # fmt: skip


def _answers(**over: str) -> dict[str, Answer]:
    merged = {**LOW_ALL, **{k.replace("_", "."): v for k, v in over.items()}}
    return {k: Answer(v) for k, v in merged.items()}


def test_rob2_overall() -> None:
    assert rob2.assess(_answers()).overall == L
    some = rob2.assess(_answers(**{"5_1": "N"}))
    assert some.overall == SC and "D5" in some.reason
    assert rob2.assess(_answers(**{"1_2": "N"})).overall == H
    two = _answers(**{"5_1": "N", "1_3": "Y"})
    assert rob2.assess(two).overall == SC
    strict = rob2.assess(two, some_concerns_in_several_is_high=2)
    assert strict.overall == H and "judged high" in strict.reason


def test_rob2_missing_answer_names_domain_and_question() -> None:
    answers = _answers()
    del answers["1.3"]
    with pytest.raises(AppraisalError, match=r"RoB2 D1: question 1.3"):
        rob2.assess(answers)
    with pytest.raises(AppraisalError, match=r"RoB2 D4: question 4.3"):
        rob2.measurement({"4.1": Answer.N, "4.2": Answer.N, "4.3": Answer.NA})


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (CebmInput(EvidenceKind.SYSTEMATIC_REVIEW_RCT), "1a"),
        (CebmInput(EvidenceKind.SYSTEMATIC_REVIEW_RCT, heterogeneity_troublesome=True), "1a-"),
        (CebmInput(EvidenceKind.RCT, follow_up_fraction=0.9), "1b"),
        (CebmInput(EvidenceKind.RCT, follow_up_fraction=0.7), "2b"),
        (CebmInput(EvidenceKind.RCT, wide_confidence_interval=True), "1b-"),
        (CebmInput(EvidenceKind.ALL_OR_NONE), "1c"),
        (CebmInput(EvidenceKind.SYSTEMATIC_REVIEW_COHORT), "2a"),
        (CebmInput(EvidenceKind.COHORT), "2b"),
        (CebmInput(EvidenceKind.COHORT, poor_quality=True), "4"),
        (CebmInput(EvidenceKind.OUTCOMES_RESEARCH), "2c"),
        (CebmInput(EvidenceKind.SYSTEMATIC_REVIEW_CASE_CONTROL), "3a"),
        (CebmInput(EvidenceKind.CASE_CONTROL), "3b"),
        (CebmInput(EvidenceKind.CASE_CONTROL, poor_quality=True), "4"),
        (CebmInput(EvidenceKind.CASE_SERIES), "4"),
        (CebmInput(EvidenceKind.CASE_REPORT, wide_confidence_interval=True), "4"),
        (CebmInput(EvidenceKind.EXPERT_OPINION), "5"),
    ],
)
def test_cebm_levels(item: CebmInput, expected: str) -> None:
    assert level(item).level == expected


def test_cebm_design_mapping_and_errors() -> None:
    assert kind_from_design("rct") == EvidenceKind.RCT
    assert kind_from_design("prospective_open") == EvidenceKind.CASE_SERIES
    assert kind_from_design("retrospective", has_control_group=True) == EvidenceKind.COHORT
    assert kind_from_design("controlled") == EvidenceKind.COHORT
    assert kind_from_design("case_report") == EvidenceKind.CASE_REPORT
    with pytest.raises(AppraisalError, match="unknown design"):
        kind_from_design("cohort study")
    with pytest.raises(AppraisalError, match="follow_up_fraction"):
        level(CebmInput(EvidenceKind.RCT, follow_up_fraction=1.5))


def _nos(sel: int, comp: int, out: int) -> dict[str, int]:
    from myoivig.review.appraisal.nos import OUTCOME_ITEMS, SELECTION_ITEMS

    stars = {item: int(i < sel) for i, item in enumerate(SELECTION_ITEMS)}
    stars.update({item: int(i < out) for i, item in enumerate(OUTCOME_ITEMS)})
    stars["comparability"] = comp
    return stars


@pytest.mark.parametrize(
    ("sel", "comp", "out", "ahrq"),
    [(4, 2, 3, "good"), (3, 1, 2, "good"), (2, 1, 3, "fair"), (2, 2, 2, "fair"),
     (1, 2, 3, "poor"), (4, 0, 3, "poor"), (4, 2, 1, "poor")],
)  # fmt: skip
def test_nos_ahrq(sel: int, comp: int, out: int, ahrq: str) -> None:
    result = assess_cohort(_nos(sel, comp, out))
    assert result.ahrq == ahrq and result.total == sel + comp + out


def test_nos_bad_input() -> None:
    bad = _nos(4, 2, 3) | {"comparability": 3}
    with pytest.raises(AppraisalError, match="comparability must be 0-2"):
        assess_cohort(bad)
    with pytest.raises(AppraisalError, match="representativeness_of_exposed must be 0 or 1"):
        assess_cohort(_nos(4, 2, 3) | {"representativeness_of_exposed": 2})


def test_robins_i_overall() -> None:
    low = dict.fromkeys(DOMAINS, RobinsJudgement.LOW)
    assert overall(low).overall == RobinsJudgement.LOW
    assert overall(low | {"confounding": RobinsJudgement.MODERATE}).overall == "moderate"
    ni = low | {"missing_data": RobinsJudgement.NO_INFORMATION}
    assert overall(ni).overall == RobinsJudgement.NO_INFORMATION
    serious = ni | {"confounding": RobinsJudgement.SERIOUS}
    assert overall(serious).overall == RobinsJudgement.SERIOUS
    critical = serious | {"selection_of_participants": RobinsJudgement.CRITICAL}
    result = overall(critical)
    assert (
        result.overall == RobinsJudgement.CRITICAL and "selection_of_participants" in result.reason
    )
    with pytest.raises(AppraisalError, match="missing domain"):
        overall({"confounding": RobinsJudgement.LOW})


def test_grade_down_up_clamp_and_reasons() -> None:
    rct = rate(
        GradeInput(
            "response",
            randomised=True,
            down={"imprecision": (2, "15 patients, wide CI"), "risk_of_bias": (1, "crossover")},
        )
    )
    assert rct.certainty == Certainty.VERY_LOW and rct.certainty.symbol == "⊕◯◯◯"
    assert [(s.domain, s.change) for s in rct.steps] == [("imprecision", -2), ("risk_of_bias", -1)]
    obs = rate(GradeInput("survival", randomised=False, up={"large_effect": (2, "RR 6")}))
    assert obs.start == Certainty.LOW and obs.certainty == Certainty.HIGH
    blocked = rate(
        GradeInput(
            "response",
            randomised=False,
            down={"inconsistency": (1, "definitions differ")},
            up={"dose_response": (1, "gradient")},
        )
    )
    assert blocked.certainty == Certainty.VERY_LOW
    assert any("dose_response not applied" in n for n in blocked.notes)
    allowed = rate(
        GradeInput(
            "r",
            randomised=False,
            down={"inconsistency": (1, "x")},
            up={"dose_response": (1, "gradient")},
        ),
        upgrade_despite_downgrades=True,
    )
    assert allowed.certainty == Certainty.LOW
    clamp = rate(GradeInput("r", randomised=False, down={"imprecision": (2, "tiny")}))
    assert clamp.certainty == Certainty.VERY_LOW and any("clamped" in n for n in clamp.notes)
    with pytest.raises(AppraisalError, match="needs a reason"):
        rate(GradeInput("r", randomised=True, down={"imprecision": (1, " ")}))
    with pytest.raises(AppraisalError, match="unknown rate-down domain"):
        rate(GradeInput("r", randomised=True, down={"vibes": (1, "x")}))
    with pytest.raises(AppraisalError, match="allows 0-1"):
        rate(GradeInput("r", randomised=False, up={"dose_response": (2, "x")}))
    assert [large_effect_levels(x) for x in (1.5, 2.5, 0.3, 6, 0.1)] == [0, 1, 1, 2, 2]
