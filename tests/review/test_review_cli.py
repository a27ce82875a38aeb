"""`myoivig review ...` end to end on a temporary SQLite store (and a local fake E-utilities)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from review_fake_eutils import FakeEutils
from typer.testing import CliRunner

from myoivig.cli import app

FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == 0, result.output
    return result.output


def fail(*args: str) -> str:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code != 0, result.output
    return result.output


def test_protocol_import_dedup_decide_prisma(env: Path) -> None:
    run("protocol", "init", "p.yaml")
    assert "exists" in fail("protocol", "init", "p.yaml")
    run("protocol", "set", "p.yaml")
    shown = json.loads(run("protocol", "show", "--json"))
    assert shown["date_from"] == 1985 and shown["languages"] == ["en", "zh"]
    out = json.loads(run("import", str(FIX / "pubmed_efetch.xml"), "--source", "MEDLINE",
                         "--json"))  # fmt: skip
    assert out["imported"] == 2 and [m["position"] for m in out["malformed"]] == [3, 4]
    run("import", str(FIX / "cnki_refworks_gb18030.txt"), "--source", "CNKI")
    dry = json.loads(run("dedup", "--dry-run", "--json"))
    assert dry["merged"] == [] and len(dry["clusters"]) == 1
    done = json.loads(run("dedup", "--json"))
    assert done["merged"] == ["merge-1"]
    assert sorted(done["clusters"][0]["record_ids"]) == ["CNKI-2:1", "MEDLINE-1:2"]
    run("decide", "MEDLINE-1:1", "CNKI-2:2", "--stage", "title_abstract", "--include")
    run("decide", "MEDLINE-1:2", "--stage", "title_abstract", "--exclude")
    run("decide", "MEDLINE-1:1", "--stage", "full_text", "--include")
    assert "exclusion_reasons" in fail(
        "decide", "CNKI-2:2", "--stage", "full_text", "--exclude", "--reason", "bogus"
    )
    run("decide", "CNKI-2:2", "--stage", "full_text", "--exclude", "--reason", "case report")
    out = json.loads(run("prisma", "--out", "flow.svg", "--checklist", "cl.csv", "--json"))
    counts = out["counts"]
    assert counts["duplicates"] == 1 and counts["records_screened"] == 3
    assert counts["databases"]["excluded"] == {"case report": 1}
    assert (env / "flow.svg").exists() and (env / "flow.png").exists()
    assert (env / "cl.csv").read_text().startswith("item,section")
    listed = json.loads(run("records", "--json"))
    assert len(listed) == 3 and {r["source"] for r in listed} == {"MEDLINE", "CNKI"}
    everything = json.loads(run("records", "--all", "--source", "CNKI", "--json"))
    assert {r["record_id"]: r["kept_as"] for r in everything}["CNKI-2:1"] == "MEDLINE-1:2"
    assert "CNKI-2:2" in run("records")
    run("unmerge", "merge-1")
    # the ex-duplicate is a record again, with no decision yet: the review is in progress, and
    # `prisma` draws it so (exit 0) with a note saying what awaits, instead of refusing
    living = run("prisma", "--out", "flow.svg")
    assert "screened 3, excluded 1, assessed 2, studies 1 (reports 1) so far" in living
    assert "note: review in progress, counts as of the newest event" in living
    assert "1 records awaiting screening; 0 reports awaiting a full-text decision" in living
    living_json = json.loads(run("prisma", "--out", "flow.svg", "--json"))
    assert living_json["counts"]["in_progress"]["records_awaiting_screening"] == 1
    assert living_json["counts"]["records_screened"] == 3
    assert living_json["note"].startswith("review in progress")
    assert "not an active merge" in fail("unmerge", "merge-1")
    run("merge", "CNKI-2:1", "MEDLINE-1:2")
    assert json.loads(run("prisma", "--out", "f2.svg", "--json"))["counts"]["duplicates"] == 1
    assert "unknown record ids" in fail("decide", "nope", "--stage", "title_abstract", "--include")


def test_bad_import_is_a_clear_error(env: Path) -> None:
    bad = env / "bad.xml"
    bad.write_text("<PubmedArticleSet><x></PubmedArticleSet>")
    assert "not well-formed" in fail("import", str(bad), "--source", "MEDLINE")


def test_search_pubmed_against_fake_server(env: Path, fake_eutils: FakeEutils) -> None:
    out = json.loads(
        run("search", "pubmed", "immunoglobulin", "--from", "1985", "--to", "2011",
            "--base-url", fake_eutils.url, "--email", "t@example.org", "--batch-size", "60",
            "--json")
    )  # fmt: skip
    assert out["count"] == 120 and out["stored"] == 120 and out["requests"] == 3
    dry = json.loads(
        run("search", "pubmed", "immunoglobulin", "--from", "2000", "--to", "2001",
            "--base-url", fake_eutils.url, "--dry-run", "--json")
    )  # fmt: skip
    assert dry["stored"] == 0 and dry["count"] > 0
    dedup = json.loads(run("dedup", "--json"))
    assert dedup["records"] == 120 and dedup["clusters"] == []
    assert out["gaps"] == []


def test_search_pubmed_refuses_an_incomplete_fetch(env: Path, fake_eutils: FakeEutils) -> None:
    fake_eutils.efetch_drops = {"1000001"}
    args = ["search", "pubmed", "immunoglobulin", "--from", "1985", "--to", "2011",
            "--base-url", fake_eutils.url, "--email", "t@example.org", "--json"]  # fmt: skip
    message = fail(*args)
    assert "nothing stored" in message and "efetch returned 119 of 120" in message
    assert json.loads(run("dedup", "--json"))["records"] == 0
    result = runner.invoke(app, ["review", *args, "--allow-gaps"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["stored"] == 119 and any("119 of 120" in g for g in out["gaps"])
    assert "gap:" in result.stderr


def test_extract_diff_reconcile_table(env: Path) -> None:
    base = {
        "study_id": "s1",
        "first_author": "Cherin P",
        "year": 1994,
        "design": "prospective_open",
        "n_ivig": 11,
        "responses": [{"measure": "power", "responders": 3, "evaluated": 11}],
    }
    forms = [
        base | {"extractor": "r1"},
        base
        | {
            "extractor": "r2",
            "n_ivig": 12,
            "responses": [{"measure": "power", "responders": 4, "evaluated": 11}],
        },
    ]
    (env / "forms.yaml").write_text(yaml.safe_dump(forms))  # fmt: skip
    run("extract", "add", "forms.yaml")
    diffs = json.loads(run("extract", "diff", "s1", "r1", "r2", "--json"))
    assert {d["field"] for d in diffs} == {"n_ivig", "responses[0].responders"}
    assert "unresolved disagreements" in fail("extract", "reconcile", "s1", "r1", "r2")
    run("extract", "reconcile", "s1", "r1", "r2", "--choose", "n_ivig=a", "--choose",
        "responses=b")  # fmt: skip
    table = json.loads(run("extract", "table", "--json"))
    assert table[0]["xi"] == 4 and table[0]["ni"] == 11 and table[0]["n_ivig"] == 11
    run("extract", "table", "--out", "studies.csv")
    assert (env / "studies.csv").read_text().startswith("study_id,study,year,design,measure,xi,ni")
    (env / "bad.yaml").write_text(yaml.safe_dump([base | {"extractor": "x", "n_ivig": -1}]))
    assert "study s1: n_ivig" in fail("extract", "add", "bad.yaml")


def test_appraise_commands(env: Path) -> None:
    out = json.loads(run("appraise", "cebm", "s1", "--design", "rct", "--follow-up", "0.7",
                         "--json"))  # fmt: skip
    assert out["level"] == "2b"
    answers = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y",
               "3.1": "Y", "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N",
               "5.3": "N"}  # fmt: skip
    (env / "rob.yaml").write_text(yaml.safe_dump(answers))
    assert json.loads(run("appraise", "rob2", "s1", "rob.yaml", "--json"))["overall"] == "low"
    (env / "rob_bad.yaml").write_text(yaml.safe_dump(answers | {"1.2": "maybe"}))
    assert "maybe" in fail("appraise", "rob2", "s1", "rob_bad.yaml")
    stars = {
        "representativeness_of_exposed": 1,
        "selection_of_non_exposed": 1,
        "ascertainment_of_exposure": 1,
        "outcome_absent_at_start": 0,
        "comparability": 1,
        "assessment_of_outcome": 1,
        "follow_up_long_enough": 1,
        "adequacy_of_follow_up": 0,
    }
    (env / "nos.yaml").write_text(yaml.safe_dump(stars))
    assert json.loads(run("appraise", "nos", "s2", "nos.yaml", "--json"))["ahrq"] == "good"
    outcomes = [
        {
            "outcome": "response",
            "randomised": False,
            "down": {"inconsistency": {"levels": 1, "reason": "definitions differ"}},
        }
    ]
    (env / "grade.yaml").write_text(yaml.safe_dump(outcomes))
    graded = json.loads(run("appraise", "grade", "grade.yaml", "--json"))
    assert graded[0]["certainty"] == "very_low" and graded[0]["steps"][0]["change"] == -1
    domains = dict.fromkeys(
        ["confounding", "selection_of_participants", "classification_of_interventions",
         "deviations_from_intended_interventions", "missing_data", "measurement_of_outcomes",
         "selection_of_reported_result"], "low") | {"confounding": "serious"}  # fmt: skip
    (env / "robins.yaml").write_text(yaml.safe_dump(domains))
    assert json.loads(run("appraise", "robins-i", "s3", "robins.yaml", "--json"))["overall"] == (
        "serious"
    )


def test_example_command_and_stored_example(env: Path) -> None:
    out = json.loads(run("example", "--out", "ex", "--store", "wang2012", "--json"))
    assert out["reconciliation"]["patients"]["reported_by_review"] == 308
    assert out["reconciliation"]["patients"]["confirmed_sum"] == 194
    assert (env / "ex" / "prisma_flow.png").exists()
    assert "already exists" in fail("example", "--out", "ex", "--store", "wang2012")
    flow = json.loads(run("prisma", "--review", "wang2012", "--out", "w.svg", "--json"))
    assert flow["counts"]["new_studies"] == 14 and flow["counts"]["records_excluded"] == 5
    diffs = json.loads(run("extract", "diff", "mastaglia1998", "abstract", "table", "--review",
                           "wang2012", "--json"))  # fmt: skip
    assert diffs == [{"field": "responses[0].responders", "value_a": 9, "value_b": 8}]
    table = json.loads(run("extract", "table", "--review", "wang2012", "--complete", "--json"))
    assert len(table) == 7 and sum(r["ni"] for r in table) == 166
    # studies, not-retrieved and decisions on merged-away records through the CLI
    run("study", "s-cherin", "ref:6", "ref:9", "--review", "wang2012")
    counts = json.loads(run("prisma", "--review", "wang2012", "--out", "w.svg", "--json"))
    # ref:6 and ref:9 leave their own studies for one shared study: 14 - 2 + 1
    assert counts["counts"]["new_studies"] == 13
    # the study table takes linked reports once: refused until a primary report is designated
    assert "study s-cherin: linked reports disagree" in fail(
        "extract", "table", "--review", "wang2012", "--json"
    )
    assert "--primary" in fail("study", "s-cherin", "ref:6", "ref:9", "--primary", "ref:1",
                               "--review", "wang2012")  # fmt: skip
    run("study", "s-cherin", "ref:6", "ref:9", "--primary", "ref:9", "--review", "wang2012")
    linked = json.loads(run("extract", "table", "--review", "wang2012", "--json"))
    assert len(linked) == 13 and [r["study_id"] for r in linked].count("s-cherin") == 1
    row = next(r for r in linked if r["study_id"] == "s-cherin")
    cherin2002 = next(r for r in table if r["study_id"] == "cherin2002")
    assert (row["xi"], row["ni"]) == (cherin2002["xi"], cherin2002["ni"])
    run("merge", "ref:17", "ref:18", "--review", "wang2012")
    assert "decide on the kept one" in fail(
        "decide", "ref:18", "--stage", "title_abstract", "--include", "--review", "wang2012"
    )


def test_person_cannot_merge_records_with_different_dois(env: Path) -> None:
    run("protocol", "init", "p.yaml")
    run("protocol", "set", "p.yaml")
    ris = "".join(
        f"TY  - JOUR\nTI  - Reply\nAU  - Doe, J\nPY  - 2001\nDO  - 10.1000/reply.{n}\nER  - \n\n"
        for n in ("a", "b")
    )
    (env / "letters.ris").write_text(ris)
    out = json.loads(run("import", "letters.ris", "--source", "MEDLINE", "--json"))
    ids = json.loads(run("records", "--json"))
    rids = [r["record_id"] if isinstance(r, dict) else r for r in ids]
    assert len(rids) == 2, out
    message = fail("merge", *rids)
    assert "not merged" in message and "different DOIs" in message
    assert len(json.loads(run("records", "--json"))) == 2  # nothing stored
