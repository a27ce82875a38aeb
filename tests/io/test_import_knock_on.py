"""One bad cell is one problem: rows that refer to a refused row are not reported again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from myoivig.io.importer import import_path
from myoivig.io.problems import ImportRejectedError
from myoivig.store import Store

FULL = Path(__file__).parents[1] / "clinic" / "fixtures" / "full"


def _copy_with(tmp_path: Path, table: str, old: str, new: str) -> Path:
    folder = tmp_path / "sheets"
    shutil.copytree(FULL, folder)
    path = folder / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def _problems(store: Store, folder: Path) -> list[tuple[str, str, str | None]]:
    with pytest.raises(ImportRejectedError) as rejected:
        import_path(store, folder, actor="tester")
    return [(p.table, p.column, p.value) for p in rejected.value.problems]


@pytest.mark.storage
def test_bad_height_is_one_problem_not_one_per_dependent_row(store: Store, tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, "patients", ",165.5,", ",17O,")
    assert _problems(store, folder) == [("patients", "height_cm", "17O")]


@pytest.mark.storage
def test_refused_assessment_does_not_orphan_its_measurements(store: Store, tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, "assessments", "P001,2022-11-07,run_in", "P001,2022-11-07,runin")
    problems = _problems(store, folder)
    assert problems == [("assessments", "phase", "runin")], problems
