"""Export records as MEDLINE/.nbib, PubMed XML, EndNote XML or Scopus-style CSV, for reference
managers and other review tools; the importers read every one of them back field for field
(title, authors with groups, year, journal, volume, issue, pages, DOI, PMID, abstract).

They write what the databases' own exporters write: MEDLINE abbreviates the last page ('1092-7')
and wraps long values onto lines indented by six spaces; PubMed XML puts an e-only article's
number in ELocationID; EndNote marks a corporate author with a trailing comma.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
from collections.abc import Callable

from lxml import etree

from myoivig.review.importers.writers import LAYOUTS as TAGGED_LAYOUTS
from myoivig.review.importers.writers import export_records as export_tagged
from myoivig.review.names import ExportFormatError
from myoivig.review.records import BibRecord

E = etree.Element
Sub = etree.SubElement


def abbreviate_pages(pages: str) -> str:
    """'1092-1097' -> '1092-7', as MEDLINE prints page ranges."""
    match = re.fullmatch(r"(\d+)-(\d+)", pages)
    if not match or len(match.group(1)) != len(match.group(2)):
        return pages
    start, end = match.groups()
    common = 0
    while common < len(start) - 1 and start[common] == end[common]:
        common += 1
    return f"{start}-{end[common:]}"


def is_e_location(pages: str | None) -> bool:
    return bool(pages and re.fullmatch(r"e\d+", pages))


def _person_parts(name: str) -> tuple[str, str | None]:
    last, sep, fore = name.partition(", ")
    return (last, fore) if sep else (name, None)


# -- MEDLINE -----------------------------------------------------------------------------------


def _tag(tag: str, value: str) -> list[str]:
    lines = textwrap.wrap(value, width=82, break_long_words=False, break_on_hyphens=False)
    head = f"{tag:<4}- "
    return [head + lines[0], *("      " + line for line in lines[1:])]


def _initials(fore: str) -> str:
    """'Jean Charles' -> 'JC', 'J C' -> 'JC' (MEDLINE's AU form)."""
    return "".join(part[0] for part in fore.replace("-", " ").split())


def is_book_chapter(record: BibRecord) -> bool:
    return "Book Chapter" in record.publication_types


def write_medline(records: list[BibRecord]) -> str:
    """MEDLINE/.nbib. A record without a PMID opens with `OWN - <source>`, as ERIC's records
    open with `OWN - ERIC`; only what the record holds is written (no invented month, owner,
    language or publication type)."""
    blocks = []
    for r in records:
        lines: list[str] = _tag("PMID", r.pmid) if r.pmid else _tag("OWN", r.source)
        for tag, value in (("VI", r.volume), ("IP", r.issue), ("DP", r.year), ("TI", r.title)):
            if value:
                lines += _tag(tag, str(value))
        if r.pages and is_e_location(r.pages):
            lines += _tag("LID", r.pages)
        elif r.pages:
            lines += _tag("PG", abbreviate_pages(r.pages))
        if r.doi:
            lines += _tag("LID", f"{r.doi} [doi]")
        if r.abstract:
            lines += _tag("AB", r.abstract)
        for name in r.authors:
            if r.is_group(name):
                lines += _tag("CN", name)
                continue
            last, fore = _person_parts(name)
            lines += _tag("FAU", name)
            lines += _tag("AU", f"{last} {_initials(fore)}" if fore else last)
        for editor in (c.name for c in r.contributors if c.role == "editor"):
            last, fore = _person_parts(editor)
            lines += _tag("FED", editor)
            lines += _tag("ED", f"{last} {_initials(fore)}" if fore else last)
        if r.language:
            lines += _tag("LA", r.language)
        for kind in r.publication_types:
            lines += _tag("PT", kind)
        if r.journal:
            lines += _tag("BTI" if is_book_chapter(r) else "JT", r.journal)
        if r.issn:
            lines += _tag("IS", r.issn)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# -- PubMed XML --------------------------------------------------------------------------------


def write_pubmed_xml(records: list[BibRecord]) -> bytes:
    """PubMed XML (`PubmedArticleSet`). Book chapters are written as journal articles with the
    book as `Journal/Title`; attributes and elements the record cannot know (Status, Owner,
    PubModel, a missing Language) are left out rather than invented."""
    root = E("PubmedArticleSet")
    for r in records:
        art = Sub(root, "PubmedArticle")
        cit = Sub(art, "MedlineCitation")
        if r.pmid:
            Sub(cit, "PMID", Version="1").text = r.pmid
        article = Sub(cit, "Article")
        journal = Sub(article, "Journal")
        if r.issn:
            Sub(journal, "ISSN").text = r.issn
        issue = Sub(journal, "JournalIssue")
        if r.volume:
            Sub(issue, "Volume").text = r.volume
        if r.issue:
            Sub(issue, "Issue").text = r.issue
        date = Sub(issue, "PubDate")
        if r.year:
            Sub(date, "Year").text = str(r.year)
        if r.journal:
            Sub(journal, "Title").text = r.journal
        if r.title:
            Sub(article, "ArticleTitle").text = r.title
        if r.pages and is_e_location(r.pages):
            Sub(article, "ELocationID", EIdType="pii", ValidYN="Y").text = r.pages
        elif r.pages:
            Sub(Sub(article, "Pagination"), "MedlinePgn").text = abbreviate_pages(r.pages)
        if r.abstract:
            Sub(Sub(article, "Abstract"), "AbstractText").text = r.abstract
        if r.authors:
            authors = Sub(article, "AuthorList", CompleteYN="Y")
            for name in r.authors:
                author = Sub(authors, "Author", ValidYN="Y")
                if r.is_group(name):
                    Sub(author, "CollectiveName").text = name
                    continue
                last, fore = _person_parts(name)
                Sub(author, "LastName").text = last
                if fore:
                    Sub(author, "ForeName").text = fore
        if r.language:
            Sub(article, "Language").text = r.language
        if r.publication_types:
            kinds = Sub(article, "PublicationTypeList")
            for kind in r.publication_types:
                Sub(kinds, "PublicationType").text = kind
        data = Sub(art, "PubmedData")
        ids = Sub(data, "ArticleIdList")
        if r.pmid:
            Sub(ids, "ArticleId", IdType="pubmed").text = r.pmid
        if r.doi:
            Sub(ids, "ArticleId", IdType="doi").text = r.doi
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# -- EndNote XML -------------------------------------------------------------------------------


def _styled(parent: etree._Element, tag: str, text: str) -> None:
    Sub(Sub(parent, tag), "style", face="normal", font="default", size="100%").text = text


# EndNote reference types (name, number) as EndNote XML writes them in <ref-type>.
_REF_TYPES = {"Book Chapter": ("Book Section", "5"), "Book": ("Book", "6")}
_JOURNAL_ARTICLE = ("Journal Article", "17")


def write_endnote_xml(records: list[BibRecord]) -> bytes:
    """EndNote XML. A PMID goes into `accession-num` with PubMed named as the remote database,
    which is how EndNote marks an accession number as a PMID."""
    root = E("xml")
    recs = Sub(root, "records")
    for n, r in enumerate(records, start=1):
        rec = Sub(recs, "record")
        Sub(rec, "rec-number").text = str(n)
        kind = next((_REF_TYPES[k] for k in r.publication_types if k in _REF_TYPES), None)
        name, number = kind or _JOURNAL_ARTICLE
        Sub(rec, "ref-type", name=name).text = number
        contributors = Sub(rec, "contributors")
        authors = Sub(contributors, "authors")
        for author in r.authors:
            _styled(authors, "author", f"{author}," if r.is_group(author) else author)
        editors = [c.name for c in r.contributors if c.role == "editor"]
        if editors:
            secondary = Sub(contributors, "secondary-authors")
            for editor in editors:
                _styled(secondary, "author", editor)
        titles = Sub(rec, "titles")
        if r.title:
            _styled(titles, "title", r.title)
        if r.journal:
            _styled(titles, "secondary-title", r.journal)
            if kind is None:
                _styled(Sub(rec, "periodical"), "full-title", r.journal)
        for tag, value in (("pages", r.pages), ("volume", r.volume), ("number", r.issue)):
            if value:
                _styled(rec, tag, value)
        if r.year:
            _styled(Sub(rec, "dates"), "year", str(r.year))
        if r.issn:
            _styled(rec, "isbn", r.issn)
        if r.doi:
            _styled(rec, "electronic-resource-num", r.doi)
        if r.pmid:
            _styled(rec, "accession-num", r.pmid)
            _styled(rec, "remote-database-name", "PubMed")
            _styled(rec, "remote-database-provider", "NLM")
        if r.abstract:
            _styled(rec, "abstract", r.abstract)
        if r.language:
            _styled(rec, "language", r.language)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- CSV (Scopus columns) ----------------------------------------------------------------------

CSV_COLUMNS = [
    "Authors",
    "Title",
    "Year",
    "Source title",
    "Volume",
    "Issue",
    "Page start",
    "Page end",
    "DOI",
    "PubMed ID",
    "Abstract",
]


def write_csv(records: list[BibRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        start, _, end = (r.pages or "").partition("-")
        writer.writerow(
            [
                "; ".join(r.authors),
                r.title or "",
                r.year or "",
                r.journal or "",
                r.volume or "",
                r.issue or "",
                start,
                end,
                r.doi or "",
                r.pmid or "",
                r.abstract or "",
            ]
        )
    return "\ufeff" + out.getvalue()


WRITERS: dict[str, Callable[[list[BibRecord]], bytes]] = {
    "medline": lambda records: write_medline(records).encode("utf-8"),
    "pubmed_xml": write_pubmed_xml,
    "endnote_xml": write_endnote_xml,
    "csv": lambda records: write_csv(records).encode("utf-8"),
}
# The line-tagged formats (RIS, EndNote tagged, RefWorks, CNKI) are written by
# importers/writers.py; `review export` offers both sets, in UTF-8.
EXPORT_FORMATS = sorted({*WRITERS, *TAGGED_LAYOUTS})


def export_bytes(records: list[BibRecord], fmt: str) -> bytes:
    writer = WRITERS.get(fmt)
    if writer is not None:
        return writer(records)
    if fmt in TAGGED_LAYOUTS:
        return export_tagged(records, fmt).encode("utf-8")
    raise ExportFormatError(f"cannot export as {fmt!r}; formats: {EXPORT_FORMATS}")
