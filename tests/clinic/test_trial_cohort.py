"""The bundled 1998 trial cohort, loaded into each backend, says what the paper's table says."""

from __future__ import annotations

from collections import Counter

import pytest

from myoivig.demo import load_trial_cohort, trial_cohort_facts
from myoivig.domain.records import PatientDossier
from myoivig.domain.values import NP
from myoivig.domain.vocab import Diagnosis, Drug, OverlapDisease, Qualifier, TherapyTiming
from myoivig.store import Store
from myoivig.store.repository import list_dossiers


@pytest.fixture
def cohort(store: Store) -> dict[str, PatientDossier]:
    load_trial_cohort(store)
    with store.session() as s:
        return {d.patient.code: d for d in list_dossiers(s)}


def test_sixteen_patients_by_diagnosis(cohort: dict[str, PatientDossier]) -> None:
    counts = Counter(d.patient.diagnosis for d in cohort.values())
    assert counts == {
        Diagnosis.DERMATOMYOSITIS: 5,
        Diagnosis.POLYMYOSITIS: 2,
        Diagnosis.OVERLAP_MYOSITIS: 4,
        Diagnosis.INCLUSION_BODY_MYOSITIS: 5,
    }
    overlap = Counter(
        d.patient.overlap_disease for d in cohort.values() if d.patient.overlap_disease
    )
    assert overlap == {OverlapDisease.SYSTEMIC_SCLEROSIS: 3, OverlapDisease.SLE: 1}


def test_courses_add_up_to_the_papers_total(cohort: dict[str, PatientDossier]) -> None:
    total = sum(len(d.courses) for d in cohort.values())
    assert total == trial_cohort_facts()["courses_reported_in_text"] == 80
    five = cohort["MAS98-05"]
    assert len(five.courses) == 4
    assert (
        five.reported_outcome is not None and five.reported_outcome.ivig_courses_reported == "1 + 3"
    )
    assert [c.days for c in five.courses] == [5, 3, 3, 3]
    assert all(c.start_date is None and c.weight_kg is None for c in five.courses)


def test_wrapped_second_drugs_belong_to_the_row_above(cohort: dict[str, PatientDossier]) -> None:
    def drugs(code: str) -> list[Drug]:
        return [t.drug for t in cohort[code].therapies if t.timing == TherapyTiming.CONCURRENT]

    assert drugs("MAS98-01") == [Drug.PREDNISOLONE, Drug.METHOTREXATE, Drug.CYCLOSPORIN_A]
    assert drugs("MAS98-08") == [Drug.PREDNISOLONE, Drug.PENICILLAMINE]
    assert drugs("MAS98-09") == [Drug.PREDNISOLONE, Drug.AZATHIOPRINE]
    assert drugs("MAS98-10") == [Drug.PREDNISOLONE, Drug.AZATHIOPRINE]  # figure legend agrees
    assert drugs("MAS98-11") == [Drug.PREDNISOLONE, Drug.METHOTREXATE]
    assert drugs("MAS98-13") == [] and drugs("MAS98-16") == []
    pmp = [t for t in cohort["MAS98-03"].therapies if t.drug == Drug.OTHER]
    assert [t.drug_label for t in pmp] == ["PMP"]


def test_not_performed_is_distinct_from_missing(cohort: dict[str, PatientDossier]) -> None:
    two = cohort["MAS98-02"].reported_outcome
    twelve = cohort["MAS98-12"].reported_outcome
    assert two is not None and twelve is not None
    assert two.myometry_change_pct is NP and two.myometry_significant is None
    assert twelve.ck_after_u_per_l is NP and twelve.ck_before_u_per_l == 107
    np_myometry = sorted(
        code
        for code, d in cohort.items()
        if d.reported_outcome and d.reported_outcome.myometry_change_pct is NP
    )
    assert np_myometry == ["MAS98-02", "MAS98-04", "MAS98-07", "MAS98-11"]


def test_reported_values_and_footnotes(cohort: dict[str, PatientDossier]) -> None:
    one = cohort["MAS98-01"].reported_outcome
    assert one is not None
    assert (one.functional_improvement, one.mrc_improvement) == (False, False)
    assert one.myometry_change_pct == 20.9 and one.myometry_significant is False
    assert (one.ck_before_u_per_l, one.ck_after_u_per_l) == (253, 134)
    assert cohort["MAS98-04"].patient.disease_duration_qualifier == Qualifier.LESS_THAN
    footnoted = sorted(
        code
        for code, d in cohort.items()
        if d.reported_outcome and d.reported_outcome.prednisone_stopped_before_ivig
    )
    assert footnoted == ["MAS98-13", "MAS98-16"]
    improved = sorted(
        code
        for code, d in cohort.items()
        if d.reported_outcome and d.reported_outcome.functional_improvement is True
    )
    assert improved == [f"MAS98-{n:02d}" for n in (2, 4, 5, 6, 8, 9, 10, 11)]


def test_adverse_events_attributed_by_the_text(cohort: dict[str, PatientDossier]) -> None:
    events = {code: d.adverse_events for code, d in cohort.items() if d.adverse_events}
    assert set(events) == {"MAS98-05", "MAS98-07"}
    assert all(
        e.serious and e.course_number == 1 and e.onset_date is None
        for es in events.values()
        for e in es
    )
    assert "septicaemia" in events["MAS98-05"][0].term
    assert "stroke" in events["MAS98-07"][0].term


def test_no_visits_or_dates_invented(cohort: dict[str, PatientDossier]) -> None:
    assert all(not d.assessments and not d.labs for d in cohort.values())
    assert all(c.start_date is None for d in cohort.values() for c in d.courses)
