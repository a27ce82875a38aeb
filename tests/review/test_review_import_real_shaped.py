"""Issue 11: tagged exports as CNKI, Wanfang and publishers really write them.

Fixtures in fixtures/real_shaped/ (see its README.md) were written from the format descriptions;
each test below failed on the importers before this change (the reason is given per test).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exit_codes import ExitCode
from myoivig.review.importers import ImportFormatError, detect_format, import_bytes, import_file
from myoivig.review.importers.text import DecodeError, decode_head
from myoivig.review.records import BibRecord

REAL = Path(__file__).parent / "fixtures" / "real_shaped"
FIX = Path(__file__).parent / "fixtures"


def _roles(record: BibRecord) -> list[tuple[str, str]]:
    return [(c.name, c.role) for c in record.contributors]


# Defect 1 -----------------------------------------------------------------------------------
# Old: detection decoded bytes [:8192] strictly, so a character cut there failed UTF-8 and the
# GB18030 fallback then failed early ("not UTF-8 or GB18030 text (byte 76 / 93 / 8191)").
@pytest.mark.parametrize(
    ("name", "fmt", "encoding"),
    [
        ("cnki_estudy_utf8_cut_8192.txt", "cnki_estudy", "utf-8"),
        ("wanfang_noteexpress_utf8_cut_8192.txt", "cnki_noteexpress", "utf-8"),
        ("cnki_noteexpress_gb18030_cut_8192.net", "cnki_noteexpress", "gb18030"),
    ],
)
def test_character_cut_at_byte_8192_is_detected_and_imported(
    name: str, fmt: str, encoding: str
) -> None:
    data = (REAL / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):  # the fixture really cuts a character at 8,192
        data[:8192].decode(encoding)
    assert detect_format(data) == fmt
    result = import_bytes(data, source="cnki")
    assert (result.source_format, result.encoding) == (fmt, encoding)
    assert len(result.records) == 3 and result.issues == []
    thesis = result.records[1]
    assert thesis.authors == ["林行众"]
    assert _roles(thesis) == [("黄三文", "supervisor"), ("杨清", "supervisor")]
    assert thesis.abstract is not None and thesis.abstract.endswith("安全性良好。")
    assert thesis.journal is None  # a university (E-Study 学位授予单位, NoteExpress Publisher)


def test_decode_head_holds_back_an_unfinished_character_but_rejects_bad_bytes() -> None:
    text, enc = decode_head("肌炎".encode(), 4)  # 肌 complete, 炎 cut after its first byte
    assert (text, enc) == ("肌", "utf-8")
    text, enc = decode_head("皮肌炎".encode("gb18030"), 5)
    assert (text, enc) == ("皮肌", "gb18030")
    with pytest.raises(DecodeError, match="nor GB18030"):
        decode_head(b"ok \x80\xff\x80\xff", 64)


EXPECTED_FORMATS = {
    "cnki_estudy_utf8_cut_8192.txt": "cnki_estudy",
    "wanfang_noteexpress_utf8_cut_8192.txt": "cnki_noteexpress",
    "cnki_noteexpress_gb18030_cut_8192.net": "cnki_noteexpress",
    "cnki_refworks_thesis_gb18030.txt": "cnki_refworks",
    "cnki_endnote_paragraphs.txt": "endnote_tagged",
    "cnki_endnote_paragraphs_gb18030.txt": "endnote_tagged",
    "ris_provider_preamble.ris": "ris",
    "ris_numbered_separators.ris": "ris",
    "ris_y1_placeholder.ris": "ris",
    "refworks_header_generic.txt": "refworks",
    "refer_without_type.refer": "endnote_tagged",
    "cnki_estudy_charset_line.txt": "cnki_estudy",
    "wanfang_refworks.txt": "cnki_refworks",
    "wanfang_endnote.txt": "endnote_tagged",
    # defects 6-9 (test_review_import_xml_real_shaped.py)
    "eric_medline.nbib": "medline",
    "medline_groups_pages.nbib": "medline",
    "medline_book_chapter.nbib": "medline",
    "pubmed_with_book_articles.xml": "pubmed_xml",
    "pubmed_book_article_set.xml": "pubmed_xml",
}
# Files with malformed or cut records on purpose (defects 8-11), tested in
# test_review_import_xml_real_shaped.py.
PARTIAL = {
    "pubmed_truncated.xml",
    "endnote_truncated.xml",
    "endnote_groups_fullwidth_untitled.xml",
    "group_authors.csv",
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED_FORMATS.items()))
def test_detection_agrees_with_the_explicit_format(name: str, fmt: str) -> None:
    """Detection never rejects a file that `--format` would import, and picks that format."""
    data = (REAL / name).read_bytes()
    explicit = import_bytes(data, source="x", fmt=fmt)
    assert explicit.records and explicit.issues == []
    assert detect_format(data) == fmt
    detected = import_bytes(data, source="x")
    assert [r.model_dump() for r in detected.records] == [r.model_dump() for r in explicit.records]


def test_every_fixture_in_the_folder_is_covered() -> None:
    present = {p.name for p in REAL.iterdir() if p.name != "README.md"}
    rejected = {"unrecognised_notes.txt", "empty.txt", "blank_with_bom.txt"}
    assert present == set(EXPECTED_FORMATS) | rejected | PARTIAL


# Defect 2 -----------------------------------------------------------------------------------
# Old: 'A1林行众' was no tag line, so it was folded into SR and the first author lost; A2/A3
# names were stored as authors.
def test_cnki_refworks_author_tag_without_space_and_supervisors_kept_apart() -> None:
    result = import_file(REAL / "cnki_refworks_thesis_gb18030.txt", source="cnki")
    assert (result.source_format, result.encoding) == ("cnki_refworks", "gb18030")
    thesis, conference, article = result.records
    assert thesis.authors == ["林行众"]
    assert _roles(thesis) == [("黄三文", "supervisor"), ("杨清", "supervisor")]
    assert thesis.raw["SR"] == ["1"]
    assert conference.authors == ["王国春", "舒晓明"]
    assert _roles(conference) == [("中华医学会风湿病学分会", "editor")]
    assert article.authors == ["王国春", "舒晓明", "田小兰"] and article.contributors == []


def test_refer_thesis_editors_are_supervisors_and_wanfang_refworks_a2_too() -> None:
    thesis = import_file(REAL / "cnki_endnote_paragraphs.txt", source="cnki").records[1]
    assert thesis.authors == ["林行众"]
    assert _roles(thesis) == [("黄三文", "supervisor"), ("杨清", "supervisor")]
    wanfang = import_file(REAL / "wanfang_refworks.txt", source="wanfang").records[1]
    assert wanfang.authors == ["林行众"]
    assert _roles(wanfang) == [("黄三文", "supervisor"), ("杨清", "supervisor")]
    book = import_file(REAL / "refworks_header_generic.txt", source="x").records[0]
    assert book.authors == ["Dalakas, M. C."]
    assert _roles(book) == [("Karpati, G.", "editor"), ("Hilton-Jones, D.", "editor")]


# Defect 3 -----------------------------------------------------------------------------------
# Old: 'vo ' (no value) did not match the tag pattern and was appended to IS: issue '05 vo'.
def test_empty_tag_does_not_swallow_the_next_line() -> None:
    article = import_file(REAL / "cnki_refworks_thesis_gb18030.txt", source="cnki").records[2]
    assert (article.volume, article.issue, article.pages) == (None, "05", "401-403")
    assert article.raw["vo"] == [""] and article.raw["IS"] == ["05"]


# Defect 4 -----------------------------------------------------------------------------------
# Old: the blank line closed the record; the rest of the abstract became "text outside a
# record" and the following %P line an extra malformed record.
@pytest.mark.parametrize(
    "name", ["cnki_endnote_paragraphs.txt", "cnki_endnote_paragraphs_gb18030.txt"]
)
def test_blank_lines_inside_a_cnki_abstract_keep_the_record_whole(name: str) -> None:
    result = import_file(REAL / name, source="cnki")
    assert result.issues == [] and len(result.records) == 2
    article = result.records[0]
    assert article.abstract == (
        "目的 观察静脉注射免疫球蛋白联合口服糖皮质激素治疗老年皮肌炎的疗效。 "
        "方法 回顾分析2000年至2007年住院的老年皮肌炎患者。 结果 联合治疗组肌力改善较快。"
    )
    assert article.pages == "588-590" and article.issn == "0254-9026"
    assert article.raw["%X"][0].count("\n") == 2  # paragraph breaks kept verbatim in raw


# Defect 5 -----------------------------------------------------------------------------------
# Old: the first line alone decided; 'Provider:', '1.', 'charset=', 'RefWorks ...' and '%A'
# fell through to CSV ("CSV has no title column").
def test_publisher_preamble_before_ris() -> None:
    result = import_file(REAL / "ris_provider_preamble.ris", source="sciencedirect")
    assert result.source_format == "ris" and result.issues == []
    (rec,) = result.records
    assert rec.doi == "10.1016/j.autrev.2009.04.001" and rec.pages == "124-127"


def test_numbered_records_and_separator_lines_are_not_malformed_records() -> None:
    result = import_file(REAL / "ris_numbered_separators.ris", source="medline")
    assert result.source_format == "ris"
    assert result.issues == [] and result.total_seen == 2
    assert [r.authors[0] for r in result.records] == ["Cherin, P.", "Dalakas, M. C."]


def test_refer_records_without_type_line() -> None:
    result = import_file(REAL / "refer_without_type.refer", source="x")
    assert result.source_format == "endnote_tagged" and result.issues == []
    mastaglia, cherin = result.records
    assert mastaglia.authors == ["Mastaglia, F. L.", "Phillips, B. A.", "Zilko, P. J."]
    assert (mastaglia.year, mastaglia.volume, mastaglia.pages) == (1998, "65", "107-110")
    assert cherin.publication_types == []


def test_charset_line_and_refworks_header() -> None:
    estudy = import_file(REAL / "cnki_estudy_charset_line.txt", source="cnki")
    assert estudy.source_format == "cnki_estudy" and estudy.issues == []
    assert estudy.records[0].authors == ["王国春", "舒晓明", "田小兰"]
    refworks = import_file(REAL / "refworks_header_generic.txt", source="x")
    assert refworks.source_format == "refworks" and refworks.issues == []
    assert len(refworks.records) == 2


def test_unrecognised_file_says_which_formats_were_tried_and_why() -> None:
    with pytest.raises(ImportFormatError) as caught:
        import_file(REAL / "unrecognised_notes.txt", source="x")
    message = str(caught.value)
    for fmt in ("ris", "medline", "endnote_tagged", "cnki_refworks", "cnki_noteexpress"):
        assert f"{fmt}: no " in message
    assert "cnki_estudy: no 'DataType:'" in message
    assert "XML formats: the file does not start with '<'" in message
    assert "csv: the first line names no known column such as title or doi" in message
    assert "--format" in message


# Defect 9 (tagged-format parts) ---------------------------------------------------------------
def test_generic_refworks_start_and_other_pages() -> None:
    # Old: OP (the end page) was taken as the pages: '452' and '2000'.
    book, article = import_file(REAL / "refworks_header_generic.txt", source="x").records
    assert book.pages == "427-452" and article.pages == "1993-2000"
    assert article.pmid == "8247075" and article.doi == "10.1056/nejm199312303292704"
    # Wanfang writes the whole range under SP, CNKI under OP.
    wanfang = import_file(REAL / "wanfang_refworks.txt", source="wanfang").records[0]
    assert wanfang.pages == "588-590"


def test_ris_date_outranks_legacy_y1_placeholder() -> None:
    # Old: Y1 1900 was read before DA 1950.
    (rec,) = import_file(REAL / "ris_y1_placeholder.ris", source="x").records
    assert rec.year == 1950


def test_thesis_abstract_is_read_to_its_end() -> None:
    # Old: the wrapped English line 'In this thesis, ...' was taken for a tag 'In' (and the
    # blank lines closed the record), so the abstract stopped early.
    thesis = import_file(REAL / "cnki_refworks_thesis_gb18030.txt", source="cnki").records[0]
    assert thesis.abstract is not None
    assert thesis.abstract.startswith("目的：探讨大剂量静脉注射免疫球蛋白")
    assert "结果：治疗组肌力评分" in thesis.abstract
    assert thesis.abstract.endswith("improved earlier than that of the controls.")
    assert "In" not in thesis.raw


# Wanfang -------------------------------------------------------------------------------------
def test_wanfang_exports_import() -> None:
    endnote = import_file(REAL / "wanfang_endnote.txt", source="wanfang")
    noteexpress = import_file(REAL / "wanfang_noteexpress_utf8_cut_8192.txt", source="wanfang")
    refworks = import_file(REAL / "wanfang_refworks.txt", source="wanfang")
    for result in (endnote, noteexpress, refworks):
        assert result.issues == []
        first = result.records[0]
        assert first.authors[:2] == ["田娟", "高金生"]
        assert (first.journal, first.volume, first.issue) == ("中华老年医学杂志", "27", "8")
        assert first.doi == "10.3760/j.issn:0254-9026.2008.08.010"
        assert first.year == 2008 and first.pages == "588-590"


# Defect 12 -----------------------------------------------------------------------------------
# Old: "CSV has no title column (columns: [])".
@pytest.mark.parametrize("name", ["empty.txt", "blank_with_bom.txt"])
@pytest.mark.parametrize("fmt", [None, "csv", "ris", "pubmed_xml"])
def test_empty_input_says_the_file_is_empty(name: str, fmt: str | None) -> None:
    with pytest.raises(ImportFormatError, match=r"^the file is empty$"):
        import_file(REAL / name, source="x", fmt=fmt)


def test_cli_reports_an_empty_file_with_rejected_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'review.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "tester")
    result = CliRunner().invoke(
        app, ["review", "import", str(REAL / "empty.txt"), "--source", "CNKI"]
    )
    assert result.exit_code == ExitCode.REJECTED_INPUT
    assert "the file is empty" in result.output


def test_older_fixtures_still_detected() -> None:
    assert detect_format((FIX / "cnki_refworks_gb18030.txt").read_bytes()) == "cnki_refworks"
    assert detect_format((FIX / "pubmed_export.ris").read_bytes()) == "ris"
    assert detect_format((FIX / "scopus_export.csv").read_bytes()) == "csv"
    assert detect_format((FIX / "cnki_noteexpress_gb18030.net").read_bytes()) == "cnki_noteexpress"


def test_record_numbers_on_the_opening_line_and_ovid_style_numbers() -> None:
    data = (
        b"1. TY  - JOUR\nTI  - First\nER  - \n\n<2>\nTY  - JOUR\nTI  - Second\nER  - \n"
        b"Record 3 of 3\nTY  - JOUR\nTI  - Third\nER  - \nstray note\nmore stray\n"
    )
    result = import_bytes(data, source="x")
    assert [r.title for r in result.records] == ["First", "Second", "Third"]
    assert [i.reason for i in result.issues] == [
        "line 13: text outside a record (to line 14): 'stray note'"
    ]


def test_estudy_supervisor_key_found_by_its_chinese_part() -> None:
    data = (
        "DataType: 2\nTitle-题名: 论文\nAuthor-作者: 林行众;\nTutor-导师: 黄三文;杨清;\n".encode()
    )
    (rec,) = import_bytes(data, source="cnki").records
    assert _roles(rec) == [("黄三文", "supervisor"), ("杨清", "supervisor")]


def test_ovid_record_number_first_is_not_taken_for_xml() -> None:
    data = b"<1>\nTY  - JOUR\nTI  - Numbered\nER  - \n"
    assert detect_format(data) == "ris"
    assert [r.title for r in import_bytes(data, source="x").records] == ["Numbered"]


def test_csv_is_detected_by_any_known_column() -> None:
    data = b"doi,pmid\n10.1000/x,123\n"
    assert detect_format(data) == "csv"
    # Whether a table without titles imports is the CSV importer's rule (issue 11, defect 11);
    # detection only must not be what refuses it.
    try:
        import_bytes(data, source="x")
    except ImportFormatError as exc:
        assert str(exc).startswith("csv: ")


@pytest.mark.parametrize(
    "text",
    [
        "DataType: 2\nTitle-题名: 论文\nSummary-摘要: 目的 一。\n\n方法 二。\n\nPage-页码: 1-86\n",
        "{Reference Type}: Thesis\n{Title}: 论文\n{Abstract}: 目的 一。\n\n方法 二。\n\n"
        "{Pages}: 1-86\n",
        "RT Dissertation/Thesis\nT1 论文\nAB 目的 一。\n\n方法 二。\n\nOP 1-86\n",
    ],
)
def test_blank_line_after_an_abstract_does_not_end_the_record(text: str) -> None:
    result = import_bytes(text.encode(), source="cnki")
    assert result.issues == []
    (rec,) = result.records
    assert (rec.abstract, rec.pages) == ("目的 一。 方法 二。", "1-86")
