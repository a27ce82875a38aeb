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
from myoivig.outcomes.fixed_point import CLINICAL_SCALE, ENZYME_SCALE
from myoivig.outcomes.imacs_doi import IMPROVED_PCT, MAX_WORSE, MIN_IMPROVED, WORSE_PCT
from myoivig.outcomes.tis_table import (
    POINTS_TABLE,
    Population,
    TisCategory,
    TisMeasure,
)

F64 = npt.NDArray[np.float64]
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


@dataclass(frozen=True, slots=True)
class BatchScores:
    """Per-row results; TIS in half points, category code index into CATEGORY_NAMES or -1,
    DOI 1 (true), 0 (false) or -1 (undetermined)."""

    tis_half_min: npt.NDArray[np.int16]
    tis_half_max: npt.NDArray[np.int16]
    category: npt.NDArray[np.int8]
    doi: npt.NDArray[np.int8]


def _fixed(values: F64, scale: int) -> F64:
    """`round(x * scale)` as float64: the same integers as fixed_point.to_fixed (exact, since
    every valid value scales below 2**53); NaN stays NaN so blanks fall out of comparisons."""
    return np.rint(values * float(scale))


def _band_fixed(measure: TisMeasure, diff: F64, den: int) -> npt.NDArray[np.int16]:
    """Half points for `100 * diff / den` % with a constant denominator.

    `100 * diff > edge * den` is `diff > edge * den / 100`, an exact integer threshold here.
    """
    row = POINTS_TABLE[measure]
    thresholds = []
    for edge in row.edges_pct:
        assert (edge * den) % 100 == 0
        thresholds.append(float(edge * den // 100))
    assert 100 % IMPROVED_PCT == 0 and 100 % WORSE_PCT == 0
    band = (diff > thresholds[0]).view(np.int8)
    for threshold in thresholds[1:]:
        band += diff > threshold
    return np.asarray(row.half_points, dtype=np.int16)[band]


def _band_per_row(measure: TisMeasure, diff: F64, den: F64) -> npt.NDArray[np.int16]:
    """Half points for `100 * diff / den` % with a per-row denominator (exact integer floats)."""
    row = POINTS_TABLE[measure]
    scaled = diff * 100.0
    band = np.zeros(diff.shape, dtype=np.int8)
    for edge in row.edges_pct:
        band += scaled > den * float(edge)
    return np.asarray(row.half_points, dtype=np.int16)[band]


def _category_lut() -> npt.NDArray[np.int8]:
    """Category code for every half-point total 0..200, adults then juveniles."""
    from myoivig.outcomes.tis_table import category_for

    codes = [
        CATEGORY_NAMES.index(category_for(h, population).value)
        for population in (Population.ADULT, Population.JUVENILE)
        for h in range(201)
    ]
    return np.asarray(codes, dtype=np.int8)


_CATEGORY_LUT = _category_lut()


def score_columns(
    cols: Mapping[str, F64], juvenile: Bools, settings: ScoringSettings | None = None
) -> BatchScores:
    """Score valid rows. `cols` maps every NUMERIC_COLUMNS name to float64 (NaN = blank).

    All arithmetic is on integer-valued float64 (fixed point, < 2**53, hence exact); the one
    product that can exceed 2**53 (ranking enzymes by BL/ULN) is settled in int64 on ties.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _score(cols, juvenile, settings or ScoringSettings())


def _score(cols: Mapping[str, F64], juvenile: Bools, settings: ScoringSettings) -> BatchScores:
    n = juvenile.shape[0]
    half_min = np.zeros(n, dtype=np.int16)
    half_max = np.zeros(n, dtype=np.int16)
    n_improved = np.zeros(n, dtype=np.int8)
    n_worse = np.zeros(n, dtype=np.int8)
    n_missing = np.zeros(n, dtype=np.int8)

    def add_doi(gain: F64, baseline: F64, missing: Bools) -> None:
        """Count DOI improvement/worsening exactly on integer-valued floats.

        gain*100 >= 20*b and gain > 0  <=>  gain*5 >= max(b, 0.5)  (gain, b integers, b >= 0);
        -gain*100 >= 25*b and gain < 0  <=>  gain*4 <= -max(b, 0.5).
        A NaN gain (a blank) makes both comparisons False, as "not complete" requires.
        """
        floor = np.maximum(baseline, 0.5)
        n_improved.__iadd__(gain * (100.0 / IMPROVED_PCT) >= floor)
        n_worse.__iadd__(gain * (100.0 / WORSE_PCT) <= -floor)
        n_missing.__iadd__(missing)

    for measure, name, scale_max in LOWER_BETTER:
        b = _fixed(cols[f"{name}_bl"], CLINICAL_SCALE)
        f = _fixed(cols[f"{name}_fu"], CLINICAL_SCALE)
        b_na, f_na = np.isnan(b), np.isnan(f)
        den = scale_max * CLINICAL_SCALE
        pts = _band_fixed(measure, np.where(b_na, den, b) - np.where(f_na, 0.0, f), den)
        missing = b_na | f_na
        half_max += pts
        half_min += pts * ~missing
        add_doi(b - f, b, missing)

    # MMT-8: improvement = (FU - BL) / maximum (80 or 150); both are brought to the common
    # denominator 1200 (x15 and x8) so one exact threshold table serves both scales.
    b = _fixed(cols["mmt8_bl"], CLINICAL_SCALE)
    f = _fixed(cols["mmt8_fu"], CLINICAL_SCALE)
    mx = cols["mmt8_max"]
    b_na, f_na, mx_na = np.isnan(b), np.isnan(f), np.isnan(mx)
    top = np.where(mx == 80, 80.0, 150.0) * CLINICAL_SCALE
    diff = np.where(f_na, top, f) - np.where(b_na, 0.0, b)
    pts = _band_fixed(TisMeasure.MMT8, diff * np.where(mx == 80, 15.0, 8.0), 1200 * CLINICAL_SCALE)
    pts[mx_na] = POINTS_TABLE[TisMeasure.MMT8].max_half_points
    missing = b_na | f_na
    half_max += pts
    half_min += pts * ~(missing | mx_na)
    mmt_gain = f - b
    mmt_worse = mmt_gain * (100.0 / WORSE_PCT) <= -np.maximum(b, 0.5)
    add_doi(mmt_gain, b, missing)

    # Most abnormal enzyme: largest BL/ULN, ties to the earlier enzyme (core_set.py). A float
    # ratio that is strictly larger is exactly larger (correct rounding is monotone); equal
    # float ratios are compared exactly in int64.
    chosen = np.zeros(n, dtype=np.bool_)
    best_b = np.zeros(n)
    best_u = np.ones(n)
    best_r = np.full(n, -1.0)
    best_f = np.full(n, np.nan)
    best_den = np.zeros(n)
    for enzyme in ENZYME_ORDER:
        eb = _fixed(cols[f"{enzyme.value}_bl"], ENZYME_SCALE)
        eu = _fixed(cols[f"{enzyme.value}_uln"], ENZYME_SCALE)
        ratio = eb / eu  # NaN when not eligible
        take = ratio > best_r
        ties = np.flatnonzero((ratio == best_r) & chosen)
        if ties.size:
            exact = eb[ties].astype(np.int64) * best_u[ties].astype(np.int64) > (
                best_b[ties].astype(np.int64) * eu[ties].astype(np.int64)
            )
            take[ties] = exact
        if not take.any():
            continue
        chosen |= take
        np.copyto(best_b, eb, where=take)
        np.copyto(best_u, eu, where=take)
        np.copyto(best_r, ratio, where=take)
        np.copyto(best_f, _fixed(cols[f"{enzyme.value}_fu"], ENZYME_SCALE), where=take)
        if settings.enzyme_rule is EnzymeRule.ULN_RANGE:
            np.copyto(best_den, eu * float(settings.uln_multipliers[enzyme]), where=take)
    if settings.enzyme_rule is EnzymeRule.RELATIVE:
        best_den = best_b
    f_na = np.isnan(best_f)
    pts = _band_per_row(TisMeasure.ENZYME, best_b - np.where(f_na, 0.0, best_f), best_den)
    pts[~chosen] = POINTS_TABLE[TisMeasure.ENZYME].max_half_points
    missing = ~chosen | f_na
    half_max += pts
    half_min += pts * ~missing
    add_doi(best_b - best_f, best_b, missing)

    offset = juvenile.astype(np.int16) * 201
    cat_min = _CATEGORY_LUT[half_min + offset]
    cat_max = _CATEGORY_LUT[half_max + offset]
    category = np.where(cat_min == cat_max, cat_min, np.int8(UNDETERMINED)).astype(np.int8)

    mmt_missing = np.isnan(cols["mmt8_bl"]) | np.isnan(cols["mmt8_fu"])
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
