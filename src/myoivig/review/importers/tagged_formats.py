"""Field mapping for the line-tagged formats (RIS, MEDLINE, EndNote tagged, RefWorks, NoteExpress).

Tag meanings follow the references summarised in research/systematic_review.md §4.2-4.6 (rispy
default map, MEDLINE element list, EndNote tag table, Zotero's CNKI translator, cnki2bib).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from myoivig.review.importers.fields import (
    clean_doi,
    clean_text,
    expand_pages,
    join_pages,
    parse_year,
    split_authors,
    split_keywords,
    unusable,
    with_groups,
)
from myoivig.review.importers.tagged import (
    ESTUDY,
    MEDLINE,
    NOTEEXPRESS,
    REFER,
    REFWORKS,
    RIS,
    RawRecord,
    TagSyntax,
    split_tagged,
)
from myoivig.review.records import BibRecord, ImportIssue

Mapper = Callable[[RawRecord], dict[str, object]]


def _ris(raw: RawRecord) -> dict[str, object]:
    start, end = raw.first("SP"), raw.first("EP")
    return {
        "title": raw.first("TI", "T1", "CT", "BT"),
        "authors": split_authors(raw.all("AU", "A1")),
        "year": parse_year(raw.first("PY", "Y1", "DA")),
        "journal": raw.first("T2", "JO", "JF", "JA", "J2", "J1"),
        "issn": raw.first("SN"),
        "volume": raw.first("VL"),
        "issue": raw.first("IS"),
        "pages": join_pages(start, end),
        "doi": clean_doi(raw.first("DO")) or clean_doi(" ".join(raw.all("UR", "L3", "M3"))),
        "pmid": _pmid_from(raw.all("AN", "C2")) if _from_pubmed(raw) else None,
        "abstract": clean_text(raw.first("AB", "N2")),
        "language": raw.first("LA"),
        "keywords": raw.all("KW"),
        "publication_types": [t for t in [raw.first("TY")] if t],
    }


def _from_pubmed(raw: RawRecord) -> bool:
    """RIS accession numbers are PMIDs only when the database says PubMed/MEDLINE."""
    provider = " ".join(raw.all("DB", "DP")).lower()
    return "pubmed" in provider or "medline" in provider


def _pmid_from(values: list[str]) -> str | None:
    for value in values:
        digits = value.strip()
        if digits.isdigit() and 1 <= len(digits) <= 9:
            return digits
    return None


def _medline(raw: RawRecord) -> dict[str, object]:
    doi = None
    for aid in raw.all("AID", "LID"):
        if aid.endswith("[doi]"):
            doi = clean_doi(aid)
            break
    # Authors in file order: FAU (or AU in old records) for people, CN for groups, which MEDLINE
    # places where the group stands in the by-line.
    person_tag = "FAU" if raw.all("FAU") else "AU"
    named = raw.in_order(person_tag, "CN")
    return {
        "title": raw.first("TI", "BTI") or raw.first("TT"),
        "authors": [name for _, name in named],
        "group_authors": [name for tag, name in named if tag == "CN"],
        "year": parse_year(raw.first("DP")),
        # A book chapter (MEDLINE book records: TI chapter, BTI book) has the book as container.
        "journal": raw.first("JT", "TA") or (raw.first("BTI") if raw.first("TI") else None),
        # ERIC writes 'ISSN- ISSN-0148-4834' instead of PubMed's IS.
        "issn": raw.first("IS") or _eric_issn(raw.first("ISSN")),
        "volume": raw.first("VI"),
        "issue": raw.first("IP"),
        "pages": expand_pages(raw.first("PG")) or _article_number(raw.all("LID", "AID")),
        "doi": doi,
        "pmid": raw.first("PMID"),
        "abstract": clean_text(raw.first("AB")),
        "language": raw.first("LA"),
        "keywords": [m.replace("*", "") for m in raw.all("MH")] + raw.all("OT"),
        "publication_types": _medline_book_kind(raw) + raw.all("PT"),
    }


def _medline_book_kind(raw: RawRecord) -> list[str]:
    """MEDLINE book records (BTI) are a 'Book Chapter' (with TI) or a whole 'Book', as for
    PubMed XML book articles; their editors (ED/FED) are not authors and stay in `raw`."""
    if not raw.first("BTI"):
        return []
    kind = "Book Chapter" if raw.first("TI") else "Book"
    return [] if kind in raw.all("PT") else [kind]


def _eric_issn(value: str | None) -> str | None:
    return re.sub(r"^E?ISSN-", "", value) if value else None


def _article_number(ids: list[str]) -> str | None:
    """Location of an e-only article without PG: the article number MEDLINE gives as
    'LID - e0218765' or 'AID - 5012 [pii]' (a publisher item id such as
    'S0002-9343(17)30001-2' is not a location and is skipped)."""
    for value in ids:
        number = re.sub(r"\s*\[pii\]$", "", value).strip()
        if re.fullmatch(r"[A-Za-z]{0,2}\d{1,10}", number):
            return number
    return None


def _refer(raw: RawRecord) -> dict[str, object]:
    return {
        "title": raw.first("%T"),
        "authors": split_authors(raw.all("%A")),
        "year": parse_year(raw.first("%D", "%8")),
        "journal": raw.first("%J", "%B"),
        "issn": raw.first("%@"),
        "volume": raw.first("%V"),
        "issue": raw.first("%N"),
        "pages": raw.first("%P"),
        "doi": clean_doi(raw.first("%R")),
        "pmid": None,
        "abstract": clean_text(raw.first("%X")),
        "language": raw.first("%G"),
        "keywords": split_keywords(raw.all("%K")),
        "publication_types": [t for t in [raw.first("%0")] if t],
    }


def _refworks(raw: RawRecord) -> dict[str, object]:
    return {
        "title": raw.first("T1"),
        "authors": split_authors(raw.all("A1", "A2", "A3", "A4", "U2")),
        "year": parse_year(raw.first("YR", "FD")),
        "journal": raw.first("JF", "JO", "T2"),
        "issn": raw.first("SN"),
        # CNKI emits the volume under a lower-case 'vo' tag (Zotero CNKI translator).
        "volume": raw.first("VO", "vo"),
        "issue": raw.first("IS"),
        "pages": join_pages(raw.first("OP", "SP"), raw.first("EP")),
        "doi": clean_doi(raw.first("DO")),
        "pmid": None,
        "abstract": clean_text(raw.first("AB")),
        "language": raw.first("LA"),
        "keywords": split_keywords(raw.all("K1")),
        "publication_types": [t for t in [raw.first("RT")] if t],
    }


def _noteexpress(raw: RawRecord) -> dict[str, object]:
    return {
        "title": raw.first("Title"),
        "authors": split_authors(raw.all("Author")),
        "year": parse_year(raw.first("Year")),
        "journal": raw.first("Journal", "Secondary Title"),
        "issn": raw.first("ISBN/ISSN"),
        "volume": raw.first("Volume"),
        "issue": raw.first("Issue"),
        "pages": raw.first("Pages"),
        "doi": clean_doi(raw.first("DOI")),
        "pmid": None,
        "abstract": clean_text(raw.first("Abstract")),
        "language": raw.first("Language"),
        "keywords": split_keywords(raw.all("Keywords")),
        "publication_types": [t for t in [raw.first("Reference Type")] if t],
    }


def _estudy_field(raw: RawRecord, english: str) -> str | None:
    """Value of a bilingual E-Study key by its English part ('Title' for 'Title-题名')."""
    for tag in raw.fields:
        if tag.split("-", 1)[0] == english:
            value = raw.first(tag)
            if value:
                return value
    return None


def _estudy(raw: RawRecord) -> dict[str, object]:
    # If Year is empty, the year part of PubTime is used (mrhelper's CNKI notes).
    year = parse_year(_estudy_field(raw, "Year")) or parse_year(_estudy_field(raw, "PubTime"))
    return {
        "title": _estudy_field(raw, "Title"),
        "authors": split_authors([_estudy_field(raw, "Author") or ""]),
        "year": year,
        "journal": _estudy_field(raw, "Source"),
        "issn": _estudy_field(raw, "ISSN"),
        "volume": _estudy_field(raw, "Roll"),
        "issue": _estudy_field(raw, "Period"),
        "pages": _estudy_field(raw, "Page"),
        "doi": clean_doi(_estudy_field(raw, "DOI")),
        "pmid": None,
        "abstract": clean_text(_estudy_field(raw, "Summary")),
        "language": None,
        "keywords": split_keywords([_estudy_field(raw, "Keyword") or ""]),
        "publication_types": [t for t in [_estudy_field(raw, "SrcDatabase")] if t],
    }


FORMATS: dict[str, tuple[TagSyntax, Mapper]] = {
    "ris": (RIS, _ris),
    "medline": (MEDLINE, _medline),
    "endnote_tagged": (REFER, _refer),
    "cnki_endnote": (REFER, _refer),
    "cnki_refworks": (REFWORKS, _refworks),
    "cnki_noteexpress": (NOTEEXPRESS, _noteexpress),
    "cnki_estudy": (ESTUDY, _estudy),
}


def parse_tagged(
    text: str, fmt: str, source: str, id_prefix: str
) -> tuple[list[BibRecord], list[ImportIssue]]:
    """Parse a tagged export into records and issues (malformed records by position)."""
    syntax, mapper = FORMATS[fmt]
    raws, stray = split_tagged(text, syntax)
    records: list[BibRecord] = []
    issues = [ImportIssue(position=0, reason=f"line {n}: {why}") for n, why in stray]
    for raw in raws:
        excerpt = " | ".join(f"{k} {v[0][:40]}" for k, v in list(raw.fields.items())[:3])
        if raw.problems:
            issues.append(
                ImportIssue(
                    position=raw.position,
                    reason=f"record starting line {raw.line}: " + "; ".join(raw.problems),
                    excerpt=excerpt,
                )
            )
            continue
        values = with_groups(mapper(raw))
        refused = unusable(values)
        if refused:
            issues.append(
                ImportIssue(
                    position=raw.position,
                    reason=f"record starting line {raw.line}: {refused}",
                    excerpt=excerpt,
                )
            )
            continue
        records.append(
            BibRecord.model_validate(
                {
                    **values,
                    "record_id": f"{id_prefix}{raw.position}",
                    "source": source,
                    "source_format": fmt,
                    "position": raw.position,
                    "raw": raw.fields,
                }
            )
        )
    return records, issues
