"""The read-and-write load script (benchmarks/web_load_writes.py, issue 15 items 3 and 7): a short
real run on PostgreSQL loses nothing and leaves no secret or patient identifier in the server's
log; and its checker does find a lost write, a changed value and a lost edit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from myoivig.accounts.service import add_site
from myoivig.clinic.recording import add_lab, create_patient, update_patient
from myoivig.clinic.service import Viewer
from myoivig.store import Store

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "web_load_writes.py"
sys.path.insert(0, str(SCRIPT.parent))

from web_load_writes import Ack, Run, log_hits, verify  # noqa: E402


def test_short_run_with_writes_loses_nothing_and_logs_no_secret(
    postgres_server: str, tmp_path: Path
) -> None:
    """10 users for 4 s against `myoivig serve` (1 worker) on a scratch PostgreSQL database."""
    log = tmp_path / "server.log"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--users", "10", "--seconds", "4", "--patients", "12",
         "--visits", "6", "--workers", "1", "--hot", "3", "--log", str(log)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    written = re.search(r"acknowledged writes: (\d+)", out)
    assert written and int(written.group(1)) > 0, out
    assert "lost updates: 0" in out and "errors: 0; unexpected answers: 0" in out
    assert "audit chain OK" in out
    assert re.search(r"searched for 10 API tokens, 2 passwords, 1[01] session cookies", out)
    assert "log hits: 0 " in out
    # and independently of the script's own search: the log was written, and holds no token,
    # no patient code (seeded SYN-L..., new LW...) and no made-up name
    text = log.read_text(encoding="utf-8")
    assert "myoivig is running at http://127.0.0.1:" in text
    for pattern in (r"myo_[A-Za-z0-9_-]{20,}", r"SYN-L\d{5}", r"LW[0-9A-F]{6}-", "Loadname"):
        assert not re.search(pattern, text), pattern


def test_checker_counts_a_missing_write_a_changed_value_and_a_lost_edit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'check.db'}")
    store.upgrade()
    add_site(store, "test", "NORTH", "North clinic", None)
    carl = Viewer(name="clin00", all_sites=False, site_codes=frozenset({"NORTH"}))
    base = {"site_code": "NORTH", "sex": "F", "diagnosis": "polymyositis", "note": "n"}
    create_patient(store, carl, {"code": "LWABCDEF-00001", **base})
    create_patient(store, carl, {"code": "HOT1", **base})
    lab = {"test": "creatinine", "unit": "umol/L", "value": 60.001, "sample_date": "2024-01-02"}
    add_lab(store, carl, "LWABCDEF-00001", lab)
    add_lab(store, carl, "LWABCDEF-00001", {**lab, "value": 60.002})  # never acknowledged
    _, version = update_patient(store, carl, "HOT1", {**base, "note": "edit A"}, 1)
    store.dispose()
    sent = {k: v for k, v in base.items() if k != "site_code"}
    acks = [
        Ack("patient", "LWABCDEF-00001", {**sent, "site_code": "NORTH"}, None, 1),
        Ack("lab", "LWABCDEF-00001", lab),
        Ack("patient edit", "HOT1", {"note": "edit A"}, None, version),
    ]
    run = Run("ABCDEF", ["LWABCDEF-00001"], ["HOT1"], acks=list(acks))
    clean = verify(f"sqlite:///{tmp_path / 'check.db'}", run)
    assert clean.lost == [] and clean.chain_ok, clean.lost
    assert len(clean.unexplained) == 1 and "60.002" in clean.unexplained[0]

    run.acks = [
        Ack("patient", "LWABCDEF-00002", {**sent, "site_code": "NORTH"}, None, 1),  # never stored
        Ack("patient", "LWABCDEF-00001", {**sent, "sex": "M", "site_code": "NORTH"}, None, 1),
        Ack("lab", "LWABCDEF-00001", {**lab, "value": 61.5}),  # never stored
        Ack("patient edit", "HOT1", {"note": "edit A"}, None, version),
        Ack("patient edit", "HOT1", {"note": "edit B"}, None, version),  # same version twice
    ]
    lost = verify(f"sqlite:///{tmp_path / 'check.db'}", run).lost
    text = "\n".join(lost)
    assert "LWABCDEF-00002: acknowledged, not in the database" in text
    assert "'sex': 'F'" in text and "'sex': 'M'" in text
    assert "value=61.5: 0 rows" in text
    assert f"2 edits acknowledged as version {version}" in text
    assert len(lost) >= 4, lost


def test_log_search_counts_each_secret_found(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(f"WARNING something about SYN-L00007 on {date.today()}\n", encoding="utf-8")
    hits = log_hits(log, {"codes": ["SYN-L00007", "SYN-L00008"], "tokens": ["myo_x" * 8]})
    assert hits == {"codes": 1, "tokens": 0}
