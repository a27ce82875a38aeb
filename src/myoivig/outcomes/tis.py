"""The 2016 ACR/EULAR Total Improvement Score (TIS) for one patient, adult or juvenile.

Percent change is "absolute": the change as a percentage of the instrument's full scale (VAS 10 cm,
HAQ 3, MMT-8 80 or 150), signed so that improvement is positive (Aggarwal R et al., Arthritis
Rheumatol 2017;69:898-910; the IMACS calculators ask for each scale's maximum). The enzyme percent
change follows `ScoringSettings.enzyme_rule`. Every comparison with a band edge is made on
fixed-point integers (fixed_point.py), so an exact 15 % change scores in the >5-15 % band.

Missing measures (the 2017 criteria do not say): a missing measure is not scored as 0. The result
carries the lowest possible TIS (the missing follow-up or baseline takes its worst value: 0
points) and the highest possible TIS (the missing value takes its best value given what is
known, or the measure's maximum when nothing is known). `tis` and `category` are set only when
the bounds coincide (tis) or fall in the same category (category).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.core_set import (
    HAQ_MAX,
    VAS_MAX,
    CoreSetChange,
    EnzymeRule,
    Pair,
    ScoringSettings,
    fixed_pair,
    most_abnormal_enzyme,
    require_valid,
)
from myoivig.outcomes.fixed_point import CLINICAL_SCALE, ENZYME_SCALE, to_fixed
from myoivig.outcomes.tis_table import (
    POINTS_TABLE,
    TisCategory,
    TisMeasure,
    category_for,
)


@dataclass(frozen=True)
class MeasureScore:
    """Points of one measure; `improvement_pct` is None when the measure is incomplete."""

    improvement_pct: Fraction | None
    half_points_min: int
    half_points_max: int

    @property
    def points_min(self) -> float:
        return self.half_points_min / 2

    @property
    def points_max(self) -> float:
        return self.half_points_max / 2


@dataclass(frozen=True)
class TisResult:
    tis: float | None
    tis_min: float
    tis_max: float
    category: TisCategory | None
    measures: dict[TisMeasure, MeasureScore]
    enzyme_used: Enzyme | None

    @property
    def missing(self) -> tuple[TisMeasure, ...]:
        return tuple(m for m, s in self.measures.items() if s.improvement_pct is None)


def band_index(numerator: int, denominator: int, edges: tuple[int, ...]) -> int:
    """Number of edges the improvement `100 * numerator / denominator` % strictly exceeds.

    Bands are lower-exclusive, upper-inclusive; `denominator` is >= 0 and a zero denominator
    (relative enzyme change from a baseline of 0) never exceeds an edge.
    """
    return sum(1 for edge in edges if numerator * 100 > edge * denominator)


def _half_points(measure: TisMeasure, numerator: int, denominator: int) -> int:
    row = POINTS_TABLE[measure]
    return row.half_points[band_index(numerator, denominator, row.edges_pct)]


def _pct(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator * 100, denominator) if denominator else None


def _score_lower_better(measure: TisMeasure, pair: Pair, scale_max: int) -> MeasureScore:
    """VAS/HAQ: improvement = (BL - FU) / scale max."""
    bl, fu = fixed_pair(pair)
    den = scale_max * CLINICAL_SCALE
    if bl is not None and fu is not None:
        points = _half_points(measure, bl - fu, den)
        return MeasureScore(_pct(bl - fu, den), points, points)
    best_bl = den if bl is None else bl
    best_fu = 0 if fu is None else fu
    return MeasureScore(None, 0, _half_points(measure, best_bl - best_fu, den))


def _score_mmt(change: CoreSetChange) -> MeasureScore:
    """MMT-8: improvement = (FU - BL) / MMT-8 maximum (80 or 150)."""
    row = POINTS_TABLE[TisMeasure.MMT8]
    if change.mmt8_max is None:
        return MeasureScore(None, 0, row.max_half_points)
    bl, fu = fixed_pair(change.mmt8)
    den = int(change.mmt8_max) * CLINICAL_SCALE  # 80 or 150 after validation
    if bl is not None and fu is not None:
        points = _half_points(TisMeasure.MMT8, fu - bl, den)
        return MeasureScore(_pct(fu - bl, den), points, points)
    best_bl = 0 if bl is None else bl
    best_fu = den if fu is None else fu
    return MeasureScore(None, 0, _half_points(TisMeasure.MMT8, best_fu - best_bl, den))


def _score_enzyme(
    change: CoreSetChange, settings: ScoringSettings
) -> tuple[MeasureScore, Enzyme | None]:
    """Most abnormal enzyme: improvement = (BL - FU) / BL or / (k x ULN) per the setting."""
    row = POINTS_TABLE[TisMeasure.ENZYME]
    enzyme = most_abnormal_enzyme(change)
    if enzyme is None:
        return MeasureScore(None, 0, row.max_half_points), None
    values = change.enzymes[enzyme]
    assert values.baseline is not None and values.uln is not None
    bl = to_fixed(values.baseline, ENZYME_SCALE)
    if settings.enzyme_rule is EnzymeRule.RELATIVE:
        den = bl
    else:
        den = settings.uln_multipliers[enzyme] * to_fixed(values.uln, ENZYME_SCALE)
    if values.follow_up is None:
        return MeasureScore(None, 0, _half_points(TisMeasure.ENZYME, bl, den)), enzyme
    fu = to_fixed(values.follow_up, ENZYME_SCALE)
    points = _half_points(TisMeasure.ENZYME, bl - fu, den)
    return MeasureScore(_pct(bl - fu, den), points, points), enzyme


def total_improvement_score(
    change: CoreSetChange, settings: ScoringSettings | None = None
) -> TisResult:
    """Score one baseline/follow-up pair; raises CoreSetError on out-of-range input."""
    settings = settings or ScoringSettings()
    require_valid(change)
    enzyme_score, enzyme = _score_enzyme(change, settings)
    measures = {
        TisMeasure.PHYSICIAN_GLOBAL: _score_lower_better(
            TisMeasure.PHYSICIAN_GLOBAL, change.physician_global, VAS_MAX
        ),
        TisMeasure.PATIENT_GLOBAL: _score_lower_better(
            TisMeasure.PATIENT_GLOBAL, change.patient_global, VAS_MAX
        ),
        TisMeasure.MMT8: _score_mmt(change),
        TisMeasure.HAQ: _score_lower_better(TisMeasure.HAQ, change.haq, HAQ_MAX),
        TisMeasure.ENZYME: enzyme_score,
        TisMeasure.EXTRAMUSCULAR: _score_lower_better(
            TisMeasure.EXTRAMUSCULAR, change.extramuscular, VAS_MAX
        ),
    }
    low = sum(s.half_points_min for s in measures.values())
    high = sum(s.half_points_max for s in measures.values())
    cat_low = category_for(low, change.population)
    cat_high = category_for(high, change.population)
    return TisResult(
        tis=low / 2 if low == high else None,
        tis_min=low / 2,
        tis_max=high / 2,
        category=cat_low if cat_low is cat_high else None,
        measures=measures,
        enzyme_used=enzyme,
    )
