"""Research, meta-analysis and living PRISMA pages: same numbers as the CLI, clear errors, no names.

The module's store holds the two-site clinic, the 1998 trial cohort and the example review.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_helpers import csrf_of

from myoivig.cli import app as cli_app
from myoivig.demo import load_trial_cohort
from myoivig.review.example.load import load_example
from myoivig.store import Store

REVIEW = "ivig-pm-dm"
# Made-up 2x2 tables for testing (not data of any study): events/non-events in two arms.
BCG = pd.DataFrame(
    {
        "study": [f"Trial {i}" for i in range(1, 11)],
        "ai": [4, 9, 3, 40, 21, 150, 8, 310, 19, 12],
        "bi": [96, 291, 147, 9960, 3979, 1850, 1992, 59690, 4981, 988],
        "ci": [12, 25, 7, 210, 30, 300, 9, 420, 40, 55],
        "di": [88, 275, 143, 9790, 3970, 1700, 991, 59580, 4960, 945],
        "alloc": ["random"] * 4 + ["alternate"] * 2 + ["random"] * 2 + ["systematic"] * 2,
    }
)
DATA_URI = re.compile(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"')


@pytest.fixture(scope="module", autouse=True)
def evidence_data(clinic_store: Store) -> None:
    """The trial cohort and the example review, once per backend."""
    load_trial_cohort(clinic_store)
    with clinic_store.unit_of_work(actor="test") as session:
        load_example(session, REVIEW)


def _downloads(html: str) -> dict[str, bytes]:
    return {name: base64.b64decode(body) for name, body in DATA_URI.findall(html)}


def _run_page(client: TestClient, table: bytes, **options: str) -> tuple[int, str]:
    """The page after a run, with the plots its background job drew put in (as HTMX does)."""
    csrf = csrf_of(client.get("/meta").text)
    response = client.post(
        "/meta",
        data={"csrf_token": csrf, **options},
        files={"table": ("bcg.csv", table, "text/csv")},
    )
    html = response.text
    job = re.search(r'hx-get="(/meta/plots/[^"]+)"', html)
    if job is not None:
        for _ in range(600):
            part = client.get(job.group(1), headers={"HX-Request": "true"}).text
            if "meta-plots-waiting" not in part:
                html += part
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the plots were not drawn")
    return response.status_code, html


def _cli(path: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli_app, ["meta", "run", "--data", str(path), *args, "--json"])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.output)
    return found


@pytest.mark.parametrize(
    ("options", "args"),
    [
        ({"measure": "RR", "method": "REML", "test": "z"}, ["--measure", "RR"]),
        (
            {"measure": "OR", "method": "DL", "test": "knha", "by": "alloc"},
            ["--measure", "OR", "--method", "DL", "--test", "knha", "--by", "alloc"],
        ),
    ],
)
def test_meta_page_shows_the_numbers_of_meta_run(
    client_for: Callable[[str | None], TestClient],
    tmp_path: Path,
    options: dict[str, str],
    args: list[str],
) -> None:
    path = tmp_path / "bcg.csv"
    BCG.to_csv(path, index=False)
    expected = _cli(path, *args)
    status, html = _run_page(client_for("rob"), path.read_bytes(), **options)
    assert status == 200, html
    downloads = _downloads(html)
    summary = {
        row["quantity"]: row["value"]
        for row in csv.DictReader(io.StringIO(downloads["meta-summary.csv"].decode()))
    }
    for key in ("k", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "q", "q_p"):
        assert float(summary[key]) == pytest.approx(float(expected[key]), rel=1e-12), key  # type: ignore[arg-type]
    for key in ("pi_lower", "pi_upper", "q_between", "q_between_p"):
        if key in expected:
            assert float(summary[key]) == pytest.approx(float(expected[key]), rel=1e-12), key  # type: ignore[arg-type]
    assert downloads["forest.png"].startswith(b"\x89PNG")
    assert downloads["funnel.svg"].lstrip().startswith(b"<?xml")
    assert {"meta-leave1out.csv", "meta-cumulative.csv"} <= set(downloads)
    assert "Egger&#39;s regression test" in html or "Egger's regression test" in html
    assert "Trim-and-fill" in html


def test_a_bad_cell_is_named_on_the_page(client_for: Callable[[str | None], TestClient]) -> None:
    bad = BCG.astype(object).copy()
    bad.loc[2, "ci"] = "eleven"
    status, html = _run_page(client_for("rob"), bad.to_csv(index=False).encode(), measure="RR")
    assert status == 422
    error = re.search(r'data-testid="meta-error">([^<]+)<', html)
    assert error is not None
    message = error.group(1)
    assert "ci" in message and "eleven" in message and ("row 3" in message or "Trial 3" in message)
    assert "Traceback" not in html


def test_an_upload_over_the_limit_is_refused(
    client_for: Callable[[str | None], TestClient],
) -> None:
    big = b"study,yi,vi\n" + b"s,0.1,0.01\n" * 200_000
    status, html = _run_page(client_for("rob"), big, measure="GEN")
    assert status == 422
    assert "limit" in html


def test_research_page_reproduces_the_trial_for_a_researcher_without_codes(
    client_for: Callable[[str | None], TestClient],
) -> None:
    client = client_for("rita")
    html = client.get("/research").text
    assert "Pseudonymised view" in html
    assert "16 have a reported outcome" in html
    for part in ("table", "responders", "ck", "adverse_events", "discrepancies"):
        assert f'data-testid="research-{part}"' in html
    table = pd.read_csv(io.BytesIO(client.get("/research/export?fmt=csv&part=table").content))
    assert len(table) == 16
    assert all(code.startswith("R-") for code in table["patient_code"])
    assert table["case"].isna().all()  # not read from the pseudonym's digits
    parquet = pd.read_parquet(
        io.BytesIO(client.get("/research/export?fmt=parquet&part=responders").content)
    )
    assert set(parquet["group"]) >= {"all except IBM"}
    workbook = pd.read_excel(
        io.BytesIO(client.get("/research/export?fmt=xlsx").content), sheet_name=None
    )
    assert set(workbook) == {"table", "responders", "ck", "adverse_events", "discrepancies"}
    assert workbook["table"]["patient_code"].tolist() == table["patient_code"].tolist()


def test_research_page_equals_cohort_summary_cli_and_filters(
    client_for: Callable[[str | None], TestClient],
) -> None:
    client = client_for("ada")
    responders = pd.read_csv(
        io.BytesIO(client.get("/research/export?fmt=csv&part=responders").content)
    )
    cohort = pd.read_csv(io.BytesIO(client.get("/research/export?fmt=csv&part=table").content))
    assert len(cohort) == 16 and cohort["case"].notna().all()
    pm = client.get("/research/export?fmt=csv&part=table&diagnosis=polymyositis")
    filtered = pd.read_csv(io.BytesIO(pm.content))
    assert 0 < len(filtered) < 16 and set(filtered["diagnosis"].str[:2]) <= {"PM"}
    assert int(responders["patients"].iloc[-1]) > 0
    bad = client.get("/research?start=2001-02-30")
    assert bad.status_code == 422 and "not a date" in bad.text


def test_prisma_page_draws_the_flow_and_the_included_studies(
    client_for: Callable[[str | None], TestClient],
) -> None:
    client = client_for("rob")
    assert REVIEW in client.get("/prisma").text
    html = client.get(f"/prisma/{REVIEW}").text
    assert "data:image/png;base64," in html
    assert 'data-testid="included-studies"' in html
    svg = client.get(f"/prisma/{REVIEW}/download/prisma.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    png = client.get(f"/prisma/{REVIEW}/download/prisma.png")
    assert png.content.startswith(b"\x89PNG")
    studies = pd.read_csv(
        io.BytesIO(client.get(f"/prisma/{REVIEW}/download/included-studies.csv").content)
    )
    assert len(studies) > 0 and "xi" in studies.columns
    counts = client.get(f"/prisma/{REVIEW}/download/prisma.csv").text
    assert counts.startswith("box,count") and "records_screened" in counts
    assert client.get("/prisma/no-such-review").status_code == 404


def test_meta_page_pools_a_reviews_study_table_as_meta_run_does(
    client_for: Callable[[str | None], TestClient], clinic_store: Store, tmp_path: Path
) -> None:
    from myoivig.review.evidence_table import poolable
    from myoivig.review.service import included_studies

    path = tmp_path / "studies.csv"
    poolable(included_studies(clinic_store, REVIEW)).to_csv(path, index=False)
    expected = _cli(path, "--measure", "PLO")
    client = client_for("rob")
    csrf = csrf_of(client.get("/meta").text)
    response = client.post("/meta", data={"csrf_token": csrf, "review": REVIEW, "measure": "PLO"})
    assert response.status_code == 200, response.text
    summary = {
        row["quantity"]: row["value"]
        for row in csv.DictReader(
            io.StringIO(_downloads(response.text)["meta-summary.csv"].decode())
        )
    }
    assert int(summary["k"]) == expected["k"] and int(summary["k"]) >= 5
    for key in ("estimate", "tau2", "i2", "pooled", "pooled_lower", "pooled_upper"):
        assert float(summary[key]) == pytest.approx(float(expected[key]), rel=1e-12), key  # type: ignore[arg-type]
    missing = client.post("/meta", data={"csrf_token": csrf, "review": "nope", "measure": "PLO"})
    assert missing.status_code == 422 and "no review named" in missing.text


def _fact(html: str, label: str) -> int:
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>(\d+)</dd>", html)
    assert found, label
    return int(found.group(1))


def test_prisma_page_follows_the_review_as_events_arrive(
    client_for: Callable[[str | None], TestClient], clinic_store: Store
) -> None:
    from myoivig.review import repository as repo
    from myoivig.review.prisma.events import FinalDecision, RecordsImported

    with clinic_store.unit_of_work(actor="test") as session:
        load_example(session, "living")
    client = client_for("rob")
    before = client.get("/prisma/living").text
    with clinic_store.unit_of_work(actor="test") as session:
        repo.append_event(
            session, RecordsImported(source="MEDLINE", record_ids=["new-1", "new-2"]), "living"
        )
        for rid in ("new-1", "new-2"):
            repo.append_event(
                session,
                FinalDecision(record_id=rid, stage="title_abstract", include=False),
                "living",
            )
    after = client.get("/prisma/living").text
    assert (
        _fact(after, "Identified \\(databases\\)")
        == _fact(before, "Identified \\(databases\\)") + 2
    )
    assert _fact(after, "Screened") == _fact(before, "Screened") + 2
    assert _fact(after, "Excluded at screening") == _fact(before, "Excluded at screening") + 2
    assert "data:image/png;base64," in after  # the counts still add up: the diagram is drawn
