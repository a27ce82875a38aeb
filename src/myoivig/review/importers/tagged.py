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


@dataclass(frozen=True)
class TagSyntax:
    """How one tagged format looks."""

    line: re.Pattern[str]
    start_tag: str | None
    end_tag: str | None
    blank_separates: bool
    continuation: Callable[[str], bool] = lambda raw: True
    start_required: bool = True
    """False: a blank-line separated block may open with another tag (ERIC MEDLINE: 'OWN')."""


RIS = TagSyntax(
    # Two-character tag, spaces, hyphen; real exporters vary the spacing (Zotero tolerates it).
    line=re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*)|\s*)$"),
    start_tag="TY",
    end_tag="ER",
    blank_separates=False,
)
MEDLINE = TagSyntax(
    # Tag padded to 4 characters then "- "; continuation lines are indented by 6 spaces.
    line=re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*- (.*)$"),
    start_tag="PMID",
    end_tag=None,
    blank_separates=True,
    continuation=lambda raw: raw.startswith(" "),
    # ERIC and other non-PubMed MEDLINE-style exports have no PMID; the record opens with OWN.
    start_required=False,
)
REFER = TagSyntax(
    # EndNote tagged / Refer: '%' + one character, a space, the value.
    line=re.compile(r"^(%[A-Za-z0-9@!#$\]&()*+^><\[=~?])\s?(.*)$"),
    start_tag="%0",
    end_tag=None,
    blank_separates=True,
)
REFWORKS = TagSyntax(
    # RefWorks tagged: two-character tag (CNKI sometimes lower-case, e.g. 'vo'), a space, value.
    line=re.compile(r"^([A-Za-z][A-Za-z0-9]) (.*)$"),
    start_tag="RT",
    end_tag=None,
    blank_separates=True,
)
ESTUDY = TagSyntax(
    # CNKI E-Study: 'DataType: 1' opens a record, then bilingual keys 'Title-题名: value'.
    line=re.compile(r"^(DataType|[A-Za-z]+-[^:：\s]+)\s*[:：]\s?(.*)$"),
    start_tag="DataType",
    end_tag=None,
    blank_separates=True,
)
NOTEEXPRESS = TagSyntax(
    line=re.compile(r"^\{([^{}]+)\}:\s?(.*)$"),
    start_tag="Reference Type",
    end_tag=None,
    blank_separates=True,
)


def split_tagged(text: str, syntax: TagSyntax) -> tuple[list[RawRecord], list[tuple[int, str]]]:
    """Split text into raw records; returns (records, stray lines as (line number, reason)).

    Records with structural problems carry them in `problems` so the importer can report them by
    position instead of dropping them.
    """
    records: list[RawRecord] = []
    stray: list[tuple[int, str]] = []
    current: RawRecord | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            records.append(current)
            current = None

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            if syntax.blank_separates and current is not None:
                close()
            continue
        match = syntax.line.match(line)
        if syntax is MEDLINE and raw.startswith(" "):
            match = None
        if match:
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
                    stray.append((number, f"tag {tag} outside a record (no {syntax.start_tag})"))
                    continue
            if syntax.end_tag is not None and tag == syntax.end_tag:
                close()
                continue
            current.add(tag, value)
            continue
        if current is None:
            stray.append((number, f"text outside a record: {line.strip()[:60]!r}"))
            continue
        if syntax.continuation(raw):
            # Wrapped lines: exporters break long abstracts and titles over several lines.
            current.extend_last(line.strip())
        else:
            current.problems.append(f"line {number} is not a tag line: {line.strip()[:60]!r}")
    if current is not None:
        if syntax.end_tag is not None:
            current.problems.append(f"file ended before {syntax.end_tag} (truncated record)")
        close()
    return records, stray
