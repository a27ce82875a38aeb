"""Field rules: units and ranges, with errors that name the field, the value and the rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from myoivig.domain import records as r
from myoivig.domain.consistency import check_dossier
from myoivig.domain.values import NP


def _error(model: type[r.Record], **data: object) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return str(info.value)


COURSE = {"patient_code": "P1", "course_number": 1, "days": 5}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", 1.5, "must be 2 to 400 kg"),
        ("weight_kg", 0, "must be 2 to 400 kg"),
        ("days", 8, "must be 1 to 7 days"),
        ("days", 0, "must be 1 to 7 days"),
        ("planned_daily_dose_g", 250, "must be 0 to 200 g/day"),
        ("start_date", (date.today() + timedelta(days=2)).isoformat(), "in the future"),
        ("start_date", "2023-02-30", "expected an ISO date"),
        ("days", "NP", "not allowed"),
    ],
)
def test_course_ranges(field: str, value: object, message: str) -> None:
    text = _error(r.Course, **{**COURSE, field: value})
    assert field in text and message in text and str(value) in text


def test_grade_enzyme_height_limits() -> None:
    assert "0 to 10" in _error(
        r.MuscleGrade, muscle_group="hip_flexors", side="left", kendall_grade=11
    )
    assert "whole number" in _error(
        r.MuscleGrade, muscle_group="hip_flexors", side="left", kendall_grade=4.5
    )
    assert "must be 0 to 1000000 U/L" in _error(r.EnzymeResult, enzyme="ck", value_u_per_l=-1)
    assert "40 to 250 cm" in _error(
        r.Patient, code="P", sex="F", diagnosis="polymyositis", height_cm=17
    )
    assert (
        r.MuscleGrade(muscle_group="hip_flexors", side="left", kendall_grade=10).kendall_grade == 10
    )
    assert r.EnzymeResult(enzyme="ck", value_u_per_l="NP").value_u_per_l is NP


def test_vocabulary_and_cross_field_rules() -> None:
    assert "diagnosis" in _error(r.Patient, code="P", sex="F", diagnosis="myositis")
    assert "only allowed with diagnosis 'overlap_myositis'" in _error(
        r.Patient,
        code="P",
        sex="F",
        diagnosis="dermatomyositis",
        overlap_disease="systemic_sclerosis",
    )
    assert "drug_label" in _error(r.Therapy, patient_code="P", drug="other")
    assert "before start_date" in _error(
        r.Therapy,
        patient_code="P",
        drug="methotrexate",
        start_date="2020-05-01",
        stop_date="2020-04-01",
    )


def test_core_set_ranges_depend_on_the_measure() -> None:
    assert "haq must be 0 to 3" in _error(r.CoreSetValue, measure="haq", value=3.5)
    assert "scale_max 80, 150 or 260" in _error(r.CoreSetValue, measure="mmt8", value=70)
    assert "mmt8 must be 0 to 80" in _error(r.CoreSetValue, measure="mmt8", value=90, scale_max=80)
    assert r.CoreSetValue(measure="mmt8", value=140, scale_max=150).value == 140


def test_lab_units_are_checked_not_converted() -> None:
    text = _error(r.LabResult, patient_code="P", test="iga", value=210, unit="mg/dL")
    assert "g/L" in text and "mg/dL" in text
    assert r.LabResult(patient_code="P", test="egfr", value=45, unit="ml/min/1.73 m2").unit == (
        "mL/min/1.73m2"
    )
    assert "blood_group" in _error(
        r.LabResult, patient_code="P", test="blood_group", text_value="C"
    )


def _dossier(**lists: object) -> r.PatientDossier:
    patient = r.Patient(code="P1", sex="F", diagnosis="dermatomyositis")
    return r.PatientDossier.model_validate({"patient": patient, **lists})


def test_dates_must_follow_the_course_of_treatment() -> None:
    dossier = _dossier(
        courses=[
            {**COURSE, "start_date": "2023-03-01"},
            {**COURSE, "course_number": 2, "days": 3, "start_date": "2023-02-01"},
        ],
        assessments=[
            {"patient_code": "P1", "assessment_date": "2023-01-01", "phase": "run_in"},
            {"patient_code": "P1", "assessment_date": "2023-03-10", "phase": "run_in"},
            {"patient_code": "P1", "assessment_date": "2022-12-01", "phase": "follow_up"},
        ],
        adverse_events=[
            {"patient_code": "P1", "course_number": 3, "term": "rash", "serious": False}
        ],
    )
    reasons = [f.reason for f in check_dossier(dossier)]
    assert any("course 2 starts on or before course 1" in x for x in reasons)
    assert any("run-in assessment on 2023-03-10 is after the first IVIg" in x for x in reasons)
    assert any("follow_up assessment is before the first IVIg course" in x for x in reasons)
    assert any("follow-up is before the patient's first record" in x for x in reasons)
    assert any("refers to course 3" in x for x in reasons)


def test_a_consistent_dossier_has_no_findings() -> None:
    dossier = _dossier(
        courses=[{**COURSE, "start_date": "2023-03-01"}],
        assessments=[
            {"patient_code": "P1", "assessment_date": "2023-01-01", "phase": "run_in"},
            {"patient_code": "P1", "assessment_date": "2023-06-01", "phase": "follow_up"},
        ],
    )
    assert check_dossier(dossier) == []


def test_nul_character_is_rejected_in_any_text_field() -> None:
    assert "NUL" in _error(r.Patient, code="P", sex="F", diagnosis="polymyositis", note="a\x00b")
    assert "NUL" in _error(r.AdverseEvent, patient_code="P", term="rash\x00", serious=False)
