"""Importing files into a review: the bulk path writes what the per-row path wrote, one audit
entry per batch, all or nothing, and the same file twice only when asked (SQLite and PostgreSQL).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.review import repository as repo
from myoivig.review.dedup import find_duplicates
from myoivig.review.importers import import_file
from myoivig.review.progress import import_progress
from myoivig.review.records import BibRecord
from myoivig.review.service import AlreadyImportedError, import_records_file
from myoivig.review.tables import ReviewEventRow, ReviewImportBatchRow, ReviewRecordRow
from myoivig.store import Store
from myoivig.store.audit import BULK_INSERT
from myoivig.store.tables import AuditRow

FIX = Path(__file__).parent / "fixtures"


def _fixture_records() -> list[BibRecord]:
    """Records of several formats (Chinese text, raw vendor tags, missing fields), plus enough
    generated ones to span more than one bulk chunk, with duplicates for dedup to find."""
    out: list[BibRecord] = []
    for n, (name, source) in enumerate(
        [("pubmed_efetch.xml", "MEDLINE"), ("cnki_refworks_gb18030.txt", "CNKI"),
         ("medline.nbib", "MEDLINE"), ("pubmed_export.ris", "RIS"),
         ("cnki_noteexpress_gb18030.net", "CNKI"), ("scopus_export.csv", "Scopus")],
        start=1,
    ):  # fmt: skip
        out.extend(import_file(FIX / name, source, id_prefix=f"{source}-{n}:").records)
    for i in range(2300):
        twin = i % 10 == 9  # every tenth record repeats the one before, re-typed
        k = i - 1 if twin else i
        out.append(
            BibRecord(
                record_id=f"GEN-9:{i + 1}",
                source="GEN",
                source_format="ris",
                position=i + 1,
                title=f"IVIg in myositis, cohort {k} ({'静脉' if k % 3 else 'IVIg'})"
                + ("." if twin else ""),
                authors=[f"Author{k}, A.", "王伟"] if not twin else [f"Author{k} A", "王伟"],
                year=1990 + k % 30,
                journal="Neurology",
                volume=str(k % 90),
                pages=f"{k}-{k + 9}",
                doi=None if twin else f"10.1000/gen.{k}",
                abstract=None if k % 4 == 0 else "A\u00a0structured abstract. " * (k % 7),
                keywords=["myositis", "IVIg"][: k % 3],
                raw={"TI": [f"cohort {k}"], "ZZ": ["vendor tag"]},
            )
        )
    return out


def _stored_rows(store: Store, review: str) -> list[tuple[object, ...]]:
    with store.session() as s:
        rows = s.execute(
            select(ReviewRecordRow.record_id, ReviewRecordRow.source,
                   ReviewRecordRow.source_format, ReviewRecordRow.position,
                   ReviewRecordRow.data, ReviewRecordRow.version, ReviewRecordRow.updated_by)
            .where(ReviewRecordRow.review == review)
            .order_by(ReviewRecordRow.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]


def _count(store: Store, table: type, **where: object) -> int:
    with store.session() as s:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return int(s.scalar(query) or 0)


def test_bulk_path_writes_the_rows_the_per_row_path_wrote(store: Store) -> None:
    records = _fixture_records()
    with store.unit_of_work(actor="lead") as s:
        repo.add_records(s, records, review="bulk")
    with store.unit_of_work(actor="lead") as s:
        repo.add_records_per_row(s, records, review="per-row")
    bulk, per_row = _stored_rows(store, "bulk"), _stored_rows(store, "per-row")
    assert len(bulk) == len(records) > 2000
    assert bulk == per_row
    with store.session() as s:
        loaded_bulk = repo.load_records(s, "bulk")
        loaded_per_row = repo.load_records(s, "per-row")
    assert loaded_bulk == loaded_per_row == records
    # dedup sees the same records, so it finds the same clusters and queue
    found_bulk, found_per_row = find_duplicates(loaded_bulk), find_duplicates(loaded_per_row)
    assert len(found_bulk.clusters) >= 200
    assert found_bulk.clusters == found_per_row.clusters
    assert found_bulk.queue == found_per_row.queue
    # audit: one entry for the bulk review, one per record for the old path
    assert _count(store, AuditRow, table_name="review_records", action=BULK_INSERT) == 1
    assert _count(store, AuditRow, table_name="review_records", action="insert") == len(records)


def test_one_audit_entry_per_import_batch_lists_every_record_id(store: Store) -> None:
    done = import_records_file(store, FIX / "screening_small.ris", "MEDLINE", actor="lead")
    ids = [r.record_id for r in done.result.records]
    assert len(ids) >= 5 and ids[0] == "MEDLINE-1:1"
    with store.session() as s:
        entries = s.execute(
            select(AuditRow.action, AuditRow.actor, AuditRow.changes).where(
                AuditRow.table_name == "review_records"
            )
        ).all()
        db_ids = s.scalars(select(ReviewRecordRow.id).order_by(ReviewRecordRow.id)).all()
        batch = s.scalars(select(ReviewImportBatchRow)).one()
        batch_fields = (batch.number, batch.file_name, batch.record_count, batch.content_sha256)
    assert len(entries) == 1
    action, actor, changes = entries[0]
    assert (action, actor) == (BULK_INSERT, "lead")
    assert changes["keys"] == ids and changes["ids"] == list(db_ids)
    assert changes["context"] == {
        "review": "default",
        "batch": 1,
        "file": "screening_small.ris",
        "content_sha256": done.content_sha256,
    }
    assert batch_fields == (1, "screening_small.ris", len(ids), done.content_sha256)


def test_a_failure_mid_import_leaves_nothing_written(store: Store) -> None:
    phases: list[tuple[str, int]] = []

    def crash_after_rows_are_written(phase: str, done: int, total: int) -> None:
        phases.append((phase, done))
        if phase == "store" and done == total and done > 0:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        import_records_file(store, FIX / "screening_small.ris", "MEDLINE", actor="lead",
                            progress=crash_after_rows_are_written)  # fmt: skip
    assert phases[0] == ("parse", 0) and phases[-1][0] == "store"
    for table in (ReviewRecordRow, ReviewEventRow, ReviewImportBatchRow, AuditRow):
        assert _count(store, table) == 0, table
    # and the file can then be imported normally (no half-recorded batch blocks it)
    assert (
        import_records_file(store, FIX / "screening_small.ris", "MEDLINE", actor="lead").batch == 1
    )


def test_the_same_file_twice_is_refused_unless_again(store: Store, tmp_path: Path) -> None:
    first = import_records_file(store, FIX / "pubmed_export.ris", "RIS", actor="lead")
    copy = tmp_path / "renamed.ris"  # same bytes under another name: still the same file
    shutil.copy(FIX / "pubmed_export.ris", copy)
    for path in (FIX / "pubmed_export.ris", copy):
        with pytest.raises(AlreadyImportedError) as refused:
            import_records_file(store, path, "RIS", actor="other")
        message = str(refused.value)
        assert str(path) in message and "batch 1" in message and "--again" in message
        assert refused.value.earlier.imported_at.strftime("%Y-%m-%d") in message
        assert refused.value.earlier.actor == "lead"
    assert "as pubmed_export.ris" in message  # the copy names the file it matched
    assert _count(store, ReviewRecordRow) == len(first.result.records)
    assert _count(store, ReviewImportBatchRow) == 1
    assert _count(store, ReviewRecordRow, source="MEDLINE") == 0
    again = import_records_file(store, copy, "RIS", actor="lead", again=True)
    assert again.batch == 2 and [e.batch for e in again.earlier] == [1]
    assert again.result.records[0].record_id == "RIS-2:1"
    assert _count(store, ReviewRecordRow) == 2 * len(first.result.records)
    # another review is another review
    other = import_records_file(store, copy, "RIS", actor="lead", review="second")
    assert other.batch == 1 and other.earlier == ()


def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["review", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_refuses_a_second_import_and_json_has_no_progress(store: Store) -> None:
    env = {"MYOIVIG_DATABASE_URL": store.url, "MYOIVIG_ACTOR": "tester"}
    path = str(FIX / "screening_small.ris")
    code, out, err = _cli(env, "import", path, "--source", "MEDLINE", "--json")
    assert code == 0, err
    summary = json.loads(out)  # stdout is the JSON document and nothing else
    assert summary["batch"] == 1 and summary["imported"] >= 5
    assert err == ""
    code, out, err = _cli(env, "import", path, "--source", "MEDLINE")
    assert code == 1
    assert "screening_small.ris" in err and "batch 1" in err and "--again" in err
    assert "Traceback" not in err + out
    code, out, err = _cli(env, "import", path, "--source", "MEDLINE", "--again")
    assert code == 0, err
    assert "batch 2" in out and "imported before as batch(es) 1" in out


def test_progress_bar_only_when_enabled() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with import_progress(console, enabled=True) as progress:
        progress("parse", 0, 0)
        progress("store", 0, 3000)
        progress("store", 3000, 3000)
    drawn = screen.getvalue()
    assert "reading and parsing" in drawn and "storing records" in drawn and "3,000/3,000" in drawn
    quiet = io.StringIO()
    with import_progress(Console(file=quiet, force_terminal=True), enabled=False) as progress:
        progress("store", 10, 10)
    assert quiet.getvalue() == ""


def test_two_imports_taking_one_batch_number_fail_clearly(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_records_file(store, FIX / "pubmed_export.ris", "RIS", actor="first")
    # the second import read the batch count before the first one committed
    monkeypatch.setattr(repo, "next_batch", lambda session, review="default": 1)
    with pytest.raises(repo.ReviewStateError, match=r"another import .* stored batch 1"):
        import_records_file(store, FIX / "screening_small.ris", "MEDLINE", actor="second")
    assert _count(store, ReviewImportBatchRow) == 1
    assert _count(store, ReviewRecordRow, source="MEDLINE") == 0
