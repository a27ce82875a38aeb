"""Confirmed deterioration as used in the ProDERM trial (IVIg in dermatomyositis).

Source: ProDERM safety paper, Fig. 1 legend, Arthritis Res Ther 2023,
doi:10.1186/s13075-023-03232-2; trial: Aggarwal R et al., N Engl J Med 2022;387:1264-1278.
Deterioration is a change from baseline meeting one of, on two consecutive visits:
  (a) physician global activity VAS worse by >=2 cm AND MMT-8 worse by >=20 %;
  (b) extramuscular global activity VAS worse by >=2 cm;
  (c) any 3 of the 5 core set measures other than enzymes worse by >=30 %.
Whether 20 %/30 % are relative to baseline or to the scale is not stated [U]; this is the
`basis` setting (default relative, as in the IMACS DOI). A criterion whose inputs are missing at
a visit is not met at that visit; such visits are listed in `incomplete_visits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from myoivig.outcomes.core_set import HAQ_MAX, VAS_MAX
from myoivig.outcomes.fixed_point import CLINICAL_SCALE, to_fixed

VAS_WORSE_CM = 2  # (a), (b): ">=2 cm"
MMT_WORSE_PCT = 20  # (a): ">=20 %"
CORE_WORSE_PCT = 30  # (c): ">=30 %"
CORE_WORSE_COUNT = 3  # (c): "any 3 of 5"
CONSECUTIVE_VISITS = 2


class PercentBasis(StrEnum):
    RELATIVE = "relative"  # change / baseline
    SCALE = "scale"  # change / instrument maximum


@dataclass(frozen=True)
class CoreSetVisit:
    """Core set values at one visit (enzymes play no part in deterioration)."""

    physician_global: float | None = None
    patient_global: float | None = None
    extramuscular: float | None = None
    haq: float | None = None
    mmt8: float | None = None


@dataclass(frozen=True)
class DeteriorationResult:
    met_per_visit: tuple[bool, ...]
    confirmed: bool
    confirmed_at_visit: int | None  # index of the second of the two consecutive visits
    incomplete_visits: tuple[int, ...]

    @property
    def ruled_out(self) -> bool:
        """No two consecutive visits could meet the criterion, even if missing inputs were worse.

        A visit with missing inputs that did not meet the criterion might have met it; only
        when no such pair of consecutive visits exists is deterioration known to be absent.
        """
        possible = [
            met or index in self.incomplete_visits for index, met in enumerate(self.met_per_visit)
        ]
        return not any(
            all(possible[i + 1 - CONSECUTIVE_VISITS : i + 1])
            for i in range(CONSECUTIVE_VISITS - 1, len(possible))
        )


def _fixed(value: float | None) -> int | None:
    return None if value is None else to_fixed(value, CLINICAL_SCALE)


def _worse_by_pct(
    baseline: int | None,
    value: int | None,
    scale_max: int,
    pct: int,
    higher_is_better: bool,
    basis: PercentBasis,
) -> bool | None:
    if baseline is None or value is None:
        return None
    loss = baseline - value if higher_is_better else value - baseline
    if loss <= 0:
        return False
    den = baseline if basis is PercentBasis.RELATIVE else scale_max * CLINICAL_SCALE
    return loss * 100 >= pct * den


def visit_meets_deterioration(
    baseline: CoreSetVisit,
    visit: CoreSetVisit,
    mmt8_max: int,
    basis: PercentBasis = PercentBasis.RELATIVE,
) -> tuple[bool, bool]:
    """(criterion met, some input missing) for one visit against baseline."""
    bl = {name: _fixed(getattr(baseline, name)) for name in _MEASURES}
    fu = {name: _fixed(getattr(visit, name)) for name in _MEASURES}
    incomplete = any(bl[n] is None or fu[n] is None for n in _MEASURES)
    two_cm = VAS_WORSE_CM * CLINICAL_SCALE

    def vas_worse_2cm(name: str) -> bool:
        b, f = bl[name], fu[name]
        return b is not None and f is not None and f - b >= two_cm

    mmt_worse = _worse_by_pct(bl["mmt8"], fu["mmt8"], mmt8_max, MMT_WORSE_PCT, True, basis)
    criterion_a = vas_worse_2cm("physician_global") and bool(mmt_worse)
    criterion_b = vas_worse_2cm("extramuscular")
    scales = {**_MEASURES, "mmt8": mmt8_max}
    n_worse = sum(
        bool(_worse_by_pct(bl[n], fu[n], scale, CORE_WORSE_PCT, n == "mmt8", basis))
        for n, scale in scales.items()
    )
    criterion_c = n_worse >= CORE_WORSE_COUNT
    return criterion_a or criterion_b or criterion_c, incomplete


_MEASURES: dict[str, int] = {
    "physician_global": VAS_MAX,
    "patient_global": VAS_MAX,
    "extramuscular": VAS_MAX,
    "haq": HAQ_MAX,
    "mmt8": 150,  # replaced by the patient's mmt8_max at call time
}


def confirmed_deterioration(
    baseline: CoreSetVisit,
    visits: Sequence[CoreSetVisit],
    mmt8_max: int,
    basis: PercentBasis = PercentBasis.RELATIVE,
) -> DeteriorationResult:
    """Deterioration confirmed when the criterion is met at two consecutive follow-up visits."""
    if mmt8_max not in (80, 150):
        raise ValueError(f"mmt8_max must be 80 or 150: {mmt8_max!r}")
    met: list[bool] = []
    incomplete: list[int] = []
    confirmed_at: int | None = None
    for index, visit in enumerate(visits):
        ok, missing = visit_meets_deterioration(baseline, visit, mmt8_max, basis)
        met.append(ok)
        if missing:
            incomplete.append(index)
        if (
            confirmed_at is None
            and index + 1 >= CONSECUTIVE_VISITS
            and all(met[index + 1 - CONSECUTIVE_VISITS : index + 1])
        ):
            confirmed_at = index
    return DeteriorationResult(
        tuple(met), confirmed_at is not None, confirmed_at, tuple(incomplete)
    )


PRIMARY_TIS_THRESHOLD = 20  # ProDERM primary endpoint: TIS >= 20 at week 16 (Aggarwal, NEJM 2022)


def proderm_responder(
    tis_min: float, tis_max: float, deterioration: DeteriorationResult
) -> bool | None:
    """ProDERM primary response: TIS >= 20 and no confirmed deterioration up to that visit.

    Takes the TIS bounds (tis.TisResult.tis_min/tis_max) so a TIS with missing measures gives an
    answer only when both bounds agree, and answers True only when missing visit data could not
    hide a confirmed deterioration; None means undetermined.
    """
    if deterioration.confirmed or tis_max < PRIMARY_TIS_THRESHOLD:
        return False
    if tis_min >= PRIMARY_TIS_THRESHOLD and deterioration.ruled_out:
        return True
    return None
