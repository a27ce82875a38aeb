"""Write records in the line-tagged formats the importers read (RIS, Refer, RefWorks, CNKI).

Each writer produces the real format as the exporters write it (tag layout, record separators,
CNKI's joined author lines and lower-case 'vo'), so a reviewer can hand records to a reference
manager, and the importers can be checked by writing and reading back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from myoivig.review.records import BibRecord

Line = tuple[str, str | None]


def _names(record: BibRecord, role: str) -> list[str]:
    return [c.name for c in record.contributors if c.role == role]


def _joined(names: list[str], end: str = "") -> str | None:
    """Names on one line as CNKI writes them ('田娟;高金生;')."""
    return ";".join(names) + end if names else None


def _is_thesis(record: BibRecord) -> bool:
    return bool(_names(record, "supervisor"))


def _page_range(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    start, sep, end = pages.partition("-")
    return (start.strip(), end.strip() or None) if sep else (pages, None)


def _year(record: BibRecord) -> str | None:
    return str(record.year) if record.year is not None else None


def _pubmed(record: BibRecord, id_tag: str, db_tag: str) -> list[Line]:
    """Accession number + database name: how tagged formats say 'this is a PMID'."""
    return [(id_tag, record.pmid), (db_tag, "PubMed")] if record.pmid else []


def _ris(rec: BibRecord) -> list[Line]:
    start, end = _page_range(rec.pages)
    return [
        ("TY", "THES" if _is_thesis(rec) else "JOUR"),
        ("TI", rec.title),
        *[("AU", a) for a in rec.authors],
        *[("A2", s) for s in _names(rec, "supervisor")],
        *[("ED", e) for e in _names(rec, "editor")],
        *[("A4", t) for t in _names(rec, "translator")],
        ("PY", _year(rec)),
        ("T2", rec.journal),
        ("SN", rec.issn),
        ("VL", rec.volume),
        ("IS", rec.issue),
        ("SP", start),
        ("EP", end),
        ("DO", rec.doi),
        ("AB", rec.abstract),
        *_pubmed(rec, "AN", "DB"),
        ("ER", ""),
    ]


def _refer(rec: BibRecord) -> list[Line]:
    thesis = _is_thesis(rec)
    return [
        ("%0", "Thesis" if thesis else "Journal Article"),
        *[("%A", a) for a in rec.authors],
        # EndNote's thesis type labels the secondary author (%E) "Advisor".
        *[("%E", s) for s in _names(rec, "supervisor")],
        *[("%Y" if thesis else "%E", e) for e in _names(rec, "editor")],
        *[("%?", t) for t in _names(rec, "translator")],
        ("%T", rec.title),
        ("%J", rec.journal),
        ("%D", _year(rec)),
        ("%V", rec.volume),
        ("%N", rec.issue),
        ("%P", rec.pages),
        ("%@", rec.issn),
        ("%R", rec.doi),
        ("%X", rec.abstract),
        *_pubmed(rec, "%M", "%W"),
    ]


def _refworks(rec: BibRecord) -> list[Line]:
    thesis = _is_thesis(rec)
    start, end = _page_range(rec.pages)
    return [
        ("RT", "Dissertation/Thesis" if thesis else "Journal Article"),
        *[("A1", a) for a in rec.authors],
        *[("A2", s) for s in _names(rec, "supervisor")],
        *[("A6" if thesis else "A2", e) for e in _names(rec, "editor")],
        *[("A4", c) for c in _names(rec, "contributor")],
        ("T1", rec.title),
        ("JF", rec.journal),
        ("YR", _year(rec)),
        ("VO", rec.volume),
        ("IS", rec.issue),
        ("SP", start),
        ("OP", end),  # RefWorks' "other pages": the end page
        ("SN", rec.issn),
        ("DO", rec.doi),
        ("AB", rec.abstract),
        *_pubmed(rec, "AN", "DB"),
    ]


def _cnki_refworks(rec: BibRecord) -> list[Line]:
    return [
        ("RT", "Dissertation/Thesis" if _is_thesis(rec) else "Journal Article"),
        ("SR", "1"),
        ("A1", _joined(rec.authors)),
        ("A3", _joined(_names(rec, "supervisor"))),
        ("A2", _joined(_names(rec, "editor"))),
        ("T1", rec.title),
        ("JF", rec.journal),
        ("YR", _year(rec)),
        ("IS", rec.issue),
        ("vo", rec.volume),
        ("OP", rec.pages),  # CNKI writes the whole range under OP
        ("AB", rec.abstract),
        ("SN", rec.issn),
        ("DO", rec.doi),
        ("DS", "CNKI"),
    ]


def _noteexpress(rec: BibRecord) -> list[Line]:
    return [
        ("Reference Type", "Thesis" if _is_thesis(rec) else "Journal Article"),
        ("Title", rec.title),
        ("Author", _joined(rec.authors, ";")),
        ("Secondary Author", _joined(_names(rec, "supervisor"), ";")),
        ("Editor", _joined(_names(rec, "editor"), ";")),
        ("Subsidiary Author", _joined(_names(rec, "translator"), ";")),
        ("Journal", rec.journal),
        ("Year", _year(rec)),
        ("Volume", rec.volume),
        ("Issue", rec.issue),
        ("Pages", rec.pages),
        ("ISBN/ISSN", rec.issn),
        ("DOI", rec.doi),
        ("Abstract", rec.abstract),
        *_pubmed(rec, "Accession Number", "Database Provider"),
    ]


def _estudy(rec: BibRecord) -> list[Line]:
    """E-Study has no PubMed identifier, editor or translator fields; those are not written."""
    thesis = _is_thesis(rec)
    return [
        ("DataType", "2" if thesis else "1"),
        ("Title-题名", rec.title),
        ("Author-作者", _joined(rec.authors, ";")),
        ("Contributor-导师", _joined(_names(rec, "supervisor"), ";")),
        ("Source-刊名", rec.journal),
        ("Year-年", _year(rec)),
        ("Roll-卷", rec.volume),
        ("Period-期", rec.issue),
        ("Page-页码", rec.pages),
        ("ISSN-ISSN", rec.issn),
        ("DOI-DOI", rec.doi),
        ("Summary-摘要", rec.abstract),
        ("SrcDatabase-来源库", "硕士" if thesis else "期刊"),
    ]


@dataclass(frozen=True)
class Layout:
    """How one format lays out a tag line; every record is followed by a blank line."""

    lines: Callable[[BibRecord], list[Line]]
    line: Callable[[str, str], str]


def _space(tag: str, value: str) -> str:
    return f"{tag} {value}"


LAYOUTS: dict[str, Layout] = {
    "ris": Layout(_ris, lambda tag, value: f"{tag}  - {value}"),
    "endnote_tagged": Layout(_refer, _space),
    "refworks": Layout(_refworks, _space),
    "cnki_refworks": Layout(_cnki_refworks, _space),
    # CNKI thesis and conference records write author tags without a space: 'A1林行众'.
    "cnki_refworks_compact": Layout(
        _cnki_refworks,
        lambda tag, value: f"{tag}{value}" if tag in {"A1", "A3"} else f"{tag} {value}",
    ),
    "cnki_noteexpress": Layout(_noteexpress, lambda tag, value: f"{{{tag}}}: {value}"),
    "cnki_estudy": Layout(_estudy, lambda tag, value: f"{tag}: {value}"),
}


def export_records(records: list[BibRecord], fmt: str) -> str:
    """Records as text in one of the tagged formats (see LAYOUTS)."""
    if fmt not in LAYOUTS:
        raise ValueError(f"cannot write format {fmt!r}; writable: {sorted(LAYOUTS)}")
    layout = LAYOUTS[fmt]
    out: list[str] = []
    for record in records:
        for tag, value in layout.lines(record):
            if value is not None and (value or tag == "ER"):
                out.append(layout.line(tag, value))
        out.append("")
    return "\n".join(out)
