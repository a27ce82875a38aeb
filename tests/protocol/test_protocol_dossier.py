"""Plans and advice from stored dossiers: real records, the real store and the trial cohort."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.demo import load_trial_cohort
from myoivig.domain.records import (
    AdverseEvent,
    Assessment,
    Course,
    FunctionalTaskResult,
    LabResult,
    MuscleGrade,
    Patient,
    PatientDossier,
)
from myoivig.domain.values import NP
from myoivig.domain.vocab import (
    TRIAL_MUSCLE_GROUPS,
    AntibodyResult,
    BloodGroup,
    Diagnosis,
    FunctionalTask,
    Phase,
    Sex,
    Side,
)
from myoivig.protocol.advice import Action
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.dossier import advise_dossier, facts_from_dossier
from myoivig.protocol.improvement import Change, trial_rule
from myoivig.protocol.planner import plan_course
from myoivig.protocol.regimens import CourseKind
from myoivig.store import Store
from myoivig.store.repository import add_dossier, existing_sites

START = date(2025, 1, 6)


def assessment(day: int, grade: int, phase: Phase, squat: bool = False) -> Assessment:
    grades = [
        MuscleGrade(muscle_group=g, side=s, kendall_grade=grade)
        for g in TRIAL_MUSCLE_GROUPS
        for s in (Side.LEFT, Side.RIGHT)
    ]
    grades[0] = MuscleGrade(muscle_group=grades[0].muscle_group, side=Side.LEFT, kendall_grade=NP)
    return Assessment(
        patient_code="PRT-01",
        assessment_date=START + timedelta(days=day),
        phase=phase,
        muscle_grades=grades,
        functional_tasks=[
            FunctionalTaskResult(task=FunctionalTask.RISE_FROM_SQUAT, able=squat),
            FunctionalTaskResult(task=FunctionalTask.CLIMB_STAIRS, not_performed=True),
        ],
    )


def full_dossier() -> PatientDossier:
    courses = [
        Course(
            patient_code="PRT-01",
            course_number=n + 1,
            product="Octagam-10",
            start_date=START + timedelta(days=28 * n),
            days=5 if n == 0 else 3,
            planned_daily_dose_g=30,
            weight_kg=95 if n < 3 else 93,
        )
        for n in range(4)
    ]
    return PatientDossier(
        patient=Patient(
            code="PRT-01",
            sex=Sex.FEMALE,
            birth_year=1955,
            diagnosis=Diagnosis.DERMATOMYOSITIS,
            height_cm=165,
        ),
        courses=courses,
        assessments=[
            assessment(-60, 5, Phase.RUN_IN),
            assessment(-7, 5, Phase.RUN_IN),
            assessment(21, 6, Phase.TREATMENT),
            assessment(49, 7, Phase.TREATMENT, squat=True),
            assessment(77, 7, Phase.TREATMENT, squat=True),
            assessment(105, 7, Phase.TREATMENT, squat=True),
        ],
        labs=[
            LabResult(patient_code="PRT-01", test="iga", value=0.05, unit="g/L"),
            LabResult(patient_code="PRT-01", test="anti_iga_antibodies", text_value="negative"),
            LabResult(
                patient_code="PRT-01",
                test="egfr",
                value=80,
                unit="mL/min/1.73m2",
                sample_date=date(2025, 1, 2),
            ),
            LabResult(
                patient_code="PRT-01",
                test="egfr",
                value=25,
                unit="mL/min/1.73m2",
                sample_date=date(2025, 5, 1),
            ),
            LabResult(patient_code="PRT-01", test="blood_group", text_value="A+"),
        ],
        adverse_events=[
            AdverseEvent(patient_code="PRT-01", course_number=2, term="Headache", serious=False),
            AdverseEvent(patient_code="PRT-01", course_number=3, term="DVT", serious=True),
        ],
    )


def test_facts_come_from_the_record() -> None:
    facts = facts_from_dossier(full_dossier(), "2g/kg", load_catalogue(), today=date(2025, 5, 20))
    req = facts.request
    assert req.weight_kg == 93 and facts.weight_source == "course 4"
    assert req.height_cm == 165 and req.age == 70
    assert req.product == "octagam-10"  # last course's product, normalised to a catalogue key
    assert req.course is CourseKind.MAINTENANCE
    assert req.iga_g_per_l == 0.05 and req.anti_iga is AntibodyResult.NEGATIVE
    assert req.egfr == 25 and req.egfr_date == date(2025, 5, 1)  # latest result
    assert req.blood_group is BloodGroup.A
    assert [a.code for a in facts.alerts] == ["previous_serious_adverse_event"]
    plan = plan_course(req)
    codes = {a.code for a in plan.alerts}
    assert {"renal_severe_impairment", "renal_use_non_sucrose_product"} <= codes
    assert "iga_deficiency_anti_iga_negative" in codes
    assert plan.infusion is not None and plan.infusion[0].max_rate_ml_per_kg_min == 0.03


def test_trial_rule_reads_real_assessments() -> None:
    d = full_dossier()
    judge = trial_rule()
    mrc_only = judge(d.assessments[1], d.assessments[2])  # 7 of 7 up, no task gained
    assert mrc_only.change is Change.NO_CHANGE and mrc_only.any_gain
    assert judge(d.assessments[1], d.assessments[3]).change is Change.IMPROVED  # + squat
    assert judge(d.assessments[0], d.assessments[1]).change is Change.NO_CHANGE


def test_advice_from_real_records() -> None:
    advice = advise_dossier(full_dossier())
    assert advice.action is Action.REDUCE and advice.rule == "stable_after_response"
    assert advice.evidence[0].courses_before == 1


@pytest.fixture(scope="module")
def cohort_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("protocol") / "cohort.db"
    url = f"sqlite:///{path}"
    store = Store.from_url(url)
    store.upgrade()
    load_trial_cohort(store)
    with store.unit_of_work(actor="protocol-test") as session:
        add_dossier(session, full_dossier(), existing_sites(session))
    store.dispose()
    yield url


@pytest.fixture
def runner(cohort_db: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", cohort_db)
    return CliRunner()


def test_plan_trial_patient_says_what_is_missing(runner: CliRunner) -> None:
    args = ["plan", "MAS98-07", "--regimen", "mastaglia-1998", "--product", "privigen", "--json"]
    result = runner.invoke(app, [*args, "--ruled-out", "hyperprolinaemia"])
    assert result.exit_code == 3, result.output  # blocked: no IgA on record (JSON still given)
    data = json.loads(result.stdout)
    assert data["blocked"] is True and data["blocking_codes"] == ["iga_not_measured"]
    assert data["dose_g"] == 90 and data["course"] == "maintenance"
    assert data["missing"] == ["weight_kg", "height_cm"]
    assert data["dosing_weight_kg"] is None and data["infusion"] is None
    codes = [a["code"] for a in data["alerts"]]
    assert "missing_patient_data" in codes and "previous_serious_adverse_event" in codes


def test_plan_without_product_lists_it_as_missing(runner: CliRunner) -> None:
    data = json.loads(runner.invoke(app, ["plan", "MAS98-02", "--json"]).stdout)
    assert data["missing"] == ["weight_kg", "height_cm", "product"]
    assert data["dose_g"] is None


def test_plan_stored_full_patient(runner: CliRunner) -> None:
    data = json.loads(runner.invoke(app, ["plan", "PRT-01", "--json"]).stdout)
    assert data["missing"] == []
    assert data["dosing_weight_kg"] == pytest.approx(71.3, abs=0.05)
    assert data["infusion"][0]["max_rate_ml_per_kg_min"] == 0.03


def test_advise_trial_and_full_patient(runner: CliRunner) -> None:
    ibm = json.loads(runner.invoke(app, ["advise", "MAS98-12", "--json"]).stdout)
    assert ibm["rule"] == "courses_without_dates" and ibm["action"] == "insufficient_data"
    assert "ibm_low_expected_benefit" in ibm["flags"]
    full = json.loads(runner.invoke(app, ["advise", "PRT-01", "--json"]).stdout)
    assert full["rule"] == "stable_after_response"
    assert len(full["evidence"]) == 4


def test_unknown_patient_exits_non_zero(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "NOPE", "--json"])
    assert result.exit_code == 2 and "NOPE" in result.stderr and result.stdout == ""
