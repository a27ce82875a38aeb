"""The command line, end to end, on a temporary SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode
from myoivig.io.dictionary import render_dictionary

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "cli-test")
    return CliRunner()


def test_run_loads_the_cohort_once_and_shows_it(runner: CliRunner) -> None:
    first = runner.invoke(app, ["run", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "loaded the bundled 1998 trial cohort (16 patients, 80 IVIg courses)" in first.output
    assert "MAS98-16" in first.output
    second = runner.invoke(app, ["run", "--no-serve"])
    assert second.exit_code == 0 and "loaded the bundled" not in second.output


def test_patients_list_and_show_json(runner: CliRunner) -> None:
    assert runner.invoke(app, ["demo", "load", "--dataset", "trial"]).exit_code == 0
    result = runner.invoke(app, ["patients", "list", "--json"])
    patients = json.loads(result.output)
    assert len(patients) == 16
    first = patients[0]
    assert {"code", "diagnosis", "sex", "age", "ivig_courses"} <= set(first)
    assert (
        first["code"],
        first["diagnosis"],
        first["sex"],
        first["age"],
        first["ivig_courses"],
    ) == ("MAS98-01", "dermatomyositis", "M", 78, 2)
    shown = json.loads(runner.invoke(app, ["patient", "show", "MAS98-12", "--json"]).output)
    assert shown["patient"]["diagnosis"] == "inclusion_body_myositis"
    assert shown["reported_outcome"]["ck_after_u_per_l"] == "NP"
    assert len(shown["courses"]) == 6
    missing = runner.invoke(app, ["patient", "show", "NOPE"])
    assert missing.exit_code == ExitCode.USAGE and "NOPE" in missing.output


def test_import_rejection_exits_non_zero_with_problems(runner: CliRunner) -> None:
    result = runner.invoke(app, ["import", str(FIXTURES / "malformed"), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert any(p["column"] == "kendall_grade" and p["value"] == "11" for p in report["problems"])
    listed = json.loads(runner.invoke(app, ["patients", "list", "--json"]).output)
    assert listed == []


def test_import_then_export_both_formats(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", str(FIXTURES / "full")]).exit_code == 0
    out = runner.invoke(app, ["export", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx")])
    assert out.exit_code == 0 and (tmp_path / "x.xlsx").exists()
    out = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path / "csv")])
    assert out.exit_code == 0 and (tmp_path / "csv" / "myometry.csv").exists()


def test_data_dictionary_in_docs_is_current() -> None:
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == render_dictionary(), (
        "regenerate with: myoivig dictionary --out docs/data-dictionary.md"
    )
