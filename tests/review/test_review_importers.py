"""Importers against real-format fixtures, including BOMs, wrapped lines, unknown tags, GB18030."""

from __future__ import annotations

from pathlib import Path

import pytest

from myoivig.review.importers import ImportFormatError, detect_format, import_bytes, import_file
from myoivig.review.importers.text import decode_export

FIX = Path(__file__).parent / "fixtures"


def test_ris_bom_crlf_wrapped_unknown_tags_and_malformed() -> None:
    result = import_file(FIX / "pubmed_export.ris", source="medline")
    assert result.source_format == "ris"
    assert result.encoding == "utf-8-sig"
    assert [r.position for r in result.records] == [1, 2, 3]
    first = result.records[0]
    assert first.title is not None
    assert first.title.startswith("Results and long-term followup")
    assert "chronic, refractory polymyositis" in first.title  # wrapped title line joined
    assert first.authors == ["Cherin, P.", "Pelletier, S.", "Teixeira, A."]
    assert (first.year, first.volume, first.issue, first.pages) == (2002, "46", "2", "467-474")
    assert first.doi == "10.1002/art.10053"
    assert first.pmid == "11840450"
    assert first.abstract is not None and "Thirty-five" in first.abstract  # wrapped abstract
    assert first.raw["ZZ"] == ["an unknown vendor tag that must be kept"]
    second = result.records[1]
    assert second.doi == "10.1002/acr.20325"  # from the UR link
    assert (
        second.year == 2010 and second.abstract == "Abstract given under N2 as some exporters do."
    )
    assert second.journal == "Arthritis Care Res (Hoboken)"
    untitled = result.records[2]  # no title but an author: imported, flagged (issue 11)
    assert untitled.position == 3 and untitled.flags == ["title missing"]
    reasons = {i.position: i.reason for i in result.issues}
    assert "truncated" in reasons[4]
    assert result.total_seen == 4


def test_medline_nbib_continuations_and_broken_line() -> None:
    result = import_file(FIX / "medline.nbib", source="medline")
    assert result.source_format == "medline"
    assert len(result.records) == 1
    rec = result.records[0]
    assert rec.pmid == "7932419"
    assert rec.title == (
        "Intravenous gamma globulin as first line therapy in polymyositis and "
        "dermatomyositis: an open study in 11 adult patients."
    )
    assert rec.authors == ["Cherin, P", "Piette, J C"]
    assert rec.year == 1994 and rec.pages == "1092-1097" and rec.issn == "0315-162X (Print)"
    assert "Clinical Trial" in rec.publication_types
    assert "Dermatomyositis/drug therapy" in rec.keywords
    assert rec.raw["XYZ"] == ["unknown tag kept verbatim"]
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert issue.position == 2 and "not a tag line" in issue.reason


def test_pubmed_xml_structured_abstract_medline_date_vernacular_and_bad_records() -> None:
    result = import_file(FIX / "pubmed_efetch.xml", source="medline")
    assert result.source_format == "pubmed_xml"
    assert [r.pmid for r in result.records] == ["11840450", "9999991"]
    first = result.records[0]
    assert first.doi == "10.1002/art.10053" and first.pages == "467-474"
    assert first.abstract == (
        "OBJECTIVE: To assess the efficacy of intravenous immunoglobulin (IVIg). "
        "METHODS: Thirty-five adult patients with chronic PM."
    )
    assert first.authors == ["Cherin, Patrick", "Pelletier, Sophie"]
    assert first.publication_types == ["Journal Article", "Clinical Trial"]
    second = result.records[1]
    assert second.year == 2008  # from MedlineDate "2008 Aug-Sep"
    assert any("VernacularTitle" in k for k in second.raw)
    reasons = {i.position: i.reason for i in result.issues}
    assert reasons.keys() == {3, 4} and "no title, no DOI or PMID" in reasons[4]


def test_endnote_xml_style_wrappers_and_chinese() -> None:
    result = import_file(FIX / "endnote_library.xml", source="embase")
    assert result.source_format == "endnote_xml"
    dalakas, tian = result.records
    assert dalakas.authors == ["Dalakas, M. C.", "Illa, I."]
    assert dalakas.title is not None and dalakas.title.startswith("A controlled trial")
    assert (dalakas.journal, dalakas.volume, dalakas.pages, dalakas.year) == (
        "N Engl J Med",
        "329",
        "1993-2000",
        1993,
    )
    assert tian.authors == ["田娟", "高金生"] and tian.journal == "中华老年医学杂志"
    assert any("custom9" in k for k in dalakas.raw)
    assert [i.position for i in result.issues] == [3]


def test_csv_bom_quoted_commas_bad_rows() -> None:
    result = import_file(FIX / "scopus_export.csv", source="scopus")
    assert result.source_format == "csv"
    assert len(result.records) == 3
    danieli = result.records[0]
    assert danieli.authors == ["Danieli, M.G.", "Calcabrini, L.", "Calabrese, V."]
    assert danieli.doi == "10.1016/j.autrev.2009.04.001" and danieli.issn == "1568-9972"
    assert danieli.abstract == "Abstract, with a comma"
    assert (danieli.volume, danieli.issue, danieli.pages) == ("9", "2", "124")
    assert result.records[1].doi is None
    assert result.records[2].flags == ["title missing"]  # an author, no title (issue 11)
    reasons = {i.position: i.reason for i in result.issues}
    assert reasons.keys() == {4} and "more cells" in reasons[4]


