"""`myoivig meta run / batch / example` end to end (CliRunner, temporary files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode

RUNNER = CliRunner()

BCG = pd.DataFrame(
    {
        "study": [f"Trial {i}" for i in range(1, 14)],
        "ai": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
        "bi": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
        "ci": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
        "di": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
        "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
        "alloc": ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4,
    }
)


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bcg.csv"
    BCG.to_csv(path, index=False)
    return path


def test_run_json_keys_and_values(bcg_csv: Path) -> None:
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(bcg_csv), "--measure", "RR",
                              "--method", "REML", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("k", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p",
                "pi_lower", "pi_upper", "pooled", "pooled_lower", "pooled_upper"):  # fmt: skip
        assert key in out
    # metafor: REML τ² 0.313243, estimate −0.714532; exp 0.4894 [0.3441, 0.6962] (notes §2.2)
    assert out["k"] == 13
    assert out["estimate"] == pytest.approx(-0.71453234, abs=1e-7)
    assert out["tau2"] == pytest.approx(0.31324326, abs=1e-7)
    assert out["pooled"] == pytest.approx(0.4894, abs=5e-5)
    assert out["pooled_lower"] == pytest.approx(0.3441, abs=5e-5)


def test_run_knha_subgroups_mods_and_plot(bcg_csv: Path, tmp_path: Path) -> None:
    plot = tmp_path / "forest.svg"
    args = ["--measure", "RR", "--test", "knha", "--by", "alloc", "--plot", str(plot), "--json"]
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(bcg_csv), *args])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["test"] == "knha"
    assert [s["group"] for s in out["subgroups"]] == ["random", "alternate", "systematic"]
    # metafor: rma(mods = ~ factor(alloc), test = "knha") -> F = 0.966, df = (2, 10), p = 0.413
    assert out["between_test"] == "F"
    assert [out["q_between_df"], out["q_between_df2"]] == [2, 10]
    assert out["q_between"] == pytest.approx(0.966220844813303, rel=1e-6)
    assert plot.read_text().startswith("<?xml")
    assert "F = 0.97, df = (2, 10), p = 0.413" in plot.read_text()
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(bcg_csv), "--measure", "RR",
                              "--mods", "ablat", "--json"])  # fmt: skip
    out = json.loads(res.output)
    assert out["coefficients"][1]["name"] == "ablat"
    assert out["coefficients"][1]["estimate"] == pytest.approx(-0.0291, abs=1e-4)


def test_run_mantel_haenszel(bcg_csv: Path) -> None:
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(bcg_csv), "--measure", "OR",
                              "--method", "MH", "--json"])  # fmt: skip
    out = json.loads(res.output)
    assert out["estimate"] == pytest.approx(-0.4734, abs=5e-5)  # metafor test value
    assert out["pooled"] == pytest.approx(0.6229, abs=5e-5)


def test_run_reports_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"xi": [1, 2], "n": [5, 6]}).to_csv(path, index=False)
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "PLO", "--json"])
    assert res.exit_code == ExitCode.REJECTED_INPUT
    assert "missing column(s): ni" in res.output


def test_run_reports_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"study": ["A", "B"], "xi": [1, 9], "ni": [5, 6]}).to_csv(path, index=False)
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "PLO"])
    assert res.exit_code == ExitCode.REJECTED_INPUT
    assert "row 2 (B): field 'xi'" in res.output


def test_batch_writes_one_row_per_group(tmp_path: Path) -> None:
    inp = tmp_path / "long.csv"
    out = tmp_path / "res.csv"
    pd.DataFrame(
        {
            "group": ["a"] * 3 + ["b"] * 4,
            "yi": [0.1, 0.5, 0.3, -0.2, 0.4, 1.0, 0.0],
            "vi": [0.04, 0.09, 0.05, 0.1, 0.2, 0.3, 0.05],
        }
    ).to_csv(inp, index=False)
    res = RUNNER.invoke(app, ["meta", "batch", "--input", str(inp), "--method", "REML",
                              "--out", str(out), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["groups"] == 2
    table = pd.read_csv(out)
    assert list(table["group"]) == ["a", "b"]
    for col in ("estimate", "se", "tau2", "ci_lower", "ci_upper", "i2", "q"):
        assert table[col].notna().all()


def test_batch_on_error_skip_writes_nan_and_note(tmp_path: Path) -> None:
    inp = tmp_path / "long.csv"
    out = tmp_path / "res.csv"
    pd.DataFrame(
        {
            "group": ["a"] * 3 + ["single"] + ["b"] * 2 + ["neg"] * 2,
            "yi": [0.1, 0.5, 0.3, 0.7, -0.2, 0.4, 0.1, 0.2],
            "vi": [0.04, 0.09, 0.05, 0.1, 0.2, 0.3, 0.05, -0.1],
        }
    ).to_csv(inp, index=False)
    args = ["meta", "batch", "--input", str(inp), "--out", str(out)]
    res = RUNNER.invoke(app, args)
    assert res.exit_code == ExitCode.REJECTED_INPUT
    assert "row 8 (group neg): vi = -0.1 must be positive" in res.output
    assert not out.exists()
    res = RUNNER.invoke(app, [*args, "--on-error", "skip", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["skipped_groups"] == 2
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    table = table.set_index("group")
    assert table.loc["neg", "note"] == "row 8 (group neg): vi = -0.1 must be positive"
    assert "group 'single' has k = 1" in table.loc["single", "note"]
    for g in ("neg", "single"):
        assert np.isnan(table.loc[g, ["estimate", "se", "tau2", "ci_lower", "i2"]]).all()
    assert table.loc[["a", "b"], "note"].isna().all()
    assert table.loc[["a", "b"], "estimate"].notna().all()
    assert list(table["k"]) == [3, 2, 2, 1]
    res = RUNNER.invoke(app, [*args, "--on-error", "ignore"])
    assert res.exit_code == 2
    assert "--on-error 'ignore'" in res.output


def test_batch_missing_column(tmp_path: Path) -> None:
    inp = tmp_path / "long.csv"
    pd.DataFrame({"group": ["a"], "yi": [0.1]}).to_csv(inp, index=False)
    res = RUNNER.invoke(
        app, ["meta", "batch", "--input", str(inp), "--out", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == ExitCode.REJECTED_INPUT
    assert "missing column(s): vi" in res.output


def test_example_json_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "example.png"
    res = RUNNER.invoke(app, ["meta", "example", "--plot", str(plot), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["primary"]["k"] == 6
    assert (
        0
        < out["primary"]["pooled_lower"]
        < out["primary"]["pooled"]
        < out["primary"]["pooled_upper"]
        < 1
    )
    by_definition = tmp_path / "example_by_definition.png"
    by_design = tmp_path / "example_by_design.png"
    assert out["plots"] == {"by_definition": str(by_definition), "by_design": str(by_design)}
    for path in (by_definition, by_design):
        assert path.stat().st_size > 10_000
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert not plot.exists()


def test_example_plot_sections_by_design(tmp_path: Path) -> None:
    plot = tmp_path / "design.svg"
    res = RUNNER.invoke(app, ["meta", "example", "--plot", str(plot), "--by", "design", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["plots"] == {"by_design": str(plot)}
    svg = plot.read_text()
    # section headings are the design groups (spelled out); the footnote summarises the
    # response definitions
    for heading in (
        "Randomised controlled trials",
        "Prospective open",
        "Retrospective",
        "by design",
    ):
        assert heading in svg
    assert "By response definition" in svg
    res = RUNNER.invoke(app, ["meta", "example", "--plot", str(plot), "--by", "site"])
    assert res.exit_code == 2
    assert "--by 'site'" in res.output


def test_drop00_keeps_moderators_and_rows_aligned(tmp_path: Path) -> None:
    path = tmp_path / "zeros.csv"
    pd.DataFrame(
        {
            "study": ["A", "B", "C", "D", "E"],
            "ai": [0, 2, 5, 0, 4],
            "n1i": [20, 25, 30, 15, 40],
            "ci": [3, 6, 9, 0, 10],
            "n2i": [20, 24, 31, 15, 38],
            "dose": [1.0, 2.0, 1.5, 3.0, 2.5],
        }
    ).to_csv(path, index=False)
    plot = tmp_path / "f.svg"
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "OR", "--drop00",
                              "--mods", "dose", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["k"] == 4
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "OR", "--drop00",
                              "--plot", str(plot), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["k"] == 4
    assert plot.stat().st_size > 1_000


def test_run_glmm(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"xi": [10, 12, 0, 7], "ni": [10, 15, 8, 9]}).to_csv(path, index=False)
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "PLO",
                              "--method", "GLMM", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    # research notes §2.9 (metafor rma.glmm): 0.711067 [0.067329, 0.988221]
    assert out["pooled"] == pytest.approx(0.711067, abs=2e-5)
    assert out["pooled_lower"] == pytest.approx(0.067329, abs=2e-5)
    res = RUNNER.invoke(app, ["meta", "run", "--data", str(path), "--measure", "PFT",
                              "--method", "GLMM"])  # fmt: skip
    assert res.exit_code == 2
    assert "measure PLO only" in res.output
