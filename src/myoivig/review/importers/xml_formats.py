"""XML exports: PubMed XML (efetch), EndNote XML, and CNKI's NoteFirst XML.

Element names follow the PubMed DTD (PubmedArticleSet elements) and EndNote's XML export
(xml/records/record). NoteFirst's schema is not publicly documented; the parser matches element
names case-insensitively and keeps every leaf in `raw`, so an unexpected layout loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from myoivig.review.importers.fields import (
    clean_doi,
    clean_text,
    expand_pages,
    is_group_name,
    join_pages,
    parse_year,
    split_authors,
    split_keywords,
    unusable,
    with_groups,
)
from myoivig.review.records import BibRecord, Contributor, ImportIssue

if TYPE_CHECKING:  # lxml is imported only when an XML file is read
    from lxml import etree
    from lxml.etree import _Element


class XmlFormatError(ValueError):
    """The file is not well-formed XML or has the wrong root element."""


@dataclass
class XmlTree:
    """A parsed export; for a file that breaks off, only the records completed before the break.

    `complete` is None when the whole file is well-formed; otherwise it holds the record
    elements whose end tag was read, `cut` says where and why the file breaks, and `open_records`
    counts record elements that were started but cut off.
    """

    root: _Element
    complete: set[_Element] | None = None
    cut: str | None = None
    open_records: int = 0

    def usable(self, elements: list[_Element]) -> list[_Element]:
        if self.complete is None:
            return elements
        return [el for el in elements if el in self.complete]

    def cut_issues(self, seen: int) -> list[ImportIssue]:
        """One issue per record cut off by the break, numbered after the complete ones."""
        return [
            ImportIssue(position=seen + n, reason=f"record cut off: {self.cut}")
            for n in range(1, self.open_records + 1)
        ]


def _parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _parse(data: bytes, record_tags: frozenset[str] = frozenset()) -> XmlTree:
    """Parse the file; if it breaks off (a truncated download), keep the complete records.

    Records are atomic: a record element is used only if its end tag was read. A file with no
    complete record at all is refused as not well-formed.
    """
    from lxml import etree

    try:
        return XmlTree(etree.fromstring(data, parser=_parser()))
    except etree.XMLSyntaxError as exc:
        error = exc
    pull = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=True
    )
    try:
        pull.feed(data)
        pull.close()
    except etree.XMLSyntaxError as exc:
        error = exc
    root: _Element | None = None
    complete: set[_Element] = set()
    started = finished = 0
    wanted = {t.lower() for t in record_tags}
    for event, item in pull.read_events():
        if not isinstance(item, etree._Element):
            continue
        el = item
        if root is None:
            root = el
            continue
        tagged = _local(el).lower() in wanted
        if tagged or el.getparent() is root:
            # Children of the root count as records too, for formats matched loosely (NoteFirst).
            if event == "end":
                complete.add(el)
            if tagged or not wanted:
                started += event == "start"
                finished += event == "end"
    if root is None or not complete:
        raise XmlFormatError(f"not well-formed XML: {error}")
    message = re.sub(r",? line \d+, column \d+$", "", str(error.msg))
    cut = f"XML breaks off at line {error.lineno}, column {error.position[1]}: {message}"
    return XmlTree(root, complete, cut, max(0, started - finished))


def _local(el: _Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _text(el: _Element | None) -> str | None:
    if el is None:
        return None
    return clean_text("".join(str(t) for t in el.itertext()))


def _first_text(el: _Element, path: str) -> str | None:
    return _text(el.find(path))


def _raw_leaves(el: _Element) -> dict[str, list[str]]:
    """Every element with text, keyed by its path below the record (verbatim raw fields).

    Paths are built while walking down (not with getpath, which is linear in the number of
    siblings and made large files quadratic).
    """
    out: dict[str, list[str]] = {}

    def walk(node: _Element, prefix: str) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            path = f"{prefix}/{_local(child)}" if prefix else _local(child)
            if len(child) == 0 or _local(child) in {"title", "secondary-title", "full-title"}:
                text = "".join(str(t) for t in child.itertext()).strip()
                if text:
                    key = path + "".join(f"[@{n!s}={v!s}]" for n, v in child.attrib.items())
                    out.setdefault(key, []).append(text)
            if len(child):
                walk(child, path)

    walk(el, "")
    return out


def _record(values: dict[str, object], **meta: object) -> BibRecord:
    return BibRecord.model_validate({**values, **meta})


Parsed = tuple[list[BibRecord], list[ImportIssue], str | None]
"""Records, issues, and where the file breaks off (None when it is complete)."""

_PUBMED_RECORDS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_PUBMED_ROOTS = {"PubmedArticleSet", "PubmedBookArticleSet", *_PUBMED_RECORDS}


def parse_pubmed_xml(data: bytes, source: str, id_prefix: str) -> Parsed:
    """PubMed XML: journal articles and book articles (chapters or whole books, e.g. NCBI
    Bookshelf), in a `PubmedArticleSet` or a `PubmedBookArticleSet`."""
    tree = _parse(data, _PUBMED_RECORDS)
    root = tree.root
    if _local(root) not in _PUBMED_ROOTS:
        raise XmlFormatError(f"root element is <{_local(root)}>, expected <PubmedArticleSet>")
    articles = tree.usable([root] if _local(root) in _PUBMED_RECORDS else list(root))
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    for position, art in enumerate(articles, start=1):
        kind = _local(art)
        if kind == "PubmedArticle":
            values = _pubmed_article(art)
        elif kind == "PubmedBookArticle":
            values = _pubmed_book(art)
        else:
            issues.append(ImportIssue(position=position, reason=f"unsupported element <{kind}>"))
            continue
        if isinstance(values, str):
            issues.append(ImportIssue(position=position, reason=values))
            continue
        refused = unusable(values)
        if refused:
            excerpt = str(values.get("pmid") or "")
            issues.append(ImportIssue(position=position, reason=refused, excerpt=excerpt))
            continue
        records.append(
            _record(
                values,
                record_id=f"{id_prefix}{position}",
                source=source,
                source_format="pubmed_xml",
                position=position,
                raw=_raw_leaves(art),
            )
        )
    return records, issues + tree.cut_issues(len(articles)), tree.cut


def _pubmed_authors(author_list: list[_Element]) -> tuple[list[str], list[str]]:
    """(authors in order, the group authors among them) from <Author> elements."""
    authors: list[str] = []
    groups: list[str] = []
    for au in author_list:
        last, fore = _first_text(au, "LastName"), _first_text(au, "ForeName")
        coll = _first_text(au, "CollectiveName")
        if last:
            authors.append(f"{last}, {fore}" if fore else last)
        elif coll:
            authors.append(coll)
            groups.append(coll)
    return authors, groups


def _abstract(el: _Element | None) -> str | None:
    if el is None:
        return None
    parts = []
    for part in el.findall("AbstractText"):
        text = _text(part)
        if text:
            label = part.get("Label")
            parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts) or None


def _id_of(el: _Element | None, path: str, attr: str, kind: str) -> str | None:
    if el is None:
        return None
    for found in el.findall(path):
        if found.get(attr) == kind:
            text = _text(found)
            if text:
                return text
    return None


def _year(el: _Element | None) -> int | None:
    if el is None:
        return None
    return parse_year(_first_text(el, "Year")) or parse_year(_first_text(el, "MedlineDate"))


def _pages(el: _Element) -> str | None:
    """Pages from <Pagination>, else the article number of an e-only article (ELocationID)."""
    pages = expand_pages(_first_text(el, "Pagination/MedlinePgn")) or join_pages(
        _first_text(el, "Pagination/StartPage"), _first_text(el, "Pagination/EndPage")
    )
    return pages or _id_of(el, "ELocationID", "EIdType", "pii")


def _pubmed_article(art: _Element) -> dict[str, object] | str:
    cit = art.find("MedlineCitation")
    article = cit.find("Article") if cit is not None else None
    if article is None:
        return "no MedlineCitation/Article"
    authors, groups = _pubmed_authors(article.findall("AuthorList/Author"))
    doi = clean_doi(_id_of(art, "PubmedData/ArticleIdList/ArticleId", "IdType", "doi"))
    return {
        "title": _first_text(article, "ArticleTitle") or _first_text(article, "VernacularTitle"),
        "authors": authors,
        "group_authors": groups,
        "year": _year(article.find("Journal/JournalIssue/PubDate")),
        "journal": _first_text(article, "Journal/Title")
        or _first_text(article, "Journal/ISOAbbreviation"),
        "issn": _first_text(article, "Journal/ISSN"),
        "volume": _first_text(article, "Journal/JournalIssue/Volume"),
        "issue": _first_text(article, "Journal/JournalIssue/Issue"),
        "pages": _pages(article),
        "doi": doi or clean_doi(_id_of(article, "ELocationID", "EIdType", "doi")),
        "pmid": _first_text(art, "MedlineCitation/PMID"),
        "abstract": _abstract(article.find("Abstract")),
        "language": _first_text(article, "Language"),
        "keywords": [
            t for t in (_text(d) for d in art.iterfind(".//MeshHeading/DescriptorName")) if t
        ],
        "publication_types": [
            t
            for t in (_text(p) for p in article.findall("PublicationTypeList/PublicationType"))
            if t
        ],
    }


BOOK_CHAPTER = "Book Chapter"
BOOK = "Book"


def _pubmed_book(art: _Element) -> dict[str, object] | str:
    """A <PubmedBookArticle>: a chapter (ArticleTitle inside Book/BookTitle) or a whole book.

    The book title is the container, kept in `journal` as for a journal article; the book's
    editors (AuthorList Type="editors") are not the chapter's authors: they are contributors
    with the role 'editor'.
    """
    doc = art.find("BookDocument")
    if doc is None:
        return "no BookDocument"
    book = doc.find("Book")
    book_title = _first_text(book, "BookTitle") if book is not None else None
    chapter_title = _first_text(doc, "ArticleTitle") or _first_text(doc, "VernacularTitle")
    author_elements = [
        au
        for author_list in doc.findall("AuthorList")
        if author_list.get("Type", "authors") == "authors"
        for au in author_list.findall("Author")
    ]
    authors, groups = _pubmed_authors(author_elements)
    editor_elements = [
        au
        for author_list in [*doc.findall("AuthorList"), *doc.findall("Book/AuthorList")]
        if author_list.get("Type") == "editors"
        for au in author_list.findall("Author")
    ]
    editors, _ = _pubmed_authors(editor_elements)
    doi = _id_of(doc, "ArticleIdList/ArticleId", "IdType", "doi") or _id_of(
        art, "PubmedBookData/ArticleIdList/ArticleId", "IdType", "doi"
    )
    if doi is None:
        doi = _id_of(doc, "ELocationID", "EIdType", "doi") or (
            _id_of(book, "ELocationID", "EIdType", "doi") if book is not None else None
        )
    kind = BOOK_CHAPTER if chapter_title else BOOK
    return {
        "title": chapter_title or book_title,
        "authors": authors,
        "group_authors": groups,
        "contributors": [Contributor(name=name, role="editor") for name in editors],
        "year": _year(book.find("PubDate") if book is not None else None)
        or _year(doc.find("ContributionDate")),
        "journal": book_title if chapter_title else None,
        "issn": _first_text(book, "Isbn") if book is not None else None,
        "volume": _first_text(book, "Volume") if book is not None else None,
        "issue": None,
        "pages": _pages(doc),
        "doi": clean_doi(doi),
        "pmid": _first_text(doc, "PMID"),
        "abstract": _abstract(doc.find("Abstract")),
        "language": _first_text(doc, "Language"),
        "keywords": [t for t in (_text(k) for k in doc.findall("KeywordList/Keyword")) if t],
        "publication_types": [
            kind,
            *(t for t in (_text(p) for p in doc.findall("PublicationType")) if t),
        ],
    }


def parse_endnote_xml(data: bytes, source: str, id_prefix: str) -> Parsed:
    tree = _parse(data, frozenset({"record"}))
    root = tree.root
    if _local(root) != "xml":
        raise XmlFormatError(f"root element is <{_local(root)}>, expected <xml><records>")
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    found = tree.usable(root.findall("records/record"))
    for position, rec in enumerate(found, start=1):
        ref_type = rec.find("ref-type")
        authors, groups = _endnote_authors(rec)
        kind = ref_type.get("name", "") if ref_type is not None else ""
        role = "editor" if kind in _EDITED_TYPES else "contributor"
        secondary = [_text(a) for a in rec.findall("contributors/secondary-authors/author")]
        values: dict[str, object] = {
            "title": _first_text(rec, "titles/title"),
            "authors": authors,
            "group_authors": groups,
            "contributors": [Contributor(name=n, role=role) for n in secondary if n],
            "year": parse_year(_first_text(rec, "dates/year")),
            "journal": _first_text(rec, "periodical/full-title")
            or _first_text(rec, "titles/secondary-title"),
            "issn": _first_text(rec, "isbn"),
            "volume": _first_text(rec, "volume"),
            "issue": _first_text(rec, "number"),
            "pages": _first_text(rec, "pages"),
            "doi": clean_doi(_first_text(rec, "electronic-resource-num")),
            "pmid": _pmid_if_pubmed(rec),
            "abstract": _first_text(rec, "abstract"),
            "language": _first_text(rec, "language"),
            "keywords": [t for t in (_text(k) for k in rec.findall("keywords/keyword")) if t],
            "publication_types": [ref_type.get("name", "")] if ref_type is not None else [],
        }
        refused = unusable(values)
        if refused:
            issues.append(ImportIssue(position=position, reason=refused))
            continue
        records.append(
            _record(
                values,
                record_id=f"{id_prefix}{position}",
                source=source,
                source_format="endnote_xml",
                position=position,
                raw=_raw_leaves(rec),
            )
        )
    return records, issues + tree.cut_issues(len(found)), tree.cut


# EndNote reference types whose secondary authors are the editors of the container.
_EDITED_TYPES = {"Book Section", "Edited Book", "Conference Proceedings", "Conference Paper"}


def _endnote_authors(rec: _Element) -> tuple[list[str], list[str]]:
    """Authors in order; EndNote marks a corporate (group) author with a trailing comma, and
    group names are recognised as in every other format."""
    authors: list[str] = []
    groups: list[str] = []
    for value in (_text(a) for a in rec.findall("contributors/authors/author")):
        if not value:
            continue
        if value.endswith(",") or is_group_name(value):
            name = value.rstrip(", ").strip()
            authors.append(name)
            groups.append(name)
        else:
            authors.extend(split_authors([value]))
    return authors, groups


def _pmid_if_pubmed(rec: _Element) -> str | None:
    provider = " ".join(
        t
        for t in (
            _first_text(rec, "remote-database-name"),
            _first_text(rec, "remote-database-provider"),
        )
        if t
    ).lower()
    acc = _first_text(rec, "accession-num")
    if (
        acc
        and acc.isdigit()
        and ("pubmed" in provider or "medline" in provider or "nlm" in provider)
    ):
        return acc
    return None


def _own_text(el: _Element) -> list[str]:
    """Text of a leaf element as a list (empty for containers or blank leaves)."""
    text = _text(el) if len(el) == 0 else None
    return [text] if text else []


def _find_ci(el: _Element, *names: str) -> list[_Element]:
    wanted = {n.lower() for n in names}
    return [c for c in el.iter() if isinstance(c.tag, str) and _local(c).lower() in wanted]


def _leaf_texts(el: _Element, *names: str) -> list[str]:
    out = []
    for found in _find_ci(el, *names):
        text = _text(found) or clean_text(found.get("Text") or found.get("Value"))
        if text:
            out.append(text)
    return out


def parse_notefirst_xml(data: bytes, source: str, id_prefix: str) -> Parsed:
    """NoteFirst export: one element per item under the root (names matched loosely)."""
    tree = _parse(data, frozenset({"Item", "Reference", "Record"}))
    root = tree.root
    items = _find_ci(root, "Item", "Reference", "Record")
    if not items:
        items = list(root)
    items = tree.usable(items)
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    for position, item in enumerate(items, start=1):
        media_names = {"media", "source", "journal", "periodical"}
        titles = [
            t
            for el in _find_ci(item, "Title", "PrimaryTitle")
            if not any(_local(a).lower() in media_names for a in el.iterancestors())
            for t in (_leaf_texts(el, "Text") or [_text(el) or ""])
            if t
        ]
        author_names: list[str] = []
        for author in _find_ci(item, "Author"):
            author_names.extend(_leaf_texts(author, "FullName", "Name") or _own_text(author))
        media = _find_ci(item, "Media", "Source", "Journal", "Periodical")
        journal = None
        for m in media:
            got = _leaf_texts(m, "Name", "Title") or _own_text(m)
            journal = next((g for g in got if g), None)
            if journal:
                break
        pages = next(iter(_leaf_texts(item, "PageScope", "Pages", "Page")), None)
        if pages is None:
            pages = join_pages(
                next(iter(_leaf_texts(item, "StartPage", "BeginPage")), None),
                next(iter(_leaf_texts(item, "EndPage")), None),
            )
        values: dict[str, object] = {
            "title": titles[0] if titles else None,
            "authors": split_authors(author_names),
            "year": parse_year(next(iter(_leaf_texts(item, "Year", "PubYear")), None)),
            "journal": journal,
            "issn": next(iter(_leaf_texts(item, "ISSN")), None),
            "volume": next(iter(_leaf_texts(item, "Volume")), None),
            "issue": next(iter(_leaf_texts(item, "Issue")), None),
            "pages": pages,
            "doi": clean_doi(next(iter(_leaf_texts(item, "DOI")), None)),
            "pmid": None,
            "abstract": next(iter(_leaf_texts(item, "Abstract")), None),
            "language": next(iter(_leaf_texts(item, "Language")), None),
            "keywords": split_keywords(_leaf_texts(item, "Keyword")),
            "publication_types": _leaf_texts(item, "Type", "DocType")[:1],
        }
        refused = unusable(with_groups(values))
        if refused:
            issues.append(ImportIssue(position=position, reason=refused))
            continue
        records.append(
            _record(
                values,
                record_id=f"{id_prefix}{position}",
                source=source,
                source_format="cnki_notefirst",
                position=position,
                raw=_raw_leaves(item),
            )
        )
    return records, issues + tree.cut_issues(len(items)), tree.cut
