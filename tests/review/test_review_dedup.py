"""Deduplication: normalisation, field rules, Chinese/MEDLINE twins, clusters, reversible merges."""

from __future__ import annotations

from pathlib import Path

import pytest

from myoivig.review.dedup import (
    DedupSettings,
    auto_merge_events,
    find_duplicates,
    replay,
    unmerge,
)
from myoivig.review.dedup.compare import Fingerprint, compare
from myoivig.review.dedup.merges import MergeError, reviewer_merge
from myoivig.review.dedup.normalise import author_key, normalise_number, normalise_title
from myoivig.review.importers import import_file
from myoivig.review.records import BibRecord

FIX = Path(__file__).parent / "fixtures"


def rec(rid: str, **kw: object) -> BibRecord:
    return BibRecord.model_validate(
        {
            "record_id": rid,
            "source": "t",
            "source_format": "t",
            "position": int(rid.strip("abcdefghijklmnopqrstuvwxyz") or 1),
            **kw,
        }
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("田娟", "tian j"),
        ("欧阳明", "ouyang m"),
        ("Tian J", "tian j"),
        ("Tian, Juan", "tian j"),
        ("Juan Tian", "tian j"),
        ("Piette JC", "piette j"),
        ("Göttfried I", "gottfried i"),
        ("Dalakas, M. C.", "dalakas m"),
        # polyphonic surnames are read as surnames, spelled as MEDLINE spells them
        ("曾伟", "zeng w"),
        ("单明", "shan m"),
        ("区海", "ou h"),
        ("吕静", "lu j"),
        ("仇军", "qiu j"),
        ("解涛", "xie t"),
        ("查丽", "zha l"),
        ("朴英", "piao y"),
        ("乐平", "yue p"),
        ("曾乐", "zeng l"),  # only the surname takes the surname reading
        ("万俟明", "moqi m"),
        ("乐正云", "yuezheng y"),
    ],
)
def test_author_keys_transliterate(name: str, key: str) -> None:
    assert author_key(name) == key


def test_title_and_number_normalisation() -> None:
    assert normalise_title("[Efficacy of IVIg: a Study].") == "efficacy of ivig a study"
    assert normalise_title("静脉注射免疫球蛋白（IVIG）治疗") == "静脉注射免疫球蛋白 ivig 治疗"
    assert normalise_number("08") == "8" and normalise_number("S1") == "s1"


S = DedupSettings()


def test_doi_and_pmid_rules() -> None:
    a = rec("a1", title="X trial", doi="10.1/x")
    b = rec("b2", title="Completely different", doi="10.1/x")
    c = rec("c3", title="X trial", doi="10.1/y")
    assert compare(Fingerprint.of(a), Fingerprint.of(b), S).rule == "same DOI"
    veto = compare(Fingerprint.of(a), Fingerprint.of(c), S)
    assert veto.confidence == 0 and "veto" in veto.rule
    d = rec("d4", title="X trial", pmid="1")
    e = rec("e5", title="X trial", pmid="2")
    assert compare(Fingerprint.of(d), Fingerprint.of(e), S).confidence == 0


def test_title_typo_with_authors_is_auto_merge_and_without_support_is_queued() -> None:
    title = "Intravenous gamma globulin as first line therapy in polymyositis and dermatomyositis"
    a = rec("a1", title=title, authors=["Cherin P", "Piette JC"], year=1994)
    b = rec(
        "b2",
        title=title.replace("globulin", "globlin").upper(),
        authors=["Cherin, Patrick"],
        year=1994,
    )
    c = rec("c3", title=title.replace("globulin", "globlin"), authors=["Smith J"], year=1994)
    assert compare(Fingerprint.of(a), Fingerprint.of(b), S).confidence >= S.auto_merge
    doubtful = compare(Fingerprint.of(a), Fingerprint.of(c), S)
    assert S.review <= doubtful.confidence < S.auto_merge


