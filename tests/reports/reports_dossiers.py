"""Realistic test dossiers for the reports: a SYNTHETIC dermatomyositis patient followed over a
run-in and four monthly IVIg courses (improving), and one whose next course is blocked.

Dates are relative to today so that labs are recent and no date is in the future.
"""

from __future__ import annotations

from datetime import date, timedelta

from myoivig.domain import records as r
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, Diagnosis, Sex, Side

SYNTHETIC_SOURCE = "SYNTHETIC: test dossier for the report tests; not a real person"


def _visit(
    code: str,
    when: date,
    phase: str,
    force: float,
    grade: int,
    chair: bool,
    mmt8: float,
    ck: float,
    pga: float,
) -> r.Assessment:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    return r.Assessment(
        patient_code=code,
        assessment_date=when,
        phase=phase,
        myometry=[
            r.MyometryReading(muscle_group=g, side=s, force_n=force * (0.7 + 0.15 * i))
            for i, (g, s) in enumerate(sites)
        ],
        muscle_grades=[
            r.MuscleGrade(muscle_group=g, side=s, kendall_grade=grade) for g, s in sites
        ],
        functional_tasks=[r.FunctionalTaskResult(task="rise_from_chair_without_hands", able=chair)],
        core_set=[
            r.CoreSetValue(measure="mmt8", value=mmt8, scale_max=150),
            r.CoreSetValue(measure="physician_global", value=pga),
            r.CoreSetValue(measure="patient_global", value=pga + 0.5),
            r.CoreSetValue(measure="haq", value=round(pga / 4, 2)),
            r.CoreSetValue(measure="extramuscular", value=max(pga - 2, 0)),
        ],
        enzymes=[r.EnzymeResult(enzyme="ck", value_u_per_l=ck, uln_u_per_l=200)],
    )


def responder_dossier(code: str = "RPT-01", today: date | None = None) -> r.PatientDossier:
    """Run-in of three visits, then four 2 g/kg courses four weeks apart with monthly visits."""
    today = today or date.today()
    first_course = today - timedelta(days=120)
    run_in = [
        _visit(code, first_course - timedelta(days=d), "run_in", f, 5, False, 92, ck, 6.5)
        for d, f, ck in ((60, 82, 2400), (30, 80, 2550), (3, 78, 2600))
    ]
    later = [
        _visit(code, first_course + timedelta(days=d), "treatment", f, g, chair, mmt, ck, pga)
        for d, f, g, chair, mmt, ck, pga in (
            (26, 86, 6, False, 100, 1500, 5.0),
            (54, 97, 7, True, 112, 700, 3.5),
            (82, 108, 7, True, 121, 310, 2.5),
            (110, 116, 8, True, 128, 190, 2.0),
        )
    ]
    courses = [
        r.Course(
            patient_code=code,
            course_number=n + 1,
            product="octagam-10",
            start_date=first_course + timedelta(days=28 * n),
            days=5,
            planned_daily_dose_g=28,
            given_daily_dose_g=28,
            weight_kg=70,
            infusion_rate_ml_per_kg_min=0.04,
        )
        for n in range(4)
    ]
    recent = today - timedelta(days=5)
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            sex=Sex.FEMALE,
            birth_year=today.year - 52,
            diagnosis=Diagnosis.DERMATOMYOSITIS,
            onset_date=first_course - timedelta(days=400),
            height_cm=165,
            source=SYNTHETIC_SOURCE,
        ),
        therapies=[
            r.Therapy(
                patient_code=code,
                drug="prednisolone",
                dose_mg_per_day=20,
                start_date=first_course - timedelta(days=300),
                timing="concurrent",
            ),
            r.Therapy(
                patient_code=code,
                drug="methotrexate",
                start_date=first_course - timedelta(days=250),
                timing="concurrent",
            ),
        ],
        courses=courses,
        assessments=[*run_in, *later],
        labs=[
            r.LabResult(patient_code=code, sample_date=recent, test="iga", value=2.1, unit="g/L"),
            r.LabResult(
                patient_code=code, sample_date=recent, test="egfr", value=92, unit="mL/min/1.73m2"
            ),
            r.LabResult(patient_code=code, sample_date=recent, test="blood_group", text_value="O+"),
            r.LabResult(
                patient_code=code, sample_date=recent, test="haemoglobin", value=128, unit="g/L"
            ),
        ],
        adverse_events=[
            r.AdverseEvent(
                patient_code=code,
                onset_date=first_course + timedelta(days=1),
                course_number=1,
                term="Headache",
                serious=False,
                ctcae_grade=1,
                outcome="recovered",
                action="infusion_slowed",
            ),
            r.AdverseEvent(
                patient_code=code,
                onset_date=first_course + timedelta(days=30),
                course_number=2,
                term="Aseptic meningitis",
                serious=True,
                ctcae_grade=3,
                outcome="recovered",
                action="none",
            ),
        ],
    )


def blocked_dossier(code: str = "RPT-02", today: date | None = None) -> r.PatientDossier:
    """One course on record and no IgA: the next course is blocked by iga_not_measured."""
    today = today or date.today()
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            sex=Sex.MALE,
            birth_year=today.year - 61,
            diagnosis=Diagnosis.POLYMYOSITIS,
            height_cm=178,
            source=SYNTHETIC_SOURCE,
        ),
        courses=[
            r.Course(
                patient_code=code,
                course_number=1,
                product="privigen",
                start_date=today - timedelta(days=30),
                days=5,
                weight_kg=82,
            )
        ],
        labs=[
            r.LabResult(
                patient_code=code,
                sample_date=today - timedelta(days=3),
                test="egfr",
                value=75,
                unit="mL/min/1.73m2",
            )
        ],
    )
