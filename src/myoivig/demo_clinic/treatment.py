"""IVIg courses, concurrent therapies, laboratory results and adverse events of a synthetic
patient.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from myoivig.demo_clinic.design import LOW_IGA_PRODUCT, PatientDesign
from myoivig.demo_clinic.schedule import Body, Timeline, weight_on
from myoivig.domain import records as r
from myoivig.domain.vocab import (
    AdverseEventAction,
    AdverseEventOutcome,
    Diagnosis,
    Drug,
    LabTest,
    Sex,
    TherapyTiming,
)
from myoivig.protocol.catalogue import Catalogue

# The trial's regimen (Mastaglia et al. 1998, methods): 30 g/day for 5 days, then monthly
# 3-day courses of 30 g/day.
TRIAL_DAILY_G, TRIAL_INDUCTION_DAYS, TRIAL_MAINTENANCE_DAYS = 30.0, 5, 3


def _regimen(design: PatientDesign, weight: float) -> str:
    limit = design.site.trial_regimen_from_kg
    adult = design.diagnosis is not Diagnosis.JUVENILE_DERMATOMYOSITIS
    return "mastaglia-1998" if limit is not None and adult and weight >= limit else "2g/kg"


def _product(design: PatientDesign) -> str:
    if design.iga_deficient:
        return LOW_IGA_PRODUCT
    products = design.site.products
    return products[int(design.code[-3:]) % len(products)]


def _rate(
    design: PatientDesign, product_key: str, catalogue: Catalogue, slow: bool
) -> float | None:
    """Maximum rate reached: 4 mg/kg/min (the Octagam 10 % DM label maximum), 3 mg/kg/min when at
    risk (the class-wide at-risk default in protocol settings), never above the product's own
    myositis-profile maximum; None where the catalogue has no rate for the product."""
    product = catalogue.products[product_key]
    profile = product.rate_profiles.get(product.myositis_profile or "")
    concentration = product.concentration_g_per_ml.value
    if profile is None or profile.max_ml_per_kg_min.value is None or concentration is None:
        return None
    mg_per_kg_min = 3.0 if slow else 4.0
    rate = min(mg_per_kg_min / (concentration * 1000), profile.max_ml_per_kg_min.value)
    at_risk = profile.at_risk_max_ml_per_kg_min.value
    if slow and at_risk is not None:
        rate = min(rate, at_risk)
    return round(rate, 3)


def courses(
    design: PatientDesign, plan: Timeline, b: Body, rng: random.Random, catalogue: Catalogue
) -> list[r.Course]:
    product = _product(design)
    out = []
    slow = design.age >= 65 or design.special in {"renal_impairment", "thrombosis"}
    for number, day in enumerate(plan.courses, start=1):
        weight = weight_on(b, day, rng)
        regimen = _regimen(design, b.weight_kg)
        if regimen == "mastaglia-1998":
            days = TRIAL_INDUCTION_DAYS if number == 1 else TRIAL_MAINTENANCE_DAYS
            daily = TRIAL_DAILY_G
            note = (
                f"Trial regimen (Mastaglia 1998): 30 g/day for {days} days"
                f" ({'induction' if number == 1 else 'monthly maintenance'})"
            )
        else:
            days = 5 if design.age >= 65 else design.site.infusion_days
            total = 5 * math.floor(2 * weight / 5)  # 2 g/kg, down to 5 g: never above 2 g/kg
            daily = round(total / days, 2)
            note = f"2 g/kg every 4 weeks: {total} g over {days} days"
        given = daily
        if design.special == "septicaemia" and number == 1:
            days, note = 3, note + "; stopped after day 3 (septicaemia)"
        after_meningitis = design.special == "aseptic_meningitis" and number >= 3
        out.append(
            r.Course(
                patient_code=design.code,
                course_number=number,
                product=product,
                start_date=plan.on(day),
                days=days,
                planned_daily_dose_g=daily,
                given_daily_dose_g=given,
                weight_kg=weight,
                infusion_rate_ml_per_kg_min=_rate(
                    design, product, catalogue, slow or after_meningitis
                ),
                note=note,
            )
        )
    return out


def therapies(
    design: PatientDesign, plan: Timeline, onset: date, rng: random.Random
) -> list[r.Therapy]:
    start = min(onset + timedelta(days=30), plan.on(-100))
    code = design.code
    if design.diagnosis is Diagnosis.INCLUSION_BODY_MYOSITIS:
        start = min(onset + timedelta(days=30), plan.on(-400))
        if rng.random() < 0.5:
            return []
        return [
            r.Therapy(
                patient_code=code,
                drug=Drug.PREDNISOLONE,
                dose_mg_per_day=10,
                start_date=start,
                stop_date=plan.on(-120),
                timing=TherapyTiming.STOPPED_BEFORE_IVIG,
                note="No benefit; tapered off before the run-in.",
            )
        ]
    pred = r.Therapy(
        patient_code=code,
        drug=Drug.PREDNISOLONE,
        dose_mg_per_day=rng.choice([7.5, 10, 15, 20, 25]),
        start_date=start,
        timing=TherapyTiming.CONCURRENT,
        note="Dose unchanged during IVIg.",
    )
    second = {
        Diagnosis.DERMATOMYOSITIS: (Drug.METHOTREXATE, Drug.MYCOPHENOLATE, Drug.AZATHIOPRINE),
        Diagnosis.POLYMYOSITIS: (Drug.AZATHIOPRINE, Drug.METHOTREXATE),
        Diagnosis.OVERLAP_MYOSITIS: (Drug.AZATHIOPRINE, Drug.MYCOPHENOLATE, Drug.METHOTREXATE),
        Diagnosis.JUVENILE_DERMATOMYOSITIS: (Drug.METHOTREXATE,),
    }[design.diagnosis]
    drug = rng.choice(second)
    dose = {Drug.AZATHIOPRINE: 150.0, Drug.MYCOPHENOLATE: 2000.0}.get(drug)
    other = r.Therapy(
        patient_code=code,
        drug=drug,
        dose_mg_per_day=dose,
        start_date=start + timedelta(days=60),
        timing=TherapyTiming.CONCURRENT,
        note="15 mg once weekly" if drug is Drug.METHOTREXATE else None,
    )
    return [pred, other]


def _lab(code: str, when: date, test: LabTest, value: float, unit: str) -> r.LabResult:
    return r.LabResult(patient_code=code, sample_date=when, test=test, value=value, unit=unit)


def labs(design: PatientDesign, plan: Timeline, rng: random.Random) -> list[r.LabResult]:
    """Screening (IgA, IgG, blood group, renal function, Hb), then renal function and Hb
    three days before every later course."""
    code = design.code
    female = design.sex is Sex.FEMALE
    if design.age < 16:
        egfr0 = rng.uniform(100, 125)
    elif design.special == "renal_impairment":
        egfr0 = 48.0
    else:
        egfr0 = min(115.0, 118 - 0.75 * max(0, design.age - 25) + rng.gauss(0, 6))
    hb0 = rng.uniform(118, 138) if female else rng.uniform(132, 152)
    screen = plan.on(-14)
    group = rng.choices(["O+", "A+", "B+", "AB+", "O-", "A-"], [38, 32, 9, 3, 9, 9])[0]
    if design.special == "haemolysis":
        group = "A+"
    iga = (
        round(rng.uniform(0.05, 0.06), 2)
        if design.iga_deficient
        else round(rng.uniform(0.9, 3.6), 2)
    )
    labs = [
        _lab(code, screen, LabTest.IGA, iga, "g/L"),
        _lab(code, screen, LabTest.IGG, round(rng.uniform(7.5, 14.5), 1), "g/L"),
        r.LabResult(
            patient_code=code, sample_date=screen, test=LabTest.BLOOD_GROUP, text_value=group
        ),
    ]
    if design.iga_deficient:
        result = "positive" if design.anti_iga_positive else "negative"
        labs.append(
            r.LabResult(
                patient_code=code,
                sample_date=screen,
                test=LabTest.ANTI_IGA_ANTIBODIES,
                text_value=result,
            )
        )
    for number, day in enumerate(plan.courses, start=1):
        when = screen if number == 1 else plan.on(day - 3)
        egfr = round(min(140.0, egfr0 + rng.gauss(0, 3)))
        creatinine = round((62 if female else 80) * 90 / egfr * (0.7 if design.age < 16 else 1))
        labs.append(_lab(code, when, LabTest.CREATININE, creatinine, "umol/L"))
        labs.append(_lab(code, when, LabTest.EGFR, egfr, "mL/min/1.73m2"))
        labs.append(_lab(code, when, LabTest.HAEMOGLOBIN, round(hb0 + rng.gauss(0, 3)), "g/L"))
        if design.special == "haemolysis" and number == 2:
            labs.append(_lab(code, plan.on(day + 6), LabTest.HAEMOGLOBIN, round(hb0 - 27), "g/L"))
    return labs


@dataclass(frozen=True)
class _Event:
    course: int
    offset: int
    term: str
    serious: bool
    grade: int
    outcome: AdverseEventOutcome
    action: AdverseEventAction
    note: str | None = None


RECOVERED, RECOVERING = AdverseEventOutcome.RECOVERED, AdverseEventOutcome.RECOVERING
SPECIAL_EVENTS = {
    "septicaemia": _Event(
        1,
        3,
        "Staphylococcal septicaemia (venous access site)",
        True,
        3,
        RECOVERED,
        AdverseEventAction.THERAPY_DISCONTINUED,
        "IVIg stopped; resumed six months later (as trial patient 5).",
    ),
    "aseptic_meningitis": _Event(
        2,
        2,
        "Aseptic meningitis",
        True,
        3,
        RECOVERED,
        AdverseEventAction.INFUSION_STOPPED,
        "Headache, neck stiffness, CSF pleocytosis with negative "
        "cultures; resolved in 4 days. Later courses at a slower rate.",
    ),
    "thrombosis": _Event(
        3,
        5,
        "Deep vein thrombosis, left leg",
        True,
        3,
        RECOVERING,
        AdverseEventAction.THERAPY_DISCONTINUED,
        "Anticoagulated; no further IVIg.",
    ),
    "haemolysis": _Event(
        2,
        6,
        "Haemolytic anaemia (blood group A)",
        False,
        2,
        RECOVERED,
        AdverseEventAction.NONE,
        "Hb fell 27 g/L; recovered without transfusion.",
    ),
}
COMMON_EVENTS = (  # per course: (term, probability, action)
    ("Headache", 0.08, AdverseEventAction.NONE),
    ("Fever and chills", 0.02, AdverseEventAction.INFUSION_SLOWED),
    ("Eczematous rash", 0.015, AdverseEventAction.NONE),
    ("Nausea", 0.02, AdverseEventAction.NONE),
)


def adverse_events(
    design: PatientDesign, plan: Timeline, courses: list[r.Course], rng: random.Random
) -> list[r.AdverseEvent]:
    events = []
    for course in courses:
        for term, chance, action in COMMON_EVENTS:
            if rng.random() < chance:
                events.append(
                    _Event(
                        course.course_number,
                        rng.randint(0, course.days - 1),
                        term,
                        False,
                        1,
                        RECOVERED,
                        action,
                    )
                )
    if design.special in SPECIAL_EVENTS:
        events.append(SPECIAL_EVENTS[design.special])
    out = []
    for e in sorted(events, key=lambda e: (e.course, e.offset, e.term)):
        start = courses[e.course - 1].start_date
        assert start is not None
        out.append(
            r.AdverseEvent(
                patient_code=design.code,
                onset_date=start + timedelta(days=e.offset),
                course_number=e.course,
                term=e.term,
                serious=e.serious,
                ctcae_grade=e.grade,
                outcome=e.outcome,
                action=e.action,
                note=e.note,
            )
        )
    return out
