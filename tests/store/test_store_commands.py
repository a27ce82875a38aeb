"""`myoivig audit verify`, `myoivig backup` and `myoivig restore` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.demo import load_trial_cohort
from myoivig.exit_codes import ExitCode
from myoivig.store import Store
from myoivig.store.tables import AuditRow

runner = CliRunner()


def _run(monkeypatch: pytest.MonkeyPatch, store: Store, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", store.url)
    return runner.invoke(app, list(args))


def test_audit_verify_reports_ok_then_the_edited_entry(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_trial_cohort(store)
    ok = _run(monkeypatch, store, "audit", "verify")
    assert ok.exit_code == ExitCode.OK, ok.output
    with store.session() as session:
        count = len(session.scalars(select(AuditRow.id)).all())
        target = session.scalars(select(AuditRow.id).order_by(AuditRow.id).offset(7)).first()
    assert f"audit chain OK: {count} entries verified" in ok.output
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'x' WHERE id = :id"), {"id": target})
    broken = _run(monkeypatch, store, "audit", "verify")
    assert broken.exit_code == ExitCode.REJECTED_INPUT
    assert f"entry {target} " in broken.output and "was edited" in broken.output
    as_json = json.loads(_run(monkeypatch, store, "audit", "verify", "--json").stdout)
    assert as_json["ok"] is False and as_json["entry_id"] == target


def test_backup_and_restore_commands(
    store: Store, other_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_trial_cohort(store)
    out = tmp_path / "clinic.backup"
    made = _run(monkeypatch, store, "backup", "--out", str(out))
    assert made.exit_code == ExitCode.OK, made.output
    assert f"backup written to {out}" in made.output and store.head_revision() in made.output
    again = _run(monkeypatch, store, "backup", "--out", str(out))
    assert again.exit_code == ExitCode.USAGE and "--force" in again.output
    assert _run(monkeypatch, store, "backup", "--out", str(out), "--force").exit_code == 0

    restored = _run(monkeypatch, other_store, "restore", str(out))
    assert restored.exit_code == ExitCode.OK, restored.output
    assert other_store.patient_count() == 16
    assert _run(monkeypatch, other_store, "audit", "verify").exit_code == ExitCode.OK
    refused = _run(monkeypatch, other_store, "restore", str(out))
    assert refused.exit_code == ExitCode.USAGE and "already holds data" in refused.output
    forced = _run(monkeypatch, other_store, "restore", str(out), "--force")
    assert forced.exit_code == ExitCode.OK, forced.output
    missing = _run(monkeypatch, other_store, "restore", str(tmp_path / "nope.backup"))
    assert missing.exit_code == ExitCode.USAGE and "no such backup file" in missing.output
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a zip")
    bad = _run(monkeypatch, other_store, "restore", str(junk), "--force")
    assert bad.exit_code == ExitCode.REJECTED_INPUT and "not a myoivig backup" in bad.output


def test_unusable_databases_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"sqlite:///{tmp_path / 'nothing-here.db'}"
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", missing)
    result = runner.invoke(app, ["backup", "--out", str(tmp_path / "x.backup")])
    assert result.exit_code == ExitCode.USAGE and "nothing to back up" in result.output
    assert not (tmp_path / "x.backup").exists()
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    backup_file = tmp_path / "some.backup"
    backup_file.write_bytes(b"")
    for args in (["backup", "--out", str(tmp_path / "y.backup")], ["restore", str(backup_file)]):
        result = runner.invoke(app, args)
        assert result.exit_code in (ExitCode.USAGE, ExitCode.REJECTED_INPUT), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    result = runner.invoke(app, ["backup", "--out", str(tmp_path / "y.backup")])
    assert result.exit_code == ExitCode.USAGE and "cannot reach the PostgreSQL" in result.output


def test_an_outdated_database_can_still_be_backed_up(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from myoivig.store.store import alembic_config

    config = alembic_config(store.url)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_plotsfast_screening_state")
    out = tmp_path / "before-upgrade.backup"
    result = _run(monkeypatch, store, "backup", "--out", str(out))
    assert result.exit_code == ExitCode.OK, result.output
    assert "schema 0008_plotsfast_screening_state" in result.output


def test_audit_verify_checks_kept_anchors(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    load_trial_cohort(store)
    first = json.loads(_run(monkeypatch, store, "audit", "verify", "--json").stdout)
    anchor = f"{first['entries']}:{first['head']}"
    assert _run(monkeypatch, store, "audit", "verify", "--anchor", anchor).exit_code == 0
    wrong = f"{first['entries']}:{'f' * 64}"
    refused = _run(monkeypatch, store, "audit", "verify", "--anchor", wrong)
    assert refused.exit_code == ExitCode.REJECTED_INPUT and "was rewritten" in refused.output
    bad = _run(monkeypatch, store, "audit", "verify", "--anchor", "12")
    assert bad.exit_code == ExitCode.USAGE and "POSITION:HASH" in bad.output
