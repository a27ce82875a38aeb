"""Writers of the real export formats, for round-trip tests: a record written as MEDLINE/.nbib,
PubMed XML, EndNote XML or a Scopus-style CSV must read back with the same fields.

They write what the exporters write: MEDLINE abbreviates the last page ('1092-7') and wraps long
values onto lines indented by six spaces; PubMed XML puts an e-only article's number in
ELocationID; EndNote marks a corporate author with a trailing comma.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap

from lxml import etree

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


def write_medline(records: list[BibRecord]) -> str:
    blocks = []
    for r in records:
        lines: list[str] = []
        if r.pmid:
            lines += _tag("PMID", r.pmid)
        lines += _tag("OWN", "NLM")
        if r.volume:
            lines += _tag("VI", r.volume)
        if r.issue:
            lines += _tag("IP", r.issue)
        if r.year:
            lines += _tag("DP", f"{r.year} Mar")
        if r.title:
            lines += _tag("TI", r.title)
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
            lines += _tag("AU", f"{last} {fore[0]}" if fore else last)
        lines += _tag("LA", "eng")
        lines += _tag("PT", "Journal Article")
        if r.journal:
            lines += _tag("JT", r.journal)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# -- PubMed XML --------------------------------------------------------------------------------


def write_pubmed_xml(records: list[BibRecord]) -> bytes:
    root = E("PubmedArticleSet")
    for r in records:
        art = Sub(root, "PubmedArticle")
        cit = Sub(art, "MedlineCitation", Status="MEDLINE", Owner="NLM")
        if r.pmid:
            Sub(cit, "PMID", Version="1").text = r.pmid
        article = Sub(cit, "Article", PubModel="Print")
        journal = Sub(article, "Journal")
        issue = Sub(journal, "JournalIssue", CitedMedium="Print")
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
        Sub(article, "Language").text = "eng"
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


def write_endnote_xml(records: list[BibRecord]) -> bytes:
    root = E("xml")
    recs = Sub(root, "records")
    for n, r in enumerate(records, start=1):
        rec = Sub(recs, "record")
        Sub(rec, "rec-number").text = str(n)
        Sub(rec, "ref-type", name="Journal Article").text = "17"
        authors = Sub(Sub(rec, "contributors"), "authors")
        for name in r.authors:
            _styled(authors, "author", f"{name}," if r.is_group(name) else name)
        titles = Sub(rec, "titles")
        if r.title:
            _styled(titles, "title", r.title)
        if r.journal:
            _styled(titles, "secondary-title", r.journal)
            _styled(Sub(rec, "periodical"), "full-title", r.journal)
        for tag, value in (("pages", r.pages), ("volume", r.volume), ("number", r.issue)):
            if value:
                _styled(rec, tag, value)
        if r.year:
            _styled(Sub(rec, "dates"), "year", str(r.year))
        if r.doi:
            _styled(rec, "electronic-resource-num", r.doi)
        if r.pmid:
            _styled(rec, "accession-num", r.pmid)
        if r.abstract:
            _styled(rec, "abstract", r.abstract)
        _styled(rec, "remote-database-name", "PubMed")
        _styled(rec, "remote-database-provider", "NLM")
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
