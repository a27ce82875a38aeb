"""Site settings from a YAML file change the plan; bad files are refused with the key named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.protocol.settings import DEFAULT_SETTINGS
from myoivig.protocol.settings_file import SettingsFileError, load_settings

runner = CliRunner()
DOSE = ["dose", "--diagnosis", "polymyositis", "--sex", "F", "--age", "50", "--height-cm",
        "165", "--weight-kg", "95", "--regimen", "2g/kg", "--days", "5", "--product",
        "octagam-10", "--iga-g-per-l", "1.2", "--json"]  # fmt: skip


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYOIVIG_PROTOCOL_SETTINGS", raising=False)
    assert load_settings() is DEFAULT_SETTINGS


def test_weight_policy_from_a_file_changes_the_dose(tmp_path: Path) -> None:
    default = json.loads(runner.invoke(app, DOSE).stdout)
    assert default["dosing_weight_kg"] == pytest.approx(72.1, abs=0.05)  # adjusted (BMI > 30)
    path = tmp_path / "site.yaml"
    path.write_text("weight_policy: actual\nrounding: 5g\n", encoding="utf-8")
    result = runner.invoke(app, [*DOSE, "--settings", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dosing_weight_kg"] == 95
    assert data["dose_g"] % 5 == 0  # the file's rounding applies when the option is not given


def test_environment_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("weight_policy: actual\n", encoding="utf-8")
    monkeypatch.setenv("MYOIVIG_PROTOCOL_SETTINGS", str(path))
    assert load_settings().weight_policy.value == "actual"


def test_bad_settings_are_refused_with_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("max_course_dose_g_per_kg: -1\nno_such_setting: 3\n", encoding="utf-8")
    with pytest.raises(SettingsFileError, match="max_course_dose_g_per_kg=-1") as info:
        load_settings(path)
    assert "no_such_setting" in str(info.value)
    result = runner.invoke(app, [*DOSE, "--settings", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "Nothing was planned" in result.output
