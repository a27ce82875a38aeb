"""`myoivig cohort table|summary` end to end on the bundled cohort in a temporary SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'outcomes.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "outcomes-test")
    return CliRunner()


def test_cohort_commands_need_loaded_data(runner: CliRunner) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["cohort", "summary", "--json"])
    assert result.exit_code == 2
    assert "demo load" in result.output


def test_cohort_table_and_summary_from_the_bundled_cohort(runner: CliRunner) -> None:
    assert runner.invoke(app, ["demo", "load", "--dataset", "trial"]).exit_code == 0
    table = runner.invoke(app, ["cohort", "table", "--json"])
    assert table.exit_code == 0, table.output
    rows = json.loads(table.output)
    assert [r["case"] for r in rows] == list(range(1, 17))
    assert rows[12]["ck_after_u_per_l"] == 910 and rows[12]["prednisone_stopped_before_ivig"]
    assert rows[1]["myometry_change_pct"] == "NP"
    printed = runner.invoke(app, ["cohort", "table"])
    assert "+20.9 (NS)" in printed.output and "910*" in printed.output
    assert "*Prednisone therapy stopped shortly before start of IVIg." in printed.output

    summary = json.loads(runner.invoke(app, ["cohort", "summary", "--json"]).output)
    assert summary["total_courses"] == 80
    assert summary["serious_adverse_events"] == 2
    counts = {g: (v["responders"], v["patients"]) for g, v in summary["groups"].items()}
    assert counts == {"isolated_dm_pm": (4, 7), "overlap": (4, 4), "ibm": (0, 5)}
    for group in summary["groups"].values():
        assert {"clopper_pearson_95", "wilson_95"} <= set(group)
    assert {d["claim_id"] for d in summary["discrepancies"]} == {
        "abstract_isolated_dm_pm",
        "abstract_non_ibm_total",
        "results_dermatomyositis",
    }
    assert summary["ck"]["all"]["n_pairs"] == 15  # case 12 has no CK after IVIg (NP)


def test_score_is_registered_on_the_root_app(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", "--input", str(tmp_path / "x.csv"), "--out", "y.csv"])
    assert result.exit_code == 2
    assert "no such file" in " ".join(result.output.split())
