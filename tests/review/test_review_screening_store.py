"""Screening on a stored review, through the CLI and the repository, on SQLite and PostgreSQL.

Scenario: a small RIS export (8 records, one a duplicate) is imported and deduplicated; r1 and r2
screen title/abstract blind; a conflict is resolved by r3; full text with exclusion reasons
(another conflict, on the reason); one report is not retrieved; PRISMA is derived and checked.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.review import repository as repo
from myoivig.review.dedup import auto_merge_events, find_duplicates
from myoivig.review.example.build import protocol
from myoivig.review.importers import import_file
from myoivig.review.prisma.events import FinalDecision
from myoivig.review.prisma.flow import derive
from myoivig.review.protocol import protocol_from_mapping
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
)
from myoivig.review.screening.stored import ScreeningRecorded, screening_protocol
from myoivig.review.tables import ReviewEventRow
from myoivig.store import Store
from myoivig.store.tables import AuditRow

FIX = Path(__file__).parent / "fixtures"
EXAMPLE_PROTOCOL = (
    Path(__file__).parents[2] / "src" / "myoivig" / "review" / "example" / "protocol.yaml"
)
runner = CliRunner()
REVIEW = "ivig-pm"
NOT_CLINICAL = "not a clinical study"
CASE_REPORT = "case report"
WRONG_POP = "wrong population"


def run(*args: str) -> str:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: str) -> str:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code != 0, result.output
    return result.output


def screen(reviewer: str, record: str, stage: str, verdict: str, reason: str = "") -> None:
    extra = ["--reason", reason] if reason else []
    command = "resolve" if reviewer == "r3" else "decide"
    run("screen", command, "--review", REVIEW, "--reviewer", reviewer, "--record", record,
        "--stage", stage, "--verdict", verdict, *extra)  # fmt: skip


def view(reviewer: str, record: str, stage: str = "ta") -> dict[str, object]:
    out = run("screen", "view", "--review", REVIEW, "--reviewer", reviewer, "--record", record,
              "--stage", stage, "--json")  # fmt: skip
    data: dict[str, object] = json.loads(out)
    return data


def counts(store: Store) -> tuple[int, int]:
    with store.session() as s:
        events = s.scalar(select(func.count()).select_from(ReviewEventRow))
        audits = s.scalar(select(func.count()).select_from(AuditRow))
    return int(events or 0), int(audits or 0)


def rec(n: int) -> str:
    return f"MEDLINE-1:{n}"


def test_screening_end_to_end_on_the_store(cli_store: Store) -> None:
    run("protocol", "set", str(EXAMPLE_PROTOCOL), "--review", REVIEW)
    out = json.loads(run("import", str(FIX / "screening_small.ris"), "--source", "MEDLINE",
                         "--review", REVIEW, "--json"))  # fmt: skip
    assert out["imported"] == 8 and out["malformed"] == []
    assert json.loads(run("dedup", "--review", REVIEW, "--json"))["merged"] == ["merge-1"]

    # -- title/abstract, blind ----------------------------------------------------------------
    screen("r1", rec(1), "ta", "include")
    hidden = view("r2", rec(1))
    assert hidden["own"] is None and hidden["others"] is None and not hidden["others_visible"]
    own_only = view("r1", rec(1))
    assert own_only["own"] is not None and own_only["others"] is None  # r2 has not decided
    ranked = json.loads(run("screen", "rank", "--review", REVIEW, "--reviewer", "r2", "--json"))
    assert ranked["n_training_labels"] == 0  # r1's undisclosed decision is not used for r2
    assert rec(1) in [item["record_id"] for item in ranked["ranking"]]
    assert rec(8) not in [item["record_id"] for item in ranked["ranking"]]  # merged duplicate
    ranked_r1 = json.loads(run("screen", "rank", "--review", REVIEW, "--reviewer", "r1", "--json"))
    assert ranked_r1["n_training_labels"] == 1 and ranked_r1["n_queue"] == 6
    screen("r1", rec(1), "ta", "maybe")  # r1 may still change it: r2 has not decided
    screen("r2", rec(1), "ta", "include")
    shown = view("r2", rec(1))
    assert shown["others_visible"] and shown["status"] == "agreed"
    assert [o["reviewer"] for o in shown["others"]] == ["r1"]  # type: ignore[union-attr]

    for n in (2, 3, 7):
        screen("r1", rec(n), "ta", "include")
        screen("r2", rec(n), "ta", "include")
    for n in (4, 6):
        screen("r1", rec(n), "ta", "exclude", NOT_CLINICAL)
        screen("r2", rec(n), "ta", "exclude", NOT_CLINICAL)
    screen("r1", rec(5), "ta", "include")
    assert json.loads(run("screen", "conflicts", "--review", REVIEW, "--json")) == []
    screen("r2", rec(5), "ta", "exclude", CASE_REPORT)
    conflicts = json.loads(run("screen", "conflicts", "--review", REVIEW, "--json"))
    assert [c["record_id"] for c in conflicts] == [rec(5)]
    screen("r3", rec(5), "ta", "include")
    kappa = json.loads(run("screen", "kappa", "--review", REVIEW, "--json"))
    # kappa compares the three verdicts, so record 1 (maybe vs include) and 5 disagree
    assert kappa[0]["n_records"] == 7 and kappa[0]["n_agree"] == 5

    # -- full text: reports 1, 2, 3, 5, 7 (7 is not retrieved) --------------------------------
    # record 4 was excluded at title/abstract, so it cannot be screened at full text
    assert "not eligible" in refused("screen", "decide", "--review", REVIEW, "--reviewer", "r1",
                                     "--record", rec(4), "--stage", "ft", "--verdict",
                                     "include")  # fmt: skip
    screen("r1", rec(1), "ft", "include")
    screen("r2", rec(1), "ft", "include")
    screen("r1", rec(2), "ft", "exclude", WRONG_POP)
    screen("r2", rec(2), "ft", "exclude", WRONG_POP)
    screen("r1", rec(3), "ft", "exclude", CASE_REPORT)
    screen("r2", rec(3), "ft", "exclude", CASE_REPORT)
    screen("r1", rec(5), "ft", "exclude", CASE_REPORT)
    screen("r2", rec(5), "ft", "exclude", WRONG_POP)  # different reasons: a conflict
    screen("r3", rec(5), "ft", "exclude", CASE_REPORT)
    run("not-retrieved", rec(7), "--reason", "library could not obtain it", "--review", REVIEW)

    summary = json.loads(run("screen", "summary", "--review", REVIEW, "--json"))
    assert summary[0] | {"excluded_by_reason": None} == {
        "stage": "title_abstract", "eligible": 7, "pending": 0, "conflicts_open": 0,
        "included": 5, "excluded": 2, "excluded_by_reason": None,
    }  # fmt: skip
    assert summary[1]["excluded_by_reason"] == {CASE_REPORT: 2, WRONG_POP: 1}
    assert summary[1]["pending"] == 1  # report 7: not retrieved, so never screened

    # -- PRISMA from the stored events, no `review decide` --------------------------------------
    prisma = json.loads(run("prisma", "--out", "flow.svg", "--review", REVIEW, "--json"))
    c = prisma["counts"]
    assert c["database_results"] == {"MEDLINE": 8}
    assert (c["duplicates"], c["records_screened"], c["records_excluded"]) == (1, 7, 2)
    assert c["databases"] == {
        "sought": 5, "not_retrieved": 1, "assessed": 4,
        "excluded": {CASE_REPORT: 2, WRONG_POP: 1},
    }  # fmt: skip
    assert (c["new_reports"], c["new_studies"]) == (1, 1)
    assert Path("flow.svg").exists()
    stop = json.loads(run("screen", "stop", "--review", REVIEW, "--stage", "ta", "--json"))
    assert (stop["n_screened"], stop["n_total"], stop["relevant_found"]) == (7, 7, 5)

    # -- audit: every screening event was written with the reviewer as the actor ---------------
    with cli_store.session() as s:
        rows = s.scalars(select(ReviewEventRow).where(ReviewEventRow.kind == "screening")).all()
        assert len(rows) == 25
        by_row = {r.id: r.payload["reviewer"] for r in rows}
        assert all(r.updated_by == r.payload["reviewer"] for r in rows)
        audits = s.execute(
            select(AuditRow.record_id, AuditRow.actor, AuditRow.action).where(
                AuditRow.table_name == "review_events", AuditRow.record_id.in_(by_row)
            )
        ).all()
    assert len(audits) == len(by_row)
    assert all(actor == by_row[rid] and action == "insert" for rid, actor, action in audits)
    assert {actor for _, actor, _ in audits} == {"r1", "r2", "r3"}


def test_refused_decisions_write_nothing(cli_store: Store) -> None:
    run("protocol", "set", str(EXAMPLE_PROTOCOL), "--review", REVIEW)
    run("import", str(FIX / "screening_small.ris"), "--source", "MEDLINE", "--review", REVIEW)
    screen("r1", rec(1), "ta", "include")
    screen("r2", rec(1), "ta", "include")
    before = counts(cli_store)
    base = ["screen", "decide", "--review", REVIEW, "--stage", "ta"]
    cases = [
        (["--reviewer", "r1", "--record", rec(2), "--verdict", "exclude", "--reason", "bogus"],
         "not in the protocol's list"),
        (["--reviewer", "r1", "--record", rec(2), "--verdict", "exclude"], "needs a reason"),
        (["--reviewer", "r3", "--record", rec(2), "--verdict", "include"],
         "not a screening reviewer"),
        (["--reviewer", "r1", "--record", rec(1), "--verdict", "exclude", "--reason",
          NOT_CLINICAL], "decision is final"),
        (["--reviewer", "r1", "--record", "nope", "--verdict", "include"], "unknown record"),
    ]  # fmt: skip
    for args, message in cases:
        assert message in refused(*base, *args)
    assert "nothing to resolve" in refused("screen", "resolve", "--review", REVIEW, "--reviewer",
                                           "r3", "--record", rec(1), "--stage", "ta",
                                           "--verdict", "include")  # fmt: skip
    elsewhere = ["--review", "other", "--reviewer", "r1", "--record", rec(1), "--stage", "ta"]
    assert "no protocol" in refused("screen", "decide", *elsewhere, "--verdict", "include")
    assert "not both" in refused("screen", "summary", "--review", REVIEW, "--events", "e.csv")
    assert "--events too" in refused("screen", "summary", "--records", "r.csv")
    # the protocol cannot be changed so that stored screening events become invalid
    changed = yaml.safe_load(EXAMPLE_PROTOCOL.read_text(encoding="utf-8"))
    changed["reviewers"] = [r for r in changed["reviewers"] if r["reviewer_id"] != "r1"]
    changed["reviewers"].append({"reviewer_id": "r4", "name": "R4", "roles": ["screener"]})
    Path("changed.yaml").write_text(yaml.safe_dump(changed), encoding="utf-8")
    assert "'r1' is not a screening reviewer" in refused("protocol", "set", "changed.yaml",
                                                         "--review", REVIEW)  # fmt: skip
    assert counts(cli_store) == before


def _setup(store: Store) -> None:
    with store.unit_of_work(actor="lead") as s:
        repo.save_protocol(s, protocol())
        repo.add_import(s, import_file(FIX / "screening_small.ris", "MEDLINE",
                                       id_prefix="MEDLINE-1:"))  # fmt: skip


def _event(reviewer: str, n: int, verdict: Verdict, reason: str | None = None) -> ScreeningEvent:
    return ScreeningEvent(
        EventKind.DECISION if reviewer != "r3" else EventKind.RESOLUTION,
        Stage.TITLE_ABSTRACT, rec(n), reviewer, verdict,
        datetime(2026, 11, 22, 6, n), reason,
    )  # fmt: skip


def test_repository_refusal_rolls_back_the_whole_unit_of_work(store: Store) -> None:
    _setup(store)
    before = counts(store)
    with pytest.raises(ScreeningError, match="reason"), store.unit_of_work(actor="r1") as s:
        repo.record_screening(s, _event("r1", 1, Verdict.INCLUDE))
        repo.record_screening(s, _event("r1", 2, Verdict.EXCLUDE, "bogus"))
    assert counts(store) == before


def test_merged_records_set_their_events_aside_and_prisma_follows_order(store: Store) -> None:
    _setup(store)
    with store.unit_of_work(actor="r1") as s:
        repo.record_screening(s, _event("r1", 1, Verdict.EXCLUDE, NOT_CLINICAL))
        repo.record_screening(s, _event("r1", 8, Verdict.EXCLUDE, NOT_CLINICAL))
    with store.session() as s:
        assert repo.load_screening(s).set_aside == ()
    # record 8 is a duplicate of record 1; both were screened, so the earlier stays canonical
    with store.unit_of_work(actor="lead") as s:
        for event in auto_merge_events(find_duplicates(repo.merged_view(s).records)):
            repo.append_event(s, event)
    with store.session() as s:
        state = repo.load_screening(s)
    assert [e.record_id for e in state.set_aside] == [rec(8)]
    assert rec(8) not in state.log.record_ids and len(state.log.events) == 1
    # every remaining record screened at T/A: all agreed excluded
    with store.unit_of_work(actor="r1") as s:
        for n in range(1, 8):
            repo.record_screening(s, _event("r1", n, Verdict.EXCLUDE, NOT_CLINICAL))
    with store.unit_of_work(actor="r2") as s:
        for n in range(1, 8):
            repo.record_screening(s, _event("r2", n, Verdict.EXCLUDE, NOT_CLINICAL))
    with store.session() as s:
        events = repo.prisma_events(s)
        c = derive(events)
    assert (c.records_screened, c.records_excluded, c.duplicates) == (7, 7, 1)
    decided = [e for e in events if isinstance(e, FinalDecision)]
    assert [e.record_id for e in decided] == [rec(n) for n in range(1, 8)]
    assert {e.actor for e in decided} == {"r1+r2"}
    # a later manual final decision supersedes the screening outcome (log order), and PRISMA
    # then needs that record's full-text decision
    with store.unit_of_work(actor="lead") as s:
        repo.append_event(s, FinalDecision(record_id=rec(1), stage="title_abstract", include=True))
    with store.session() as s, pytest.raises(ValueError, match="no final full-text decision"):
        derive(repo.prisma_events(s))


def test_stored_event_round_trip_and_protocol_mapping() -> None:
    event = _event("r1", 3, Verdict.EXCLUDE, CASE_REPORT)
    stored = ScreeningRecorded.from_event(event)
    assert stored.model_dump(mode="json")["kind"] == "screening"
    assert ScreeningRecorded.model_validate(stored.model_dump(mode="json")).to_event() == event
    rules = screening_protocol(protocol())
    assert (rules.reviewers, rules.resolvers) == (("r1", "r2"), ("r3",))
    assert rules.exclusion_reasons[0] == NOT_CLINICAL and rules.reviewers_per_record == 2
    data = protocol().model_dump(mode="json")
    data["reviewers"] = [r for r in data["reviewers"] if r["reviewer_id"] != "r2"]
    with pytest.raises(ScreeningError, match="distinct reviewers"):
        screening_protocol(protocol_from_mapping(data))


def test_concurrent_screeners_cannot_both_take_the_last_slot(store: Store) -> None:
    """Writers are serialised (row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so a second
    screener's transaction sees the first one's committed decision and is refused instead of
    corrupting the log.
    """
    data = protocol().model_dump(mode="json")
    data["reviewers"].append({"reviewer_id": "r4", "name": "Reviewer 4", "roles": ["screener"]})
    with store.unit_of_work(actor="lead") as s:
        repo.save_protocol(s, protocol_from_mapping(data))
        repo.add_import(s, import_file(FIX / "screening_small.ris", "MEDLINE",
                                       id_prefix="MEDLINE-1:"))  # fmt: skip
    with store.unit_of_work(actor="r1") as s:
        repo.record_screening(s, _event("r1", 1, Verdict.INCLUDE))
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with store.unit_of_work(actor="r4") as s:
                repo.record_screening(s, _event("r4", 1, Verdict.INCLUDE))
            outcome.append(None)
        except BaseException as error:  # reported to the main thread
            outcome.append(error)

    with store.unit_of_work(actor="r2") as s:
        repo.record_screening(s, _event("r2", 1, Verdict.INCLUDE))
        s.flush()
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second writer must wait for the first one's lock"
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], ScreeningError)
    assert "already has its 2 independent decisions" in str(outcome[0])
    with store.session() as s:
        log = repo.load_screening(s).log
    assert [e.reviewer for e in log.decisions(Stage.TITLE_ABSTRACT, rec(1))] == ["r1", "r2"]


def test_merge_after_screening_keeps_the_screened_record_and_its_decisions(store: Store) -> None:
    _setup(store)
    with store.unit_of_work(actor="r1") as s:
        repo.record_screening(s, _event("r1", 8, Verdict.EXCLUDE, NOT_CLINICAL))
    with store.unit_of_work(actor="lead") as s:  # record 8 (screened) duplicates record 1
        for event in auto_merge_events(find_duplicates(repo.merged_view(s).records)):
            repo.append_event(s, event)
    with store.session() as s:
        state = repo.load_screening(s)
        view = repo.merged_view(s)
    assert state.set_aside == ()
    assert rec(8) in state.log.record_ids and rec(1) not in state.log.record_ids
    assert [e.record_id for e in state.log.events] == [rec(8)]
    assert view.canonical_of[rec(1)] == rec(8)
