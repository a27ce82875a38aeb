"""Vectorised TIS and IMACS DOI over many baseline/follow-up pairs (NumPy, no I/O).

This is the same rule as `tis.total_improvement_score` and
`imacs_doi.imacs_definition_of_improvement`, written over arrays: inputs are converted to
fixed-point int64 with the same rounding (fixed_point.py), every band edge is an integer
comparison, so the results are identical to the one-patient functions row by row (a hypothesis
test checks this). Rows that fail validation are reported by `validate_columns` and must not be
scored; `score_columns` assumes valid input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from myoivig.outcomes.core_set import (
    ENZYME_ORDER,
    ENZYME_ULN_MAX,
    ENZYME_ULN_MIN,
    ENZYME_VALUE_MAX,
    HAQ_MAX,
    MMT8_SCALES,
    VAS_MAX,
    EnzymeRule,
    ScoringSettings,
)
from myoivig.outcomes.fixed_point import CLINICAL_SCALE, ENZYME_SCALE, to_fixed_array
from myoivig.outcomes.imacs_doi import IMPROVED_PCT, MAX_WORSE, MIN_IMPROVED, WORSE_PCT
from myoivig.outcomes.tis_table import (
    POINTS_TABLE,
    THRESHOLDS_HALF_POINTS,
    Population,
    TisCategory,
    TisMeasure,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

LOWER_BETTER: tuple[tuple[TisMeasure, str, int], ...] = (
    (TisMeasure.PHYSICIAN_GLOBAL, "physician_global", VAS_MAX),
    (TisMeasure.PATIENT_GLOBAL, "patient_global", VAS_MAX),
    (TisMeasure.HAQ, "haq", HAQ_MAX),
    (TisMeasure.EXTRAMUSCULAR, "extramuscular", VAS_MAX),
)
NUMERIC_COLUMNS: tuple[str, ...] = (
    *(f"{name}_{s}" for _, name, _ in LOWER_BETTER for s in ("bl", "fu")),
    "mmt8_bl",
    "mmt8_fu",
    "mmt8_max",
    *(f"{e.value}_{s}" for e in ENZYME_ORDER for s in ("bl", "fu", "uln")),
)
INPUT_COLUMNS: tuple[str, ...] = ("id", "population", *NUMERIC_COLUMNS)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.value for c in TisCategory)  # code = index
UNDETERMINED = -1


@dataclass(frozen=True)
class BatchScores:
    """Per-row results; TIS in half points, category code index into CATEGORY_NAMES or -1,
    DOI 1 (true), 0 (false) or -1 (undetermined)."""

    tis_half_min: npt.NDArray[np.int16]
    tis_half_max: npt.NDArray[np.int16]
    category: npt.NDArray[np.int8]
    doi: npt.NDArray[np.int8]


def _points(measure: TisMeasure, num: I64, den: I64 | int) -> npt.NDArray[np.int16]:
    row = POINTS_TABLE[measure]
    band = np.zeros(num.shape, dtype=np.int8)
    scaled = num * 100
    for edge in row.edges_pct:
        band += scaled > den * edge
    return np.asarray(row.half_points, dtype=np.int16)[band]


def _doi_state(gain: I64, baseline: I64, complete: Bools) -> tuple[Bools, Bools]:
    improved = complete & (gain > 0) & (gain * 100 >= baseline * IMPROVED_PCT)
    worse = complete & (gain < 0) & (-gain * 100 >= baseline * WORSE_PCT)
    return improved, worse


def _category(half: npt.NDArray[np.int16], juvenile: Bools) -> npt.NDArray[np.int8]:
    code = np.zeros(half.shape, dtype=np.int8)
    adult_t = THRESHOLDS_HALF_POINTS[Population.ADULT]
    juvenile_t = THRESHOLDS_HALF_POINTS[Population.JUVENILE]
    for a, j in zip(adult_t, juvenile_t, strict=True):
        code += half >= np.where(juvenile, j, a)
    return code


def score_columns(
    cols: Mapping[str, F64], juvenile: Bools, settings: ScoringSettings | None = None
) -> BatchScores:
    """Score valid rows. `cols` maps every NUMERIC_COLUMNS name to float64 (NaN = blank)."""
    settings = settings or ScoringSettings()
    n = juvenile.shape[0]
    half_min = np.zeros(n, dtype=np.int16)
    half_max = np.zeros(n, dtype=np.int16)
    n_improved = np.zeros(n, dtype=np.int8)
    n_worse = np.zeros(n, dtype=np.int8)
    n_missing = np.zeros(n, dtype=np.int8)

    def add_doi(improved: Bools, worse: Bools, complete: Bools) -> None:
        nonlocal n_improved, n_worse, n_missing
        n_improved += improved
        n_worse += worse
        n_missing += ~complete

    for measure, name, scale_max in LOWER_BETTER:
        bl, fu = cols[f"{name}_bl"], cols[f"{name}_fu"]
        bl_na, fu_na = np.isnan(bl), np.isnan(fu)
        b, f = to_fixed_array(bl, CLINICAL_SCALE), to_fixed_array(fu, CLINICAL_SCALE)
        den = scale_max * CLINICAL_SCALE
        pts = _points(measure, np.where(bl_na, den, b) - np.where(fu_na, 0, f), den)
        complete = ~(bl_na | fu_na)
        half_max += pts
        half_min += np.where(complete, pts, 0).astype(np.int16)
        add_doi(*_doi_state(b - f, b, complete), complete)

    # MMT-8: improvement = (FU - BL) / maximum; a missing maximum means nothing is known.
    bl, fu, mx = cols["mmt8_bl"], cols["mmt8_fu"], cols["mmt8_max"]
    bl_na, fu_na, mx_na = np.isnan(bl), np.isnan(fu), np.isnan(mx)
    b, f = to_fixed_array(bl, CLINICAL_SCALE), to_fixed_array(fu, CLINICAL_SCALE)
    den_mmt = np.where(mx_na, 1, to_fixed_array(mx, CLINICAL_SCALE))
    pts = _points(TisMeasure.MMT8, np.where(fu_na, den_mmt, f) - np.where(bl_na, 0, b), den_mmt)
    mmt_top = POINTS_TABLE[TisMeasure.MMT8].max_half_points
    pts = np.where(mx_na, mmt_top, pts).astype(np.int16)
    complete = ~(bl_na | fu_na)
    half_max += pts
    half_min += np.where(complete & ~mx_na, pts, 0).astype(np.int16)
    mmt_improved, mmt_worse = _doi_state(f - b, b, complete)
    add_doi(mmt_improved, mmt_worse, complete)

    # Most abnormal enzyme: largest BL/ULN, ties to the earlier enzyme (core_set.py).
    chosen = np.zeros(n, dtype=np.bool_)
    best_b = np.zeros(n, dtype=np.int64)
    best_u = np.ones(n, dtype=np.int64)
    best_f = np.zeros(n, dtype=np.int64)
    best_f_na = np.ones(n, dtype=np.bool_)
    best_den = np.zeros(n, dtype=np.int64)
    for enzyme in ENZYME_ORDER:
        e_bl, e_fu, e_uln = (cols[f"{enzyme.value}_{s}"] for s in ("bl", "fu", "uln"))
        eligible = ~(np.isnan(e_bl) | np.isnan(e_uln))
        if not eligible.any():
            continue
        eb = to_fixed_array(e_bl, ENZYME_SCALE)
        eu = to_fixed_array(e_uln, ENZYME_SCALE)
        take = eligible & (~chosen | (eb * best_u > best_b * eu))
        chosen |= take
        best_b = np.where(take, eb, best_b)
        best_u = np.where(take, eu, best_u)
        best_f = np.where(take, to_fixed_array(e_fu, ENZYME_SCALE), best_f)
        best_f_na = np.where(take, np.isnan(e_fu), best_f_na)
        if settings.enzyme_rule is EnzymeRule.RELATIVE:
            best_den = np.where(take, eb, best_den)
        else:
            best_den = np.where(take, settings.uln_multipliers[enzyme] * eu, best_den)
    enzyme_top = POINTS_TABLE[TisMeasure.ENZYME].max_half_points
    pts = _points(TisMeasure.ENZYME, best_b - np.where(best_f_na, 0, best_f), best_den)
    pts = np.where(chosen, pts, enzyme_top).astype(np.int16)
    complete = chosen & ~best_f_na
    half_max += pts
    half_min += np.where(complete, pts, 0).astype(np.int16)
    add_doi(*_doi_state(best_b - best_f, best_b, complete), complete)

    cat_min, cat_max = _category(half_min, juvenile), _category(half_max, juvenile)
    category = np.where(cat_min == cat_max, cat_min, UNDETERMINED).astype(np.int8)

    mmt_missing = ~(~np.isnan(cols["mmt8_bl"]) & ~np.isnan(cols["mmt8_fu"]))
    doi_false = mmt_worse | (n_worse > MAX_WORSE) | (n_improved + n_missing < MIN_IMPROVED)
    doi_true = (
        ~doi_false
        & (n_improved >= MIN_IMPROVED)
        & (n_worse + n_missing <= MAX_WORSE)
        & ~mmt_missing
    )
    doi = np.where(doi_false, 0, np.where(doi_true, 1, UNDETERMINED)).astype(np.int8)
    return BatchScores(half_min, half_max, category, doi)


@dataclass(frozen=True)
class RowIssue:
    row: int  # 0-based position in the input
    field: str
    value: object
    reason: str


def _range_bad(values: F64, low: float, high: float) -> Bools:
    """Not blank and (not finite or outside [low, high]); NaN is blank."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(values) & ~((values >= low) & (values <= high))


