"""The clinic application layer: timeline series, pseudonymisation and visibility rules."""

from __future__ import annotations

from datetime import date

import pytest

from myoivig.clinic.service import (
    CLI_OPERATOR,
    PatientQuery,
    QueryError,
    Viewer,
    list_patients,
    load_patient,
    patient_timeline,
    pseudonym,
    pseudonymise,
    visit_criteria,
)
from myoivig.domain import records as r
from myoivig.domain.synthetic import is_synthetic
from myoivig.domain.vocab import CoreSetMeasure, Diagnosis, Enzyme, MuscleGroup, Phase, Sex, Side
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError, add_dossier, add_site
from myoivig.store.tables import SiteRow


def _dossier(code: str, site: str | None) -> r.PatientDossier:
    visit = r.Assessment(
        patient_code=code,
        assessment_date=date(2024, 1, 8),
        phase=Phase.RUN_IN,
        assessor="Dr A",
        note="call Mrs B",
        myometry=[
            r.MyometryReading(muscle_group=MuscleGroup.ELBOW_EXTENSORS, side=Side.LEFT, force_n=60),
            r.MyometryReading(muscle_group=MuscleGroup.HIP_FLEXORS, side=Side.RIGHT, force_n=90),
            r.MyometryReading(muscle_group=MuscleGroup.HIP_EXTENSORS, side=Side.LEFT, force_n=40),
        ],
        core_set=[r.CoreSetValue(measure=CoreSetMeasure.MMT8, value=61, scale_max=80)],
        enzymes=[r.EnzymeResult(enzyme=Enzyme.CK, value_u_per_l=600, uln_u_per_l=200)],
    )
    return r.PatientDossier(
        patient=r.Patient(
            code=code,
            site_code=site,
            sex=Sex.MALE,
            birth_year=1950,
            diagnosis=Diagnosis.POLYMYOSITIS,
            note="Mr C",
            source="clinic file",
        ),
        assessments=[visit],
        courses=[
            r.Course(
                patient_code=code,
                course_number=1,
                start_date=date(2024, 1, 15),
                days=5,
                planned_daily_dose_g=30,
                given_daily_dose_g=28,
            ),
            r.Course(patient_code=code, course_number=2, days=3),
        ],
    )


def test_timeline_series() -> None:
    t = patient_timeline(_dossier("P1", None))
    assert t["dates"] == ["2024-01-08"] and t["phases"] == ["run_in"]
    assert t["mean_force_n"] == [75.0]  # trial groups only: (60 + 90) / 2, hip extensors left out
    assert t["mmt8"] == [61] and t["ck_times_uln"] == [3.0]
    assert t["courses"] == [
        {
            "number": 1,
            "start": "2024-01-15",
            "end": "2024-01-19",
            "daily_dose_g": 28,
            "days": 5,
            "product": None,
        }
    ]
    assert t["courses_without_dates"] == 1
    assert t["force_by_group"] == {
        "elbow extensors (left)": [60],
        "hip flexors (right)": [90],
        "hip extensors (left)": [40],
    }


def test_visit_criteria_has_one_row_per_follow_up_visit() -> None:
    base = _dossier("P1", None)
    later = base.assessments[0].model_copy(
        update={"assessment_date": date(2024, 3, 1), "phase": Phase.FOLLOW_UP}
    )
    criteria = visit_criteria(base.model_copy(update={"assessments": [base.assessments[0], later]}))
    assert [v["assessment_date"] for v in criteria["visits"]] == ["2024-03-01"]
    assert criteria["visits"][0]["myometry"]["percent_change"] == 0.0
    assert criteria["run_in"]["ck_u_per_l"]["warnings"]  # fewer than three run-in assessments
    only_run_in = visit_criteria(base)
    assert only_run_in["visits"] == [] and "needs at least one run-in" in only_run_in["note"]


def test_pseudonymise_removes_what_identifies() -> None:
    key = b"k" * 32
    shown = pseudonymise(_dossier("P1", "NORTH"), key)
    alias = pseudonym("P1", key)
    assert shown.patient.code == alias and alias.startswith("R-") and len(alias) == 14
    assert shown.patient.birth_year is None and shown.patient.note is None
    assert shown.patient.source is None
    assert shown.assessments[0].assessor is None and shown.assessments[0].note is None
    assert {c.patient_code for c in shown.courses} == {alias}
    assert pseudonym("P1", b"other key") != alias
    with pytest.raises(ValueError):
        pseudonym("P1", b"")
    generated = _dossier("P2", "NORTH")
    generated = generated.model_copy(
        update={"patient": generated.patient.model_copy(update={"source": "SYNTHETIC demo, Dr X"})}
    )
    kept = pseudonymise(generated, key).patient
    assert kept.source == "SYNTHETIC" and is_synthetic(kept)  # the label, nothing else


def test_visibility_and_query_checks(store: Store) -> None:
    with store.unit_of_work("test") as session:
        sites = {code: add_site(session, r.Site(site_code=code, name=code)) for code in ("A", "B")}
        for code, site in (("PA", "A"), ("PB", "B"), ("P0", None)):
            add_dossier(session, _dossier(code, site), sites)
    a_only = Viewer(name="x", all_sites=False, site_codes=frozenset({"A"}))
    with store.session() as session:
        assert list_patients(session, CLI_OPERATOR, PatientQuery()).total == 3
        assert [p["code"] for p in list_patients(session, a_only, PatientQuery()).items] == ["PA"]
        with pytest.raises(RecordNotFoundError):
            load_patient(session, a_only, "PB")
        with pytest.raises(RecordNotFoundError):
            load_patient(session, a_only, "P0")  # no site: only all-site viewers
        assert load_patient(session, CLI_OPERATOR, "P0").patient.code == "P0"
        for bad in (PatientQuery(diagnosis="flu"), PatientQuery(page=0), PatientQuery(per_page=0)):
            with pytest.raises(QueryError):
                list_patients(session, CLI_OPERATOR, bad)
    assert isinstance(sites["A"], SiteRow)
