"""Criteria inputs from stored assessments (record-shaped objects, no store import).

Maps `Assessment.core_set` / `Assessment.enzymes` onto the one-patient rule inputs:
- `core_set_change` -> `CoreSetChange` for the TIS and the IMACS DOI;
- `core_set_visit` -> `CoreSetVisit` for ProDERM deterioration;
- `run_in_points` -> dated values for the run-in baseline and trend.
"Not performed" is scored like a missing value (no number to score). The MMT-8 scale is the
`scale_max` stored with the value and must be the same at baseline and follow-up; the enzyme
ULN is the baseline laboratory's (the most abnormal enzyme is chosen at baseline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from myoivig.domain.vocab import CoreSetMeasure, Diagnosis, Enzyme, Phase
from myoivig.outcomes.core_set import CoreSetChange, EnzymeValues, Pair
from myoivig.outcomes.proderm import CoreSetVisit
from myoivig.outcomes.record_shapes import AssessmentLike, numeric
from myoivig.outcomes.tis_table import Population


def population_for(diagnosis: Diagnosis) -> Population:
    """Juvenile thresholds for juvenile dermatomyositis, adult thresholds otherwise."""
    if diagnosis is Diagnosis.JUVENILE_DERMATOMYOSITIS:
        return Population.JUVENILE
    return Population.ADULT


def _core_values(
    assessment: AssessmentLike,
) -> dict[CoreSetMeasure, tuple[float | None, float | None]]:
    return {v.measure: (numeric(v.value), v.scale_max) for v in assessment.core_set}


def _value(
    values: dict[CoreSetMeasure, tuple[float | None, float | None]], measure: CoreSetMeasure
) -> float | None:
    entry = values.get(measure)
    return None if entry is None else entry[0]


def core_set_change(
    baseline: AssessmentLike, follow_up: AssessmentLike, population: Population
) -> CoreSetChange:
    """Baseline and follow-up assessments as one TIS/DOI input."""
    bl, fu = _core_values(baseline), _core_values(follow_up)

    def pair(measure: CoreSetMeasure) -> Pair:
        return Pair(_value(bl, measure), _value(fu, measure))

    scales = {
        entry[1]
        for entry in (bl.get(CoreSetMeasure.MMT8), fu.get(CoreSetMeasure.MMT8))
        if entry is not None and entry[0] is not None
    }
    if len(scales) > 1:
        raise ValueError(
            f"mmt8 scale_max differs between {baseline.assessment_date} and "
            f"{follow_up.assessment_date}: {sorted(s or 0 for s in scales)}"
        )
    mmt8_max = next(iter(scales)) if scales else None
    if scales and mmt8_max is None:
        raise ValueError(f"mmt8 value on {baseline.assessment_date} has no scale_max (80 or 150)")
    enzymes: dict[Enzyme, EnzymeValues] = {}
    bl_enzymes = {e.enzyme: e for e in baseline.enzymes}
    fu_enzymes = {e.enzyme: e for e in follow_up.enzymes}
    for enzyme in set(bl_enzymes) | set(fu_enzymes):
        b, f = bl_enzymes.get(enzyme), fu_enzymes.get(enzyme)
        uln = b.uln_u_per_l if b is not None else None
        if uln is None and f is not None:
            uln = f.uln_u_per_l
        enzymes[enzyme] = EnzymeValues(
            None if b is None else numeric(b.value_u_per_l),
            None if f is None else numeric(f.value_u_per_l),
            uln,
        )
    return CoreSetChange(
        population=population,
        physician_global=pair(CoreSetMeasure.PHYSICIAN_GLOBAL),
        patient_global=pair(CoreSetMeasure.PATIENT_GLOBAL),
        extramuscular=pair(CoreSetMeasure.EXTRAMUSCULAR),
        haq=pair(CoreSetMeasure.HAQ),
        mmt8=pair(CoreSetMeasure.MMT8),
        mmt8_max=mmt8_max,
        enzymes=enzymes,
    )


def core_set_visit(assessment: AssessmentLike) -> CoreSetVisit:
    """The non-enzyme core set of one assessment (ProDERM deterioration input)."""
    values = _core_values(assessment)
    return CoreSetVisit(
        physician_global=_value(values, CoreSetMeasure.PHYSICIAN_GLOBAL),
        patient_global=_value(values, CoreSetMeasure.PATIENT_GLOBAL),
        extramuscular=_value(values, CoreSetMeasure.EXTRAMUSCULAR),
        haq=_value(values, CoreSetMeasure.HAQ),
        mmt8=_value(values, CoreSetMeasure.MMT8),
    )


def run_in_points(
    assessments: Iterable[AssessmentLike], value_of: Callable[[AssessmentLike], float | None]
) -> list[tuple[dt.date, float]]:
    """Dated values of the run-in assessments for which `value_of` gives a number."""
    points = []
    for assessment in assessments:
        if assessment.phase is Phase.RUN_IN:
            value = value_of(assessment)
            if value is not None:
                points.append((assessment.assessment_date, value))
    return sorted(points)
