"""A database that cannot be used is one clear line (what, where, what to check) and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode
from myoivig.store import Store, StoreError

runner = CliRunner()


def _with_url(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", url)
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_unreachable_postgresql_names_host_port_and_what_to_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/clinic"  # nothing listens on port 1
    code, out = _with_url(monkeypatch, url, "patients", "list")
    assert code == ExitCode.USAGE
    assert "host 127.0.0.1, port 1" in out and "'clinic'" in out
    assert "server is running" in out and "MYOIVIG_DATABASE_URL" in out
    assert "Traceback" not in out and "sqlalche.me" not in out


@pytest.mark.parametrize("url", ["mysql://u@db/clinic", "mongodb://db/clinic", "oracle://x"])
def test_unsupported_backend_lists_the_supported_ones(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    code, out = _with_url(monkeypatch, url, "init")
    assert code == ExitCode.USAGE
    assert "unsupported backend" in out and "sqlite:///" in out and "postgresql+psycopg://" in out


def test_unreadable_url_is_refused_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _with_url(monkeypatch, "clinic.db", "patients", "list")
    assert code == ExitCode.USAGE and "cannot read database URL 'clinic.db'" in out


def test_postgresql_without_driver_means_psycopg() -> None:
    with pytest.raises(StoreError, match=r"host 127\.0\.0\.1, port 1"):
        Store("postgresql://postgres@127.0.0.1:1/x").require_current()


def test_read_only_commands_do_not_create_a_missing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "typo.db"
    for args in (["patients", "list"], ["patient", "show", "P1"], ["cohort", "summary"],
                 ["outcomes", "P1"], ["export", "--out", str(tmp_path / "x")]):  # fmt: skip
        code, out = _with_url(monkeypatch, f"sqlite:///{db}", *args)
        assert code == ExitCode.USAGE, (args, out)
        assert f"no database at {db}" in out and "myoivig init" in out
    assert not db.exists() and not (tmp_path / "x").exists()


def test_init_in_a_missing_folder_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _with_url(monkeypatch, f"sqlite:///{tmp_path / 'no' / 'such' / 'c.db'}", "init")
    assert code == ExitCode.USAGE and "cannot open the SQLite database" in out
    assert "folder exists" in out
