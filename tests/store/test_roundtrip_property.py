"""Property: any valid dossier survives the store unchanged, on every backend."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from myoivig.domain import records as r
from myoivig.domain.values import NP
from myoivig.domain.vocab import (
    CoreSetMeasure,
    Diagnosis,
    Enzyme,
    FunctionalTask,
    MuscleGroup,
    Phase,
    Sex,
    Side,
)
from myoivig.store import Store, repository
from myoivig.store.tables import PatientRow

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2025, 12, 31))


def _or_np(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(strategy, st.just(NP))


assessment = st.builds(
    r.Assessment,
    patient_code=st.just("PX"),
    assessment_date=days,
    phase=st.sampled_from(list(Phase)),
    myometry=st.lists(
        st.builds(
            r.MyometryReading,
            muscle_group=st.sampled_from(list(MuscleGroup)),
            side=st.sampled_from(list(Side)),
            force_n=_or_np(st.floats(min_value=0, max_value=2000)),
        ),
        max_size=3,
        unique_by=lambda m: (m.muscle_group, m.side),
    ),
    muscle_grades=st.lists(
        st.builds(
            r.MuscleGrade,
            muscle_group=st.sampled_from(list(MuscleGroup)),
            side=st.sampled_from(list(Side)),
            kendall_grade=_or_np(st.integers(min_value=0, max_value=10)),
        ),
        max_size=3,
        unique_by=lambda m: (m.muscle_group, m.side),
    ),
    functional_tasks=st.lists(
        st.builds(
            r.FunctionalTaskResult,
            task=st.sampled_from(list(FunctionalTask)),
            able=st.one_of(st.none(), st.booleans()),
        ),
        max_size=3,
        unique_by=lambda t: t.task,
    ),
    core_set=st.lists(
        st.builds(
            r.CoreSetValue,
            measure=st.just(CoreSetMeasure.HAQ),
            value=_or_np(st.floats(min_value=0, max_value=3)),
        ),
        max_size=1,
    ),
    enzymes=st.lists(
        st.builds(
            r.EnzymeResult,
            enzyme=st.sampled_from(list(Enzyme)),
            value_u_per_l=_or_np(st.floats(min_value=0, max_value=1e6)),
            uln_u_per_l=st.one_of(st.none(), st.floats(min_value=0, max_value=1e5)),
        ),
        max_size=3,
        unique_by=lambda e: e.enzyme,
    ),
)

dossier = st.builds(
    r.PatientDossier,
    patient=st.builds(
        r.Patient,
        code=st.just("PX"),
        sex=st.sampled_from(list(Sex)),
        diagnosis=st.sampled_from([d for d in Diagnosis if d != Diagnosis.OVERLAP_MYOSITIS]),
        age_at_entry=st.one_of(st.none(), st.integers(0, 120)),
        height_cm=st.one_of(st.none(), st.floats(min_value=40, max_value=250)),
        note=st.one_of(
            st.none(),
            st.text(
                st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=40,
            ),
        ),
    ),
    courses=st.lists(
        st.builds(
            r.Course,
            patient_code=st.just("PX"),
            course_number=st.integers(1, 50),
            days=st.integers(1, 7),
            planned_daily_dose_g=st.one_of(st.none(), st.floats(min_value=0, max_value=200)),
            weight_kg=st.one_of(st.none(), st.floats(min_value=2, max_value=400)),
        ),
        max_size=3,
        unique_by=lambda c: c.course_number,
    ).map(lambda cs: sorted(cs, key=lambda c: c.course_number)),
    assessments=st.lists(assessment, max_size=3, unique_by=lambda a: a.assessment_date).map(
        lambda xs: sorted(xs, key=lambda a: a.assessment_date)
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(original=dossier)
def test_any_valid_dossier_round_trips(store: Store, original: r.PatientDossier) -> None:
    with store.unit_of_work(actor="property") as s:
        for row in s.scalars(select(PatientRow)):
            s.delete(row)
    with store.unit_of_work(actor="property") as s:
        repository.add_dossier(s, original, {})
    with store.session() as s:
        loaded = repository.load_dossier(s, "PX")
    assert loaded == original
