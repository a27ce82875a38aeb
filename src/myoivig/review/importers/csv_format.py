"""CSV/TSV exports (Scopus, Web of Science tab-delimited, ASReview-style tables).

Column names are matched case-insensitively against the common synonyms below; every column is
kept verbatim in `raw`.
"""

from __future__ import annotations

import csv
import io

from myoivig.review.importers.fields import (
    clean_doi,
    clean_text,
    groups_in,
    join_pages,
    parse_year,
    split_author_cell,
    split_keywords,
    unusable,
)
from myoivig.review.records import BibRecord, ImportIssue

COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "primary_title", "article title", "ti", "题名"),
    "authors": ("authors", "author", "au", "author full names", "作者"),
    "year": ("year", "publication year", "py", "pubyear", "年"),
    "journal": ("journal", "source title", "source", "so", "journal/book", "刊名"),
    "issn": ("issn", "sn"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "is", "期"),
    "pages": ("pages", "page", "page range", "页码"),
    "page_start": ("page start", "bp", "start page", "first page"),
    "page_end": ("page end", "ep", "end page", "last page"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmed id", "pubmedid", "pm"),
    "abstract": ("abstract", "ab", "abstract note", "摘要"),
    "language": ("language", "la"),
    "keywords": ("keywords", "author keywords", "de", "关键词"),
}


def parse_csv(text: str, source: str, id_prefix: str) -> tuple[list[BibRecord], list[ImportIssue]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = {h.strip().lower(): h for h in (reader.fieldnames or []) if h}
    mapping: dict[str, str] = {}
    for field, names in COLUMNS.items():
        for name in names:
            if name in header:
                mapping[field] = header[name]
                break
    if "title" not in mapping:
        raise ValueError(f"CSV has no title column (columns: {sorted(header)})")
    records: list[BibRecord] = []
    issues: list[ImportIssue] = []
    for position, row in enumerate(reader, start=1):
        if None in row:
            issues.append(
                ImportIssue(
                    position=position,
                    reason=f"line {reader.line_num}: more cells than header columns",
                    excerpt=str(row.get(None))[:80],
                )
            )
            continue

        def get(field: str, r: dict[str, str | None] = row) -> str | None:
            col = mapping.get(field)
            value = r.get(col) if col else None
            return value.strip() if value and value.strip() else None

        authors_cell = get("authors")
        authors = split_author_cell(authors_cell) if authors_cell else []
        pmid = get("pmid")
        title = clean_text(get("title"))
        doi = clean_doi(get("doi"))
        pmid = pmid.split(".")[0] if pmid else None
        refused = unusable({"title": title, "doi": doi, "pmid": pmid, "authors": authors})
        if refused:
            issues.append(
                ImportIssue(position=position, reason=f"line {reader.line_num}: {refused}")
            )
            continue
        records.append(
            BibRecord(
                record_id=f"{id_prefix}{position}",
                source=source,
                source_format="csv",
                position=position,
                title=title,
                authors=authors,
                group_authors=groups_in(authors),
                year=parse_year(get("year")),
                journal=get("journal"),
                issn=get("issn"),
                volume=get("volume"),
                issue=get("issue"),
                pages=get("pages") or join_pages(get("page_start"), get("page_end")),
                doi=doi,
                pmid=pmid,
                abstract=clean_text(get("abstract")),
                language=get("language"),
                keywords=split_keywords([get("keywords") or ""]),
                raw={k: [v] for k, v in row.items() if k and v},
            )
        )
    return records, issues
