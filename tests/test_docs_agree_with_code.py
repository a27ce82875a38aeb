"""Statements in the docs that a user relies on, checked against what the code does."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain import records as r
from myoivig.domain.consistency import check_dossier
from myoivig.domain.vocab import Diagnosis, Phase, Sex
from myoivig.exit_codes import ExitCode
from myoivig.io.dictionary import render_dictionary
from myoivig.review.example.build import build

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _dossier(assessment_day: date) -> r.PatientDossier:
    return r.PatientDossier(
        patient=r.Patient(code="P1", sex=Sex.FEMALE, diagnosis=Diagnosis.POLYMYOSITIS),
        courses=[r.Course(patient_code="P1", course_number=1, start_date=date(2024, 3, 4), days=5)],
        assessments=[
            r.Assessment(patient_code="P1", assessment_date=assessment_day, phase=Phase.RUN_IN)
        ],
    )


def test_run_in_assessment_on_the_first_course_day_is_a_baseline() -> None:
    # docs/protocol.md: "one on the first course's day is a baseline"
    assert "one on the first course's day is a baseline" in (DOCS / "protocol.md").read_text()
    assert [f for f in check_dossier(_dossier(date(2024, 3, 4))) if f.column == "phase"] == []
    late = [f for f in check_dossier(_dossier(date(2024, 3, 5))) if f.column == "phase"]
    assert len(late) == 1 and "after the first IVIg course started" in late[0].reason


def test_review_docs_give_the_reconciled_mastaglia_count_the_example_uses() -> None:
    used = build().reconciliation["mastaglia1998_responders"]["used"]
    assert used == 8  # the paper's per-patient table, not its abstract's 9
    assert f"the reconciled form uses {used}" in (DOCS / "review.md").read_text()


def test_data_dictionary_ranges_have_both_ends_and_match_the_generator() -> None:
    text = render_dictionary()
    assert "None to" not in text and "to None" not in text
    assert "| `course_number` | integer |  | 1 to 1000 | yes |" in text
    assert (DOCS / "data-dictionary.md").read_text(encoding="utf-8") == text


def test_patient_with_only_a_birth_year_shows_an_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    runner = CliRunner()
    full = Path(__file__).parent / "clinic" / "fixtures" / "full"
    assert runner.invoke(app, ["import", str(full)]).exit_code == 0
    listed = {
        p["code"]: p for p in json.loads(runner.invoke(app, ["patients", "list", "--json"]).output)
    }
    assert listed["P001"]["age"] == date.today().year - 1961  # birth year only
    assert listed["P001"]["age_from_birth_year"] is True
    assert listed["P002"]["age"] == 71 and listed["P002"]["age_from_birth_year"] is False
    table = runner.invoke(app, ["patients", "list"]).output
    assert f"{date.today().year - 1961}*" in table and "from the birth year" in table


def test_one_day_1g_per_kg_maintenance_is_refused_as_the_docs_say() -> None:
    docs = " ".join((DOCS / "protocol.md").read_text().split())
    assert "a one-day 1 g/kg course is refused" in docs
    result = CliRunner().invoke(
        app,
        ["dose", "--regimen", "2g/kg-then-1g/kg", "--course", "maintenance", "--days", "1",
         "--weight-kg", "70", "--height-cm", "170", "--sex", "F", "--diagnosis", "polymyositis"],
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "2-5 days" in result.output and "Traceback" not in result.output
