"""Cohen's kappa: hand-worked values, scikit-learn cross-check, and per-pair agreement."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from myoivig.review.screening.agreement import cohen_kappa, pair_agreements
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.protocol import ScreeningProtocol
from myoivig.review.screening.workflow import ScreeningLog


def test_kappa_hand_worked_two_by_two() -> None:
    # 50 records: both include 20, A include/B exclude 5, A exclude/B include 10, both exclude 15.
    # p_o = 35/50 = 0.7; A includes 25/50, B includes 30/50;
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    a = ["in"] * 20 + ["in"] * 5 + ["out"] * 10 + ["out"] * 15
    b = ["in"] * 20 + ["out"] * 5 + ["in"] * 10 + ["out"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_hand_worked_three_categories() -> None:
    # A: x x x x y y y z z z ; B: x x x y y y y z z x -> 8 of 10 agree, p_o = 0.8
    # marginals A: x4 y3 z3; B: x4 y4 z2 -> p_e = (4*4 + 3*4 + 3*2) / 100 = 0.34
    # kappa = (0.8 - 0.34) / (1 - 0.34) = 0.46 / 0.66
    a = list("xxxxyyyzzz")
    b = list("xxxyyyyzzx")
    assert cohen_kappa(a, b) == pytest.approx(0.46 / 0.66)


def test_kappa_matches_scikit_learn_on_random_ratings() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        a = rng.choice(["include", "exclude", "maybe"], size=60, p=[0.2, 0.7, 0.1]).tolist()
        flip = rng.random(60) < 0.25
        b = [rng.choice(["include", "exclude"]) if f else x for x, f in zip(a, flip, strict=True)]
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_undefined_and_perfect() -> None:
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None  # p_e = 1
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "y"], ["x", "y"]) == pytest.approx(1.0)
    with pytest.raises(ScreeningError, match="must match"):
        cohen_kappa(["x"], ["x", "y"])


def test_pair_agreements_per_stage_and_pair() -> None:
    protocol = ScreeningProtocol(("other",), ("ann", "bob", "cai"), ("dee",))
    t = datetime(2026, 1, 1, tzinfo=UTC)
    d = EventKind.DECISION
    rows = [
        ("ann", "r1", Verdict.INCLUDE),
        ("bob", "r1", Verdict.INCLUDE),
        ("ann", "r2", Verdict.EXCLUDE),
        ("bob", "r2", Verdict.INCLUDE),
        ("ann", "r3", Verdict.EXCLUDE),
        ("bob", "r3", Verdict.EXCLUDE),
        ("ann", "r4", Verdict.EXCLUDE),
        ("cai", "r4", Verdict.EXCLUDE),
    ]
    events = [
        ScreeningEvent(
            d,
            Stage.TITLE_ABSTRACT,
            rid,
            who,
            v,
            t,
            "other" if v is Verdict.EXCLUDE else None,
        )
        for who, rid, v in rows
    ]
    log = ScreeningLog(protocol, ["r1", "r2", "r3", "r4"], events)
    pairs = {(p.reviewer_a, p.reviewer_b): p for p in pair_agreements(log, Stage.TITLE_ABSTRACT)}
    assert set(pairs) == {("ann", "bob"), ("ann", "cai")}
    ab = pairs[("ann", "bob")]
    assert (ab.n_records, ab.n_agree) == (3, 2)
    assert ab.table == {"exclude|exclude": 1, "exclude|include": 1, "include|include": 1}
    # p_o = 2/3; ann: inc 1/3, bob: inc 2/3 -> p_e = 2/9 + 2/9 = 4/9; kappa = (2/3-4/9)/(5/9)
    assert ab.kappa == pytest.approx(0.4)
    assert pairs[("ann", "cai")].kappa is None
    assert pair_agreements(log, Stage.FULL_TEXT) == []


def test_pending_records_are_left_out_of_agreement() -> None:
    protocol = ScreeningProtocol(("other",), ("a", "b", "c"), ("d",), reviewers_per_record=3)
    t = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        ScreeningEvent(EventKind.DECISION, Stage.TITLE_ABSTRACT, "r1", who, Verdict.INCLUDE, t)
        for who in ("a", "b")
    ]
    log = ScreeningLog(protocol, ["r1"], events)
    assert pair_agreements(log, Stage.TITLE_ABSTRACT) == []
    assert pair_agreements(log, Stage.FULL_TEXT) == []
