"""The SYNTHETIC demo clinic generator: reproducible, labelled, and clean against the domain rules.

These tests need no database: they check the generated records themselves (and that the bundled
files are exactly what the generator writes, so script and data never drift apart).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from myoivig.clinic.infusion_checks import check_infusion_day, day_at_risk
from myoivig.demo import Dataset, dataset_path
from myoivig.demo_clinic.design import DEFAULT_SEED, REFERENCE_DATE, Intent, cohort_design
from myoivig.demo_clinic.generate import (
    INTENT,
    Clinic,
    build_clinic,
    bundled_path,
    intent_table,
    main,
    write_clinic,
)
from myoivig.domain.consistency import check_dossier
from myoivig.domain.records import PatientDossier
from myoivig.domain.synthetic import is_synthetic
from myoivig.domain.vocab import (
    MMT8_MUSCLE_GROUPS,
    TRIAL_MUSCLE_GROUPS,
    CoreSetMeasure,
    Diagnosis,
    Enzyme,
    FunctionalTask,
    LabTest,
    Phase,
    RateUnit,
    Side,
)
from myoivig.io.importer import load_bundle
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.settings import DEFAULT_SETTINGS


@pytest.fixture(scope="module")
def clinic() -> Clinic:
    return build_clinic()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_bundled_files_equal_a_fresh_run(clinic: Clinic, tmp_path: Path) -> None:
    write_clinic(clinic, tmp_path / "fresh")
    fresh, bundled = _files(tmp_path / "fresh"), _files(bundled_path())
    assert sorted(fresh) == sorted(bundled)
    stale = [name for name in fresh if fresh[name] != bundled[name]]
    assert not stale, (
        f"{stale} differ from the generator's output; regenerate with "
        "`python -m myoivig.demo_clinic.generate`"
    )


def test_generation_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """A set iterated in hash order once made every run different; a child process with another
    PYTHONHASHSEED must write the same files."""
    out = tmp_path / "other_process"
    subprocess.run(
        [sys.executable, "-m", "myoivig.demo_clinic.generate", "--out", str(out)],
        check=True,
        capture_output=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert _files(out) == _files(bundled_path())


def test_another_seed_gives_another_clinic(clinic: Clinic) -> None:
    other = build_clinic(DEFAULT_SEED + 1)
    assert [d.patient.code for d in other.dossiers] == [d.patient.code for d in clinic.dossiers]
    assert other.dossiers[5].model_dump() != clinic.dossiers[5].model_dump()


def test_the_bundled_folder_imports_and_equals_the_generated_records(clinic: Clinic) -> None:
    bundle = load_bundle(dataset_path(Dataset.CLINIC))  # raises with every problem if any
    assert bundle.dossiers == clinic.dossiers
    assert bundle.sites == clinic.sites


def test_sixty_patients_over_three_sites(clinic: Clinic) -> None:
    assert len(clinic.dossiers) == 60 and len(clinic.sites) == 3
    by_site = Counter(d.patient.site_code for d in clinic.dossiers)
    assert sorted(by_site.values()) == [20, 20, 20]
    by_dx = Counter(d.patient.diagnosis for d in clinic.dossiers)
    assert by_dx == {
        Diagnosis.DERMATOMYOSITIS: 18,
        Diagnosis.POLYMYOSITIS: 12,
        Diagnosis.OVERLAP_MYOSITIS: 12,
        Diagnosis.INCLUSION_BODY_MYOSITIS: 12,
        Diagnosis.JUVENILE_DERMATOMYOSITIS: 6,
    }
    assert all(d.patient.age_at_entry is not None for d in clinic.dossiers)
    juvenile = [
        d for d in clinic.dossiers if d.patient.diagnosis is Diagnosis.JUVENILE_DERMATOMYOSITIS
    ]
    assert all(d.patient.age_at_entry is not None and d.patient.age_at_entry < 16 for d in juvenile)
    trial_codes = {d.patient.code for d in load_bundle(dataset_path(Dataset.TRIAL)).dossiers}
    assert not trial_codes & {d.patient.code for d in clinic.dossiers}


def test_every_record_is_labelled_synthetic(clinic: Clinic) -> None:
    for d in clinic.dossiers:
        p = d.patient
        assert p.code.startswith("SYN-") and is_synthetic(p), p.code
        assert p.note is not None and p.note.startswith("SYNTHETIC"), p.code
    for site in clinic.sites:
        assert "Synthetic" in site.name and site.note and "SYNTHETIC" in site.note
    provenance = (bundled_path() / "PROVENANCE.md").read_text(encoding="utf-8")
    assert provenance.startswith("# SYNTHETIC demo clinic")
    assert (
        f"seed {DEFAULT_SEED}" in provenance
        and "python -m myoivig.demo_clinic.generate" in provenance
    )


def test_intent_file_is_the_generators_design(clinic: Clinic) -> None:
    committed = yaml.safe_load((bundled_path() / INTENT).read_text(encoding="utf-8"))
    assert committed == intent_table(clinic)
    intents = Counter(d.intent for d in cohort_design())
    assert intents[Intent.TRANSIENT] == 1 and intents[Intent.LATE] == 1
    assert intents[Intent.IBM_FLAT] == 12 and intents[Intent.NON_RESPONDER] >= 5
    assert {d.like_trial_patient for d in cohort_design()} >= {1, 5, 10, 15}


def _dates(d: PatientDossier) -> list[date]:
    out = [a.assessment_date for a in d.assessments]
    out += [c.start_date for c in d.courses if c.start_date]
    out += [lab.sample_date for lab in d.labs if lab.sample_date]
    out += [e.onset_date for e in d.adverse_events if e.onset_date]
    out += [t.start_date for t in d.therapies if t.start_date]
    out += [t.stop_date for t in d.therapies if t.stop_date]
    return out


def test_dates_are_fixed_in_the_past_and_after_birth_and_onset(clinic: Clinic) -> None:
    for d in clinic.dossiers:
        p = d.patient
        assert p.birth_year is not None and p.onset_date is not None
        born = date(p.birth_year, 1, 1)
        assert born < p.onset_date, p.code
        first_course = min(c.start_date for c in d.courses if c.start_date)
        assert p.age_at_entry in (
            first_course.year - p.birth_year,
            first_course.year - p.birth_year - 1,
        )
        for when in _dates(d):
            assert born <= when <= REFERENCE_DATE, (p.code, when)
        for when in [a.assessment_date for a in d.assessments] + [first_course]:
            assert when >= p.onset_date, (p.code, when)
        assert check_dossier(d) == [], p.code


def test_body_measures_are_consistent_over_time(clinic: Clinic) -> None:
    for d in clinic.dossiers:
        height = d.patient.height_cm
        assert height is not None
        weights = [c.weight_kg for c in sorted(d.courses, key=lambda c: c.course_number)]
        assert all(w is not None for w in weights)
        for before, after in pairwise(weights):
            assert before is not None and after is not None
            assert abs(after - before) / before < 0.10, (d.patient.code, before, after)
        for w in weights:
            assert w is not None
            assert 13 <= w / (height / 100) ** 2 <= 60, (d.patient.code, w, height)


def test_courses_follow_a_real_regimen_within_label_limits(clinic: Clinic) -> None:
    catalogue = load_catalogue()
    trial_regimen = 0
    for d in clinic.dossiers:
        age = d.patient.age_at_entry or 0
        for c in d.courses:
            assert c.product in catalogue.products, c.product
            assert c.weight_kg is not None and c.planned_daily_dose_g is not None
            assert c.planned_daily_dose_g / c.weight_kg <= DEFAULT_SETTINGS.max_daily_dose_g_per_kg
            course_g = c.planned_daily_dose_g * c.days
            if c.note and c.note.startswith("Trial regimen"):
                trial_regimen += 1
                assert c.planned_daily_dose_g == 30 and c.days == (5 if c.course_number == 1 else 3)
            elif "stopped after day" not in (c.note or ""):
                assert course_g / c.weight_kg <= DEFAULT_SETTINGS.max_course_dose_g_per_kg + 1e-9
                assert course_g > 2 * c.weight_kg - 5, (d.patient.code, c.course_number)  # 5 g step
            if age >= 65:
                assert c.days >= 3  # no standard dose over one to two days in the elderly
            product = catalogue.products[c.product]
            profile = product.rate_profiles.get(product.myositis_profile or "")
            if c.infusion_rate_ml_per_kg_min is not None:
                assert profile is not None and product.concentration_g_per_ml.value is not None
                mg_per_kg_min = (
                    c.infusion_rate_ml_per_kg_min * product.concentration_g_per_ml.value * 1000
                )
                assert mg_per_kg_min <= 4.0 + 1e-9  # Octagam 10 % DM label maximum
                assert c.infusion_rate_ml_per_kg_min <= (profile.max_ml_per_kg_min.value or 0)
                if age >= 65:
                    assert mg_per_kg_min <= 3.0 + 1e-9  # class-wide at-risk default
        starts = [c.start_date for c in d.courses if c.start_date]
        gaps = [(b - a).days for a, b in pairwise(starts)]
        assert all(gap >= 26 for gap in gaps), (d.patient.code, gaps)
    assert trial_regimen > 0


def test_run_in_and_monthly_measurements(clinic: Clinic) -> None:
    for d in clinic.dossiers:
        first_course = min(c.start_date for c in d.courses if c.start_date)
        run_in = [a for a in d.assessments if a.phase is Phase.RUN_IN]
        assert len(run_in) >= 3, d.patient.code
        assert (first_course - run_in[0].assessment_date).days >= 80
        assert len(d.assessments) - len(run_in) >= 3
        for a in d.assessments:
            sites = {(m.muscle_group, m.side) for m in a.myometry}
            assert {(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)} <= sites
            graded = {g.muscle_group for g in a.muscle_grades}
            assert set(TRIAL_MUSCLE_GROUPS) | set(MMT8_MUSCLE_GROUPS) <= graded
            mmt8 = next(v for v in a.core_set if v.measure is CoreSetMeasure.MMT8)
            total = sum(int(g.kendall_grade) for g in a.muscle_grades  # type: ignore[call-overload]
                        if g.muscle_group in MMT8_MUSCLE_GROUPS)  # fmt: skip
            assert mmt8.value == total and mmt8.scale_max == 150
            tasks = {t.task: t for t in a.functional_tasks}
            assert set(tasks) == set(FunctionalTask)
            assert tasks[FunctionalTask.WALK_30M].time_s is not None
            assert [e.enzyme for e in a.enzymes] == [Enzyme.CK]
            assert a.enzymes[0].uln_u_per_l is not None


def test_labs_iga_and_adverse_events(clinic: Clinic) -> None:
    deficient = []
    for d in clinic.dossiers:
        tests = Counter(lab.test for lab in d.labs)
        assert tests[LabTest.IGA] == 1 and tests[LabTest.BLOOD_GROUP] == 1
        assert tests[LabTest.EGFR] == len(d.courses) and tests[LabTest.CREATININE] == len(d.courses)
        iga = next(lab for lab in d.labs if lab.test is LabTest.IGA)
        assert iga.value is not None
        if iga.value < DEFAULT_SETTINGS.iga_deficiency_g_per_l:
            anti = [lab.text_value for lab in d.labs if lab.test is LabTest.ANTI_IGA_ANTIBODIES]
            deficient.append((d.patient.code, anti))
        else:
            assert 0.7 <= iga.value <= 4.0
    assert sorted(a for _, a in deficient) == [["negative"], ["positive"]]
    terms = Counter(e.term for d in clinic.dossiers for e in d.adverse_events)
    assert terms["Headache"] >= 5
    assert terms["Aseptic meningitis"] == 1
    assert terms["Deep vein thrombosis, left leg"] == 1
    serious = [e for d in clinic.dossiers for e in d.adverse_events if e.serious]
    assert len(serious) == 3


def test_generator_refuses_a_folder_it_does_not_own(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["--out", str(folder)]) == 2
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_infusion_days_pass_the_recording_rules(clinic: Clinic) -> None:
    """Every generated day is one the infusion-day form would accept without confirmation:
    in its course, dose as the course's, rate steps within the applicable maximum."""
    catalogue = load_catalogue()
    lots = re.compile(r"^[A-Z]\d{4}[A-Z]$")
    with_steps = pump = 0
    for d in clinic.dossiers:
        courses = {c.course_number: c for c in d.courses}
        assert len(d.infusion_days) == sum(c.days for c in d.courses), d.patient.code
        for day in d.infusion_days:
            course = courses[day.course_number]
            risk = day_at_risk(d.patient, d.labs, day, course, DEFAULT_SETTINGS)
            found = check_infusion_day(
                day, course, d.patient.diagnosis, catalogue, DEFAULT_SETTINGS, risk
            )
            assert found == [], (d.patient.code, day.course_number, day.day_number, found)
            assert lots.match(day.lot_number) and "synthetic" in (day.given_by or "")
            with_steps += bool(day.rate_steps)
            pump += any(s.unit is RateUnit.ML_PER_H for s in day.rate_steps)
    assert with_steps > 1000 and pump > 100
    assert any(day.reactions for d in clinic.dossiers for day in d.infusion_days)
