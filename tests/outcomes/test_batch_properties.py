"""The vectorised batch path equals the one-patient rules; TIS properties (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.batch import (
    CATEGORY_NAMES,
    NUMERIC_COLUMNS,
    invalid_rows,
    score_columns,
)
from myoivig.outcomes.batch_io import change_from_row
from myoivig.outcomes.core_set import (
    CoreSetChange,
    EnzymeRule,
    EnzymeValues,
    Pair,
    ScoringSettings,
    validate,
)
from myoivig.outcomes.imacs_doi import imacs_definition_of_improvement
from myoivig.outcomes.tis import total_improvement_score
from myoivig.outcomes.tis_table import Population, TisMeasure

EDGE_VAS = [0.0, 0.5, 0.6, 1.1, 1.5, 2.2, 2.5, 3.5, 4.0, 5.0, 10.0, 0.7, 0.1, 9.9]


def grid(high: float, step: float) -> st.SearchStrategy[float]:
    return st.integers(0, round(high / step)).map(lambda k: round(k * step, 6))


def value(high: float, step: float, edges: list[float]) -> st.SearchStrategy[float]:
    """Grid values (hit band edges exactly), listed edge values, and arbitrary floats."""
    return st.one_of(
        grid(high, step),
        st.sampled_from([e for e in edges if e <= high] or [0.0]),
        st.floats(0, high, allow_nan=False),
    )


def maybe(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return st.one_of(st.just(float("nan")), strategy, strategy, strategy)


def bad_or(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return st.one_of(
        strategy,
        strategy,
        strategy,
        strategy,
        strategy,
        strategy,
        st.sampled_from([-0.5, 11.0, float("inf"), 1e7]),
    )


@st.composite
def rows(draw: st.DrawFn, allow_bad: bool) -> dict[str, float]:
    wrap = bad_or if allow_bad else (lambda s: s)
    row: dict[str, float] = {}
    for name, high, step in (
        ("physician_global", 10, 0.1),
        ("patient_global", 10, 0.5),
        ("extramuscular", 10, 0.05),
        ("haq", 3, 0.125),
    ):
        for suffix in ("bl", "fu"):
            row[f"{name}_{suffix}"] = draw(maybe(wrap(value(high, step, EDGE_VAS))))
    mmt_max = draw(
        st.sampled_from([80.0, 150.0, 150.0, float("nan")] + ([100.0] if allow_bad else []))
    )
    top = 150 if np.isnan(mmt_max) else mmt_max
    for suffix in ("bl", "fu"):
        present = not np.isnan(mmt_max) or allow_bad
        row[f"mmt8_{suffix}"] = (
            draw(maybe(wrap(value(top, 1, [0, 2, 3, 8, 15, 16, 30, 45])))) if present else np.nan
        )
    row["mmt8_max"] = mmt_max
    for enzyme in Enzyme:
        uln = draw(st.one_of(st.just(float("nan")), st.sampled_from([8.0, 34.0, 200.0, 0.6])))
        measured = not np.isnan(uln)
        for suffix in ("bl", "fu"):
            v = (
                draw(maybe(wrap(value(5000, 10, [0.0, 200.0, 400.0, 1000.0]))))
                if measured
                else np.nan
            )
            row[f"{enzyme.value}_{suffix}"] = v
        row[f"{enzyme.value}_uln"] = uln
        if allow_bad and draw(st.integers(0, 20)) == 0:
            row[f"{enzyme.value}_uln"] = float("nan")
            row[f"{enzyme.value}_bl"] = 100.0
    return row


def columns(batch: list[dict[str, float]]) -> dict[str, np.ndarray]:
    return {c: np.array([r[c] for r in batch], dtype=np.float64) for c in NUMERIC_COLUMNS}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(rows(allow_bad=True), min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.sampled_from(list(EnzymeRule)),
)
def test_batch_equals_one_patient_rules(
    batch: list[dict[str, float]], juvenile_flags: list[bool], rule: EnzymeRule
) -> None:
    cols = columns(batch)
    juvenile = np.array(juvenile_flags[: len(batch)], dtype=np.bool_)
    bad = invalid_rows(cols, np.ones(len(batch), dtype=np.bool_))
    scoring = ScoringSettings(enzyme_rule=rule)
    scores = score_columns(cols, juvenile, scoring)
    for i in range(len(batch)):
        population = Population.JUVENILE if juvenile[i] else Population.ADULT
        change = change_from_row(cols, i, population)
        assert bool(bad[i]) == bool(validate(change)), (i, validate(change))
        if bad[i]:
            continue
        tis = total_improvement_score(change, scoring)
        doi = imacs_definition_of_improvement(change).responder
        assert scores.tis_half_min[i] / 2 == tis.tis_min
        assert scores.tis_half_max[i] / 2 == tis.tis_max
        category = None if scores.category[i] < 0 else CATEGORY_NAMES[scores.category[i]]
        assert category == (None if tis.category is None else tis.category.value)
        assert {1: True, 0: False, -1: None}[int(scores.doi[i])] == doi


VAS = st.floats(0, 10, allow_nan=False)


@st.composite
def complete_changes(draw: st.DrawFn) -> CoreSetChange:
    def pair(high: float) -> Pair:
        return Pair(draw(value(high, 0.1, EDGE_VAS)), draw(value(high, 0.1, EDGE_VAS)))

    mmt_max = draw(st.sampled_from([80, 150]))
    return CoreSetChange(
        population=draw(st.sampled_from(list(Population))),
        physician_global=pair(10),
        patient_global=pair(10),
        extramuscular=pair(10),
        haq=pair(3),
        mmt8=pair(mmt_max),
        mmt8_max=mmt_max,
        enzymes={Enzyme.CK: EnzymeValues(draw(value(5000, 1, [])), draw(value(5000, 1, [])), 200)},
    )


FIELDS = ("physician_global", "patient_global", "extramuscular", "haq", "mmt8", "ck")


LIMITS = {"physician_global": 10.0, "patient_global": 10.0, "extramuscular": 10.0, "haq": 3.0}


def _improve(change: CoreSetChange, field: str, amount: float) -> CoreSetChange:
    """Move one measure's follow-up in the better direction by `amount` (clamped to its scale)."""
    if field == "ck":
        ck = change.enzymes[Enzyme.CK]
        assert ck.follow_up is not None
        fu = min(1e6, max(0.0, ck.follow_up - amount))
        return replace(change, enzymes={Enzyme.CK: replace(ck, follow_up=fu)})
    pair: Pair = getattr(change, field)
    assert pair.follow_up is not None
    if field == "mmt8":
        assert change.mmt8_max is not None
        fu = min(change.mmt8_max, max(0.0, pair.follow_up + amount))
        return replace(change, mmt8=replace(pair, follow_up=fu))
    fu = min(LIMITS[field], max(0.0, pair.follow_up - amount))
    return replace(change, **{field: replace(pair, follow_up=fu)})