def test_cnki_and_medline_twin_match_by_locator_and_pinyin() -> None:
    cnki = import_file(FIX / "cnki_refworks_gb18030.txt", source="cnki").records[0]
    medline = import_file(FIX / "pubmed_efetch.xml", source="medline").records[1]
    result = compare(Fingerprint.of(cnki), Fingerprint.of(medline), S)
    assert result.evidence["title"] is None  # different scripts: titles not compared
    assert result.evidence["authors"] is True and result.evidence["journal"] is True
    assert result.confidence >= S.auto_merge


def test_chinese_only_duplicates_across_cnki_formats() -> None:
    records = [
        *import_file(FIX / "cnki_refworks_gb18030.txt", source="cnki").records,
        *import_file(FIX / "cnki_noteexpress_gb18030.net", source="cnki-ne").records,
        *import_file(FIX / "cnki_notefirst.xml", source="cnki-nf", fmt="cnki_notefirst").records,
        *import_file(FIX / "cnki_endnote.txt", source="cnki-en", fmt="cnki_endnote").records,
    ]
    result = find_duplicates(records)
    clusters = [sorted(c.record_ids) for c in result.clusters]
    assert clusters == [["cnki-en:1", "cnki-ne:1", "cnki-nf:1", "cnki:1"]]


def test_distinct_records_with_shared_surname_and_year_are_not_merged() -> None:
    a = rec(
        "a1",
        title="甲氨蝶呤治疗皮肌炎的疗效观察",
        authors=["王伟"],
        year=2005,
        volume="20",
        pages="100-102",
    )
    b = rec(
        "b2",
        title="环磷酰胺治疗间质性肺病的临床研究",
        authors=["王芳"],
        year=2005,
        volume="20",
        pages="100-103",
    )
    assert find_duplicates([a, b]).clusters == []


def _three_copies() -> list[BibRecord]:
    t = "A controlled trial of high-dose intravenous immune globulin infusions for dermatomyositis"
    return [
        rec("a1", title=t, authors=["Dalakas MC"], year=1993, pmid="8247075"),
        rec(
            "b2",
            title=t.lower(),
            authors=["Dalakas, M. C."],
            year=1993,
            doi="10.1056/x",
            abstract="Abstract text",
        ),
        rec("c3", title=t + ".", authors=["M C Dalakas"], year=1993, volume="329"),
        rec("d4", title="Unrelated paper on statins", authors=["Other A"], year=1993),
    ]


def test_clusters_merge_and_unmerge_is_reversible() -> None:
    records = _three_copies()
    result = find_duplicates(records)
    assert [sorted(c.record_ids) for c in result.clusters] == [["a1", "b2", "c3"]]
    cluster = result.clusters[0]
    assert cluster.confidence >= S.auto_merge and cluster.rules
    events = auto_merge_events(result)
    view = replay(records, events)
    assert view.duplicates_removed == 2 and len(view.records) == 2
    merged = view.records[0]
    # fields combined from members: pmid kept, doi/abstract/volume filled in
    assert (merged.pmid, merged.doi, merged.volume) == ("8247075", "10.1056/x", "329")
    assert sorted(merged.raw["merged_from"]) == ["a1", "b2", "c3"]
    assert view.canonical_of["c3"] == merged.record_id
    undone = replay(records, [*events, unmerge(events[0].event_id, "r3", "u1")])
    assert undone.duplicates_removed == 0
    assert [r.record_id for r in undone.records] == ["a1", "b2", "c3", "d4"]
    assert undone.records == records


def test_reviewer_confirmation_and_bad_events() -> None:
    records = _three_copies()
    queued = compare(Fingerprint.of(records[0]), Fingerprint.of(records[3]), S)
    event = reviewer_merge(queued, "r3", "m-manual")
    view = replay(records, [event])
    assert view.duplicates_removed == 1 and view.active_merges == ["m-manual"]
    with pytest.raises(MergeError, match="not active"):
        replay(records, [unmerge("nope", "r3", "u1")])
    bad = event.model_copy(update={"record_ids": ["a1", "zz"]})
    with pytest.raises(MergeError, match="unknown record ids"):
        replay(records, [bad])


