"""Infusion days of a synthetic patient's courses: lot, dose, volume, the rate steps run and
the reactions on the day (pure: design, courses and events in, records out).

Rate steps are the protocol engine's own titration (`protocol.infusion.infusion_day`) for the
course's daily volume and weight, capped at the course's recorded maximum rate and, when the
record shows the patient at risk of thrombosis or renal dysfunction (or cannot tell, which is
every day today: the risk factors declared in the planner are not stored), at the at-risk
maximum; nothing here repeats a label figure. Riverside records pump rates (mL/h,
rounded down so they never pass the cap), the other sites rates per kg. Reactions come from the
course's adverse events that began on an infusion day. Lots look like "A1234B"; vials of a
course come from one lot, with a second lot now and then from the third day on.
"""

from __future__ import annotations

import math
import random
import string
from datetime import timedelta

from myoivig.demo_clinic.design import PatientDesign, patient_rng
from myoivig.domain import records as r
from myoivig.domain.vocab import AdverseEventAction, RateUnit, ReactionAction
from myoivig.protocol.catalogue import Catalogue, Product
from myoivig.protocol.dossier import record_at_risk
from myoivig.protocol.infusion import infusion_day
from myoivig.protocol.rate_cap import myositis_profile

PUMP_RATE_SITES = frozenset({"SYN-RIVER"})
REACTION_ACTIONS = {
    AdverseEventAction.INFUSION_SLOWED: ReactionAction.SLOWED,
    AdverseEventAction.INFUSION_STOPPED: ReactionAction.STOPPED,
}


LOT_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IO")  # not read as 1 / 0


def _lot(rng: random.Random) -> str:
    letters = LOT_LETTERS
    return f"{rng.choice(letters)}{rng.randint(1000, 9999)}{rng.choice(letters)}"


def _slow(patient: r.Patient, labs: list[r.LabResult], course: r.Course) -> bool:
    """The at-risk maximum is run when the record shows the patient at risk on any day of the
    course, or cannot tell (`protocol.dossier.record_at_risk`, the planner's rule): the day is
    then one the infusion-day form accepts without confirmation."""
    assert course.start_date is not None
    days = (course.start_date, course.start_date + timedelta(days=course.days - 1))
    return any(
        record_at_risk(patient, labs, on, course.weight_kg).at_risk is not False for on in days
    )


def _steps(
    product: Product | None, course: r.Course, dose_g: float, pump: bool, slow: bool
) -> tuple[list[r.RateStepGiven], float | None]:
    """The titration run that day, and the volume; none when the catalogue has no per-kg rates,
    no fixed concentration or the course no recorded maximum rate."""
    if product is None or course.weight_kg is None or course.infusion_rate_ml_per_kg_min is None:
        return [], None
    concentration = product.concentration_g_per_ml.value
    _, profile = myositis_profile(product)
    if profile is None or not concentration:
        return [], None
    volume = round(dose_g / concentration, 1)
    plan = infusion_day(
        1,
        volume,
        course.weight_kg,
        profile,
        at_risk=slow,
        concentration_g_per_ml=concentration,
        indication_max_ml_per_kg_min=course.infusion_rate_ml_per_kg_min,
    )
    steps = []
    for step in plan.steps:
        minutes = max(1, round(step.duration_min))
        if pump:
            steps.append(
                r.RateStepGiven(
                    rate=math.floor(step.pump_ml_per_h), unit=RateUnit.ML_PER_H, minutes=minutes
                )
            )
        else:
            steps.append(r.RateStepGiven(rate=step.rate_ml_per_kg_min, minutes=minutes))
    return steps, volume


def _reactions(
    course: r.Course, day: int, events: list[r.AdverseEvent]
) -> list[r.InfusionReaction]:
    assert course.start_date is not None
    on = course.start_date + timedelta(days=day - 1)
    return [
        r.InfusionReaction(
            type=e.term, ctcae_grade=e.ctcae_grade or 1, action=REACTION_ACTIONS.get(e.action)
        )
        for e in events
        if e.course_number == course.course_number
        and e.onset_date == on
        and e.action in REACTION_ACTIONS
    ]


def infusion_days(
    design: PatientDesign,
    seed: int,
    courses: list[r.Course],
    events: list[r.AdverseEvent],
    catalogue: Catalogue,
    patient: r.Patient,
    labs: list[r.LabResult],
) -> list[r.InfusionDay]:
    """One record per infusion day of every dated course."""
    rng = patient_rng(seed, design.code + ":infusions")  # own stream: other records unchanged
    pump = design.site.code in PUMP_RATE_SITES
    days = []
    for course in courses:
        if course.start_date is None:
            continue
        product = catalogue.find(course.product)
        dose = course.given_daily_dose_g or course.planned_daily_dose_g or 0.0
        steps, volume = _steps(product, course, dose, pump, _slow(patient, labs, course))
        lot = _lot(rng)
        for day in range(1, course.days + 1):
            if day >= 3 and rng.random() < 0.2:
                lot = _lot(rng)
            days.append(
                r.InfusionDay(
                    patient_code=design.code,
                    course_number=course.course_number,
                    day_number=day,
                    infusion_date=course.start_date + timedelta(days=day - 1),
                    product=course.product,
                    lot_number=lot,
                    dose_g=dose,
                    volume_ml=volume,
                    rate_steps=steps,
                    total_minutes=sum(s.minutes for s in steps) or None,
                    reactions=_reactions(course, day, events),
                    given_by=f"{design.site.code} nurse {rng.randint(1, 4)} (synthetic)",
                )
            )
    return days
