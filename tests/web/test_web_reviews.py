"""Review projects in the browser's server: a protocol form creates a review, uploads are
imported as background jobs with progress, the import lists malformed records; on both backends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from web_helpers import csrf_of

from myoivig.review import appraising, projects
from myoivig.store import Store

FIXTURES = Path(__file__).parents[1] / "review" / "fixtures"


def _form(name: str, **changes: str) -> dict[str, str]:
    values = projects.protocol_form_defaults() | {
        "name": name,
        "title": "IVIg in adult polymyositis and dermatomyositis",
        "population": "Adults with polymyositis or dermatomyositis",
        "intervention": "Intravenous immunoglobulin",
        "outcomes": "response rate\nadverse events",
        "inclusion_criteria": "adult patients\nintravenous immunoglobulin",
        "reviewers": "rob: screener, extractor\nada: screener, arbiter, extractor",
    }
    return values | changes


def _post(client: TestClient, url: str, data: dict[str, str]) -> object:
    page = client.get("/reviews/new").text
    return client.post(url, data=data | {"csrf_token": csrf_of(page)}, follow_redirects=False)


def _wait(client: TestClient, url: str) -> str:
    for _ in range(200):
        page = client.get(url).text
        if 'data-state="finished"' in page or 'data-state="failed"' in page:
            return page
        time.sleep(0.05)
    raise AssertionError(f"import at {url} did not finish")


def test_protocol_form_creates_a_review(client_for: Callable[[str | None], TestClient]) -> None:
    client = client_for("rob")
    name = f"ivig-{uuid.uuid4().hex[:6]}"
    response = _post(client, "/reviews/new", _form(name))
    assert response.status_code == 303 and response.headers["location"] == f"/reviews/{name}"
    page = client.get(f"/reviews/{name}").text
    assert "IVIg in adult polymyositis and dermatomyositis" in page
    assert "rob (screener, extractor)" in page and "Nothing imported yet." in page
    assert "ada (screener, arbiter, extractor)" in page
    assert name in client.get("/reviews").text
    again = _post(client, "/reviews/new", _form(name))
    assert again.status_code == 422 and "exists already" in again.text  # type: ignore[attr-defined]


def test_protocol_form_errors_name_the_field(
    client_for: Callable[[str | None], TestClient],
) -> None:
    client = client_for("rob")
    cases = {
        "title: a review needs a title": _form("a1", title=""),
        "'zoe' is not an account with the reviewer or admin role": _form(
            "a2", reviewers="rob: screener\nzoe: screener"
        ),
        "at least 2 reviewers with the role 'screener'": _form("a3", reviewers="rob: screener"),
        "date_from 2020 is after date_to 2010": _form("a4", date_from="2020", date_to="2010"),
        "is not a review name": _form("bad name!"),
        "question.outcomes": _form("a5", outcomes=""),
    }
    for message, data in cases.items():
        response = _post(client, "/reviews/new", data)
        assert response.status_code == 422, message  # type: ignore[attr-defined]
        text = response.text  # type: ignore[attr-defined]
        assert message.replace("'", "&#39;") in text, (message, text[-2000:])
        assert data["title"] in text  # what was typed is shown again, nothing lost


def test_upload_imports_in_the_background_and_lists_problems(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    client = client_for("rob")
    name = f"up-{uuid.uuid4().hex[:6]}"
    assert _post(client, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    csrf = csrf_of(client.get(f"/reviews/{name}").text)
    broken = (FIXTURES / "pubmed_export.ris").read_bytes()  # its fourth record breaks off
    response = client.post(
        f"/reviews/{name}/imports",
        data={"csrf_token": csrf, "source": "MEDLINE", "kind": "database"},
        files={"file": ("pubmed export.ris", broken, "application/x-research-info-systems")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = _wait(client, response.headers["location"])
    assert 'data-testid="import-done"' in page and "<strong>3</strong> records" in page
    assert "pubmed_export.ris" in page and 'data-testid="import-problems"' in page
    assert "file ended before ER (truncated record)" in page
    overview = projects.review_overview(clinic_store, name)
    assert overview.record_count == 3
    [batch] = overview.imports
    assert (batch.source, batch.record_count, batch.malformed_count, batch.by) == (
        "MEDLINE",
        3,
        1,
        "rob",
    )
    # The same bytes again are refused (nothing stored); the CNKI GB18030 file imports.
    again = client.post(
        f"/reviews/{name}/imports",
        data={"csrf_token": csrf, "source": "MEDLINE"},
        files={"file": ("pubmed export.ris", broken, "text/plain")},
        follow_redirects=False,
    )
    refused = _wait(client, again.headers["location"])
    assert 'data-testid="import-refused"' in refused and "--again" in refused
    cnki = client.post(
        f"/reviews/{name}/imports",
        data={"csrf_token": csrf, "source": "CNKI", "encoding": "gb18030", "format": "refworks"},
        files={"file": ("cnki.txt", (FIXTURES / "cnki_refworks_gb18030.txt").read_bytes())},
        follow_redirects=False,
    )
    assert 'data-testid="import-done"' in _wait(client, cnki.headers["location"])
    assert projects.review_overview(clinic_store, name).record_count > 3


def test_upload_field_errors(client_for: Callable[[str | None], TestClient]) -> None:
    client = client_for("rob")
    name = f"bad-{uuid.uuid4().hex[:6]}"
    assert _post(client, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    csrf = csrf_of(client.get(f"/reviews/{name}").text)
    cases = [
        ({"source": ""}, b"TY  - JOUR\nER  - \n", "source: &#39;&#39; must name the database"),
        ({"source": "X", "format": "docx"}, b"x", "format: &#39;docx&#39; is not one of"),
        ({"source": "X", "encoding": "klingon"}, b"x", "encoding: &#39;klingon&#39;"),
        ({"source": "X", "kind": "rumour"}, b"x", "kind: &#39;rumour&#39;"),
        ({"source": "X"}, b"", "is empty"),
    ]
    for fields, body, message in cases:
        response = client.post(
            f"/reviews/{name}/imports",
            data={"csrf_token": csrf, **fields},
            files={"file": ("f.ris", body)},
            follow_redirects=False,
        )
        assert response.status_code == 422 and message in response.text, (message, response.text)
    # A clinician cannot reach review projects at all.
    assert client_for("carl").get(f"/reviews/{name}").status_code == 403


def test_upload_without_csrf_is_refused(client_for: Callable[[str | None], TestClient]) -> None:
    client = client_for("rob")
    response = client.post(
        "/reviews/default/imports", data={"source": "X"}, files={"file": ("f.ris", b"x")}
    )
    assert response.status_code == 403


def test_an_upload_imports_through_the_redis_queue(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    """With more than one server process the import job goes through RQ on the local Redis."""
    from rq import SimpleWorker

    from myoivig.jobs import RQRunner

    client = client_for("rob")
    name = f"rq-{uuid.uuid4().hex[:6]}"
    assert _post(client, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    runner = RQRunner("redis://127.0.0.1:6379/15", queue=f"test-{uuid.uuid4().hex[:8]}")
    app = client.app
    kept = app.state.jobs  # type: ignore[attr-defined]
    app.state.jobs = runner  # type: ignore[attr-defined]
    try:
        csrf = csrf_of(client.get(f"/reviews/{name}").text)
        response = client.post(
            f"/reviews/{name}/imports",
            data={"csrf_token": csrf, "source": "MEDLINE"},
            files={"file": ("screening.ris", (FIXTURES / "screening_small.ris").read_bytes())},
            follow_redirects=False,
        )
        url = response.headers["location"]
        assert 'data-state="queued"' in client.get(url).text  # no worker has run yet
        SimpleWorker([runner.queue], connection=runner.connection).work(burst=True)
        page = client.get(url).text
        assert 'data-state="finished"' in page and 'data-testid="import-done"' in page
        assert projects.review_overview(clinic_store, name).record_count == 8
    finally:
        app.state.jobs = kept  # type: ignore[attr-defined]
        runner.queue.delete(delete_jobs=True)
        runner.shutdown()


def _review_with_duplicates(client: TestClient, name: str) -> str:
    """A review holding duplicates_small.ris: one same-DOI pair, one similar-title pair."""
    assert _post(client, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    csrf = csrf_of(client.get(f"/reviews/{name}").text)
    response = client.post(
        f"/reviews/{name}/imports",
        data={"csrf_token": csrf, "source": "MEDLINE"},
        files={"file": ("dups.ris", (FIXTURES / "duplicates_small.ris").read_bytes())},
        follow_redirects=False,
    )
    assert 'data-testid="import-done"' in _wait(client, response.headers["location"])
    return csrf


def _find(client: TestClient, name: str, csrf: str) -> tuple[str, str]:
    response = client.post(
        f"/reviews/{name}/duplicates/find", data={"csrf_token": csrf}, follow_redirects=False
    )
    url = response.headers["location"]
    job = url.rsplit("job=", 1)[1]
    for _ in range(200):
        if client.get(url, headers={"HX-Request": "true"}).status_code == 204:
            return url, job
        time.sleep(0.05)
    raise AssertionError("duplicate search did not finish")


def test_duplicates_are_found_merged_and_unmerged(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    from myoivig.review import repository as repo

    client = client_for("rob")
    name = f"dup-{uuid.uuid4().hex[:6]}"
    csrf = _review_with_duplicates(client, name)
    url, job = _find(client, name, csrf)
    page = client.get(url).text
    # the same-DOI pair was merged by itself; the similar-title pair waits, differing fields marked
    assert page.count('data-testid="merged-group"') == 1 and "same DOI" in page
    assert page.count('data-testid="queued-pair"') == 1 and "0.85" in page
    assert '<tr class="differs"><th>Journal' in page
    [prefix] = {rid.split(":")[0] for rid in _record_ids(clinic_store, name)}
    pair = f"{prefix}:3,{prefix}:4"
    merged = client.post(
        f"/reviews/{name}/duplicates/merge",
        data={"csrf_token": csrf, "record_ids": pair, "job": job},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    page = client.get(merged.headers["location"]).text
    assert page.count('data-testid="merged-group"') == 2 and "No pair is waiting." in page
    assert "confirmed by reviewer (rob)" in page
    with clinic_store.session() as session:
        view = repo.merged_view(session, name)
        assert len(view.records) == 3 and view.duplicates_removed == 2
        assert len(view.active_merges) == 2
        merge_id = view.active_merges[-1]
    undone = client.post(
        f"/reviews/{name}/duplicates/unmerge",
        data={"csrf_token": csrf, "merge_id": merge_id, "job": job},
        follow_redirects=False,
    )
    assert undone.status_code == 303
    page = client.get(undone.headers["location"]).text
    assert page.count('data-testid="queued-pair"') == 1  # waits for a person again
    with clinic_store.session() as session:
        assert repo.merged_view(session, name).duplicates_removed == 1
    # refusals name what is wrong and change nothing
    again = client.post(
        f"/reviews/{name}/duplicates/unmerge",
        data={"csrf_token": csrf, "merge_id": merge_id, "job": job},
    )
    assert again.status_code == 422 and "is not an active merge" in again.text
    unknown = client.post(
        f"/reviews/{name}/duplicates/merge",
        data={"csrf_token": csrf, "record_ids": f"{prefix}:3,{prefix}:99"},
    )
    assert unknown.status_code == 422 and "unknown record ids" in unknown.text
    with clinic_store.session() as session:
        assert repo.merged_view(session, name).duplicates_removed == 1


def _record_ids(store: Store, review: str) -> list[str]:
    from myoivig.review import repository as repo

    with store.session() as session:
        return [r.record_id for r in repo.load_records(session, review)]


def _fake_eutils_server() -> tuple[Any, Any, Any]:
    """The review tests' fake E-utilities server (tests/review/review_fake_eutils.py), local."""
    import sys
    import threading
    from datetime import date
    from http.server import ThreadingHTTPServer

    sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
    from review_fake_eutils import FakeArticle, FakeEutils, make_handler

    articles = [
        FakeArticle(str(2_000_000 + i), date(1990 + i % 30, 1 + i % 12, 1 + i % 28),
                    f"Intravenous immunoglobulin in dermatomyositis report {i}")
        for i in range(45)
    ]  # fmt: skip
    state = FakeEutils(articles=articles)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/entrez/eutils/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return state, server, thread


