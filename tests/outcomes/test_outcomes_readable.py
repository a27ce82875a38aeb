"""What a clinician reads: laid-out outcome reports, no raw floats or dicts, no NumPy warnings."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, Side
from myoivig.exit_codes import ExitCode
from myoivig.outcomes.myometry import myometry_change

FULL = Path(__file__).parents[1] / "clinic" / "fixtures" / "full"
RAW_FLOAT = re.compile(r"\d\.\d{5,}")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'o.db'}")
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


def test_paired_t_with_constant_differences_is_undefined_without_warnings() -> None:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    before = dict(zip(sites, [95.3, 101.7, 88.9, 120.1, 77.7, 64.3, 110.9, 99.1], strict=True))
    after = {site: force + 12.3 for site, force in before.items()}  # rounding differs per site
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        change = myometry_change(before, after)
    assert change.t_statistic is None and change.p_value is None and change.significant is None
    assert change.t_test_note is not None and "zero variance" in change.t_test_note


def test_outcomes_report_is_laid_out_with_units_precision_and_rules(db: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(FULL)]).exit_code == 0
    result = runner.invoke(app, ["outcomes", "P001"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert not RAW_FLOAT.search(out), out
    assert "{'" not in out and "available" not in out
    for text in ("Run-in baseline", "61.5 N", "+17.5 %", "2 450 U/L -> 310 U/L", "192 U/L",
                 "Rule", ">= 1 level in >= 4 muscle groups", "minimal >= 20",
                 "paired t test undefined"):  # fmt: skip
        assert text in out, text
    assert max(len(line) for line in out.splitlines()) <= 80


def test_cohort_summary_text_shows_ck_tests_and_adverse_events(db: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "load"]).exit_code == 0
    result = runner.invoke(app, ["cohort", "summary"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Serum CK before and after IVIg" in out and "Wilcoxon p" in out
    assert "0.043" in out  # paired t test on log CK, all patients (JSON: 0.04300829...)
    assert "Adverse events" in out and "2 (2 serious) in 80 courses" in out
    assert not RAW_FLOAT.search(out)


def _launch(*args: str) -> str:
    """The real console script in a fresh process, so COLUMNS is read as a user's shell sets it."""
    code = "from myoivig.launcher import main; main()"
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_key_columns_stay_whole_at_80_columns(db: Path) -> None:
    assert CliRunner().invoke(app, ["demo", "load"]).exit_code == 0
    for args in (["patients", "list"], ["cohort", "table"]):
        out = _launch(*args)
        assert max(len(line) for line in out.splitlines()) <= 80, args
        assert "…" not in out, args
        assert all(f"MAS98-{n:02d}" in out or f"│ {n} " in out for n in range(1, 17)), args


def test_missing_patient_is_a_usage_error(db: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["outcomes", "NOPE"])
    assert result.exit_code == ExitCode.USAGE and "NOPE" in result.output
