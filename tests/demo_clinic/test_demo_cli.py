"""`myoivig run`, `myoivig demo load` and the per-patient commands on the demo data (SQLite).

The first test runs `myoivig run` on an empty database; its database file is then copied for the
other tests so that the 60-patient clinic is imported once.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.demo_clinic.design import cohort_design
from myoivig.exit_codes import ExitCode

CODES = [d.code for d in cohort_design()]


def _use(monkeypatch: pytest.MonkeyPatch, db: Path) -> CliRunner:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "demo-test")
    return CliRunner()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database made by `myoivig run` from empty, and what that first run printed."""
    db = tmp_path_factory.mktemp("template") / "run.db"
    with pytest.MonkeyPatch.context() as monkeypatch:
        result = _use(monkeypatch, db).invoke(app, ["run", "--no-serve"])
    assert result.exit_code == 0, result.output
    return db, result.output


@pytest.fixture
def both(template: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A copy of the template database, which holds both datasets."""
    shutil.copy(template[0], tmp_path / "both.db")
    return _use(monkeypatch, tmp_path / "both.db")


def test_run_loads_both_datasets_into_an_empty_database(
    template: tuple[Path, str], both: CliRunner
) -> None:
    out = template[1]
    assert "loaded the bundled 1998 trial cohort (16 patients, 80 IVIg courses)" in out
    assert "loaded the bundled SYNTHETIC demo clinic (60 generated patients" in out
    assert "MAS98-16" in out and "SYN-001" in out and "SYN-060" in out
    assert "SYNTHETIC demo patients, not real people: 60 patients" in out
    assert "76 patients" in out and "60 of them are SYNTHETIC" in out
    again = both.invoke(app, ["run", "--no-serve"])
    assert again.exit_code == 0 and "loaded the bundled" not in again.output
    assert "SYN-060" in again.output and "MAS98-16" in again.output


def test_demo_load_per_dataset_and_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, both: CliRunner
) -> None:
    fresh = _use(monkeypatch, tmp_path / "trial.db")
    trial = fresh.invoke(app, ["demo", "load", "--dataset", "trial", "--json"])
    assert trial.exit_code == 0, trial.output
    report = json.loads(trial.output)["datasets"]
    assert [(d["dataset"], d["already_loaded"]) for d in report] == [("trial", False)]
    assert report[0]["imported"]["patients"] == 16
    listed = json.loads(fresh.invoke(app, ["patients", "list", "--json"]).output)
    assert len(listed) == 16 and not any(p["synthetic"] for p in listed)

    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'both.db'}")
    again = both.invoke(app, ["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "the 1998 trial cohort is already loaded" in again.output
    assert "the SYNTHETIC demo clinic is already loaded" in again.output
    assert "nothing was written" in again.output
    listed = json.loads(both.invoke(app, ["patients", "list", "--json"]).output)
    assert len(listed) == 76 and sum(p["synthetic"] for p in listed) == 60


def test_demo_load_refuses_a_clash_of_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _use(monkeypatch, tmp_path / "clash.db")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_code,sex,diagnosis\nSYN-007,F,polymyositis\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["import", str(folder)]).exit_code == 0
    result = runner.invoke(app, ["demo", "load", "--dataset", "clinic", "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [p["value"] for p in problems if p["table"] == "patients"] == ["SYN-007"]
    listed = json.loads(runner.invoke(app, ["patients", "list", "--json"]).output)
    assert [p["code"] for p in listed] == ["SYN-007"]  # nothing else was written


def test_patients_list_and_show_say_synthetic(both: CliRunner) -> None:
    listed = both.invoke(app, ["patients", "list"])
    assert listed.exit_code == 0
    assert "Patients: 16 patients" in listed.output
    assert "SYNTHETIC demo patients, not real people: 60 patients" in listed.output
    shown = both.invoke(app, ["patient", "show", "SYN-003"])
    assert shown.exit_code == 0
    assert "SYNTHETIC demo patient, not a real person" in shown.output
    data = json.loads(both.invoke(app, ["patient", "show", "SYN-003", "--json"]).output)
    assert data["patient"]["source"].startswith("SYNTHETIC")
    trial = both.invoke(app, ["patient", "show", "MAS98-10"])
    assert "SYNTHETIC" not in trial.output


def _sample() -> list[str]:
    """One patient per designed course, diagnosis and site, plus every special case: the CLI
    costs ~0.5 s a call, so all 60 go through the same service functions in test_engines.py."""
    chosen: dict[object, str] = {}
    for d in cohort_design():
        for key in (d.intent, d.diagnosis, d.site.code, d.special):
            if key is not None:
                chosen.setdefault(key, d.code)
    return sorted(set(chosen.values()))


@pytest.fixture
def command_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner rebuilds the whole command tree on every call, which costs more than the
    command itself; build it once for this test."""
    monkeypatch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))


@pytest.mark.usefixtures("command_built_once")
def test_plan_advise_and_outcomes_say_synthetic_and_are_not_empty(both: CliRunner) -> None:
    sample = _sample()
    assert len(sample) >= 12
    for code in sample:
        header = f"Patient {code} (SYNTHETIC demo patient, not a real person)"
        plan = both.invoke(app, ["plan", code])
        assert header in plan.output, (code, plan.output)
        assert "WARNING synthetic_patient" in plan.output, code
        if plan.exit_code == ExitCode.BLOCKED:  # IgA deficiency: see test_engines.py
            assert "NOT READY TO GIVE" in plan.output and "Dose " not in plan.output, code
        else:
            assert plan.exit_code == 0 and "Dose " in plan.output, (code, plan.output)
        advise = both.invoke(app, ["advise", code, "--json"])
        assert advise.exit_code == 0, (code, advise.output)
        advice = json.loads(advise.output)
        assert advice["action"] != "insufficient_data" and advice["evidence"], code
        assert "synthetic_patient" in advice["flags"], code
        assert header in both.invoke(app, ["advise", code]).output
        outcomes = both.invoke(app, ["outcomes", code, "--json"])
        assert outcomes.exit_code == 0, (code, outcomes.output)
        report = json.loads(outcomes.output)
        assert report["synthetic"] is True and report["latest"] is not None, code
        assert report["latest"]["trial_response"]["responder"] in (True, False), code
        parts = ("myometry", "mrc", "functional", "ck", "tis_doi")
        assert all(report["latest"][part]["available"] for part in parts), code
        assert header in both.invoke(app, ["outcomes", code]).output


def test_cohort_commands_use_only_the_trial_patients(both: CliRunner) -> None:
    summary = json.loads(both.invoke(app, ["cohort", "summary", "--json"]).output)
    assert summary["patients"] == 16 and summary["total_courses"] == 80
    assert summary["serious_adverse_events"] == 2
    rows = json.loads(both.invoke(app, ["cohort", "table", "--json"]).output)
    assert [r["case"] for r in rows] == list(range(1, 17))
