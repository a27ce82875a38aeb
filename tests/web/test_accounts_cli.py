"""`myoivig users add|list|token`, `myoivig sites add`, `myoivig serve` and `myoivig run`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from web_helpers import csrf_of, free_port

from myoivig.cli import app
from myoivig.exit_codes import ExitCode


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "cli-test")
    return CliRunner()


def test_sites_and_users(runner: CliRunner) -> None:
    added = runner.invoke(app, ["sites", "add", "NORTH", "--name", "North clinic"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["sites", "add", "NORTH", "--name", "Again"])
    assert again.exit_code == ExitCode.REJECTED_INPUT and "'NORTH' already exists" in again.output

    generated = runner.invoke(
        app, ["users", "add", "carl", "--role", "clinician", "--site", "NORTH"]
    )
    assert generated.exit_code == 0, generated.output
    assert "added carl (clinician; NORTH)" in generated.output
    password = re.search(r"password \(shown once\): (\S+)", generated.output)
    assert password and len(password.group(1)) >= 16

    piped = runner.invoke(
        app,
        ["users", "add", "rita", "--role", "researcher", "--password-stdin"],
        input="a long enough password\n",
    )
    assert piped.exit_code == 0 and "shown once" not in piped.output
    assert "all sites" in piped.output

    for args, message in (
        (["users", "add", "x", "--role", "nurse"], "role 'nurse' is not one of"),
        (["users", "add", "y", "--role", "clinician"], "needs at least one site"),
        (["users", "add", "z", "--role", "clinician", "--site", "NOPE"], "site 'NOPE' does not"),
        (["users", "add", "carl", "--role", "admin"], "'carl' already exists"),
    ):
        refused = runner.invoke(app, args)
        assert refused.exit_code == ExitCode.REJECTED_INPUT and message in refused.output, args
    short = runner.invoke(
        app, ["users", "add", "s", "--role", "admin", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == ExitCode.REJECTED_INPUT and "at least 12 characters" in short.output

    listed = json.loads(runner.invoke(app, ["users", "list", "--json"]).output)
    assert listed == [  # a generated password must be changed at the first sign-in
        {
            "name": "carl",
            "role": "clinician",
            "sites": ["NORTH"],
            "active": True,
            "must_change_password": True,
        },
        {
            "name": "rita",
            "role": "researcher",
            "sites": [],
            "active": True,
            "must_change_password": False,
        },
    ]
    table = runner.invoke(app, ["users", "list"]).output
    assert "carl" in table and "$argon2" not in table

    token = runner.invoke(app, ["users", "token", "carl"])
    assert token.exit_code == 0 and token.output.strip().splitlines()[-1].startswith("myo_")
    missing = runner.invoke(app, ["users", "token", "nobody"])
    assert missing.exit_code == ExitCode.USAGE and "'nobody' does not exist" in missing.output


def test_serve_refuses_an_unmigrated_database(runner: CliRunner) -> None:
    result = runner.invoke(app, ["serve", "--port", "8999"])
    assert result.exit_code == ExitCode.USAGE and "myoivig init" in result.output


def test_serve_refuses_bad_settings(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYOIVIG_SESSION_IDLE_MINUTES", "0")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == ExitCode.USAGE
    assert "MYOIVIG_SESSION_IDLE_MINUTES" in result.output


def test_run_loads_the_demo_serves_and_prints_a_one_time_admin_password(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MYOIVIG_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    code = "from myoivig.launcher import main; main()"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", code, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any("is running at" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        output = "".join(lines)
        assert f"sign in at http://127.0.0.1:{port}/login" in output
        found = re.search(r"first admin account: admin, one-time password: (\S+)", output)
        assert found, output
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, follow_redirects=True
        ) as client:
            for _ in range(100):
                try:
                    page = client.get("/login")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            first_page = time.monotonic() - started
            response = client.post(
                "/login",
                data={
                    "name": "admin",
                    "password": found.group(1),
                    "csrf_token": csrf_of(page.text),
                },
            )
            # the one-time password opens only the change-password page
            assert response.status_code == 200 and response.url.path == "/account/password"
            chosen = "the admin's own passphrase"
            response = client.post(
                "/account/password",
                data={
                    "current_password": found.group(1),
                    "new_password": chosen,
                    "new_password_again": chosen,
                    "next": response.url.params["next"],
                    "csrf_token": csrf_of(response.text),
                },
            )
            assert response.status_code == 200 and "MAS98-16" in response.text
        print(f"myoivig run: first page after {first_page:.1f} s")
    finally:
        process.terminate()
        process.wait(timeout=20)
