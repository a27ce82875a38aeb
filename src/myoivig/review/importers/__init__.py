"""Import bibliographic exports into `BibRecord`s, reporting every malformed record."""

from __future__ import annotations

from pathlib import Path

from myoivig.review.importers.csv_format import parse_csv
from myoivig.review.importers.detect import ImportFormatError, detect_format
from myoivig.review.importers.tagged_formats import FORMATS as TAGGED_FORMATS
from myoivig.review.importers.tagged_formats import parse_tagged
from myoivig.review.importers.text import decode_export, is_blank
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


__all__ = ["SUPPORTED_FORMATS", "ImportFormatError", "detect_format", "import_bytes", "import_file"]


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
    if fmt is not None and fmt not in SUPPORTED_FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; supported: {SUPPORTED_FORMATS}")
    if is_blank(data):
        raise ImportFormatError("the file is empty")
    if fmt is None:
        fmt = detect_format(data, encoding)
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
