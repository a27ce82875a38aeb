"""Tell an export's format from the head of the file.

Real exports do not start where the format description says they do: publishers put a preamble
before the first RIS record ('Provider: ...', 'Content: text/plain; charset=...'), numbered
exports start with '1.', refer(1) records have no '%0' line, and a cut at a fixed byte count can
fall inside a multibyte character. So detection decodes the head incrementally, reads every line
of it, and scores each format by the lines that look like that format; when nothing fits it says
which formats it tried and why each was ruled out.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from myoivig.review.importers.csv_format import COLUMNS
from myoivig.review.importers.fields import has_cjk
from myoivig.review.importers.tagged import REFWORKS_TAGS
from myoivig.review.importers.text import decode_head

HEAD_BYTES = 65536
_XML_START = re.compile(r"<[?!A-Za-z_]")
HEAD_LINES = 400
# PubMed XML: PubmedArticleSet, PubmedArticle, PubmedBookArticleSet, PubmedBookArticle, DOCTYPE.
_PUBMED_XML = re.compile(r"<(!DOCTYPE\s+)?Pubmed(Book)?Article(Set)?\b")


class ImportFormatError(ValueError):
    """Unknown format, or a file that cannot be read as the format at all."""


@dataclass(frozen=True)
class Signature:
    """Lines that belong to a format, and the anchor lines without which it is not that format."""

    fmt: str
    line: re.Pattern[str]
    anchors: tuple[re.Pattern[str], ...]
    missing: str  # said when no anchor is found

    def score(self, lines: list[str]) -> int:
        if not any(a.match(line) for a in self.anchors for line in lines):
            return 0
        return sum(1 for line in lines if self.line.match(line))


_RW = "|".join(REFWORKS_TAGS)
# (format, pattern of its lines, anchors: lines without which it is not that format, said if none)
_SIGNATURE_TABLE: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("ris", r"^[A-Z][A-Z0-9]\s{1,2}-(?: |$)", (r"^TY\s{1,2}-",), "no 'TY  - ' line opens a record"),
    (
        "medline",
        r"^[A-Z][A-Z0-9]{1,3}\s*-(?: |$)",
        (r"^PMID\s*- ", r"^OWN\s*- "),
        "no 'PMID- ' (or 'OWN - ') line",
    ),
    (
        "endnote_tagged",
        r"^%[A-Za-z0-9@!#$\]&()*+^><\[=~?](?: |$)",
        (r"^%0 ", r"^%T \S", r"^%A \S"),
        "no '%0', '%T' or '%A' line",
    ),
    (
        "cnki_refworks",
        # Not followed by ' - ' so that RIS 'T1  - ' lines are not taken for RefWorks.
        rf"^(?:{_RW})(?: (?!\s*-)|[^\x00-\x7f]|$)",
        (r"^RT \S", r"^T1(?: (?!\s*-)|[^\x00-\x7f])"),
        "no 'RT' or 'T1' line",
    ),
    (
        "cnki_noteexpress",
        r"^\{[^{}]+\}:",
        (r"^\{Reference Type\}:", r"^\{Title\}:", r"^\{Author\}:"),
        "no '{Reference Type}:', '{Title}:' or '{Author}:' line",
    ),
    (
        "cnki_estudy",
        r"^(?:DataType|[A-Za-z]+-[^:：\s]+)\s*[:：]",
        (r"^DataType\s*[:：]", r"^(?:Title|Author)-[^:：\s]+\s*[:：]"),
        "no 'DataType:', 'Title-题名:' or 'Author-作者:' line",
    ),
)
SIGNATURES = tuple(
    Signature(fmt, re.compile(line), tuple(re.compile(a) for a in anchors), missing)
    for fmt, line, anchors, missing in _SIGNATURE_TABLE
)


def detect_format(data: bytes, encoding: str | None = None) -> str:
    """Guess the export format from the head of the file, or say why no format fits."""
    text, _ = decode_head(data, HEAD_BYTES, encoding)
    stripped = text.lstrip("\ufeff \t\n")
    if not stripped.strip():
        raise ImportFormatError("the file is empty")
    if _XML_START.match(stripped):  # not '<1>', the record number of Ovid-style exports
        head = stripped[:4000]
        if _PUBMED_XML.search(head):  # book articles too: never taken for NoteFirst
            return "pubmed_xml"
        if "<records>" in head or "<record>" in head:
            return "endnote_xml"
        return "cnki_notefirst"
    lines = [line.rstrip() for line in stripped.split("\n")[:HEAD_LINES]]
    if len(data) > HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut head may be incomplete
    scores = {sig.fmt: sig.score(lines) for sig in SIGNATURES}
    best = max(scores, key=lambda fmt: scores[fmt])
    if scores[best] > 0:
        return _refworks_dialect(lines) if best == "cnki_refworks" else best
    csv_reason = _csv_reason(lines)
    if csv_reason is None:
        return "csv"
    tried = [f"{sig.fmt}: {sig.missing}" for sig in SIGNATURES]
    tried.append("XML formats: the file does not start with '<'")
    tried.append(f"csv: {csv_reason}")
    raise ImportFormatError(
        f"cannot tell the format from the first {len(lines)} lines; tried "
        + "; ".join(tried)
        + ". Give the format with --format."
    )


def _refworks_dialect(lines: list[str]) -> str:
    """CNKI and Wanfang RefWorks (Chinese text, CNKI's 'vo' and 'DS CNKI') or generic RefWorks."""
    for line in lines:
        if has_cjk(line) or line.startswith("vo") or line.startswith("DS CNKI"):
            return "cnki_refworks"
    return "refworks"


def _csv_reason(lines: list[str]) -> str | None:
    """None when the first non-blank line is a CSV/TSV header naming a known column.

    Any known column will do (title, authors, DOI, PMID, ...): whether the table has what a
    record needs is for the CSV importer to say, with the row and column.
    """
    header = next((line for line in lines if line.strip()), "")
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    columns = [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter), [])]
    known = {name for names in COLUMNS.values() for name in names}
    if any(c in known for c in columns):
        return None
    return f"the first line names no known column such as title or doi (columns: {columns})"
