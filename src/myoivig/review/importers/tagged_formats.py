"""Field mapping for the line-tagged formats (RIS, MEDLINE, EndNote tagged, RefWorks, NoteExpress).

Tag meanings follow the public format descriptions: the RIS tag list (Research Information
Systems; rispy's default map), NLM's MEDLINE element list, EndNote's tag table for EndNote tagged /
Refer, Ex Libris' "RefWorks Tagged Format" page, and for CNKI's dialects Zotero's CNKI translator
and cnki2bib (NoteExpress).
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
from myoivig.review.records import BibRecord, Contributor, ImportIssue

Mapper = Callable[[RawRecord], dict[str, object]]
# Tag -> role; "author" goes to `authors`, the rest to `contributors`.
Roles = list[tuple[str, str]]


def _people(raw: RawRecord, roles: Roles) -> dict[str, object]:
    """Authors and other contributors from the role tags, each kept in file order."""
    authors: list[str] = []
    contributors: list[Contributor] = []
    for tag, role in roles:
        names = split_authors(raw.all(tag))
        if role == "author":
            authors.extend(names)
        else:
            contributors.extend(
                Contributor.model_validate({"name": name, "role": role}) for name in names
            )
    return {"authors": authors, "contributors": contributors}


def _is_thesis(kind: str | None) -> bool:
    """Theses name their supervisors where other works name editors (EndNote 'Advisor')."""
    text = (kind or "").lower()
    return any(word in text for word in ("thes", "dissert", "学位", "博士", "硕士"))


def _year(raw: RawRecord, *tags: str) -> int | None:
    """First tag, in the given order of authority, that holds a plausible year."""
    for tag in tags:
        for value in raw.all(tag):
            year = parse_year(value)
            if year is not None:
                return year
    return None


def _text(raw: RawRecord, *tags: str) -> str | None:
    """A free-text field given in several lines of the same tag (long thesis abstracts) joined."""
    for tag in tags:
        values = raw.all(tag)
        if values:
            return clean_text(" ".join(values))
    return None


def _pmid_if_pubmed(
    raw: RawRecord, id_tags: tuple[str, ...], db_tags: tuple[str, ...]
) -> str | None:
    """Accession numbers are PMIDs only when the record says it came from PubMed/MEDLINE."""
    provider = " ".join(raw.all(*db_tags)).lower()
    if "pubmed" in provider or "medline" in provider:
        return _pmid_from(raw.all(*id_tags))
    return None


def _ris(raw: RawRecord) -> dict[str, object]:
    start, end = raw.first("SP"), raw.first("EP")
    thesis = _is_thesis(raw.first("TY"))
    second = "supervisor" if thesis else "editor"
    people = _people(
        raw,
        [
            ("AU", "author"),
            ("A1", "author"),
            ("A2", second),
            ("ED", "editor"),
            ("A3", second),
            ("A4", "translator"),
        ],
    )
    return {
        "title": raw.first("TI", "T1", "CT", "BT"),
        **people,
        # PY is the publication year and DA the date; Y1 is the legacy primary date some exporters
        # fill with a placeholder, so it is used last.
        "year": _year(raw, "PY", "DA", "Y1"),
        "journal": raw.first("T2", "JO", "JF", "JA", "J2", "J1"),
        "issn": raw.first("SN"),
        "volume": raw.first("VL"),
        "issue": raw.first("IS"),
        "pages": join_pages(start, end),
        "doi": clean_doi(raw.first("DO")) or clean_doi(" ".join(raw.all("UR", "L3", "M3"))),
        "pmid": _pmid_if_pubmed(raw, ("AN", "C2"), ("DB", "DP")),
        "abstract": _text(raw, "AB", "N2"),
        "language": raw.first("LA"),
        "keywords": raw.all("KW"),
        "publication_types": [t for t in [raw.first("TY")] if t],
    }


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
        # Book records name their editors under FED (full) / ED.
        "contributors": [
            Contributor(name=name, role="editor") for name in raw.all("FED") or raw.all("ED")
        ],
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
    # EndNote: %E is the secondary author (editor; "Advisor" for a thesis), %Y the tertiary
    # (series editor), %? the translator.
    second = "supervisor" if _is_thesis(raw.first("%0", "%9")) else "editor"
    people = _people(
        raw, [("%A", "author"), ("%E", second), ("%Y", "editor"), ("%?", "translator")]
    )
    return {
        "title": raw.first("%T"),
        **people,
        "year": _year(raw, "%D", "%8"),
        "journal": raw.first("%J", "%B"),
        "issn": raw.first("%@"),
        "volume": raw.first("%V"),
        "issue": raw.first("%N"),
        "pages": raw.first("%P"),
        "doi": clean_doi(raw.first("%R")),
        "pmid": _pmid_if_pubmed(raw, ("%M",), ("%W", "%~")),
        "abstract": _text(raw, "%X"),
        "language": raw.first("%G"),
        "keywords": split_keywords(raw.all("%K")),
        "publication_types": [t for t in [raw.first("%0")] if t],
    }


def _is_range(pages: str) -> bool:
    return bool(re.search(r"\w\s*[-–—~～]\s*\w", pages))


def refworks_pages(start: str | None, other: str | None, end: str | None) -> str | None:
    """RefWorks: SP is the start page and OP the "other pages", i.e. the end page.

    CNKI writes the whole range under OP and Wanfang under SP; a range is taken as it is.
    """
    for value in (start, other):
        if value and _is_range(value):
            return value
    return join_pages(start, other or end) if start else (other or end)


def _refworks(raw: RawRecord) -> dict[str, object]:
    # A1 primary authors; A2 secondary (editors), A3 tertiary (series editors), A6 website
    # editors. CNKI thesis records name the supervisors under A2/A3 (Zotero's CNKI translator
    # makes every creator after the first of a thesis a contributor).
    second = "supervisor" if _is_thesis(raw.first("RT")) else "editor"
    people = _people(
        raw,
        [
            ("A1", "author"),
            ("U2", "author"),
            ("A2", second),
            ("A3", second),
            ("A4", "contributor"),
            ("A5", "contributor"),
            ("A6", "editor"),
        ],
    )
    return {
        "title": raw.first("T1"),
        **people,
        "year": _year(raw, "YR", "FD"),
        "journal": raw.first("JF", "JO", "T2"),
        "issn": raw.first("SN"),
        # CNKI emits the volume under a lower-case 'vo' tag (Zotero CNKI translator).
        "volume": raw.first("VO", "vo"),
        "issue": raw.first("IS"),
        "pages": refworks_pages(raw.first("SP"), raw.first("OP"), raw.first("EP")),
        "doi": clean_doi(raw.first("DO")),
        "pmid": _pmid_if_pubmed(raw, ("AN",), ("DB", "DS")),
        "abstract": _text(raw, "AB"),
        "language": raw.first("LA"),
        "keywords": split_keywords(raw.all("K1")),
        "publication_types": [t for t in [raw.first("RT")] if t],
    }


def _noteexpress(raw: RawRecord) -> dict[str, object]:
    second = "supervisor" if _is_thesis(raw.first("Reference Type")) else "editor"
    people = _people(
        raw,
        [
            ("Author", "author"),
            ("Secondary Author", second),
            ("Tertiary Author", second),
            ("Editor", "editor"),
            ("Subsidiary Author", "translator"),
        ],
    )
    return {
        "title": raw.first("Title"),
        **people,
        "year": _year(raw, "Year", "Date"),
        "journal": raw.first("Journal", "Secondary Title"),
        "issn": raw.first("ISBN/ISSN"),
        "volume": raw.first("Volume"),
        "issue": raw.first("Issue"),
        "pages": raw.first("Pages"),
        "doi": clean_doi(raw.first("DOI")),
        "pmid": _pmid_from(raw.all("PMID"))
        or _pmid_if_pubmed(raw, ("Accession Number",), ("Database Provider",)),
        "abstract": _text(raw, "Abstract"),
        "language": raw.first("Language"),
        "keywords": split_keywords(raw.all("Keywords")),
        "publication_types": [t for t in [raw.first("Reference Type")] if t],
    }


def _estudy_field(raw: RawRecord, english: str, chinese: str = "") -> str | None:
    """Value of a bilingual E-Study key by its English part ('Title' for 'Title-题名'), or by
    its Chinese part when given ('导师')."""
    for tag in raw.fields:
        parts = tag.split("-", 1)
        if parts[0] == english or (chinese and parts[-1] == chinese):
            value = " ".join(raw.all(tag))
            if value:
                return value
    return None


def _estudy(raw: RawRecord) -> dict[str, object]:
    # If Year is empty, the year part of PubTime is used (mrhelper's CNKI notes).
    year = parse_year(_estudy_field(raw, "Year")) or parse_year(_estudy_field(raw, "PubTime"))
    supervisors = split_authors([_estudy_field(raw, "Contributor", "导师") or ""])
    return {
        "title": _estudy_field(raw, "Title"),
        "authors": split_authors([_estudy_field(raw, "Author") or ""]),
        "contributors": [Contributor(name=n, role="supervisor") for n in supervisors],
        "year": year,
        # A thesis's 'Source-学位授予单位' is the degree-granting university, not a journal (the
        # other formats put it under publisher); it stays in `raw`.
        "journal": None if "Source-学位授予单位" in raw.fields else _estudy_field(raw, "Source"),
        "issn": _estudy_field(raw, "ISSN"),
        "volume": _estudy_field(raw, "Roll") or _estudy_field(raw, "Volume", "卷"),
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
    "refworks": (REFWORKS, _refworks),
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
