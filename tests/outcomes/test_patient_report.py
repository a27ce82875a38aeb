"""One patient's outcomes from stored assessments, end to end on real domain records."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain import records as r
from myoivig.domain.vocab import TRIAL_MUSCLE_GROUPS, Diagnosis, Side
from myoivig.outcomes.patient_report import patient_outcomes

START = date(2024, 1, 8)


def visit(
    day: int, phase: str, force: float, grade: int, chair: bool, core: dict[str, float], ck: float
) -> r.Assessment:
    sites = [(g, s) for g in TRIAL_MUSCLE_GROUPS for s in (Side.LEFT, Side.RIGHT)]
    return r.Assessment(
        patient_code="P1",
        assessment_date=START + timedelta(days=day),
        phase=phase,
        myometry=[
            r.MyometryReading(muscle_group=g, side=s, force_n=force + i)
            for i, (g, s) in enumerate(sites)
        ],
        muscle_grades=[
            r.MuscleGrade(muscle_group=g, side=s, kendall_grade=grade) for g, s in sites
        ],
        functional_tasks=[r.FunctionalTaskResult(task="rise_from_chair_without_hands", able=chair)],
        core_set=[
            r.CoreSetValue(measure=m, value=v, scale_max=150 if m == "mmt8" else None)
            for m, v in core.items()
        ],
        enzymes=[r.EnzymeResult(enzyme="ck", value_u_per_l=ck, uln_u_per_l=200)],
    )


BEFORE = {"physician_global": 6, "patient_global": 6, "haq": 1.5, "extramuscular": 4, "mmt8": 100}
AFTER = {"physician_global": 3, "patient_global": 3, "haq": 0.75, "extramuscular": 2, "mmt8": 120}


def responder() -> list[r.Assessment]:
    return [
        visit(0, "run_in", 100, 5, False, BEFORE, 2000),
        visit(30, "run_in", 95, 5, False, BEFORE, 2100),
        visit(60, "run_in", 90, 5, False, BEFORE, 2200),
        visit(120, "treatment", 120, 7, True, AFTER, 150),
    ]


def test_responder_is_recognised_by_every_part() -> None:
    report = patient_outcomes("P1", Diagnosis.DERMATOMYOSITIS, responder())
    force = report["run_in"]["myometry_mean_force_n"]
    assert force["n_assessments"] == 3 and force["warnings"] == []
    assert force["baseline"] == pytest.approx(95 + 3.5)  # mean over sites and run-in visits
    assert force["slope_per_month"] < 0 and force["deteriorating_during_run_in"] is True
    latest = report["latest"]
    assert latest["myometry"]["percent_change"] == pytest.approx((123.5 - 98.5) / 98.5 * 100)
    assert latest["myometry"]["significant"] is None  # constant differences: t test undefined
    assert latest["mrc"]["improved"] is True and latest["mrc"]["compared_units"] == 8
    assert latest["functional"]["gained"] == ["rise_from_chair_without_hands"]
    assert latest["ck"]["normalised"] is True
    assert latest["ck"]["percent_change"] == pytest.approx((150 - 2200) / 2200 * 100)
    assert latest["trial_response"] == {"responder": True, "outcome": "remission_undetermined"}
    tis = latest["tis_doi"]
    assert tis["tis"] == tis["tis_min"] == tis["tis_max"] and tis["missing_measures"] == []
    assert tis["tis_category"] in {"moderate", "major"} and tis["imacs_doi"] is True
    assert report["proderm_deterioration"]["confirmed"] is False


def test_too_few_run_in_assessments_warn_and_missing_parts_say_why() -> None:
    visits = responder()[2:]
    visits[1] = visits[1].model_copy(update={"myometry": [], "enzymes": []})
    report = patient_outcomes("P1", Diagnosis.POLYMYOSITIS, visits)
    warnings = report["run_in"]["myometry_mean_force_n"]["warnings"]
    assert any("the trial required at least 3" in w for w in warnings)
    assert report["latest"]["myometry"] == {
        "available": False,
        "reason": "no assessment with myometry",
    }
    assert report["latest"]["ck"]["available"] is False


def test_no_comparison_without_both_phases() -> None:
    report = patient_outcomes("P1", Diagnosis.POLYMYOSITIS, responder()[:3])
    assert report["latest"] is None and "run-in and one treatment" in report["note"]


def test_outcomes_command_on_a_stored_patient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'o.db'}")
    runner = CliRunner()
    fixtures = Path(__file__).parents[1] / "clinic" / "fixtures" / "full"
    assert runner.invoke(app, ["import", str(fixtures)]).exit_code == 0
    result = runner.invoke(app, ["outcomes", "P001", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["run_in_assessments"] == 3
    assert report["latest"]["functional"]["gained"] == ["rise_from_chair_without_hands"]
    assert report["latest"]["ck"]["before"] == 2450 and report["latest"]["ck"]["after"] == 310.5
    missing = runner.invoke(app, ["outcomes", "NOPE"])
    assert missing.exit_code == 2
