"""The demo clinic through the real importer into SQLite and PostgreSQL, then the rules engines.

Each patient's expected verdict comes from the generator's design (`Intent`), decided before any
record existed; the outcome engine (trial response rule) and the advice engine (continuation
rules) must reach it from the stored records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest

from myoivig.demo import Dataset, load_dataset
from myoivig.demo_clinic.design import Intent, PatientDesign, cohort_design
from myoivig.demo_clinic.generate import build_clinic
from myoivig.domain.records import PatientDossier
from myoivig.domain.vocab import MuscleGroup, Phase
from myoivig.outcomes.myometry import site_forces
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.protocol.advice import Action
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.dossier import advise_dossier, facts_from_dossier
from myoivig.protocol.planner import plan_course
from myoivig.protocol.safety import BLOCKING, Risk, Severity
from myoivig.store import Store
from myoivig.store.repository import list_dossiers

DESIGN = {d.code: d for d in cohort_design()}
RESPONDING = (Action.CONTINUE, Action.REDUCE)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, PatientDossier]]:
    """The clinic loaded once per backend through the function behind `myoivig demo load`."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('clinic') / 'clinic.db'}"
    else:
        import psycopg

        url = request.getfixturevalue("postgres_server")  # this session's throw-away database
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    store = Store.from_url(url)
    store.upgrade()
    try:
        load = load_dataset(store, Dataset.CLINIC)
        assert not load.already_loaded and load.counts["patients"] == 60
        with store.session() as session:
            yield {d.patient.code: d for d in list_dossiers(session)}
    finally:
        store.dispose()


pytestmark = pytest.mark.storage


def test_stored_records_equal_the_generated_ones(loaded: dict[str, PatientDossier]) -> None:
    generated = {d.patient.code: d for d in build_clinic().dossiers}
    assert sorted(loaded) == sorted(generated)
    for code, dossier in generated.items():
        assert loaded[code] == dossier, code


def _outcome(dossier: PatientDossier, until: date | None = None) -> dict[str, object]:
    assessments = [a for a in dossier.assessments if until is None or a.assessment_date <= until]
    report = patient_outcomes(dossier.patient.code, dossier.patient.diagnosis, assessments)
    assert report["latest"] is not None, report
    response: dict[str, object] = report["latest"]["trial_response"]
    return response


def _truncated(dossier: PatientDossier, until: date) -> PatientDossier:
    """The dossier as it stood on `until` (what the engines would have said that day)."""
    return dossier.model_copy(
        update={
            "assessments": [a for a in dossier.assessments if a.assessment_date <= until],
            "courses": [c for c in dossier.courses if c.start_date and c.start_date <= until],
        }
    )


@pytest.mark.parametrize("intent", list(Intent))
def test_engines_reach_the_designed_course(
    loaded: dict[str, PatientDossier], intent: Intent
) -> None:
    designs = [d for d in DESIGN.values() if d.intent is intent]
    assert designs
    for design in designs:
        dossier = loaded[design.code]
        response = _outcome(dossier)
        advice = advise_dossier(dossier)
        label = f"{design.code} ({intent.value}): {response}, {advice.action.value} {advice.rule}"
        if intent in (Intent.RESPONDER, Intent.LATE):
            assert response["responder"] is True, label
            assert advice.improved and advice.action in RESPONDING, label
        else:
            assert response["responder"] is False, label
            assert advice.action is Action.STOP, label
            assert advice.rule == "no_improvement_after_third_course", label
        if intent is Intent.IBM_FLAT:
            assert "ibm_low_expected_benefit" in advice.flags, label
        assert "synthetic_patient" in advice.flags


def _only(intent: Intent) -> PatientDesign:
    (design,) = [d for d in DESIGN.values() if d.intent is intent]
    return design


def test_transient_responder_like_trial_patient_1(loaded: dict[str, PatientDossier]) -> None:
    dossier = loaded[_only(Intent.TRANSIENT).code]
    first = min(c.start_date for c in dossier.courses if c.start_date)
    early = [a for a in dossier.assessments if 0 < (a.assessment_date - first).days <= 12]
    assert len(early) == 1  # the visit about nine days after the first course
    assert _outcome(dossier, early[0].assessment_date)["responder"] is True
    three_weeks = [a for a in dossier.assessments if 14 < (a.assessment_date - first).days <= 21]
    assert _outcome(dossier, three_weeks[0].assessment_date)["responder"] is False
    advice = advise_dossier(dossier)
    assert (
        advice.action is Action.STOP and "earlier improvement was not sustained" in advice.message
    )