@settings(max_examples=150, deadline=None)
@given(complete_changes(), st.sampled_from(FIELDS), st.floats(0, 200, allow_nan=False))
def test_tis_bounded_and_monotone_in_each_measure(
    change: CoreSetChange, field: str, amount: float
) -> None:
    before = total_improvement_score(change)
    assert before.tis is not None and 0 <= before.tis <= 100
    better = total_improvement_score(_improve(change, field, amount))
    assert better.tis is not None and better.tis >= before.tis
    worse = total_improvement_score(_improve(change, field, -amount))
    assert worse.tis is not None and 0 <= worse.tis <= before.tis


def test_enzyme_ratio_tie_in_floats_is_broken_exactly_in_both_paths() -> None:
    # 199999997/99999999 > 199999995/99999998 exactly (cross products differ by 1), but the two
    # float ratios are equal: the batch path must settle it in integers like the one-patient one.
    assert 199999997 / 99999999 == 199999995 / 99999998  # the fixed-point ratios
    ck = EnzymeValues(19999.9995, 0.0, 9999.9998)  # would score 7.5 (100 % fall)
    aldolase = EnzymeValues(19999.9997, 19999.9997, 9999.9999)  # the most abnormal: 0 points
    change = CoreSetChange(enzymes={Enzyme.CK: ck, Enzyme.ALDOLASE: aldolase})
    one = total_improvement_score(change)
    assert one.enzyme_used is Enzyme.ALDOLASE
    assert one.measures[TisMeasure.ENZYME].points_min == 0
    row = {c: np.nan for c in NUMERIC_COLUMNS}
    row.update(ck_bl=ck.baseline, ck_fu=ck.follow_up, ck_uln=ck.uln)
    row.update(aldolase_bl=aldolase.baseline, aldolase_fu=aldolase.follow_up)
    row["aldolase_uln"] = aldolase.uln
    scores = score_columns(columns([row]), np.zeros(1, dtype=np.bool_))
    assert (scores.tis_half_min[0], scores.tis_half_max[0]) == (0, 2 * one.tis_max)
