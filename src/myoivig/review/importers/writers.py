"""Write records in the line-tagged formats the importers read (RIS, Refer, RefWorks, CNKI).

Each writer produces the real format as the exporters write it (tag layout, record separators,
CNKI's joined author lines and lower-case 'vo'), so a reviewer can hand records to a reference
manager, and the importers can be checked by writing and reading back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from myoivig.review.records import BibRecord

Line = tuple[str, str | None]


def _names(record: BibRecord, role: str) -> list[str]:
    return [c.name for c in record.contributors if c.role == role]


def _is_thesis(record: BibRecord) -> bool:
    return bool(_names(record, "supervisor"))


def _page_range(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    start, sep, end = pages.partition("-")
    return (start.strip(), end.strip() or None) if sep else (pages, None)


def _year(record: BibRecord) -> str | None:
    return str(record.year) if record.year is not None else None


def _render(lines: Iterable[Line], layout: Callable[[str, str], str]) -> list[str]:
    return [layout(tag, value) for tag, value in lines if value]


def write_ris(records: list[BibRecord]) -> str:
    """RIS: 'TAG  - value', TY opens and 'ER  - ' closes each record."""
    out: list[str] = []
    for rec in records:
        start, end = _page_range(rec.pages)
        lines: list[Line] = [("TY", "THES" if _is_thesis(rec) else "JOUR"), ("TI", rec.title)]
        lines += [("AU", a) for a in rec.authors]
        lines += [("A2", s) for s in _names(rec, "supervisor")]
        lines += [("ED", e) for e in _names(rec, "editor")]
        lines += [("A4", t) for t in _names(rec, "translator")]
        lines += [("PY", _year(rec)), ("T2", rec.journal), ("SN", rec.issn)]
        lines += [("VL", rec.volume), ("IS", rec.issue), ("SP", start), ("EP", end)]
        lines += [("DO", rec.doi), ("AB", rec.abstract)]
        if rec.pmid:
            lines += [("AN", rec.pmid), ("DB", "PubMed")]
        out += _render(lines, lambda t, v: f"{t}  - {v}")
        out += ["ER  - ", ""]
    return "\n".join(out)


def write_refer(records: list[BibRecord]) -> str:
    """EndNote tagged (Refer): '%X value' lines, a blank line between records."""
    out: list[str] = []
    for rec in records:
        thesis = _is_thesis(rec)
        lines: list[Line] = [("%0", "Thesis" if thesis else "Journal Article")]
        lines += [("%A", a) for a in rec.authors]
        # EndNote's thesis type labels the secondary author (%E) "Advisor".
        lines += [("%E", s) for s in _names(rec, "supervisor")]
        lines += [("%Y" if thesis else "%E", e) for e in _names(rec, "editor")]
        lines += [("%?", t) for t in _names(rec, "translator")]
        lines += [("%T", rec.title), ("%J", rec.journal), ("%D", _year(rec))]
        lines += [("%V", rec.volume), ("%N", rec.issue), ("%P", rec.pages), ("%@", rec.issn)]
        lines += [("%R", rec.doi), ("%X", rec.abstract)]
        if rec.pmid:
            lines += [("%M", rec.pmid), ("%W", "PubMed")]
        out += _render(lines, lambda t, v: f"{t} {v}")
        out.append("")
    return "\n".join(out)


def write_refworks(records: list[BibRecord]) -> str:
    """Generic RefWorks tagged: one author per A1 line, SP start page and OP the end page."""
    out: list[str] = []
    for rec in records:
        thesis = _is_thesis(rec)
        start, end = _page_range(rec.pages)
        lines: list[Line] = [("RT", "Dissertation/Thesis" if thesis else "Journal Article")]
        lines += [("A1", a) for a in rec.authors]
        lines += [("A2", s) for s in _names(rec, "supervisor")]
        lines += [("A6" if thesis else "A2", e) for e in _names(rec, "editor")]
        lines += [("A4", c) for c in _names(rec, "contributor")]
        lines += [("T1", rec.title), ("JF", rec.journal), ("YR", _year(rec))]
        lines += [("VO", rec.volume), ("IS", rec.issue), ("SP", start), ("OP", end)]
        lines += [("SN", rec.issn), ("DO", rec.doi), ("AB", rec.abstract)]
        if rec.pmid:
            lines += [("AN", rec.pmid), ("DB", "PubMed")]
        out += _render(lines, lambda t, v: f"{t} {v}")
        out.append("")
    return "\n".join(out)


def write_cnki_refworks(records: list[BibRecord], compact_authors: bool = False) -> str:
    """RefWorks as CNKI writes it: authors on one ';'-joined line, 'vo' volume, OP page range.

    `compact_authors` writes 'A1林行众' with no space after the tag, as CNKI thesis and conference
    records do.
    """
    out: list[str] = []
    for rec in records:
        thesis = _is_thesis(rec)
        lines: list[Line] = [("RT", "Dissertation/Thesis" if thesis else "Journal Article")]
        lines += [("SR", "1"), ("A1", ";".join(rec.authors) if rec.authors else None)]
        lines += [("A3", ";".join(_names(rec, "supervisor")) or None)]
        lines += [("A2", ";".join(_names(rec, "editor")) or None)]
        lines += [("T1", rec.title), ("JF", rec.journal), ("YR", _year(rec))]
        lines += [("IS", rec.issue), ("vo", rec.volume), ("OP", rec.pages)]
        lines += [("AB", rec.abstract), ("SN", rec.issn), ("DO", rec.doi), ("DS", "CNKI")]
        for tag, value in lines:
            if value:
                sep = "" if compact_authors and tag in {"A1", "A3"} else " "
                out.append(f"{tag}{sep}{value}")
        out.append("")
    return "\n".join(out)


def write_noteexpress(records: list[BibRecord]) -> str:
    """NoteExpress: '{Field}: value' lines, authors joined by ';', a blank line between records."""
    out: list[str] = []
    for rec in records:
        thesis = _is_thesis(rec)
        start = "Thesis" if thesis else "Journal Article"

        def joined(names: list[str]) -> str | None:
            return ";".join(names) + ";" if names else None

        lines: list[Line] = [("Reference Type", start), ("Title", rec.title)]
        lines += [("Author", joined(rec.authors))]
        lines += [("Secondary Author", joined(_names(rec, "supervisor")))]
        lines += [("Editor", joined(_names(rec, "editor")))]
        lines += [("Subsidiary Author", joined(_names(rec, "translator")))]
        lines += [("Journal", rec.journal), ("Year", _year(rec)), ("Volume", rec.volume)]
        lines += [("Issue", rec.issue), ("Pages", rec.pages), ("ISBN/ISSN", rec.issn)]
        lines += [("DOI", rec.doi), ("Abstract", rec.abstract)]
        if rec.pmid:
            lines += [("Accession Number", rec.pmid), ("Database Provider", "PubMed")]
        out += _render(lines, lambda t, v: f"{{{t}}}: {v}")
        out.append("")
    return "\n".join(out)


def write_estudy(records: list[BibRecord]) -> str:
    """CNKI E-Study: 'DataType: 1' (2 for a thesis) then bilingual 'Key-键: value' lines.

    E-Study has no PubMed identifier, editor or translator fields; those are not written.
    """
    out: list[str] = []
    for rec in records:
        thesis = _is_thesis(rec)
        lines: list[Line] = [("DataType", "2" if thesis else "1"), ("Title-题名", rec.title)]
        lines += [("Author-作者", ";".join(rec.authors) + ";" if rec.authors else None)]
        supervisors = _names(rec, "supervisor")
        lines += [("Contributor-导师", ";".join(supervisors) + ";" if supervisors else None)]
        lines += [("Source-刊名", rec.journal), ("Year-年", _year(rec))]
        lines += [("Roll-卷", rec.volume), ("Period-期", rec.issue), ("Page-页码", rec.pages)]
        lines += [("ISSN-ISSN", rec.issn), ("DOI-DOI", rec.doi), ("Summary-摘要", rec.abstract)]
        lines += [("SrcDatabase-来源库", "硕士" if thesis else "期刊")]
        out += _render(lines, lambda t, v: f"{t}: {v}")
        out.append("")
    return "\n".join(out)


WRITERS: dict[str, Callable[[list[BibRecord]], str]] = {
    "ris": write_ris,
    "endnote_tagged": write_refer,
    "refworks": write_refworks,
    "cnki_refworks": write_cnki_refworks,
    "cnki_noteexpress": write_noteexpress,
    "cnki_estudy": write_estudy,
}


def export_records(records: list[BibRecord], fmt: str) -> str:
    """Records as text in one of the tagged formats (see WRITERS)."""
    if fmt not in WRITERS:
        raise ValueError(f"cannot write format {fmt!r}; writable: {sorted(WRITERS)}")
    return WRITERS[fmt](records)