def test_late_responder_like_trial_patient_5(loaded: dict[str, PatientDossier]) -> None:
    dossier = loaded[_only(Intent.LATE).code]
    starts = sorted(c.start_date for c in dossier.courses if c.start_date)
    assert (starts[1] - starts[0]).days >= 150  # further courses about six months later
    assert dossier.adverse_events and any(
        e.serious and e.course_number == 1 for e in dossier.adverse_events
    )
    # After the second course (before the third): not better yet, and too early to stop.
    before_third = _truncated(dossier, starts[2])
    advice = advise_dossier(before_third)
    assert not advice.improved and advice.action is Action.CONTINUE, advice
    assert _outcome(dossier, starts[2])["responder"] is False
    # After the third course: improved; at the end a responder.
    after_third = advise_dossier(_truncated(dossier, starts[3]))
    assert after_third.improved, after_third
    assert _outcome(dossier)["responder"] is True


def test_patient_10_like_overlap_extensor_force_rises(loaded: dict[str, PatientDossier]) -> None:
    (design,) = [d for d in DESIGN.values() if d.like_trial_patient == 10]
    dossier = loaded[design.code]
    run_in = [a for a in dossier.assessments if a.phase is Phase.RUN_IN]
    last = dossier.assessments[-1]
    for group in (MuscleGroup.ELBOW_EXTENSORS, MuscleGroup.HIP_EXTENSORS):
        groups = (group,)
        for site, after in site_forces(last.myometry, groups).items():
            before = [site_forces(a.myometry, groups)[site] for a in run_in]
            assert after > 1.5 * (sum(before) / len(before)), (site, before, after)


def test_ibm_patient_15_like_regional_myometry_gain_without_response(
    loaded: dict[str, PatientDossier],
) -> None:
    (design,) = [d for d in DESIGN.values() if d.like_trial_patient == 15]
    dossier = loaded[design.code]
    groups = (MuscleGroup.SHOULDER_ABDUCTORS,)
    run_in = [
        site_forces(a.myometry, groups) for a in dossier.assessments if a.phase is Phase.RUN_IN
    ]
    last = site_forces(dossier.assessments[-1].myometry, groups)
    for site, after in last.items():
        assert after > 1.1 * sum(r[site] for r in run_in) / len(run_in)
    assert _outcome(dossier)["responder"] is False


def test_every_patient_has_complete_outcomes_and_advice(loaded: dict[str, PatientDossier]) -> None:
    """What `myoivig outcomes` and `myoivig advise` show, for all 60 patients."""
    for code, dossier in loaded.items():
        report = patient_outcomes(code, dossier.patient.diagnosis, dossier.assessments)
        assert report["run_in_assessments"] >= 3, code
        assert all(part["available"] for part in report["run_in"].values()), code
        latest = report["latest"]
        for part in ("myometry", "mrc", "functional", "ck", "tis_doi"):
            assert latest[part]["available"], (code, part, latest[part])
        assert report["proderm_deterioration"]["available"], code
        advice = advise_dossier(dossier)
        assert advice.evidence and advice.action is not Action.INSUFFICIENT_DATA, code


def test_every_patient_gets_a_plan_with_the_synthetic_warning(
    loaded: dict[str, PatientDossier],
) -> None:
    """Plans are complete; only the IgA-deficient patients (on Privigen, the lowest-IgA product)
    are held: the hyperprolinaemia question must be answered, and anti-IgA antibodies block."""
    catalogue = load_catalogue()
    held = {}
    for code, dossier in loaded.items():
        facts = facts_from_dossier(dossier, "2g/kg", catalogue, today=date(2026, 7, 1))
        plan = plan_course(facts.request)
        assert plan.dose is not None and plan.weight is not None and plan.product is not None, code
        assert "synthetic_patient" in {a.code for a in facts.alerts}
        blocking = sorted(a.code for a in plan.alerts if a.severity in BLOCKING)
        if blocking:
            held[code] = blocking
    deficient = {d.code: d.anti_iga_positive for d in DESIGN.values() if d.iga_deficient}
    assert held == {
        code: sorted(
            ["proline_hyperprolinaemia_unasked"]
            + (["iga_deficiency_anti_iga_positive"] if positive else [])
        )
        for code, positive in deficient.items()
    }
    for code, positive in deficient.items():  # once asked: only the antibodies still block
        facts = facts_from_dossier(loaded[code], "2g/kg", catalogue, today=date(2026, 7, 1))
        request = replace(facts.request, ruled_out=frozenset({Risk.HYPERPROLINAEMIA}))
        codes = {a.code: a.severity for a in plan_course(request).alerts}
        if positive:
            assert codes["iga_deficiency_anti_iga_positive"] is Severity.BLOCK
        else:
            assert codes["iga_deficiency_anti_iga_negative"] is Severity.WARNING
            assert not any(severity in BLOCKING for severity in codes.values())
