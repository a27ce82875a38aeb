"""The `review screen` Typer app, driven through CliRunner on files in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.review.screening.commands import app
from myoivig.review.screening.eventfile import read_events

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    records = tmp_path / "records.csv"
    rows = ["record_id,title,abstract"]
    for i in range(1, 7):
        topic = (
            "intravenous immunoglobulin dermatomyositis" if i <= 2 else "hypertension diet survey"
        )
        rows.append(f"r{i},{topic} study {i},{topic} abstract")
    records.write_text("\n".join(rows) + "\n", encoding="utf-8")
    protocol = tmp_path / "protocol.json"
    protocol.write_text(
        json.dumps(
            {
                "exclusion_reasons": ["not_ivig", "not_myositis"],
                "reviewers": ["ann", "bob"],
                "resolvers": ["dee"],
            }
        ),
        encoding="utf-8",
    )
    return {"records": records, "protocol": protocol, "events": tmp_path / "events.csv"}


def _files(p: dict[str, Path]) -> list[str]:
    return [
        "--records",
        str(p["records"]),
        "--protocol",
        str(p["protocol"]),
        "--events",
        str(p["events"]),
    ]


def decide(p: dict[str, Path], *args: str, command: str = "decide") -> object:
    return runner.invoke(app, [command, *_files(p), "--stage", "ta", "--json", *args])


def test_decide_conflicts_resolve_kappa_summary(project: dict[str, Path]) -> None:
    at = ["--at", "2026-01-05T09:00:00+00:00"]
    result = decide(project, "--reviewer", "ann", "--record", "r1", "--verdict", "include", *at)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["record_id"] == "r1"
    decide(project, "--reviewer", "bob", "--record", "r1", "--verdict", "exclude",
           "--reason", "not_ivig", *at)  # fmt: skip
    for reviewer in ("ann", "bob"):
        decide(project, "--reviewer", reviewer, "--record", "r3", "--verdict", "exclude",
               "--reason", "not_ivig", *at)  # fmt: skip
    assert len(read_events(project["events"])) == 4

    result = runner.invoke(app, ["conflicts", *_files(project), "--json"])
    conflicts = json.loads(result.output)
    assert [c["record_id"] for c in conflicts] == ["r1"]

    result = runner.invoke(app, ["kappa", *_files(project), "--json"])
    (pair,) = json.loads(result.output)
    assert (pair["reviewer_a"], pair["reviewer_b"], pair["n_records"], pair["n_agree"]) == (
        "ann",
        "bob",
        2,
        1,
    )
    assert pair["kappa"] == pytest.approx(0.0)

    result = decide(project, "--reviewer", "dee", "--record", "r1", "--verdict", "include",
                    *at, command="resolve")  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["summary", *_files(project), "--json"])
    ta, ft = json.loads(result.output)
    assert (ta["stage"], ta["included"], ta["excluded"], ta["conflicts_open"]) == (
        "title_abstract",
        1,
        1,
        0,
    )
    assert ta["excluded_by_reason"] == {"not_ivig": 1}
    assert ft["eligible"] == 1


def test_refused_decision_leaves_the_events_file_untouched(project: dict[str, Path]) -> None:
    decide(project, "--reviewer", "ann", "--record", "r1", "--verdict", "include")
    before = project["events"].read_bytes()
    result = decide(project, "--reviewer", "ann", "--record", "r2", "--verdict", "exclude")
    assert result.exit_code == 2
    assert "an exclusion needs a reason" in result.output
    result = decide(project, "--reviewer", "zed", "--record", "r2", "--verdict", "include")
    assert result.exit_code == 2 and "'zed' is not a screening reviewer" in result.output
    assert project["events"].read_bytes() == before


def test_rank_orders_the_queue_by_blinding_safe_labels(project: dict[str, Path]) -> None:
    decide(project, "--reviewer", "bob", "--record", "r1", "--verdict", "include")
    decide(project, "--reviewer", "bob", "--record", "r3", "--verdict", "exclude",
           "--reason", "not_ivig")  # fmt: skip
    # ann's queue ignores bob's (undisclosed) decisions: nothing to learn from, file order
    result = runner.invoke(app, ["rank", *_files(project), "--reviewer", "ann", "--json"])
    payload = json.loads(result.output)
    assert payload["n_training_labels"] == 0
    assert [r["record_id"] for r in payload["ranking"]] == [f"r{i}" for i in range(1, 7)]
    # bob learns from his own decisions: r2 (same topic as r1) comes first
    result = runner.invoke(app, ["rank", *_files(project), "--reviewer", "bob", "--json"])
    payload = json.loads(result.output)
    assert payload["n_training_labels"] == 2
    assert payload["ranking"][0]["record_id"] == "r2"
    assert {r["record_id"] for r in payload["ranking"]} == {"r2", "r4", "r5", "r6"}


def test_stop_reports_the_hypergeometric_test(project: dict[str, Path]) -> None:
    for rid, verdict in [("r1", "include"), ("r2", "include"), ("r3", "exclude")]:
        for reviewer in ("ann", "bob"):
            extra = ["--reason", "not_ivig"] if verdict == "exclude" else []
            decide(project, "--reviewer", reviewer, "--record", rid, "--verdict", verdict, *extra)
    result = runner.invoke(app, ["stop", *_files(project), "--json"])
    payload = json.loads(result.output)
    assert (payload["n_total"], payload["n_screened"], payload["relevant_found"]) == (6, 3, 2)
    # K_tar = floor(2/0.95)+1 = 3; last sample of 1 (irrelevant) from 4 records with 1 relevant:
    # p = 3/4 (checkpoint 3 of 6, window from checkpoint 2); nothing better; Bonferroni over
    # the 210 declared tests caps the adjusted p at 1 -> keep screening
    assert payload["tests_declared"] == 210 and payload["records_tested"] == 3
    assert payload["p_value"] == pytest.approx(1.0)
    assert payload["can_stop"] is False


def test_simulate_command_json(tmp_path: Path) -> None:
    data = tmp_path / "labelled.csv"
    rows = ["record_id,title,abstract,label_included"]
    for i in range(40):
        relevant = i % 8 == 0
        text = "immunoglobulin myositis trial" if relevant else f"unrelated topic number {i}"
        rows.append(f"{i},{text},{text} abstract,{int(relevant)}")
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--data", str(data), "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["n_records"] == 40 and payload["n_relevant"] == 5
    assert payload["wss_95"] > 0.5
    assert payload["recall_at_stop"] == 1.0
    assert len(payload["prior_record_ids"]) == 2
    result = runner.invoke(app, ["simulate", "--data", str(data), "--label-column", "nope"])
    assert result.exit_code == 2 and "no column" in result.output


def test_rank_reuses_and_refreshes_the_feature_cache(project: dict[str, Path]) -> None:
    cache = project["records"].parent / "features.npz"
    decide(project, "--reviewer", "bob", "--record", "r1", "--verdict", "include")
    decide(project, "--reviewer", "bob", "--record", "r3", "--verdict", "exclude",
           "--reason", "not_ivig")  # fmt: skip
    args = ["rank", *_files(project), "--reviewer", "bob", "--json"]
    first = runner.invoke(app, [*args, "--features-cache", str(cache)])
    assert first.exit_code == 0, first.output
    assert cache.exists()
    stamp = cache.stat().st_mtime_ns
    second = runner.invoke(app, [*args, "--features-cache", str(cache)])
    assert json.loads(second.output) == json.loads(first.output)
    assert cache.stat().st_mtime_ns == stamp  # reused, not rebuilt
    with project["records"].open("a", encoding="utf-8") as handle:
        handle.write("r7,intravenous immunoglobulin dermatomyositis new,abstract\n")
    third = runner.invoke(app, [*args, "--features-cache", str(cache)])
    assert json.loads(third.output)["n_queue"] == 5  # the new record is ranked too
    assert cache.stat().st_mtime_ns != stamp


def test_view_hides_the_other_decision_until_both_decided(project: dict[str, Path]) -> None:
    decide(project, "--reviewer", "ann", "--record", "r1", "--verdict", "exclude",
           "--reason", "not_myositis")  # fmt: skip
    args = ["view", *_files(project), "--record", "r1", "--json"]
    bob = json.loads(runner.invoke(app, [*args, "--reviewer", "bob"]).output)
    assert bob["own"] is None and bob["others_visible"] is False and bob["others"] is None
    assert "not_myositis" not in json.dumps(bob)
    decide(project, "--reviewer", "bob", "--record", "r1", "--verdict", "include")
    bob = json.loads(runner.invoke(app, [*args, "--reviewer", "bob"]).output)
    assert bob["others_visible"] is True and bob["status"] == "conflict"
    assert bob["others"][0]["reason"] == "not_myositis"