def test_blocking_avoids_quadratic_comparisons() -> None:
    records = [
        rec(
            f"r{i}",
            title=f"Topic {i} word{i * 7} other{i * 13} study of drug {i}",
            authors=[f"Author{chr(65 + i % 26)}{chr(65 + i // 26 % 26)} A"],
            year=1990 + i % 20,
        )
        for i in range(1, 801)
    ]
    result = find_duplicates(records)
    assert result.clusters == []
    assert result.pairs_compared < 800 * 799 // 2 // 20


def test_chained_records_never_join_two_different_dois() -> None:
    title = "Intravenous immunoglobulin in refractory inclusion body myositis"
    authors = ["Dalakas MC", "Sonies B"]
    a = rec("a1", title=title, authors=authors, year=1997, doi="10.1/a")
    b = rec("b2", title=title, authors=authors, year=1997)
    c = rec("c3", title=title, authors=authors, year=1997, doi="10.1/c")
    result = find_duplicates([a, b, c])
    for cluster in result.clusters:
        dois = {r.doi for r in (a, b, c) if r.record_id in cluster.record_ids and r.doi}
        assert len(dois) <= 1, cluster
    assert [sorted(c.record_ids) for c in result.clusters] == [["a1", "b2"]]
    queued = {(q.a, q.b) for q in result.queue}
    assert ("b2", "c3") in queued  # the vetoed edge goes to a person
    assert all("veto" in q.evidence for q in result.queue if (q.a, q.b) == ("b2", "c3"))


def test_chained_records_never_join_two_different_pmids() -> None:
    title = "Intravenous immunoglobulin in refractory inclusion body myositis"
    a = rec("a1", title=title, authors=["Dalakas MC"], year=1997, pmid="111")
    b = rec("b2", title=title, authors=["Dalakas MC"], year=1997)
    c = rec("c3", title=title, authors=["Dalakas MC"], year=1997, pmid="222")
    result = find_duplicates([a, b, c])
    assert [sorted(c.record_ids) for c in result.clusters] == [["a1", "b2"]]


def test_same_title_without_authors_needs_a_locator_to_auto_merge() -> None:
    r1 = rec("a1", title="Reply", year=2001, journal="Neurology", volume="56", pages="10-11")
    r2 = rec("b2", title="Reply", year=2001, journal="Muscle Nerve", volume="24", pages="99")
    letters = compare(Fingerprint.of(r1), Fingerprint.of(r2), S)
    assert S.review <= letters.confidence < S.auto_merge  # queued, not merged
    assert find_duplicates([r1, r2]).clusters == []
    r3 = rec("c3", title="Reply", year=2001, journal="Neurology", volume="56", pages="10-11")
    same = compare(Fingerprint.of(r1), Fingerprint.of(r3), S)
    assert same.confidence >= S.auto_merge
    bare1, bare2 = rec("d4", title="Reply", year=2001), rec("e5", title="Reply", year=2001)
    assert compare(Fingerprint.of(bare1), Fingerprint.of(bare2), S).confidence < S.auto_merge


def test_merge_keeps_earliest_or_screened_record_as_canonical() -> None:
    t = "Intravenous immune globulin for dermatomyositis"
    early = rec("a1", title=t, authors=["Dalakas MC"], year=1993)  # imported first, sparse
    late = rec(
        "b2",
        title=t,
        authors=["Dalakas MC"],
        year=1993,
        doi="10.1056/x",
        pmid="8247075",
        abstract="Abstract text",
        journal="N Engl J Med",
    )
    records = [early, late]
    events = auto_merge_events(find_duplicates(records))
    merged = replay(records, events).records[0]
    assert merged.record_id == "a1"  # the id screening events refer to stays valid
    assert (merged.doi, merged.pmid, merged.abstract) == ("10.1056/x", "8247075", "Abstract text")
    screened_late = replay(records, events, screened={"b2"})
    assert screened_late.records[0].record_id == "b2"
    assert screened_late.canonical_of == {"a1": "b2", "b2": "b2"}


def test_oversized_blocks_are_reported_not_silently_skipped() -> None:
    records = [
        rec(f"w{i}", title=f"Distinct title number {i} about topic {i * 31}",
            authors=["Wang L"], year=2010)
        for i in range(250)
    ]  # fmt: skip
    result = find_duplicates(records)
    assert result.skipped_blocks.get("au:wang l:2010") == 250
