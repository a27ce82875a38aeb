"""Mistakes in meta-analysis input and output paths: one clear line, the right exit code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode

RUNNER = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = RUNNER.invoke(app, ["meta", *args])
    return res.exit_code, res.output


def test_blank_cell_is_named_by_row_and_column_not_as_nan(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text("study,xi,ni\nA,3,10\nB,,12\nC,4,9\n")
    code, out = _run("run", "--data", str(data), "--measure", "PLO")
    assert code == ExitCode.REJECTED_INPUT
    assert "row 2 (B): column 'xi' is blank" in out
    assert "nan" not in out.lower() and "Traceback" not in out


def test_non_numeric_cell_is_quoted_as_written(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text('study,xi,ni\nA,3,10\nB,NA,12\nC,4,"9,5"\n')
    code, out = _run("run", "--data", str(data), "--measure", "PLO")
    assert code == ExitCode.REJECTED_INPUT
    assert "row 2 (B): column 'xi' = 'NA' is not a number" in out


def test_batch_names_blank_and_text_cells_with_their_group(tmp_path: Path) -> None:
    data = tmp_path / "long.csv"
    data.write_text("group,yi,vi\na,0.1,0.01\na,0.2,\nb,x,0.1\n")
    code, out = _run("batch", "--input", str(data), "--out", str(tmp_path / "o.csv"))
    assert code == ExitCode.REJECTED_INPUT
    assert "row 2 (group a): column 'vi' is blank" in out
    data.write_text("group,yi,vi\na,0.1,0.01\na,0.2,0.02\nb,x,0.1\n")
    code, out = _run("batch", "--input", str(data), "--out", str(tmp_path / "o.csv"))
    assert "row 3 (group b): column 'yi' = 'x' is not a number" in out
    assert not (tmp_path / "o.csv").exists()


def test_plot_path_mistakes_are_refused_before_the_fit_and_keep_old_figures(
    tmp_path: Path,
) -> None:
    data = tmp_path / "s.csv"
    data.write_text("study,xi,ni\nA,3,10\nB,5,12\nC,4,9\n")
    old = tmp_path / "forest.png"
    old.write_bytes(b"the user's figure")
    code, out = _run(
        "run", "--data", str(data), "--measure", "PLO", "--plot", str(old)[:-3] + "jpg"
    )
    assert code == ExitCode.USAGE and "unknown output extension (.jpg)" in out
    (tmp_path / "notes.txt").write_text("")
    code, out = _run(
        "run", "--data", str(data), "--measure", "PLO", "--plot", str(tmp_path / "notes.txt/f.png")
    )
    assert code == ExitCode.USAGE and "is a file, not a folder" in out
    assert "Traceback" not in out and old.read_bytes() == b"the user's figure"
    code, out = _run("example", "--plot", str(tmp_path / "forest.gif"))
    assert code == ExitCode.USAGE and "unknown output extension (.gif)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.png", "notes.txt", "s.csv"]
