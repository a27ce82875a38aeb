"""The lazy console script offers exactly the commands of the complete application."""

from __future__ import annotations

import subprocess
import sys

import typer

from myoivig.cli import app
from myoivig.launcher import COMMAND_AREAS, root


def test_lazy_root_knows_every_command() -> None:
    eager = typer.main.get_command(app)
    assert sorted(eager.commands) == sorted(COMMAND_AREAS)  # type: ignore[attr-defined]


def _launch(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from myoivig.launcher import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_lazy_root_runs_commands_and_help() -> None:
    result = _launch("--help")
    assert result.returncode == 0 and "meta" in result.stdout and "review" in result.stdout
    result = _launch("dictionary")
    assert result.returncode == 0 and "# Data dictionary" in result.stdout
    assert _launch("no-such-command").returncode == 2
    assert isinstance(root().list_commands(None), list)


def test_evidence_command_does_not_import_other_areas() -> None:
    code = (
        "import sys; from myoivig.launcher import area_group; area_group('evidence'); "
        "print(sorted(m for m in sys.modules if m.startswith('myoivig.') and "
        "m.split('.')[1] in {'review', 'outcomes', 'protocol', 'clinic'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
