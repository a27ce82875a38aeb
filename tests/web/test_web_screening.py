"""Screening pages on SQLite and PostgreSQL: blind dual screening with keys' form posts, undo,
highlighting (escaped first), background retraining, conflicts for the third reviewer, kappa,
and who may open what."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import INJECTION, PASSWORD, csrf_of

from myoivig.accounts.service import add_user
from myoivig.review import repository as repo
from myoivig.review.prisma.events import RecordsImported
from myoivig.review.records import BibRecord
from myoivig.review.screening.events import Stage
from myoivig.review.screening.live import LiveRankings
from myoivig.review.screening.synthetic import seed_review
from myoivig.store import Store

REVIEW = "syn"


@pytest.fixture(scope="module")
def seeded(clinic_store: Store) -> Store:
    for name in ("rosa", "ray"):
        add_user(clinic_store, "setup", name, "reviewer", [], PASSWORD)
    seed_review(clinic_store, REVIEW, 30, ["rob", "rosa"], ["ray"], seed=3)
    hostile = BibRecord(
        record_id="syn-hostile",
        source="synthetic",
        source_format="synthetic",
        position=31,
        title=f"IVIg {INJECTION} myositis",
        abstract="Juvenile dermatomyositis <b>bold</b> & IVIg",
    )
    with clinic_store.unit_of_work(actor="setup") as session:
        repo.add_records(session, [hostile], REVIEW)
        repo.append_event(
            session, RecordsImported(source="synthetic", record_ids=[hostile.record_id]), REVIEW
        )
    return clinic_store


def _shown(page: str) -> str:
    found = re.search(r'data-testid="record-id">([^<]+)<', page)
    assert found, page[:2000]
    return found.group(1)


def _decide(client: TestClient, record: str, verdict: str, reason: str = "") -> int:
    page = client.get(f"/reviews/{REVIEW}/screen").text
    data = {"csrf_token": csrf_of(page), "record_id": record, "verdict": verdict, "reason": reason}
    return client.post(f"/reviews/{REVIEW}/screen", data=data, follow_redirects=False).status_code


def test_dual_screening_conflict_resolution_and_kappa(
    seeded: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    rob, rosa, ray = client_for("rob"), client_for("rosa"), client_for("ray")
    first = _shown(rob.get(f"/reviews/{REVIEW}/screen").text)
    assert _decide(rob, first, "include") == 303
    second = _shown(rob.get(f"/reviews/{REVIEW}/screen").text)
    assert second != first
    # rosa is blind: the record rob decided is offered with no trace of his decision
    page = rosa.get(f"/reviews/{REVIEW}/screen", params={"record": first}).text
    assert "Your decision so far" not in page and ">rob<" not in page
    assert _decide(rosa, first, "exclude", "case report") == 303
    # an exclusion without a reason is refused with the rule's message, nothing stored
    refused = rosa.post(
        f"/reviews/{REVIEW}/screen",
        data={"csrf_token": csrf_of(page), "record_id": second, "verdict": "exclude"},
    )
    assert "reason" in refused.text and "screen-error" in refused.text
    # the screeners may not resolve; the arbiter sees the conflict and resolves it
    assert rob.get(f"/reviews/{REVIEW}/conflicts").status_code == 403
    conflicts = ray.get(f"/reviews/{REVIEW}/conflicts")
    assert conflicts.status_code == 200 and first in conflicts.text
    resolved = ray.post(
        f"/reviews/{REVIEW}/conflicts",
        data={"csrf_token": csrf_of(conflicts.text), "record_id": first, "verdict": "include"},
        follow_redirects=True,
    )
    assert 'data-testid="no-conflicts"' in resolved.text
    assert "rob · rosa" in resolved.text and 'data-testid="kappa"' in resolved.text
    progress = rob.get(f"/reviews/{REVIEW}/screen").text
    assert 'data-testid="final-count">1 of 31' in progress
    assert "Keep screening" in progress and "The promise" in progress


def test_undo_reopens_the_last_changeable_decision(
    seeded: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    rob = client_for("rob")
    record = _shown(rob.get(f"/reviews/{REVIEW}/screen").text)
    assert _decide(rob, record, "maybe") == 303
    undone = rob.get(f"/reviews/{REVIEW}/undo", follow_redirects=True).text
    assert _shown(undone) == record and "Your decision so far: maybe" in undone
    assert _decide(rob, record, "exclude", "wrong population") == 303


def test_highlights_are_marked_after_escaping(
    seeded: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    page = (
        client_for("rosa").get(f"/reviews/{REVIEW}/screen", params={"record": "syn-hostile"}).text
    )
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert '<mark class="include">IVIg</mark>' in page
    assert '<mark class="exclude">Juvenile</mark>' in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in page


def test_the_model_retrains_in_the_background_and_ranks_for_this_reviewer(
    seeded: Store, web_app: FastAPI, client_for: Callable[[str | None], TestClient]
) -> None:
    rosa = client_for("rosa")
    for _ in range(4):
        record = _shown(rosa.get(f"/reviews/{REVIEW}/screen").text)
        relevant = "IVIg" in record or record.endswith(("1", "3"))
        verdict = "include" if relevant else "exclude"
        assert _decide(rosa, record, verdict, "" if relevant else "case report") == 303
    rankings: LiveRankings = web_app.state.rankings
    rankings.wait(REVIEW, Stage.TITLE_ABSTRACT, "rosa")
    ranking, running = rankings.current(REVIEW, Stage.TITLE_ABSTRACT, "rosa")
    assert ranking is not None and not running and ranking.trained_on >= 4
    assert "ranked by a model trained on" in rosa.get(f"/reviews/{REVIEW}/screen").text


def test_who_may_open_screening(
    seeded: Store, client_for: Callable[[str | None], TestClient]
) -> None:
    assert client_for("carl").get(f"/reviews/{REVIEW}/screen").status_code == 403
    assert client_for("rita").get(f"/reviews/{REVIEW}/conflicts").status_code == 403
    assert client_for("rob").get("/patients").status_code == 403
    # admin may open the pages, but only a protocol screener may screen
    assert client_for("ada").get(f"/reviews/{REVIEW}/screen").status_code == 403
