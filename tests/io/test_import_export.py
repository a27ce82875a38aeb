"""Import is atomic and lists every bad cell; export then import is lossless (CSV and Excel)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from sqlalchemy import func, select

from myoivig.demo import load_trial_cohort, trial_cohort_path
from myoivig.domain.values import NP
from myoivig.io.exporter import export_store
from myoivig.io.importer import import_path, load_bundle
from myoivig.io.problems import ImportRejectedError, Problem
from myoivig.io.sheets import FormatError
from myoivig.store import Store, repository
from myoivig.store.repository import list_dossiers, load_dossier
from myoivig.store.tables import AuditRow, Base, PatientRow

FIXTURES = Path(__file__).parents[1] / "clinic" / "fixtures"


def _snapshot(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {
            table.name: int(s.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def _rejected(store: Store, path: Path) -> list[Problem]:
    with pytest.raises(ImportRejectedError) as info:
        import_path(store, path, actor="tester")
    return info.value.problems


def test_full_fixture_imports_with_every_kind_of_value(store: Store) -> None:
    counts = import_path(store, FIXTURES / "full", actor="tester")
    assert counts["patients"] == 2 and counts["assessments"] == 6
    with store.session() as s:
        p1 = load_dossier(s, "P001")
    first = p1.assessments[0]
    assert [m.force_n for m in first.myometry] == [61.5, NP]
    assert [g.kendall_grade for g in first.muscle_grades] == [6, NP]
    tasks = {t.task.value: t for t in first.functional_tasks}
    assert tasks["rise_from_squat"].not_performed and tasks["rise_from_squat"].able is None
    assert tasks["walk_30m"].time_s == 41.3
    labs = {lab.test.value: lab for lab in p1.labs}
    assert labs["anti_iga_antibodies"].not_performed
    assert labs["blood_group"].text_value == "A+"
    assert p1.patient.note == "quoted, note"


def test_malformed_import_lists_every_problem_and_changes_nothing(store: Store) -> None:
    load_trial_cohort(store)
    before = _snapshot(store)
    problems = _rejected(store, FIXTURES / "malformed")
    text = "\n".join(str(p) for p in problems)
    expected = [
        ("labs", "unit", "mg/dL"),  # wrong unit
        ("muscle_grades", "kendall_grade", "11"),  # grade 11
        ("patients", "diagnosis", "sporadic_myositis"),  # unknown diagnosis
        ("patients", "patient_code", "P001"),  # duplicated code
        ("courses", "start_date", "2023-02-30"),  # bad date
    ]
    for table, column, value in expected:
        assert any(
            p.table == table and p.column == column and p.value == value for p in problems
        ), f"missing problem {table}.{column}={value!r} in:\n{text}"
    assert all(p.reason for p in problems)
    assert any(p.row == 3 for p in problems if p.table == "patients")
    assert _snapshot(store) == before


def test_duplicate_against_database_rolls_back_everything(store: Store) -> None:
    import_path(store, FIXTURES / "full", actor="tester")
    before = _snapshot(store)
    problems = _rejected(store, FIXTURES / "full")
    assert {p.value for p in problems} == {"P001", "P002", "DEMO-1"}
    assert _snapshot(store) == before
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditRow)) == before["audit_log"]


def _export_import_export(store: Store, other: Store, tmp_path: Path, fmt: str) -> None:
    first = tmp_path / "first"
    export_store(store, first, fmt)
    source = first if fmt == "csv" else first / "myoivig.xlsx"
    import_path(other, source, actor="roundtrip")
    second = tmp_path / "second"
    export_store(other, second, "csv")
    reference = tmp_path / "reference"
    export_store(store, reference, "csv")
    names = sorted(p.name for p in reference.glob("*.csv"))
    match, mismatch, errors = filecmp.cmpfiles(reference, second, names, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == 14
    with store.session() as a, other.session() as b:
        assert list_dossiers(a) == list_dossiers(b)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roundtrip_is_lossless(store: Store, other_store: Store, tmp_path: Path, fmt: str) -> None:
    load_trial_cohort(store)
    import_path(store, FIXTURES / "full", actor="tester")
    _export_import_export(store, other_store, tmp_path, fmt)


def test_trial_cohort_files_validate_without_a_database() -> None:
    bundle = load_bundle(trial_cohort_path())
    assert bundle.counts()["patients"] == 16 and bundle.counts()["courses"] == 80


def test_unknown_table_and_column_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_code,sex,diagnosis,weight\nX1,F,dermatomyositis,70\n", encoding="utf-8"
    )
    (folder / "visits.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ImportRejectedError) as info:
        load_bundle(folder)
    found = {(p.table, p.column) for p in info.value.problems}
    assert ("patients", "weight") in found and ("visits", "") in found


def test_byte_order_mark_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    folder = tmp_path / "bom"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "\ufeffpatient_code,sex,diagnosis\nX1,F,dermatomyositis\n,,\n", encoding="utf-8"
    )
    assert load_bundle(folder).counts()["patients"] == 1


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "patients.csv").write_bytes(
        "patient_code,sex,diagnosis,note\nX1,F,dermatomyositis,Zürich\n".encode("latin-1")
    )
    with pytest.raises(FormatError, match=r"patients.csv: not UTF-8 text"):
        load_bundle(folder)


def test_failure_after_rows_were_written_rolls_everything_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error part-way through the write leaves the database exactly as it was."""
    load_trial_cohort(store)
    before = _snapshot(store)
    real_add = repository.bulk_add_dossiers
    calls = {"n": 0}

    def add_then_fail(session, dossiers, sites, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        ids = real_add(session, dossiers, sites, **options)  # every row is in the transaction
        clash = session.get(PatientRow, ids[1])
        clash.code = "MAS98-01"  # collides with a stored patient -> IntegrityError
        session.flush()
        return ids

    monkeypatch.setattr(repository, "bulk_add_dossiers", add_then_fail)
    problems = _rejected(store, FIXTURES / "full")
    assert calls["n"] == 1 and "database refused" in problems[0].reason
    assert _snapshot(store) == before
