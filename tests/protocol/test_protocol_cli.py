"""`myoivig dose` and `myoivig protocol ...` through the real root app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from myoivig.cli import app

runner = CliRunner()
EXAMPLE = [
    "dose",
    "--diagnosis",
    "polymyositis",
    "--sex",
    "F",
    "--age",
    "70",
    "--height-cm",
    "165",
    "--weight-kg",
    "95",
    "--regimen",
    "2g/kg",
    "--days",
    "5",
    "--product",
    "octagam-10",
]


def run_json(*extra: str, exit_code: int = 0) -> dict[str, object]:
    result = runner.invoke(app, [*EXAMPLE, *extra, "--json"])
    assert result.exit_code == exit_code, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_issue_example_keys_and_values() -> None:
    data = run_json("--iga-g-per-l", "1.2", "--rounding", "5g")
    for key in (
        "ideal_body_weight_kg",
        "adjusted_body_weight_kg",
        "dosing_weight_kg",
        "dose_g",
        "daily_dose_g",
        "vials",
        "infusion",
        "alerts",
    ):
        assert key in data
    assert data["ideal_body_weight_kg"] == 56.9
    assert data["adjusted_body_weight_kg"] == 72.1
    # 144.3 g rounds to 145 g = 2.01 g/kg, above the 2 g/kg limit: rounded down instead
    assert data["dose_g"] == 140
    assert data["daily_dose_g"] == [28.0] * 5
    infusion = data["infusion"]
    assert isinstance(infusion, list) and len(infusion) == 5
    steps = infusion[0]["steps"]
    assert [s["rate_ml_per_kg_min"] for s in steps] == [0.01, 0.02, 0.03]  # age 70: at risk
    alerts = data["alerts"]
    assert isinstance(alerts, list)
    assert all(set(a) == {"severity", "code", "message", "source"} for a in alerts)
    assert "iga_not_measured" not in {a["code"] for a in alerts}


def test_no_iga_blocks_in_json() -> None:
    data = run_json(exit_code=3)
    assert data["blocked"] is True
    assert data["blocking_codes"] == ["iga_not_measured"]
    assert data["infusion"]  # --json still returns the computed plan
    assert data["alerts"][0]["code"] == "iga_not_measured"  # type: ignore[index]


def test_risk_option() -> None:
    data = run_json("--risk", "central_line,diabetes", "--iga-g-per-l", "1")
    codes = {a["code"] for a in data["alerts"]}  # type: ignore[attr-defined]
    assert {"thrombosis_risk", "renal_risk_factors"} <= codes


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--height-cm", "17", "height_cm=17.0"),
        ("--weight-kg", "0", "weight_kg=0.0"),
        ("--days", "9", "days=9"),
        ("--product", "octagam-99", "product='octagam-99'"),
        ("--risk", "bad_luck", "risk='bad_luck'"),
        ("--regimen", "4g/kg", "regimen='4g/kg'"),
    ],
)
def test_bad_input_names_the_value_and_plans_nothing(option: str, value: str, named: str) -> None:
    args = list(EXAMPLE)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 2
    assert named in result.stderr
    assert result.stdout == ""


def test_daily_dose_above_limit_is_refused() -> None:
    args = [
        "dose",
        "--regimen",
        "mastaglia-1998",
        "--diagnosis",
        "polymyositis",
        "--product",
        "octagam-10",
        "--sex",
        "F",
        "--age",
        "30",
        "--weight-kg",
        "22",
        "--height-cm",
        "120",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "daily_dose_g=30.0: 1.36 g/kg/day" in result.stderr


def test_trial_regimen_for_a_60_kg_woman_is_planned_with_a_warning() -> None:
    # Review finding: 150 g for 60 kg (2.5 g/kg) was refused; the trial dosed fixed grams.
    args = ["dose", "--diagnosis", "polymyositis", "--iga-g-per-l", "1", "--sex", "F"]
    args += ["--age", "60", "--height-cm", "160", "--weight-kg", "60"]
    result = runner.invoke(
        app, [*args, "--regimen", "mastaglia-1998", "--product", "octagam-10", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dose_g"] == 150 and data["daily_dose_g"] == [30] * 5
    assert data["dose_g_per_kg"] == 2.5
    warn = [a for a in data["alerts"] if a["code"] == "fixed_dose_above_per_kg_limit"]
    assert len(warn) == 1 and warn[0]["severity"] == "warning"
    assert "2.50 g/kg" in warn[0]["message"]


def test_trial_regimen_for_an_obese_patient_uses_actual_weight() -> None:
    # 95 kg, 165 cm: adjusted weight ~70 kg would give 2.14 g/kg; actual weight gives 1.58.
    args = ["dose", "--diagnosis", "polymyositis", "--iga-g-per-l", "1", "--sex", "F"]
    args += ["--age", "50", "--height-cm", "165", "--weight-kg", "95"]
    result = runner.invoke(
        app, [*args, "--regimen", "mastaglia-1998", "--product", "octagam-10", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dose_g_per_kg"] == pytest.approx(150 / 95, abs=1e-3)
    assert not [a for a in data["alerts"] if a["code"] == "fixed_dose_above_per_kg_limit"]


def test_trial_regimen_via_cli() -> None:
    base = ["dose", "--regimen", "mastaglia-1998", "--product", "privigen", "--sex", "M"]
    body = ["--age", "52", "--weight-kg", "75", "--height-cm", "175", "--iga-g-per-l", "2"]
    body += ["--diagnosis", "polymyositis", "--ruled-out", "hyperprolinaemia"]
    ind = runner.invoke(app, [*base, *body, "--json"])
    main = runner.invoke(app, [*base, *body, "--course", "maintenance", "--json"])
    assert json.loads(ind.stdout)["dose_g"] == 150
    assert json.loads(main.stdout)["dose_g"] == 90
    assert json.loads(main.stdout)["daily_dose_g"] == [30, 30, 30]


def test_products_and_regimens_listing() -> None:
    products = json.loads(runner.invoke(app, ["protocol", "products", "--json"]).stdout)
    keys = {p["key"] for p in products["products"]}
    assert {"octagam-10", "sandoglobulin", "panzyga"} <= keys
    regimens = json.loads(runner.invoke(app, ["protocol", "regimens", "--json"]).stdout)
    assert {"mastaglia-1998", "proderm", "2g/kg"} <= {r["key"] for r in regimens["regimens"]}


def test_human_output_runs() -> None:
    result = runner.invoke(app, [*EXAMPLE, "--iga-g-per-l", "1.2"])
    assert result.exit_code == 0
    assert "Rate schedule" in result.stdout
