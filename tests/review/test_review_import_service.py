"""Import through the application layer and the CLI, on SQLite and PostgreSQL (issue 11, defects
10 and 11): complete records of a partial file are stored, the summary says the file breaks off,
`--strict` stores nothing, and records without a title can be screened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.review import repository as repo
from myoivig.review.importers import import_file
from myoivig.store import Store

REAL = Path(__file__).parent / "fixtures" / "real_shaped"
runner = CliRunner()


def _count(store: Store) -> int:
    with store.session() as session:
        return len(repo.load_records(session))


def test_partial_file_stores_complete_records_and_strict_stores_none(store: Store) -> None:
    from myoivig.review import service

    path = REAL / "pubmed_truncated.xml"
    with pytest.raises(service.StrictImportRefused, match=r"breaks off.*line 152"):
        service.import_export(store, path, "MEDLINE", actor="lead", strict=True)
    assert _count(store) == 0  # all or nothing: nothing was written
    result = service.import_export(store, path, "MEDLINE", actor="lead")
    assert len(result.records) == 5 and _count(store) == 5
    with store.session() as session:
        [event] = repo.load_events(session)
    assert getattr(event, "malformed", None) == 1  # the cut-off sixth record


def test_cli_summary_reports_truncation_with_its_line(cli_store: Store) -> None:
    path = str(REAL / "pubmed_truncated.xml")
    refused = runner.invoke(app, ["review", "import", path, "--source", "MEDLINE", "--strict"])
    assert refused.exit_code == 1 and "nothing was imported" in refused.output
    text = runner.invoke(app, ["review", "import", path, "--source", "MEDLINE"])
    assert text.exit_code == 0, text.output
    assert "imported 5 records" in text.output
    assert "the file is incomplete: XML breaks off at line 152" in text.output
    assert "record cut off" in text.output
    out = runner.invoke(app, ["review", "import", path, "--source", "MEDLINE", "--json"])
    summary = json.loads(out.output)
    assert summary["imported"] == 5 and "line 152" in summary["truncated"]
    assert [m["position"] for m in summary["malformed"]] == [6]


def test_untitled_records_are_listed_flagged_and_can_be_ranked(cli_store: Store) -> None:
    path = str(REAL / "endnote_groups_fullwidth_untitled.xml")
    out = runner.invoke(app, ["review", "import", path, "--source", "Embase", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["imported"] == 3 and summary["title_missing"] == ["Embase-1:3"]
    assert summary["group_authors"] == 2
    listed = json.loads(runner.invoke(app, ["review", "records", "--json"]).output)
    flags = {r["record_id"]: r["flags"] for r in listed}
    assert flags["Embase-1:3"] == ["title missing"] and flags["Embase-1:1"] == []
    assert "[title missing]" in runner.invoke(app, ["review", "records"]).output
    # Screening copes: the untitled record can be decided and ranked like any other.
    protocol = Path(__file__).parents[2] / "src" / "myoivig" / "review" / "example"
    assert (
        runner.invoke(app, ["review", "protocol", "set", str(protocol / "protocol.yaml")]).exit_code
        == 0
    )
    decided = runner.invoke(app, ["review", "screen", "decide", "--review", "default",
                                  "--reviewer", "r1", "--record", "Embase-1:3",
                                  "--stage", "ta", "--verdict", "include"])  # fmt: skip
    assert decided.exit_code == 0, decided.output
    ranked = runner.invoke(app, ["review", "screen", "rank", "--review", "default",
                                 "--reviewer", "r1", "--json"])  # fmt: skip
    assert ranked.exit_code == 0, ranked.output
    assert json.loads(ranked.output)["n_queue"] == 2


@pytest.mark.parametrize("fmt", ["medline", "pubmed_xml", "endnote_xml", "csv", "ris"])
def test_export_reads_back_and_never_overwrites(cli_store: Store, fmt: str) -> None:
    path = str(REAL / "pubmed_with_book_articles.xml")
    assert runner.invoke(app, ["review", "import", path, "--source", "MEDLINE"]).exit_code == 0
    wrote = runner.invoke(app, ["review", "export", "out.txt", "--format", fmt])
    assert wrote.exit_code == 0, wrote.output
    assert "wrote 3 records" in wrote.output
    again = runner.invoke(app, ["review", "export", "out.txt", "--format", fmt])
    assert again.exit_code == 1 and "exists" in again.output
    back = import_file(Path("out.txt"), source="MEDLINE")
    assert back.source_format == fmt and not back.issues
    with cli_store.session() as session:
        stored = repo.load_records(session)
    for before, after in zip(stored, back.records, strict=True):
        for name in ("title", "authors", "group_authors", "year", "journal", "pages", "doi"):
            assert getattr(after, name) == getattr(before, name), (fmt, name)
        assert after.pmid == before.pmid
        if fmt in {"medline", "endnote_xml"}:  # the formats with a field for editors
            assert after.contributors == before.contributors, fmt
    bad = runner.invoke(app, ["review", "export", "x.bib", "--format", "bibtex"])
    assert bad.exit_code == 1 and "cannot export as 'bibtex'" in bad.output