def test_pubmed_search_from_the_review_page(clinic_store: Store) -> None:
    from web_helpers import sign_in

    from myoivig.web.app import create_app
    from myoivig.web.settings import WebSettings

    state, server, thread = _fake_eutils_server()
    settings = WebSettings(
        database_url=clinic_store.url, eutils_url=state.url, ncbi_email="t@example.org"
    )
    try:
        with TestClient(create_app(settings, clinic_store), base_url="http://127.0.0.1") as raw:
            client = sign_in(raw, "rob")
            name = f"pm-{uuid.uuid4().hex[:6]}"
            assert _post(client, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
            page = client.get(f"/reviews/{name}").text
            csrf = csrf_of(page)
            assert 'name="year_from" size="5" value="1990"' in page  # from the protocol
            form = {"csrf_token": csrf, "query": "immunoglobulin dermatomyositis",
                    "year_from": "1990", "year_to": "2026"}  # fmt: skip
            counted = client.post(
                f"/reviews/{name}/searches", data=form | {"count_only": "1"}, follow_redirects=False
            )
            done = _wait_search(client, counted.headers["location"])
            assert "<strong>45</strong> records" in done and "nothing stored (count only)" in done
            assert projects.review_overview(clinic_store, name).record_count == 0
            stored = client.post(f"/reviews/{name}/searches", data=form, follow_redirects=False)
            done = _wait_search(client, stored.headers["location"])
            assert "stored 45 as batch 1" in done
            overview = projects.review_overview(clinic_store, name)
            assert overview.record_count == 45
            [batch] = overview.imports
            assert batch.query == "immunoglobulin dermatomyositis [pdat 1990-2026]"
            assert batch.by == "rob" and batch.source == "MEDLINE"
            # an incomplete fetch stores nothing and says why
            state.efetch_drops = {"2000001"}
            short = client.post(f"/reviews/{name}/searches", data=form, follow_redirects=False)
            refused = _wait_search(client, short.headers["location"])
            assert 'data-testid="search-refused"' in refused and "nothing stored" in refused
            assert projects.review_overview(clinic_store, name).record_count == 45
            bad = client.post(f"/reviews/{name}/searches", data=form | {"year_from": "19x0"})
            assert bad.status_code == 422 and "year_from: &#39;19x0&#39; is not a year" in bad.text
            empty = client.post(f"/reviews/{name}/searches", data=form | {"query": " "})
            assert empty.status_code == 422 and "query: a PubMed query is needed" in empty.text
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _wait_search(client: TestClient, url: str) -> str:
    for _ in range(400):
        page = client.get(url).text
        if 'data-state="finished"' in page or 'data-state="failed"' in page:
            return page
        time.sleep(0.05)
    raise AssertionError(f"search at {url} did not finish")


def _extraction_form(**values: str) -> dict[str, str]:
    return {
        "first_author": "Dalakas",
        "year": "1993",
        "design": "rct",
        "n_ivig": "15",
        "diag_dm": "15",
        "dose_g_per_kg": "2",
        "days_per_course": "2",
        "r0_measure": "improved MRC and function",
        "r0_arm": "ivig",
        "r0_responders": "9",
        "r0_evaluated": "12",
        "r0_primary": "1",
        "ae_any": "3",
    } | values


def test_dual_extraction_blind_then_reconciled(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    from myoivig.review import repository as repo

    rob, ada = client_for("rob"), client_for("ada")
    name = f"ex-{uuid.uuid4().hex[:6]}"
    csrf = _review_with_duplicates(rob, name)
    [first, *_] = _record_ids(clinic_store, name)
    base = f"/reviews/{name}/extraction"
    added = rob.post(
        f"{base}/studies",
        data={"csrf_token": csrf, "study_id": "Dalakas1993", "record_ids": first},
        follow_redirects=False,
    )
    assert added.status_code == 303
    bad = rob.post(
        f"{base}/studies", data={"csrf_token": csrf, "study_id": "X", "record_ids": "nope"}
    )
    assert bad.status_code == 422 and "unknown record ids [&#39;nope&#39;]" in bad.text
    # rob fills his form; a value the rules refuse names the study and the field
    refused = rob.post(
        f"{base}/Dalakas1993",
        data={"csrf_token": csrf, **_extraction_form(r0_responders="13")},
    )
    assert refused.status_code == 422
    assert "study Dalakas1993" in refused.text and "responders 13 &gt; evaluated 12" in refused.text
    assert 'value="improved MRC and function"' in refused.text  # nothing typed is lost
    not_number = rob.post(
        f"{base}/Dalakas1993", data={"csrf_token": csrf, **_extraction_form(year="199x")}
    )
    assert not_number.status_code == 422 and "year: &#39;199x&#39; is not a whole number" in (
        not_number.text
    )
    saved = rob.post(
        f"{base}/Dalakas1993",
        data={"csrf_token": csrf, **_extraction_form()},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    # ada is blind: her empty form shows nothing of rob's, reconciling is refused until she fills
    ada_csrf = csrf_of(ada.get(f"/reviews/{name}").text)
    page = ada.get(f"{base}/Dalakas1993").text
    assert "improved MRC and function" not in page and 'value="1993"' not in page
    assert ada.get(f"{base}/Dalakas1993/reconcile").status_code == 403
    listing = ada.get(base).text
    assert "not yet" in listing and "Reconcile" not in listing
    ada.post(
        f"{base}/Dalakas1993",
        data={"csrf_token": ada_csrf, **_extraction_form(r0_responders="8", ae_any="4")},
    )
    page = ada.get(f"{base}/Dalakas1993/reconcile").text
    assert "responses[0].responders" in page and "adverse_events.patients_any" in page
    # a missing choice is refused; with both choices the agreed form is stored
    missing = ada.post(
        f"{base}/Dalakas1993/reconcile",
        data={"csrf_token": ada_csrf, "choose_responses": "b"},
    )
    assert (
        missing.status_code == 422
        and "unresolved disagreements in [&#39;adverse_events&#39;]" in (missing.text)
    )
    done = ada.post(
        f"{base}/Dalakas1993/reconcile",
        data={"csrf_token": ada_csrf, "choose_responses": "b", "choose_adverse_events": "a"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with clinic_store.session() as session:
        forms = {f.extractor: f for f in repo.load_extractions(session, name, "Dalakas1993")}
    agreed = forms["agreed"]
    # choices are by extractor name order on the page: a = the viewer (ada), b = rob
    assert agreed.responses[0].responders == 9 and agreed.adverse_events.patients_any == 4
    assert set(forms) == {"rob", "ada", "agreed"}


LOW_RISK_ROB2 = {
    "q1.1": "Y", "q1.2": "Y", "q1.3": "N",
    "q2.1": "N", "q2.2": "N", "q2.6": "Y",
    "q3.1": "Y",
    "q4.1": "N", "q4.2": "N", "q4.3": "N",
    "q5.1": "Y", "q5.2": "N", "q5.3": "N",
}  # fmt: skip


def test_rob2_judges_while_answering_and_stores_when_complete(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    rob = client_for("rob")
    name = f"rb-{uuid.uuid4().hex[:6]}"
    assert _post(rob, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    csrf = csrf_of(rob.get(f"/reviews/{name}").text)
    url = f"/reviews/{name}/appraisal/Dalakas1993"
    # domain 1 only: D1 judged, the others say which question their path needs
    partial = rob.post(
        f"{url}/preview",
        data={"csrf_token": csrf, "tool": "rob2", "q1.1": "Y", "q1.2": "N"},
        headers={"HX-Request": "true"},
    ).text
    assert "allocation not concealed" in partial and "judgement-high" in partial
    assert "question 2.1 must be answered on this path" in partial
    assert "Overall: not yet" in partial
    incomplete = rob.post(url, data={"csrf_token": csrf, "tool": "rob2", "q1.1": "Y"})
    assert incomplete.status_code == 422 and "still open" in incomplete.text
    bad = rob.post(url, data={"csrf_token": csrf, "tool": "rob2", "q1.1": "maybe"})
    assert bad.status_code == 422 and "RoB 2 question 1.1: &#39;maybe&#39;" in bad.text
    done = rob.post(
        url, data={"csrf_token": csrf, "tool": "rob2", **LOW_RISK_ROB2}, follow_redirects=False
    )
    assert done.status_code == 303
    page = rob.get(done.headers["location"]).text
    assert "Stored." in page and "low in all domains" in page
    assert 'value="Y" checked data-testid="q1.1-Y"' in page  # the stored answers come back
    stored = appraising.stored_appraisal(clinic_store, name, "Dalakas1993", "rob2")
    assert stored is not None and stored["result"]["overall"] == "low"
    # NOS and ROBINS-I on the same page, other tools
    nos_fields = {f"s_{i}": "1" for i in appraising_items()} | {"s_comparability": "2"}
    assert rob.post(url, data={"csrf_token": csrf, "tool": "nos", **nos_fields},
                    follow_redirects=False).status_code == 303  # fmt: skip
    nos_stored = appraising.stored_appraisal(clinic_store, name, "Dalakas1993", "nos")
    assert nos_stored is not None and nos_stored["result"]["ahrq"] == "good"


def appraising_items() -> tuple[str, ...]:
    from myoivig.review.appraisal import nos

    return (*nos.SELECTION_ITEMS, *nos.OUTCOME_ITEMS)


def test_grade_steps_shown_and_stored(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    rob = client_for("rob")
    name = f"gr-{uuid.uuid4().hex[:6]}"
    assert _post(rob, "/reviews/new", _form(name)).status_code == 303  # type: ignore[attr-defined]
    csrf = csrf_of(rob.get(f"/reviews/{name}/grade").text)
    form = {"csrf_token": csrf, "outcome": "response rate", "randomised": "no",
            "risk_of_bias_levels": "1", "risk_of_bias_reason": "open-label, no control group",
            "large_effect_levels": "1", "large_effect_reason": "RR above 2"}  # fmt: skip
    preview = rob.post(f"/reviews/{name}/grade/preview", data=form).text
    assert "very_low" in preview and "open-label, no control group" in preview
    assert "large_effect not applied: evidence was rated down" in preview
    no_reason = rob.post(f"/reviews/{name}/grade", data=form | {"risk_of_bias_reason": ""})
    assert no_reason.status_code == 422 and "rating down for risk_of_bias needs a reason" in (
        no_reason.text
    )
    assert rob.post(f"/reviews/{name}/grade", data=form, follow_redirects=False).status_code == 303
    [rating] = appraising.grade_ratings(clinic_store, name)
    assert rating["study_id"] == "outcome:response rate"
    assert rating["result"]["certainty"] == "very_low"
    listing = rob.get(f"/reviews/{name}/grade").text
    assert "⊕◯◯◯ very_low" in listing and "-1 risk of bias: open-label" in listing


def test_fulltext_pdf_attached_read_back_and_audited(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    from sqlalchemy import select

    from myoivig.store.tables import AuditRow

    rob = client_for("rob")
    name = f"ft-{uuid.uuid4().hex[:6]}"
    csrf = _review_with_duplicates(rob, name)
    record = _record_ids(clinic_store, name)[0]
    url = f"/reviews/{name}/records/{record}/fulltext"
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    not_pdf = rob.post(url, data={"csrf_token": csrf}, files={"file": ("a.pdf", b"hello")})
    assert not_pdf.status_code == 422 and "is not a PDF" in not_pdf.text
    assert rob.get(url).status_code == 404
    done = rob.post(
        url,
        data={"csrf_token": csrf, "back": f"/reviews/{name}/screen?stage=ft"},
        files={"file": ("Dalakas 1993 NEJM.pdf", pdf, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("stage=ft")
    read = rob.get(url)
    assert read.status_code == 200 and read.content == pdf
    assert read.headers["content-type"] == "application/pdf"
    assert 'filename="Dalakas_1993_NEJM.pdf"' in read.headers["content-disposition"]
    unknown = rob.post(
        f"/reviews/{name}/records/nope/fulltext",
        data={"csrf_token": csrf},
        files={"file": ("a.pdf", pdf)},
    )
    assert unknown.status_code == 404 and "no record &#39;nope&#39;" in unknown.text
    assert client_for("carl").get(url).status_code == 403
    # both screeners include the record at title/abstract: on its full-text page the PDF is linked
    ada = client_for("ada")
    for client in (rob, ada):
        token = csrf_of(client.get(f"/reviews/{name}").text)
        decided = client.post(
            f"/reviews/{name}/screen",
            data={"csrf_token": token, "record_id": record, "verdict": "include", "stage": "ta"},
            follow_redirects=False,
        )
        assert decided.status_code == 303
    page = rob.get(f"/reviews/{name}/screen", params={"stage": "ft", "record": record}).text
    assert 'data-testid="fulltext-link"' in page and "Dalakas_1993_NEJM.pdf" in page
    with clinic_store.session() as session:
        actor, changes = session.execute(
            select(AuditRow.actor, AuditRow.changes)
            .where(AuditRow.table_name == "review_fulltexts")
            .order_by(AuditRow.id.desc())
        ).first()  # type: ignore[misc]
    assert actor == "rob" and f"[{len(pdf)} bytes, sha256 " in str(changes)
