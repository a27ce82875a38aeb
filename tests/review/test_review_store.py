"""Review state through the foundation store, on SQLite and PostgreSQL (audited writes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from myoivig.review import repository as repo
from myoivig.review.dedup import auto_merge_events, find_duplicates, unmerge
from myoivig.review.example.build import protocol, raw_extractions
from myoivig.review.importers import import_file
from myoivig.review.prisma.events import FinalDecision
from myoivig.review.prisma.flow import derive
from myoivig.store import Store
from myoivig.store.audit import ReadOnlySessionError
from myoivig.store.tables import AuditRow

FIX = Path(__file__).parent / "fixtures"


def test_protocol_records_merges_and_prisma_round_trip(store: Store) -> None:
    with store.unit_of_work(actor="lead") as s:
        repo.save_protocol(s, protocol())
        medline = import_file(FIX / "pubmed_efetch.xml", "MEDLINE", id_prefix="MEDLINE-1:")
        cnki = import_file(FIX / "cnki_refworks_gb18030.txt", "CNKI", id_prefix="CNKI-2:")
        repo.add_import(s, medline)
        repo.add_import(s, cnki)
    with store.session() as s:
        assert repo.load_protocol(s) == protocol()
        records = repo.load_records(s)
        assert [r.record_id for r in records] == ["MEDLINE-1:1", "MEDLINE-1:2", "CNKI-2:1",
                                                  "CNKI-2:2"]  # fmt: skip
        assert records[2].authors[0] == "田娟"
    result = find_duplicates(records)
    assert [sorted(c.record_ids) for c in result.clusters] == [["CNKI-2:1", "MEDLINE-1:2"]]
    with store.unit_of_work(actor="lead") as s:
        for event in auto_merge_events(result):
            repo.append_event(s, event)
        remaining = repo.merged_view(s).records
        for rec in remaining:
            repo.append_event(
                s, FinalDecision(record_id=rec.record_id, stage="title_abstract", include=False)
            )
    with store.session() as s:
        view = repo.merged_view(s)
        assert view.duplicates_removed == 1
        counts = derive(repo.prisma_events(s))
    assert counts.database_results == {"MEDLINE": 2, "CNKI": 2}
    assert (counts.duplicates, counts.records_screened, counts.records_excluded) == (1, 3, 3)
    with store.session() as s:
        decided = [e for e in repo.load_events(s) if isinstance(e, FinalDecision)]
    assert all(e.actor == "lead" for e in decided)
    # undo the merge: duplicates back to 0, and the decision on the ex-duplicate is now missing
    with store.unit_of_work(actor="lead") as s:
        repo.append_event(s, unmerge("merge-1", "lead", "u-1"))
    with store.session() as s:
        assert repo.merged_view(s).duplicates_removed == 0
        with pytest.raises(ValueError, match="lack a final title/abstract decision"):
            derive(repo.prisma_events(s))


def test_extractions_and_appraisals_are_audited_upserts(store: Store) -> None:
    forms = raw_extractions()
    with store.unit_of_work(actor="r1") as s:
        for form in forms:
            repo.save_extraction(s, form)
        repo.save_appraisal(s, "dalakas1993", "cebm", {"design": "rct"}, {"level": "1b"})
    changed = forms[0].model_copy(update={"note": "re-checked"})
    with store.unit_of_work(actor="r2") as s:
        repo.save_extraction(s, changed)
        repo.save_appraisal(s, "dalakas1993", "cebm", {"design": "rct"}, {"level": "1b-"})
    with store.session() as s:
        stored = repo.load_extractions(s)
        assert len(stored) == len(forms)
        assert repo.load_extractions(s, study_id=forms[0].study_id)[0].note == "re-checked"
        mastaglia = repo.load_extractions(s, study_id="mastaglia1998")
        assert sorted(e.extractor for e in mastaglia) == ["abstract", "table"]
        assert repo.load_appraisals(s)[0]["result"] == {"level": "1b-"}
        audit = s.scalars(select(AuditRow).where(AuditRow.table_name == "review_extractions")).all()
        assert {a.actor for a in audit} == {"r1", "r2"}
        assert any(a.action == "update" for a in audit)


def test_reads_cannot_write_and_duplicate_imports_are_refused(store: Store) -> None:
    result = import_file(FIX / "medline.nbib", "MEDLINE", id_prefix="M-1:")
    with store.unit_of_work(actor="lead") as s:
        repo.add_import(s, result)
    with (
        pytest.raises(repo.ReviewStateError, match="already imported"),
        store.unit_of_work(actor="lead") as s,
    ):
        repo.add_import(s, result)
    with pytest.raises(ReadOnlySessionError), store.session() as s:
        repo.save_protocol(s, protocol())
        s.flush()
    with store.session() as s:
        assert len(repo.load_records(s)) == 1
        assert repo.next_batch(s) == 2