def invalid_rows(cols: Mapping[str, F64], population_ok: Bools) -> Bools:
    """Rows with any out-of-range or inconsistent value (same rules as core_set.validate)."""
    bad = ~population_ok
    for _, name, high in LOWER_BETTER:
        bad |= _range_bad(cols[f"{name}_bl"], 0, high)
        bad |= _range_bad(cols[f"{name}_fu"], 0, high)
    bad |= _mmt_bad(cols)
    for enzyme in ENZYME_ORDER:
        bad |= _enzyme_bad(cols, enzyme.value)
    return bad


def _mmt_bad(cols: Mapping[str, F64]) -> Bools:
    mx, bl, fu = cols["mmt8_max"], cols["mmt8_bl"], cols["mmt8_fu"]
    mx_na = np.isnan(mx)
    mx_bad = ~mx_na & ~np.isin(mx, MMT8_SCALES)
    needs_max = mx_na & ~(np.isnan(bl) & np.isnan(fu))
    limit = np.where(mx_na | mx_bad, np.inf, mx)
    with np.errstate(invalid="ignore"):
        out = ~np.isnan(bl) & ~((bl >= 0) & (bl <= limit))
        out |= ~np.isnan(fu) & ~((fu >= 0) & (fu <= limit))
    return mx_bad | needs_max | (out & ~mx_na & ~mx_bad)


def _enzyme_bad(cols: Mapping[str, F64], prefix: str) -> Bools:
    bl, fu, uln = (cols[f"{prefix}_{s}"] for s in ("bl", "fu", "uln"))
    bad = _range_bad(bl, 0, ENZYME_VALUE_MAX) | _range_bad(fu, 0, ENZYME_VALUE_MAX)
    bad |= _range_bad(uln, ENZYME_ULN_MIN, ENZYME_ULN_MAX)
    bad |= np.isnan(uln) & ~(np.isnan(bl) & np.isnan(fu))
    return bad
