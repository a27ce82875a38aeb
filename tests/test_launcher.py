"""The lazy console script offers exactly the commands of the complete application."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from myoivig.cli import app
from myoivig.launcher import COMMAND_AREAS, COMMAND_HELP, root


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


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


def test_root_help_lines_match_each_commands_own_help() -> None:
    eager = typer.main.get_command(app)
    own = {
        name: _first_paragraph(cmd.short_help or cmd.help)
        for name, cmd in eager.commands.items()  # type: ignore[attr-defined]
    }
    assert own == {name: _first_paragraph(text) for name, text in COMMAND_HELP.items()}


HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "pandas", "sklearn", "matplotlib", "lxml",
         "pypinyin", "openpyxl", "pyarrow", "httpx")  # fmt: skip


def _heavy_after(code: str) -> list[str]:
    probe = f"import sys; {code}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(eval(out.stdout.strip().splitlines()[-1]))  # a printed list of names
    return sorted(loaded & set(HEAVY))


def test_root_help_imports_no_area() -> None:
    probe = (
        "import sys\nfrom myoivig.launcher import main\nsys.argv = ['myoivig', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('myoivig.') and "
        "m.split('.')[1] in {'review', 'outcomes', 'protocol', 'clinic', 'evidence'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "area", ["accounts", "clinic", "evidence", "outcomes", "protocol", "review", "store", "web"]
)
def test_area_commands_load_without_heavy_libraries(area: str) -> None:
    """`--help` and argument parsing need only the command tree: heavy libraries load inside
    the commands that use them (start-up time is measured by benchmarks/cli_startup.py)."""
    assert _heavy_after(f"from myoivig.launcher import area_group; area_group({area!r})") == []


def test_the_web_application_starts_without_the_analysis_libraries() -> None:
    """`make run` and every server worker import the application: scipy, pandas, matplotlib
    and scikit-learn (about 2 s) load with the first page that needs them, not at start-up
    (time to the first page is measured by benchmarks/web_first_page.py)."""
    heavy = _heavy_after("import myoivig.web.app")
    assert not set(heavy) & {"scipy", "pandas", "matplotlib", "sklearn", "pyarrow"}
