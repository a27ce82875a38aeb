"""A SYNTHETIC clinic of any size for load tests: N patients with exactly V visits each.

The bundled demo clinic (60 patients, 7-16 visits) is what people look at; a speed test needs
many more patients with a fixed number of visits. The same seeded building blocks are used
(design, body, visits, courses, labs, adverse events), cycling through the demo cohort's rows
of diagnosis and intent, with one monthly course between follow-up visits. Codes are
`SYN-L00001` ...: every patient is marked SYNTHETIC like the demo clinic's.
"""

from __future__ import annotations

from datetime import timedelta

from myoivig.demo_clinic.design import (
    COHORT,
    DEFAULT_SEED,
    EARLIEST_START,
    REFERENCE_DATE,
    SITES,
    _design,
    patient_rng,
)
from myoivig.demo_clinic.records import SOURCE, _duration_years, _patient_note
from myoivig.demo_clinic.schedule import Timeline, Visit, _monthly, body
from myoivig.demo_clinic.treatment import adverse_events, courses, labs, therapies
from myoivig.demo_clinic.visits import assessment
from myoivig.domain import records as r
from myoivig.domain.vocab import Phase, Qualifier
from myoivig.protocol.catalogue import load_catalogue

RUN_IN_DAYS = (-84, -56, -28, -3)
MIN_VISITS = len(RUN_IN_DAYS) + 2  # the run-in, one visit after the first course, the last


def scaled_sites() -> list[r.Site]:
    return [
        r.Site(site_code=s.code, name=s.name, note="SYNTHETIC site (load test); not a real clinic.")
        for s in SITES
    ]


def scaled_dossier(number: int, visits: int, seed: int = DEFAULT_SEED) -> r.PatientDossier:
    """Patient `number` (1-based): the run-in, then a course every 4 weeks with a visit before
    each later course and one 4 weeks after the last; `visits` visits in all."""
    if visits < MIN_VISITS:
        raise ValueError(f"visits: {visits} is below the minimum of {MIN_VISITS}")
    diagnosis, overlap, intent, like, special = COHORT[(number - 1) % len(COHORT)]
    code = f"SYN-L{number:05d}"
    design = _design(seed, code, SITES[number % len(SITES)], diagnosis, overlap, intent, like,
                     special)  # fmt: skip
    rng = patient_rng(seed, code + ":records")
    course_days = _monthly(visits - len(RUN_IN_DAYS), rng)
    plan_visits = [Visit(d, Phase.RUN_IN) for d in RUN_IN_DAYS]
    plan_visits += [Visit(d, Phase.TREATMENT) for d in course_days[1:]]
    plan_visits.append(Visit(course_days[-1] + 28, Phase.FOLLOW_UP))
    first = EARLIEST_START + timedelta(days=-RUN_IN_DAYS[0])
    latest = REFERENCE_DATE - timedelta(days=plan_visits[-1].day)
    day0 = first + timedelta(days=rng.randint(0, max(0, (latest - first).days)))
    plan = Timeline(day0, tuple(course_days), tuple(plan_visits))
    b = body(design, rng)
    duration = _duration_years(design, rng)
    onset = day0 - timedelta(days=round(duration * 365.25))
    patient = r.Patient(
        code=code,
        site_code=design.site.code,
        sex=design.sex,
        age_at_entry=design.age,
        birth_year=day0.year - design.age,
        diagnosis=design.diagnosis,
        overlap_disease=design.overlap,
        onset_date=onset,
        disease_duration_years=round((day0 - onset).days / 365.25, 1),
        disease_duration_qualifier=Qualifier.EXACT,
        height_cm=b.height_cm,
        source=SOURCE.format(seed=seed),
        note=_patient_note(design),
    )
    given = courses(design, plan, b, rng, load_catalogue())
    return r.PatientDossier(
        patient=patient,
        therapies=therapies(design, plan, onset, rng),
        courses=given,
        assessments=[assessment(design, b, v, plan.on(v.day), rng) for v in plan.visits],
        labs=labs(design, plan, rng),
        adverse_events=adverse_events(design, plan, given, rng),
    )
