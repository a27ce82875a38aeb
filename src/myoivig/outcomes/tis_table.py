"""The 2016 ACR/EULAR myositis response criteria: points table and improvement thresholds.

Source (points, bands and thresholds): Aggarwal R, Rider LG, Ruperto N, et al. 2016 American
College of Rheumatology/European League Against Rheumatism criteria for minimal, moderate, and
major clinical response in adult dermatomyositis and polymyositis. Arthritis Rheumatol
2017;69(5):898-910, doi:10.1002/art.40064; and Rider LG, Aggarwal R, et al. ... juvenile
dermatomyositis. Arthritis Rheumatol 2017;69(5):911-923, doi:10.1002/art.40060, Table 3 (read at
https://pmc.ncbi.nlm.nih.gov/articles/PMC5577002/table/T3). One points table serves adults and
juveniles; only the thresholds differ.

Bands are lower-exclusive and upper-inclusive: the first band is "worsening to 5 % improvement"
(MMT: to 2 %), then ">5-15 %", ">15-25 %", ">25-40 %", ">40 %" (MMT: 2/10/20/30). Points are
stored in half points (integers) so sums are exact; 7.5 points is stored as 15.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Population(StrEnum):
    ADULT = "adult"
    JUVENILE = "juvenile"


class TisMeasure(StrEnum):
    """The six core set measures scored by the TIS, in the order of Table 3."""

    PHYSICIAN_GLOBAL = "physician_global"
    PATIENT_GLOBAL = "patient_global"
    MMT8 = "mmt8"
    HAQ = "haq"
    ENZYME = "enzyme"
    EXTRAMUSCULAR = "extramuscular"


class TisCategory(StrEnum):
    NONE = "none"
    MINIMAL = "minimal"
    MODERATE = "moderate"
    MAJOR = "major"


@dataclass(frozen=True)
class PointsRow:
    """One row of Table 3: upper-inclusive band edges (percent) and half points per band."""

    edges_pct: tuple[int, int, int, int]
    half_points: tuple[int, int, int, int, int]

    @property
    def max_half_points(self) -> int:
        return max(self.half_points)


_STANDARD_EDGES = (5, 15, 25, 40)  # Table 3, all measures except MMT/CMAS
_MMT_EDGES = (2, 10, 20, 30)  # Table 3, MMT/CMAS row

POINTS_TABLE: dict[TisMeasure, PointsRow] = {
    # Physician global activity: 0, 7.5, 15, 17.5, 20 (Table 3)
    TisMeasure.PHYSICIAN_GLOBAL: PointsRow(_STANDARD_EDGES, (0, 15, 30, 35, 40)),
    # Patient (JDM: parent) global activity: 0, 2.5, 5, 7.5, 10
    TisMeasure.PATIENT_GLOBAL: PointsRow(_STANDARD_EDGES, (0, 5, 10, 15, 20)),
    # MMT (JDM: MMT or CMAS): 0, 10, 20, 27.5, 32.5 with edges 2/10/20/30
    TisMeasure.MMT8: PointsRow(_MMT_EDGES, (0, 20, 40, 55, 65)),
    # HAQ (JDM: CHAQ): 0, 5, 7.5, 7.5, 10 (the plateau is in the table)
    TisMeasure.HAQ: PointsRow(_STANDARD_EDGES, (0, 10, 15, 15, 20)),
    # Most abnormal muscle enzyme: 0, 2.5, 5, 7.5, 7.5 (plateau in the table)
    TisMeasure.ENZYME: PointsRow(_STANDARD_EDGES, (0, 5, 10, 15, 15)),
    # Extramuscular activity: 0, 7.5, 12.5, 15, 20
    TisMeasure.EXTRAMUSCULAR: PointsRow(_STANDARD_EDGES, (0, 15, 25, 30, 40)),
}

# Minimal / moderate / major thresholds, TIS >= value, in half points.
# Adult: >=20, >=40, >=60 (Aggarwal 2017 abstract; Table 3).
# Juvenile: >=30, >=45, >=70 (Rider 2017 abstract; Table 3).
THRESHOLDS_HALF_POINTS: dict[Population, tuple[int, int, int]] = {
    Population.ADULT: (40, 80, 120),
    Population.JUVENILE: (60, 90, 140),
}

MAX_TIS_HALF_POINTS = sum(row.max_half_points for row in POINTS_TABLE.values())
assert MAX_TIS_HALF_POINTS == 200, "Table 3 maxima must sum to 100 points"


def category_for(half_points: int, population: Population) -> TisCategory:
    """Category of a TIS given in half points (the thresholds are inclusive)."""
    minimal, moderate, major = THRESHOLDS_HALF_POINTS[population]
    if half_points >= major:
        return TisCategory.MAJOR
    if half_points >= moderate:
        return TisCategory.MODERATE
    if half_points >= minimal:
        return TisCategory.MINIMAL
    return TisCategory.NONE
