"""Review outputs never replace a user's files by surprise; mistakes are refused up front."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode

runner = CliRunner()


def _review(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["review", *args])
    return result.exit_code, result.output


def _example_with_flow(env: Path) -> tuple[bytes, bytes]:
    assert _review("example", "--out", "ex", "--store", "wang2012")[0] == 0
    assert _review("prisma", "--review", "wang2012", "--out", "flow.svg")[0] == 0
    return (env / "flow.svg").read_bytes(), (env / "flow.png").read_bytes()


def test_unknown_review_is_refused_and_existing_diagram_kept(env: Path) -> None:
    svg, png = _example_with_flow(env)
    code, out = _review("prisma", "--review", "wang2021", "--out", "flow.svg")
    assert code == ExitCode.USAGE
    assert "no review named 'wang2021'" in out and "'wang2012'" in out
    assert (env / "flow.svg").read_bytes() == svg and (env / "flow.png").read_bytes() == png
    for args in (("records",), ("extract", "table")):
        code, out = _review(*args, "--review", "wang2021")
        assert code == ExitCode.USAGE and "no review named 'wang2021'" in out


def test_unknown_extension_is_refused_and_existing_diagram_kept(env: Path) -> None:
    svg, png = _example_with_flow(env)
    code, out = _review("prisma", "--review", "wang2012", "--out", "flow.jpg")
    assert code == ExitCode.USAGE
    assert "unknown output extension (.jpg)" in out and ".png" in out
    assert (env / "flow.svg").read_bytes() == svg and (env / "flow.png").read_bytes() == png
    assert sorted(p.name for p in env.glob("flow*")) == ["flow.png", "flow.svg"]


def test_read_only_review_commands_do_not_create_a_database(env: Path) -> None:
    for args in (("prisma", "--out", "flow.svg"), ("records",), ("protocol", "show")):
        code, out = _review(*args)
        assert code == ExitCode.USAGE, out
        assert "no database at" in out and "myoivig init" in out
    assert not (env / "review.db").exists()
    assert not list(env.glob("flow*"))


def test_unwritable_output_folder_is_a_clear_error(env: Path) -> None:
    _example_with_flow(env)
    (env / "report.txt").write_text("a file where a folder is expected")
    code, out = _review("prisma", "--review", "wang2012", "--out", "report.txt/f.svg")
    assert code == ExitCode.USAGE
    assert "is a file, not a folder" in out and "Traceback" not in out
