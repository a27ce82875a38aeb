"""Realistic test dossiers for the exchange formats (the trial cohort has no visits).

Three patients of a fictitious clinic: an adult with dermatomyositis and a full IMACS core set
at three run-in and two later visits, an overlap myositis with an associated disease and a
course without a recorded start date, and an inclusion body myositis patient without a site.
Values are plausible clinic values, not data of real people.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.values import NP
from myoivig.domain.vocab import MuscleGroup, Side
from myoivig.io.importer import Bundle, write_bundle
from myoivig.store import Store

SITE = r.Site(site_code="NMC-1", name="Neuromuscular clinic", country="AU", note=None)
TRIAL_GROUPS = (
    MuscleGroup.SHOULDER_ABDUCTORS,
    MuscleGroup.ELBOW_EXTENSORS,
    MuscleGroup.HIP_FLEXORS,
    MuscleGroup.KNEE_EXTENSORS,
)


def _visit(code: str, when: date, phase: str, level: float, **extra: Any) -> r.Assessment:
    """A visit whose strength and core set follow `level` (0 = weakest, 1 = normal)."""
    myometry = [
        {"muscle_group": g.value, "side": s.value, "force_n": round(60 + 120 * level + i, 2)}
        for i, g in enumerate(TRIAL_GROUPS)
        for s in (Side.LEFT, Side.RIGHT)
    ]
    grades = [
        {"muscle_group": g.value, "side": s.value, "kendall_grade": min(10, int(5 + 5 * level))}
        for g in TRIAL_GROUPS
        for s in (Side.LEFT, Side.RIGHT)
    ] + [{"muscle_group": "neck_flexors", "side": "axial", "kendall_grade": 7}]
    core = [
        {"measure": "physician_global", "value": round(7 - 5 * level, 1)},
        {"measure": "patient_global", "value": round(7.5 - 5 * level, 1)},
        {"measure": "extramuscular", "value": round(3 - 2 * level, 1)},
        {"measure": "haq", "value": round(1.75 - level, 3)},
        {"measure": "mmt8", "value": round(100 + 40 * level), "scale_max": 150},
    ]
    enzymes = [
        {"enzyme": "ck", "value_u_per_l": round(3200 * (1 - level) + 150, 1), "uln_u_per_l": 190},
        {"enzyme": "aldolase", "value_u_per_l": round(14 - 8 * level, 1), "uln_u_per_l": 7.6},
        {"enzyme": "ldh", "value_u_per_l": NP, "uln_u_per_l": 250},
    ]
    tasks = [
        {"task": "rise_from_chair_without_hands", "able": level > 0.5},
        {"task": "rise_from_squat", "not_performed": True},
        {"task": "climb_stairs", "able": True},
        {"task": "walk_30m", "able": True, "time_s": round(40 - 20 * level, 2)},
    ]
    return r.Assessment.model_validate(
        {
            "patient_code": code,
            "assessment_date": when,
            "phase": phase,
            "assessor": "JB",
            "myometry": myometry,
            "muscle_grades": grades,
            "core_set": core,
            "enzymes": enzymes,
            "functional_tasks": tasks,
            **extra,
        }
    )


def dermatomyositis() -> r.PatientDossier:
    code = "NMC-001"
    start = date(2023, 1, 9)
    visits = [
        _visit(code, start, "run_in", 0.10),
        _visit(code, start + timedelta(days=28), "run_in", 0.12),
        _visit(code, start + timedelta(days=56), "run_in", 0.08, note="before the first course"),
        _visit(code, start + timedelta(days=140), "treatment", 0.55),
        _visit(code, start + timedelta(days=250), "follow_up", 0.80),
    ]
    courses = [
        r.Course(
            patient_code=code,
            course_number=n,
            product="privigen",
            start_date=start + timedelta(days=60 + 28 * (n - 1)),
            days=2,
            planned_daily_dose_g=33.0,
            given_daily_dose_g=32.5,
            weight_kg=66.4,
            infusion_rate_ml_per_kg_min=0.08,
            note="premedicated" if n == 1 else None,
        )
        for n in (1, 2, 3)
    ]
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            site_code=SITE.site_code,
            sex="F",
            age_at_entry=54,
            birth_year=1968,
            diagnosis="dermatomyositis",
            onset_date=date(2022, 6, 1),
            height_cm=163.5,
            source="synthetic exchange test",
            note="anti-TIF1γ",
        ),
        therapies=[
            r.Therapy(
                patient_code=code,
                drug="prednisolone",
                dose_mg_per_day=20,
                start_date=date(2022, 7, 1),
                timing="concurrent",
            ),
            r.Therapy(
                patient_code=code,
                drug="other",
                drug_label="Cyclophosphamide (pulse)",
                start_date=date(2022, 8, 1),
                stop_date=date(2022, 11, 1),
                note="stopped",
            ),
        ],
        courses=courses,
        infusion_days=_infusion_days(code, courses[0]),
        assessments=visits,
        labs=[
            r.LabResult(patient_code=code, sample_date=start, test="iga", value=2.4, unit="g/L"),
            r.LabResult(patient_code=code, sample_date=start, test="igg", value=11.2, unit="g/L"),
            r.LabResult(
                patient_code=code, sample_date=start, test="creatinine", value=71, unit="µmol/L"
            ),
            r.LabResult(
                patient_code=code,
                sample_date=start + timedelta(days=140),
                test="creatinine",
                value=83.5,
                unit="umol/L",
            ),
            r.LabResult(
                patient_code=code, sample_date=start, test="egfr", value=88, unit="mL/min/1.73m2"
            ),
            r.LabResult(
                patient_code=code, sample_date=start, test="haemoglobin", value=128, unit="g/L"
            ),
            r.LabResult(patient_code=code, sample_date=start, test="blood_group", text_value="O+"),
            r.LabResult(
                patient_code=code,
                sample_date=start,
                test="anti_iga_antibodies",
                text_value="negative",
            ),
        ],
        adverse_events=[
            r.AdverseEvent(
                patient_code=code,
                onset_date=courses[0].start_date,
                course_number=1,
                term="Headache",
                serious=False,
                ctcae_grade=2,
                relation_to_ivig="probable",
                outcome="recovered",
                action="infusion_slowed",
                note="paracetamol",
            ),
            r.AdverseEvent(
                patient_code=code,
                onset_date=courses[1].start_date,
                course_number=2,
                term="Aseptic meningitis",
                serious=True,
                ctcae_grade=3,
                relation_to_ivig="possible",
                outcome="recovered_with_sequelae",
                action="infusion_stopped",
            ),
        ],
    )


def _infusion_days(code: str, course: r.Course) -> list[r.InfusionDay]:
    """Both days of the first course as recorded: lots, two rate steps (per kg, then pump
    rates; at most the dermatomyositis cap of 0.04 mL/kg/min, 159 mL/h at 66.4 kg), a
    reaction, and a second-day dose below the course's daily dose."""
    assert course.start_date is not None
    return [
        r.InfusionDay.model_validate(
            {
                "patient_code": code,
                "course_number": course.course_number,
                "day_number": 1,
                "infusion_date": course.start_date,
                "product": "privigen",
                "lot_number": "P100A-23",
                "dose_g": 32.5,
                "volume_ml": 325,
                "rate_steps": [
                    {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
                    {"rate": 0.04, "unit": "ml_per_kg_min", "minutes": 95},
                ],
                "total_minutes": 140,
                "reactions": [{"type": "headache", "ctcae_grade": 2, "action": "slowed"}],
                "given_by": "RN Ada Example",
                "note": "paracetamol 1 g",
            }
        ),
        r.InfusionDay.model_validate(
            {
                "patient_code": code,
                "course_number": course.course_number,
                "day_number": 2,
                "infusion_date": course.start_date + timedelta(days=1),
                "lot_number": "P100B-23",
                "dose_g": 30,
                "rate_steps": [
                    {"rate": 40, "unit": "ml_per_h", "minutes": 30},
                    {"rate": 150, "unit": "ml_per_h", "minutes": 105.5},
                ],
            }
        ),
    ]


def overlap() -> r.PatientDossier:
    code = "NMC-002"
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            site_code=SITE.site_code,
            sex="M",
            age_at_entry=61,
            diagnosis="overlap_myositis",
            overlap_disease="systemic_sclerosis",
            disease_duration_years=3.5,
            disease_duration_qualifier="approximate",
        ),
        courses=[
            r.Course(
                patient_code=code, course_number=1, days=5, planned_daily_dose_g=16, weight_kg=81
            )
        ],
        assessments=[
            _visit(code, date(2024, 2, 1), "run_in", 0.3),
            _visit(code, date(2024, 5, 2), "treatment", 0.4),
        ],
        labs=[
            r.LabResult(patient_code=code, test="anti_iga_antibodies", not_performed=True),
            r.LabResult(
                patient_code=code, sample_date=date(2024, 2, 1), test="iga", not_performed=True
            ),
        ],
        adverse_events=[
            # No course named: FHIR carries IVIg as a contained Medication suspect.
            r.AdverseEvent(
                patient_code=code, term="Rash", serious=False, relation_to_ivig="unlikely"
            ),
            r.AdverseEvent(patient_code=code, term="Fatigue", serious=False),
        ],
    )


def inclusion_body() -> r.PatientDossier:
    code = "IBM-7"
    return r.PatientDossier(
        patient=r.Patient(
            code=code, sex="X", birth_year=1950, diagnosis="inclusion_body_myositis", height_cm=171
        ),
        assessments=[_visit(code, date(2024, 3, 3), "run_in", 0.2)],
    )


def all_dossiers() -> list[r.PatientDossier]:
    return [dermatomyositis(), overlap(), inclusion_body()]


def load(store: Store) -> None:
    write_bundle(store, Bundle(sites=[SITE], dossiers=all_dossiers()), actor="tester")


def canonical(dossier: r.PatientDossier) -> dict[str, Any]:
    """A dossier as JSON with measurement lists sorted (no format keeps their order)."""
    data = dossier.model_dump(mode="json")
    data["reported_outcome"] = None
    for a in data["assessments"]:
        for key in ("myometry", "muscle_grades", "functional_tasks", "core_set", "enzymes"):
            a[key] = sorted(a[key], key=lambda v: sorted((k, str(x)) for k, x in v.items()))
    for key in ("therapies", "labs", "adverse_events", "courses"):
        data[key] = sorted(data[key], key=lambda v: sorted((k, str(x)) for k, x in v.items()))
    return data
