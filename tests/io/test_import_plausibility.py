"""Import refuses impossible records and needs --accept-warnings for implausible ones."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain.plausibility import (
    Level,
    check_bmi,
    check_height_change,
    check_weight_change,
)
from myoivig.io.importer import import_path
from myoivig.io.problems import ImportRejectedError
from myoivig.store import Store

FIXTURES = Path(__file__).parents[1] / "clinic" / "fixtures"


def _edit(folder: Path, table: str, row: int, column: str, value: str) -> None:
    path = folder / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0])
    rows[row][column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "full"
    shutil.copytree(FIXTURES / "full", target)
    return target


def test_assessment_before_birth_is_rejected_naming_record_field_and_value(
    store: Store, folder: Path
) -> None:
    _edit(folder, "assessments", 0, "assessment_date", "1955-11-07")  # P001 born 1961
    for name in ("myometry", "muscle_grades", "functional_tasks", "core_set", "enzymes"):
        path = folder / f"{name}.csv"
        path.write_text(path.read_text().replace("2022-11-07", "1955-11-07"))
    with pytest.raises(ImportRejectedError) as info:
        import_path(store, folder, actor="t", accept_warnings=True)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "assessments, column assessment_date, value '1955-11-07'" in text
    assert "patient P001 assessment: impossible" in text and "born (1961)" in text
    assert store.patient_count() == 0


def test_weight_jump_needs_accept_warnings(store: Store, folder: Path) -> None:
    _edit(folder, "courses", 1, "weight_kg", "90")  # P001: 70.2 kg, then 90 kg
    with pytest.raises(ImportRejectedError) as info:
        import_path(store, folder, actor="t")
    (problem,) = info.value.problems
    assert problem.table == "courses" and problem.column == "weight_kg" and problem.value == "90"
    assert "patient P001 course 2" in problem.reason and "--accept-warnings" in problem.reason
    assert store.patient_count() == 0
    counts = import_path(store, folder, actor="t", accept_warnings=True)
    assert counts["patients"] == 2


def test_import_cli_lists_warnings_and_accepts_them(
    store: Store, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", store.url)
    _edit(folder, "courses", 1, "weight_kg", "154.8")  # 70.2 kg in pounds
    runner = CliRunner()
    refused = runner.invoke(app, ["import", str(folder), "--json"])
    assert refused.exit_code == 1 and "in pounds" in refused.stdout
    accepted = runner.invoke(app, ["import", str(folder), "--accept-warnings"])
    assert accepted.exit_code == 0, accepted.output


def test_pure_checks() -> None:
    assert check_weight_change(69, 72) == []
    (jump,) = check_weight_change(69, 100)
    assert jump.code == "weight_change" and jump.level is Level.IMPLAUSIBLE
    assert check_weight_change(70, 154)[0].code == "weight_unit_slip"
    assert check_bmi(180, 165)[0].code == "bmi_implausible"  # 180 typed for a 70 kg person
    assert check_bmi(70, 165) == []
    assert check_height_change(165, 170, age=40)[0].code == "height_change"
    assert check_height_change(165, 170, age=12) == []
