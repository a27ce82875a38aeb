"""Line-tagged bibliographic formats: RIS, MEDLINE/.nbib, EndNote/Refer, RefWorks, NoteExpress.

All share one shape (a tag, a value, continuation lines, a record boundary), so one splitter
serves them; each format supplies its tag pattern and boundary rule. Raw tags are kept verbatim,
unknown ones included, so nothing from the file is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RawRecord:
    """Tag -> values in file order, plus the 1-based record position and first line number."""

    position: int
    line: int
    fields: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    last_tag: str | None = None
    order: list[tuple[str, int]] = field(default_factory=list)
    """(tag, index in `fields[tag]`) in file order: MEDLINE interleaves FAU and CN authors."""

    def add(self, tag: str, value: str) -> None:
        values = self.fields.setdefault(tag, [])
        self.order.append((tag, len(values)))
        values.append(value)
        self.last_tag = tag

    def in_order(self, *tags: str) -> list[tuple[str, str]]:
        """(tag, value) of the given tags in file order, blank values skipped."""
        wanted = set(tags)
        pairs = [(t, self.fields[t][i].strip()) for t, i in self.order if t in wanted]
        return [(t, v) for t, v in pairs if v]

    def extend_last(self, text: str, joiner: str = " ") -> None:
        if self.last_tag is None:
            self.problems.append(f"continuation line without a preceding tag: {text[:60]!r}")
            return
        values = self.fields[self.last_tag]
        values[-1] = (values[-1] + joiner + text).strip() if values[-1] else text

    def first(self, *tags: str) -> str | None:
        for tag in tags:
            for value in self.fields.get(tag, []):
                if value.strip():
                    return value.strip()
        return None

    def all(self, *tags: str) -> list[str]:
        out: list[str] = []
        for tag in tags:
            out.extend(v.strip() for v in self.fields.get(tag, []) if v.strip())
        return out


# Lines that sit between records (or before the first) in real exports and are no record at all:
# record numbers ('1.', '<2>', '[3]', 'Record 4 of 10') and rules of dashes or equals signs.
_SEPARATOR = re.compile(
    r"^\s*(?:\d+[.)]|<\d+>|\[\d+\]|(?:record|reference|citation)\s+\d+(?:\s+of\s+\d+)?"
    r"|[-=*_#~.]{3,})\s*$",
    re.IGNORECASE,
)
# File headers written before the first record: publishers' RIS preambles ('Provider: ...',
# 'Database: ...', 'Content: text/plain; charset="UTF-8"'), a bare charset line, a RefWorks
# export heading.
_HEADER = re.compile(
    r"^\s*(?:(?:provider|database|content|copyright|encoding)\s*:|refworks\b|.*\bcharset\s*=)",
    re.IGNORECASE,
)
# 'A record number then the opening tag on one line: '1. TY  - JOUR'.
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(\S.*)$")


def is_separator(line: str) -> bool:
    """True for record numbers, rules and export headers found outside records."""
    return bool(_SEPARATOR.match(line) or _HEADER.match(line))


def _never(tag: str) -> bool:
    return False


@dataclass(frozen=True)
class TagSyntax:
    """How one tagged format looks."""

    line: re.Pattern[str]
    start_tag: str | None
    end_tag: str | None
    blank_separates: bool
    continuation: Callable[[str], bool] = lambda raw: True
    # A second pattern for tags written without the usual space: 'A1林行众' or an empty 'vo'.
    bare: re.Pattern[str] | None = None
    # Free-text fields whose value may hold blank lines (a CNKI %X abstract in paragraphs).
    paragraph: Callable[[str], bool] = _never
    # False where a record may lack the start tag (Refer records have no %0).
    start_required: bool = True

    def match(self, line: str) -> re.Match[str] | None:
        found = self.line.match(line)
        if found is None and self.bare is not None:
            found = self.bare.match(line)
        return found


RIS = TagSyntax(
    # Two-character tag, spaces, hyphen; real exporters vary the spacing (Zotero tolerates it).
    line=re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*)|\s*)$"),
    start_tag="TY",
    end_tag="ER",
    blank_separates=False,
)
MEDLINE = TagSyntax(
    # Tag padded to 4 characters then "- "; continuation lines are indented by 6 spaces.
    line=re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*-(?: (.*)|\s*)$"),
    start_tag="PMID",
    end_tag=None,
    blank_separates=True,
    continuation=lambda raw: raw.startswith(" "),
    # ERIC and other non-PubMed MEDLINE-style exports have no PMID; the record opens with OWN.
    start_required=False,
)
REFER = TagSyntax(
    # EndNote tagged / Refer: '%' + one character, a space, the value. Classic refer(1) records
    # have no '%0' type line, so a block of '%' lines is a record without it.
    line=re.compile(r"^(%[A-Za-z0-9@!#$\]&()*+^><\[=~?])\s?(.*)$"),
    start_tag="%0",
    end_tag=None,
    blank_separates=True,
    paragraph=lambda tag: tag == "%X",
    start_required=False,
)
# RefWorks tagged format tags (Ex Libris "RefWorks Tagged Format" field list) plus CNKI's
# lower-case 'vo'. Only these may be written without a space after them.
_REFWORKS_TAG_LIST = (
    "RT SR ID A1 A2 A3 A4 A5 A6 T1 T2 T3 JF JO YR FD VO IS SP OP K1 AB NO ED PB PP SN AV AD AN "
    "LA CL SF OT LK DO CN DB DS IP RD ST U1 U2 U3 U4 U5 UL WT WP vo"
)
REFWORKS_TAGS = tuple(_REFWORKS_TAG_LIST.split())
REFWORKS = TagSyntax(
    # RefWorks tagged: two-character tag, a space, value. Tags are upper case (unknown vendor tags
    # included) except CNKI's 'vo'; a wrapped abstract line such as 'In this thesis ...' or
    # 'of the patients ...' is a continuation, not a tag 'In' that would cut the abstract.
    line=re.compile(r"^(vo|[A-Z][A-Z0-9]) (.*)$"),
    start_tag="RT",
    end_tag=None,
    blank_separates=True,
    # CNKI thesis and conference records write 'A1林行众' (no space), and empty tags as 'vo'.
    bare=re.compile(r"^(" + "|".join(REFWORKS_TAGS) + r")((?=[^\x00-\x7f]).*|)$"),
    paragraph=lambda tag: tag == "AB",
)
ESTUDY = TagSyntax(
    # CNKI E-Study: 'DataType: 1' opens a record, then bilingual keys 'Title-题名: value'.
    line=re.compile(r"^(DataType|[A-Za-z]+-[^:：\s]+)\s*[:：]\s?(.*)$"),
    start_tag="DataType",
    end_tag=None,
    blank_separates=True,
    paragraph=lambda tag: tag.startswith("Summary"),
)
NOTEEXPRESS = TagSyntax(
    line=re.compile(r"^\{([^{}]+)\}:\s?(.*)$"),
    start_tag="Reference Type",
    end_tag=None,
    blank_separates=True,
    paragraph=lambda tag: tag == "Abstract",
)


def split_tagged(text: str, syntax: TagSyntax) -> tuple[list[RawRecord], list[tuple[int, str]]]:
    """Split text into raw records; returns (records, stray text as (line number, reason)).

    Records with structural problems carry them in `problems` so the importer can report them by
    position instead of dropping them. Record numbers, rules and export headers between records
    are skipped; other text outside records is reported once per run of lines.
    """
    records: list[RawRecord] = []
    stray: list[tuple[int, str]] = []
    stray_run: list[tuple[int, str]] = []
    current: RawRecord | None = None
    after_blank = False

    def close() -> None:
        nonlocal current
        if current is not None:
            records.append(current)
            current = None

    def flush_stray() -> None:
        if stray_run:
            first, text = stray_run[0]
            span = f" (to line {stray_run[-1][0]})" if len(stray_run) > 1 else ""
            stray.append((first, f"text outside a record{span}: {text[:60]!r}"))
            stray_run.clear()

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            if syntax.blank_separates and current is not None:
                if current.last_tag is not None and syntax.paragraph(current.last_tag):
                    after_blank = True  # maybe a paragraph break inside the abstract
                else:
                    close()
            continue
        match = None if syntax is MEDLINE and raw.startswith(" ") else syntax.match(line)
        if match is None and current is None:
            numbered = _NUMBERED.match(line)
            if numbered and syntax.match(numbered.group(1)):
                line = numbered.group(1)
                match = syntax.match(line)
        if match is None and (current is None or after_blank) and is_separator(line):
            if after_blank:
                close()
                after_blank = False
            continue
        if match:
            flush_stray()
            if after_blank:
                # A blank line after an abstract: where every record opens with its start tag,
                # another tag still belongs to this record; in Refer it may open the next one.
                if not syntax.start_required:
                    close()
                after_blank = False
            tag, value = match.group(1), (match.group(2) or "").strip()
            if syntax.start_tag is not None and tag == syntax.start_tag:
                if current is not None:
                    if syntax.end_tag is not None:
                        current.problems.append(
                            f"record not terminated by {syntax.end_tag} before line {number}"
                        )
                    close()
                current = RawRecord(position=len(records) + 1, line=number)
                current.add(tag, value)
                continue
            if current is None:
                if syntax.blank_separates:
                    # A blank-line separated block that lacks its opening tag is still one
                    # record: keep it together and report it, rather than one issue per line.
                    current = RawRecord(position=len(records) + 1, line=number)
                    if syntax.start_tag is not None and syntax.start_required:
                        current.problems.append(f"record does not start with {syntax.start_tag}")
                else:
                    flush_stray()
                    stray.append((number, f"tag {tag} outside a record (no {syntax.start_tag})"))
                    continue
            if syntax.end_tag is not None and tag == syntax.end_tag:
                close()
                continue
            current.add(tag, value)
            continue
        if current is None:
            stray_run.append((number, line.strip()))
            continue
        if syntax.continuation(raw):
            # Wrapped lines: exporters break long abstracts and titles over several lines; a
            # blank line inside a free-text field is a paragraph break, kept as a newline.
            current.extend_last(line.strip(), "\n" if after_blank else " ")
            after_blank = False
        else:
            current.problems.append(f"line {number} is not a tag line: {line.strip()[:60]!r}")
    flush_stray()
    if current is not None:
        if syntax.end_tag is not None:
            current.problems.append(f"file ended before {syntax.end_tag} (truncated record)")
        close()
    return records, stray