def test_cnki_endnote_tagged_utf8_bom() -> None:
    result = import_file(FIX / "cnki_endnote.txt", source="cnki", fmt="cnki_endnote")
    assert result.encoding == "utf-8-sig"
    assert len(result.records) == 3
    tian = result.records[0]
    assert tian.authors == ["田娟", "高金生", "陈佳文"]
    assert tian.issn == "0254-9026" and tian.pages == "588-590" and tian.doi is None
    assert tian.keywords[0] == "皮肌炎"
    assert tian.abstract is not None and "回顾分析" in tian.abstract  # wrapped line joined
    # Refer records need no %0 type line (refer(1) has none): the third block is a record.
    third = result.records[2]
    assert (third.position, third.title, third.authors) == (3, "没有%0开头的记录", ["缺少类型"])
    assert third.publication_types == [] and result.issues == []


def test_cnki_refworks_gb18030_lowercase_volume_and_fullwidth_commas() -> None:
    data = (FIX / "cnki_refworks_gb18030.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = import_bytes(data, source="cnki")
    assert result.source_format == "cnki_refworks" and result.encoding == "gb18030"
    tian, wang = result.records
    assert tian.authors == ["田娟", "高金生", "陈佳文", "李芳", "谢鑫", "杜娟芳"]
    assert (tian.volume, tian.issue, tian.pages, tian.year) == ("27", "08", "588-590", 2008)
    assert tian.raw["CN"] == ["11-2148/R"]
    assert wang.authors == ["王国春", "舒晓明", "田小兰"]
    assert result.issues == []


def test_cnki_noteexpress_gb18030_br_markers_and_missing_title() -> None:
    result = import_file(FIX / "cnki_noteexpress_gb18030.net", source="cnki")
    assert result.source_format == "cnki_noteexpress" and result.encoding == "gb18030"
    assert len(result.records) == 2 and not result.issues
    rec = result.records[0]
    assert rec.authors == ["田娟", "高金生", "陈佳文"]
    assert rec.abstract == "目的 观察疗效。 方法 回顾分析。 结果 有效。"
    assert rec.keywords == ["皮肌炎", "免疫球蛋白类,静脉内", "糖皮质激素类"]
    assert rec.raw["Unknown Field"] == ["kept"]
    untitled = result.records[1]  # no title but an author: imported, flagged (issue 11)
    assert untitled.position == 2 and untitled.flags == ["title missing"]


def test_cnki_notefirst_xml() -> None:
    result = import_file(FIX / "cnki_notefirst.xml", source="cnki", fmt="cnki_notefirst")
    assert len(result.records) == 2  # the second has an author but no title (issue 11)
    rec = result.records[0]
    assert rec.title is not None and rec.title.startswith("静脉注射免疫球蛋白")
    assert rec.authors == ["田娟", "高金生"]
    assert (rec.journal, rec.year, rec.volume, rec.pages) == (
        "中华老年医学杂志",
        2008,
        "27",
        "588-590",
    )
    assert rec.keywords == ["皮肌炎", "免疫球蛋白类,静脉内"]
    assert result.records[1].flags == ["title missing"] and not result.issues


def test_detect_format_and_errors() -> None:
    assert detect_format((FIX / "medline.nbib").read_bytes()) == "medline"
    assert detect_format((FIX / "cnki_endnote.txt").read_bytes()) == "endnote_tagged"
    assert detect_format((FIX / "endnote_library.xml").read_bytes()) == "endnote_xml"
    with pytest.raises(ImportFormatError, match="unknown format"):
        import_bytes(b"x", source="s", fmt="bibtex")
    with pytest.raises(ImportFormatError, match="not well-formed"):
        import_bytes(b"<PubmedArticleSet><oops></PubmedArticleSet>", source="s", fmt="pubmed_xml")
    with pytest.raises(ImportFormatError, match="no title column"):
        import_bytes(b"a,b\n1,2\n", source="s", fmt="csv")


def test_decode_utf16_bom_and_explicit_encoding() -> None:
    text, enc = decode_export("TY  - JOUR\r\n".encode("utf-16"))
    assert text == "TY  - JOUR\n" and enc == "utf-16"
    text, enc = decode_export("中文".encode("gb18030"), "gb18030")
    assert text == "中文"


def test_cnki_estudy_bilingual_keys_year_from_pubtime() -> None:
    result = import_file(FIX / "cnki_estudy.txt", source="cnki")
    assert result.source_format == "cnki_estudy"
    assert len(result.records) == 2 and not result.issues
    rec = result.records[0]
    assert rec.authors == ["田娟", "高金生", "陈佳文"] and rec.year == 2008
    assert (rec.journal, rec.issue, rec.pages) == ("中华老年医学杂志", "08", "588-590")
    assert rec.abstract == "目的 观察疗效。 方法 回顾分析。"
    assert rec.raw["Link-链接"][0].startswith("https://kns.cnki.net")
    assert result.records[1].flags == ["title missing"]
