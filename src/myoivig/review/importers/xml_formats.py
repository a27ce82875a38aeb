"""XML exports: PubMed XML (efetch), EndNote XML, and CNKI's NoteFirst XML.

Element names follow the PubMed DTD (PubmedArticleSet elements) and EndNote's XML export
(xml/records/record). NoteFirst's schema is not publicly documented; the parser matches element
names case-insensitively and keeps every leaf in `raw`, so an unexpected layout loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from myoivig.review.importers.fields import (
    clean_doi,
    clean_text,
    join_pages,
    parse_year,
    split_authors,
    split_keywords,
)
from myoivig.review.records import BibRecord, ImportIssue

if TYPE_CHECKING:  # lxml is imported only when an XML file is read
    from lxml.etree import _Element


class XmlFormatError(ValueError):
    """The file is not well-formed XML or has the wrong root element."""


def _parse(data: bytes) -> _Element:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise XmlFormatError(f"not well-formed XML: {exc}") from exc


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


def parse_pubmed_xml(
    data: bytes, source: str, id_prefix: str
) -> tuple[list[BibRecord], list[ImportIssue]]:
    root = _parse(data)
    if _local(root) not in {"PubmedArticleSet", "PubmedArticle"}:
        raise XmlFormatError(f"root element is <{_local(root)}>, expected <PubmedArticleSet>")
    articles = [root] if _local(root) == "PubmedArticle" else list(root)
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    for position, art in enumerate(articles, start=1):
        if _local(art) != "PubmedArticle":
            issues.append(
                ImportIssue(position=position, reason=f"unsupported element <{_local(art)}>")
            )
            continue
        cit = art.find("MedlineCitation")
        pmid = _first_text(art, "MedlineCitation/PMID")
        article = cit.find("Article") if cit is not None else None
        if article is None:
            issues.append(
                ImportIssue(
                    position=position, reason="no MedlineCitation/Article", excerpt=pmid or ""
                )
            )
            continue
        title = _first_text(article, "ArticleTitle") or _first_text(article, "VernacularTitle")
        if not title:
            issues.append(
                ImportIssue(position=position, reason="no ArticleTitle", excerpt=pmid or "")
            )
            continue
        authors = []
        for au in article.findall("AuthorList/Author"):
            last, fore = _first_text(au, "LastName"), _first_text(au, "ForeName")
            coll = _first_text(au, "CollectiveName")
            if last:
                authors.append(f"{last}, {fore}" if fore else last)
            elif coll:
                authors.append(coll)
        year = parse_year(_first_text(article, "Journal/JournalIssue/PubDate/Year")) or parse_year(
            _first_text(article, "Journal/JournalIssue/PubDate/MedlineDate")
        )
        abstract_parts = []
        for part in article.findall("Abstract/AbstractText"):
            text = _text(part)
            if text:
                label = part.get("Label")
                abstract_parts.append(f"{label}: {text}" if label else text)
        doi = None
        for aid in art.findall("PubmedData/ArticleIdList/ArticleId"):
            if aid.get("IdType") == "doi":
                doi = clean_doi(_text(aid))
        if doi is None:
            for eid in article.findall("ELocationID"):
                if eid.get("EIdType") == "doi":
                    doi = clean_doi(_text(eid))
        values: dict[str, object] = {
            "title": title,
            "authors": authors,
            "year": year,
            "journal": _first_text(article, "Journal/Title")
            or _first_text(article, "Journal/ISOAbbreviation"),
            "issn": _first_text(article, "Journal/ISSN"),
            "volume": _first_text(article, "Journal/JournalIssue/Volume"),
            "issue": _first_text(article, "Journal/JournalIssue/Issue"),
            "pages": _first_text(article, "Pagination/MedlinePgn"),
            "doi": doi,
            "pmid": pmid,
            "abstract": " ".join(abstract_parts) or None,
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
    return records, issues


def parse_endnote_xml(
    data: bytes, source: str, id_prefix: str
) -> tuple[list[BibRecord], list[ImportIssue]]:
    root = _parse(data)
    if _local(root) != "xml":
        raise XmlFormatError(f"root element is <{_local(root)}>, expected <xml><records>")
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    for position, rec in enumerate(root.findall("records/record"), start=1):
        title = _first_text(rec, "titles/title")
        if not title:
            issues.append(ImportIssue(position=position, reason="no titles/title"))
            continue
        ref_type = rec.find("ref-type")
        values: dict[str, object] = {
            "title": title,
            "authors": split_authors(
                [t for t in (_text(a) for a in rec.findall("contributors/authors/author")) if t]
            ),
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
    return records, issues


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


def parse_notefirst_xml(
    data: bytes, source: str, id_prefix: str
) -> tuple[list[BibRecord], list[ImportIssue]]:
    """NoteFirst export: one element per item under the root (names matched loosely)."""
    root = _parse(data)
    items = _find_ci(root, "Item", "Reference", "Record")
    if not items:
        items = list(root)
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
        if not titles:
            issues.append(ImportIssue(position=position, reason="no Title element"))
            continue
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
            "title": titles[0],
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
    return records, issues
