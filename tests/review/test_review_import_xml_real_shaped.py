"""Issue 11, defects 6-11: real-shaped exports (ERIC MEDLINE, PubMed book articles, group
authors, field losses, truncated XML, records without a title), written from the format
descriptions (PubMed DTD, MEDLINE tag list, ERIC's MEDLINE-style export, EndNote XML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from myoivig.review.dedup import DedupSettings, find_duplicates
from myoivig.review.dedup.compare import Fingerprint
from myoivig.review.dedup.merges import MergeEvent, replay
from myoivig.review.importers import ImportFormatError, detect_format, import_bytes, import_file
from myoivig.review.importers.fields import clean_doi

REAL = Path(__file__).parent / "fixtures" / "real_shaped"


# -- defect 6: MEDLINE-style files without PMIDs (ERIC) -------------------------------------------


def test_eric_medline_export_without_pmids_imports_every_record() -> None:
    data = (REAL / "eric_medline.nbib").read_bytes()
    assert detect_format(data) == "medline"  # the file opens with 'OWN - ERIC', not PMID
    result = import_bytes(data, source="ERIC")
    assert not result.issues
    assert [r.position for r in result.records] == [1, 2, 3]
    first, second, third = result.records
    assert first.title == (
        "Teaching Patients with Chronic Myopathies to Manage Home Infusion: "
        "A Nurse-Led Education Programme"
    )
    assert first.authors == ["Hartley, Joan M.", "Okafor, Chidi"] and first.pmid is None
    assert first.raw["OID"] == ["EJ1212345"]  # the ERIC number keys the record
    assert (first.journal, first.volume, first.issue, first.pages) == (
        "Journal of Nursing Education",
        "58",
        "4",
        "210-218",
    )
    assert first.issn == "0148-4834" and first.year == 2019
    assert "Nursing" in first.keywords
    assert second.raw["OID"] == ["ED598765"] and second.pages == "34"
    assert third.flags == ["title missing"] and third.raw["OID"] == ["EJ1199001"]


# -- defect 7: PubMed book articles ---------------------------------------------------------------


def test_book_articles_inside_a_pubmed_article_set_import_as_book_chapters() -> None:
    result = import_file(REAL / "pubmed_with_book_articles.xml", source="MEDLINE")
    assert result.source_format == "pubmed_xml" and not result.issues
    chapter, article, e_only = result.records
    assert chapter.title == "Sporadic and Hereditary Inclusion Body Myopathies"
    assert chapter.publication_types == ["Book Chapter", "Review"]
    assert chapter.journal == "GeneReviews®"  # the book is the chapter's container
    assert chapter.pmid == "20301475" and chapter.year == 1993
    # The book's editors are not the chapter's authors.
    assert chapter.authors == ["Needham, Merrilee", "Inclusion Body Myositis Study Group"]
    editors = [(c.name, c.role) for c in chapter.contributors]
    assert editors == [("Adam, Margaret P", "editor"), ("Feldman, Jerry", "editor")]
    assert chapter.group_authors == ["Inclusion Body Myositis Study Group"]
    assert chapter.abstract == (
        "CLINICAL CHARACTERISTICS: Slowly progressive weakness of finger flexors and "
        "quadriceps. MANAGEMENT: IVIg has not shown sustained benefit."
    )
    assert any("Book/AuthorList/Author/LastName" in key for key in chapter.raw)
    assert article.pmid == "29876543" and article.publication_types == ["Journal Article"]
    assert e_only.pmid == "33456789"


def test_pubmed_book_article_set_is_detected_as_pubmed_not_cnki() -> None:
    data = (REAL / "pubmed_book_article_set.xml").read_bytes()
    assert detect_format(data) == "pubmed_xml"
    result = import_bytes(data, source="MEDLINE")
    assert not result.issues
    chapter, book = result.records
    assert (chapter.title, chapter.journal, chapter.year) == ("Dermatomyositis", "StatPearls", 2024)
    assert chapter.publication_types == ["Book Chapter"]
    assert chapter.authors == ["Qudsiya, Zaid", "Waseem, Muhammad"]
    # A whole book (no ArticleTitle): the book title is the title, no container.
    assert book.title is not None and book.title.startswith("Immune Globulin for Primary")
    assert book.journal is None and book.publication_types == ["Book", "Review"]
    assert book.authors == book.group_authors == ["Tufts Evidence-based Practice Center"]


# -- defect 8: group authors, one rule for every format -------------------------------------------

KIDNEY = "Chronic Kidney Disease and Hypertension Study Group"


def test_medline_keeps_cn_group_authors_in_byline_order() -> None:
    result = import_file(REAL / "medline_groups_pages.nbib", source="MEDLINE")
    first, second = result.records[0], result.records[1]
    assert first.authors == ["Wang, Li", "Okada, Hiroshi", KIDNEY, "Meyer, Anna"]
    assert first.group_authors == [KIDNEY]
    imacs = "International Myositis Assessment and Clinical Studies Group (IMACS)"
    assert second.authors == ["Schmidt, Jens", imacs, "Dalakas, Marinos C"]
    assert second.group_authors == [imacs]


def test_csv_does_not_split_a_group_author_at_and() -> None:
    result = import_file(REAL / "group_authors.csv", source="Scopus")
    kidney, imacs, chinese, people, untitled = result.records
    assert kidney.authors == ["Lewis, J.", KIDNEY] and kidney.group_authors == [KIDNEY]
    group = "the International Myositis Assessment and Clinical Studies Group"
    assert imacs.authors == ["Oddis C.V.", group] and imacs.group_authors == [group]
    assert chinese.authors == ["中华医学会风湿病学分会", "王国春"]
    assert chinese.group_authors == ["中华医学会风湿病学分会"]
    assert people.authors == ["Smith J", "Jones K"] and people.group_authors == []
    assert untitled.flags == ["title missing"]
    assert [i.position for i in result.issues] == [6]  # no title, identifier or author


def test_endnote_xml_corporate_authors_are_groups() -> None:
    result = import_file(REAL / "endnote_groups_fullwidth_untitled.xml", source="Embase")
    kidney, chinese = result.records[0], result.records[1]
    assert kidney.authors == ["Hoogendijk, J. E.", KIDNEY] and kidney.group_authors == [KIDNEY]
    assert chinese.authors == ["刘学军", "中华医学会风湿病学分会"]
    assert chinese.group_authors == ["中华医学会风湿病学分会"]


def test_pubmed_xml_collective_names_are_groups() -> None:
    result = import_file(REAL / "pubmed_with_book_articles.xml", source="MEDLINE")
    article = result.records[1]
    group = "Chinese Myositis Collaborative Group"
    assert article.authors == ["Li, Xiaomei", group, "Zhang, Wei"]
    assert article.group_authors == [group]


def test_dedup_compares_group_authors_by_their_whole_name() -> None:
    result = import_file(REAL / "medline_groups_pages.nbib", source="MEDLINE")
    fingerprint = Fingerprint.of(result.records[0])
    assert "group:chronic kidney disease and hypertension study group" in fingerprint.authors
    assert "group c" not in fingerprint.authors


def test_split_author_cell_keeps_people_apart() -> None:
    from myoivig.review.importers.fields import split_author_cell

    assert split_author_cell("John Smith and Kate Jones") == ["John Smith", "Kate Jones"]
    assert split_author_cell(f"Smith J and {KIDNEY}") == ["Smith J", KIDNEY]


# -- defect 9: small field losses (full-width DOI, MEDLINE pages, e-only location) ----------------


def test_full_width_characters_in_dois_are_normalised_not_dropped() -> None:
    assert clean_doi("10.3969／j.issn.1000-5404.2015.01.001") == (
        "10.3969/j.issn.1000-5404.2015.01.001"
    )
    endnote = import_file(REAL / "endnote_groups_fullwidth_untitled.xml", source="CNKI")
    assert endnote.records[1].doi == "10.3760/cma.j.issn.1007-7480.2010.12.011"
    csv = import_file(REAL / "group_authors.csv", source="CNKI")
    assert csv.records[2].doi == "10.3760/cma.j.issn.1007-7480.2019.06.001"


def test_medline_page_ranges_are_expanded_and_e_only_articles_keep_their_number() -> None:
    result = import_file(REAL / "medline_groups_pages.nbib", source="MEDLINE")
    plos, jci, sci_rep = result.records[0], result.records[1], result.records[2]
    assert jci.pages == "6913-6917"
    assert plos.pages == "e0218765"
    assert sci_rep.pages == "5012"  # no PG: the article number from LID/AID [pii]
    assert sci_rep.doi == "10.1038/s41598-021-84512-3"
    from myoivig.review.importers.fields import expand_pages

    assert expand_pages("588-90") == "588-590" and expand_pages("S12-4") == "S12-S14"


def test_pubmed_xml_e_only_article_keeps_its_elocation_and_short_pages_expand() -> None:
    result = import_file(REAL / "pubmed_with_book_articles.xml", source="MEDLINE")
    article, e_only = result.records[1], result.records[2]
    assert article.pages == "188-193"
    assert e_only.pages == "5012" and e_only.doi == "10.1038/s41598-021-84512-3"


# -- defect 10: partial files ---------------------------------------------------------------------


def test_truncated_pubmed_xml_keeps_the_five_complete_records() -> None:
    result = import_file(REAL / "pubmed_truncated.xml", source="MEDLINE")
    assert [r.pmid for r in result.records] == [
        "30111111",
        "30222222",
        "30333333",
        "30444444",
        "30555555",
    ]
    assert result.records[2].raw["MedlineCitation/Article/VernacularTitle"] == [
        "抗MDA5抗体阳性皮肌炎静脉注射免疫球蛋白疗效分析"
    ]
    assert result.truncated is not None and "line 152" in result.truncated
    [cut] = result.issues
    assert cut.position == 6 and "record cut off" in cut.reason and "line 152" in cut.reason


def test_truncated_endnote_xml_keeps_the_complete_records() -> None:
    result = import_file(REAL / "endnote_truncated.xml", source="Embase")
    assert [r.volume for r in result.records] == ["41", "42", "43"]
    assert result.truncated is not None and "breaks off at line 6" in result.truncated
    assert [i.position for i in result.issues] == [4]


def test_xml_that_is_broken_before_any_record_is_still_refused() -> None:
    with pytest.raises(ImportFormatError, match="not well-formed"):
        import_bytes(b"<PubmedArticleSet><PubmedArticle><x></PubmedArticleSet>", "MEDLINE")


# -- defect 11: records without a title -----------------------------------------------------------


def test_records_without_title_but_with_identifier_or_authors_are_flagged() -> None:
    result = import_file(REAL / "endnote_groups_fullwidth_untitled.xml", source="Embase")
    untitled = result.records[2]
    assert untitled.title is None and untitled.flags == ["title missing"]
    assert untitled.doi == "10.1007/s10067-018-4301-z"
    assert "[title missing]" in untitled.screening_text and untitled.doi in untitled.screening_text
    reasons = {i.position: i.reason for i in result.issues}
    assert reasons == {4: "no title, no DOI or PMID and no authors"}
    medline = import_file(REAL / "medline_groups_pages.nbib", source="MEDLINE")
    assert medline.records[3].flags == ["title missing"]
    assert medline.records[3].pmid == "34567890"


def test_dedup_merges_an_untitled_record_with_its_titled_twin_and_clears_the_flag() -> None:
    medline = import_file(REAL / "medline_groups_pages.nbib", source="MEDLINE", id_prefix="m:")
    csv = import_file(REAL / "group_authors.csv", source="Scopus", id_prefix="s:")
    untitled_medline, untitled_csv = medline.records[3], csv.records[4]
    assert untitled_medline.doi == untitled_csv.doi
    records = [*medline.records, *csv.records]
    clusters = find_duplicates(records, DedupSettings()).clusters
    pair = {untitled_medline.record_id, untitled_csv.record_id}
    assert any(pair <= set(c.record_ids) for c in clusters)
    titled = untitled_medline.model_copy(update={"title": "Found later", "record_id": "x:1"})
    event = MergeEvent(event_id="merge-1", kind="merge", record_ids=[untitled_csv.record_id, "x:1"])
    view = replay([untitled_csv, titled], [event])
    merged = next(r for r in view.records if r.record_id == untitled_csv.record_id)
    assert merged.title == "Found later" and merged.flags == []


def test_truncated_notefirst_xml_keeps_the_complete_item() -> None:
    whole = (Path(__file__).parent / "fixtures" / "cnki_notefirst.xml").read_bytes()
    cut = whole[: whole.index("无名".encode())]
    result = import_bytes(cut, source="CNKI", fmt="cnki_notefirst")
    assert [r.title for r in result.records] == [
        "静脉注射免疫球蛋白联合口服糖皮质激素治疗老年皮肌炎的疗效和安全性"
    ]
    assert result.truncated is not None and "line 21" in result.truncated
    assert [i.position for i in result.issues] == [2]


def test_medline_book_chapter_record() -> None:
    result = import_file(REAL / "medline_book_chapter.nbib", source="MEDLINE")
    [chapter] = result.records
    assert chapter.title == "Sporadic and Hereditary Inclusion Body Myopathies"
    assert chapter.journal == "GeneReviews((R))" and chapter.year == 1993
    assert chapter.publication_types == ["Review", "Book Chapter"]
    assert chapter.authors == ["Needham, Merrilee", "Inclusion Body Myositis Study Group"]
    assert chapter.group_authors == ["Inclusion Body Myositis Study Group"]
    editors = [(c.name, c.role) for c in chapter.contributors]  # editors, not authors
    assert editors == [("Adam, Margaret P", "editor"), ("Feldman, Jerry", "editor")]
