"""Import bibliographic exports into `BibRecord`s, reporting every malformed record."""

from __future__ import annotations

import re
from pathlib import Path

from myoivig.review.importers.csv_format import parse_csv
from myoivig.review.importers.tagged_formats import FORMATS as TAGGED_FORMATS
from myoivig.review.importers.tagged_formats import parse_tagged
from myoivig.review.importers.text import decode_export
from myoivig.review.importers.xml_formats import (
    parse_endnote_xml,
    parse_notefirst_xml,
    parse_pubmed_xml,
)
from myoivig.review.records import ImportResult

XML_FORMATS = {
    "pubmed_xml": parse_pubmed_xml,
    "endnote_xml": parse_endnote_xml,
    "cnki_notefirst": parse_notefirst_xml,
}
SUPPORTED_FORMATS = sorted([*TAGGED_FORMATS, *XML_FORMATS, "csv"])


_PUBMED_XML = re.compile(r"<(!DOCTYPE\s+)?Pubmed(Book)?Article(Set)?\b")
_MEDLINE_OWN = re.compile(r"^OWN\s*- ")


class ImportFormatError(ValueError):
    """Unknown format, or a file that cannot be read as the format at all."""


def detect_format(data: bytes) -> str:
    """Guess the export format from the first meaningful bytes."""
    text, _ = decode_export(data[:8192] if len(data) > 8192 else data)
    head = text.lstrip()[:4000]
    if head.startswith("<"):
        if _PUBMED_XML.search(head):  # book articles too: never fall through to NoteFirst
            return "pubmed_xml"
        if "<records>" in head or "<record>" in head:
            return "endnote_xml"
        return "cnki_notefirst"
    first = head.split("\n", 1)[0]
    if first.startswith("TY  -") or first.startswith("TY -"):
        return "ris"
    if first.startswith("PMID") or _MEDLINE_OWN.match(first):  # ERIC MEDLINE opens with OWN
        return "medline"
    if first.startswith("%0"):
        return "endnote_tagged"
    if first.startswith("RT "):
        return "cnki_refworks"
    if first.startswith("{Reference Type}"):
        return "cnki_noteexpress"
    if first.startswith("DataType"):
        return "cnki_estudy"
    return "csv"


def import_bytes(
    data: bytes,
    source: str,
    fmt: str | None = None,
    encoding: str | None = None,
    id_prefix: str | None = None,
) -> ImportResult:
    """Parse one export. `source` is the database (e.g. 'medline', 'cnki'), kept on each record.

    Record ids are `id_prefix` + position (default '<source>:'); give each file its own prefix
    when several exports of one source go into the same review.
    """
    fmt = fmt or detect_format(data)
    prefix = id_prefix if id_prefix is not None else f"{source}:"
    truncated = None
    if fmt in XML_FORMATS:
        try:
            records, issues, truncated = XML_FORMATS[fmt](data, source, prefix)
        except ValueError as exc:
            raise ImportFormatError(f"{fmt}: {exc}") from exc
        enc = "xml-declared"
    elif fmt in TAGGED_FORMATS or fmt == "csv":
        text, enc = decode_export(data, encoding)
        if fmt == "csv":
            try:
                records, issues = parse_csv(text, source, prefix)
            except ValueError as exc:
                raise ImportFormatError(f"csv: {exc}") from exc
        else:
            records, issues = parse_tagged(text, fmt, source, prefix)
    else:
        raise ImportFormatError(f"unknown format {fmt!r}; supported: {SUPPORTED_FORMATS}")
    return ImportResult(
        source=source,
        source_format=fmt,
        encoding=enc,
        records=records,
        issues=issues,
        truncated=truncated,
    )


def import_file(
    path: Path,
    source: str,
    fmt: str | None = None,
    encoding: str | None = None,
    id_prefix: str | None = None,
) -> ImportResult:
    """Read and parse a file (see `import_bytes`)."""
    return import_bytes(path.read_bytes(), source, fmt, encoding, id_prefix)
