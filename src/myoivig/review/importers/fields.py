"""Small normalisers shared by the importers (years, DOIs, author lists, pages)."""

from __future__ import annotations

import re
import unicodedata

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|21\d\d)(?!\d)")
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
# CNKI separates authors with ';', ';;', ',' or the full-width '，'/'；' (Zotero CNKI translator).
# Where semicolons are used, commas belong to the names ('Cherin, P.;林行众').
_CN_AUTHOR_SPLIT = re.compile(r"[;；]+")
_CN_AUTHOR_COMMAS = re.compile(r"[，,]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def parse_year(value: str | None) -> int | None:
    """First plausible 4-digit year in a date string ('1998 Dec-1999 Jan' -> 1998)."""
    if not value:
        return None
    match = _YEAR.search(value)
    return int(match.group(1)) if match else None


def clean_doi(value: str | None) -> str | None:
    """Bare lower-case DOI without URL or 'doi:' prefixes, or None when there is none."""
    if not value:
        return None
    # CNKI/Wanfang type DOIs with full-width punctuation ('10.3969／j.issn...'): NFKC folds
    # them to ASCII, so the DOI is kept instead of failing the pattern.
    value = unicodedata.normalize("NFKC", value)
    match = _DOI.search(value.replace("%28", "(").replace("%29", ")"))
    if not match:
        return None
    return match.group(0).rstrip(".,;").lower()


def has_cjk(text: str | None) -> bool:
    return bool(text and _CJK.search(text))


def split_authors(values: list[str]) -> list[str]:
    """Author values to a flat list; a single value holding several CNKI names is split."""
    out: list[str] = []
    for value in values:
        if has_cjk(value):
            split = _CN_AUTHOR_SPLIT if _CN_AUTHOR_SPLIT.search(value) else _CN_AUTHOR_COMMAS
            out.extend(p.strip() for p in split.split(value) if p.strip())
        elif ";" in value:
            out.extend(p.strip() for p in value.split(";") if p.strip())
        elif value.strip():
            out.append(value.strip())
    return out


def split_keywords(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(p.strip() for p in re.split(r"[;；]+", value) if p.strip())
    return out


def join_pages(start: str | None, end: str | None) -> str | None:
    if start and end and end != start:
        return f"{start}-{end}"
    return start or end


def clean_text(value: str | None) -> str | None:
    """Collapse whitespace; NoteExpress '(#br)' line-break markers become spaces."""
    if value is None:
        return None
    text = re.sub(r"\s+", " ", value.replace("(#br)", " ")).strip()
    return text or None


_PAGE_RANGE = re.compile(r"^([A-Za-z]*)(\d+)\s*[-–]\s*([A-Za-z]*)(\d+)$")


def expand_pages(value: str | None) -> str | None:
    """MEDLINE abbreviates the last page ('6913-7', '588-90', 'S12-4'); write it out in full
    ('6913-6917') so pages compare and print like every other source. Other values are kept."""
    if not value:
        return None
    parts = []
    for part in value.split(","):
        part = part.strip()
        match = _PAGE_RANGE.match(part)
        if match:
            prefix, start, end_prefix, end = match.groups()
            if (not end_prefix or end_prefix == prefix) and len(end) < len(start):
                end = start[: len(start) - len(end)] + end
            part = f"{prefix}{start}-{prefix}{end}"
        parts.append(part)
    return ", ".join(p for p in parts if p) or None


# Words that make a name a group (consortium, study group) rather than a person. A person's name
# never carries them; the list is what collaborative author names in MEDLINE are built from.
_GROUP_WORDS = re.compile(
    r"\b(group|groups|consortium|consortia|collaboration|collaborative|collaborators|"
    r"committee|investigators|study|studies|society|association|network|trialists|team|"
    r"council|panel|task force|working party|foundation|institute|organi[sz]ation|alliance|"
    r"board|registry|federation|academy|college|department|unit|program|programme)\b",
    re.IGNORECASE,
)
_CN_GROUP = re.compile(
    r"(协作组|研究组|小组|委员会|学会|协会|分会|专家组|工作组|联盟|中心|课题组|医院)$"
)
# 'Smith, John', 'Smith J', 'Oddis C.V.', 'J. Smith': a person, not part of a group name.
_PERSON = re.compile(r",|^\S+\s+([A-Z]\.?\s?){1,3}$|^([A-Z]\.\s?)+\S+$")


def is_group_name(name: str) -> bool:
    """Heuristic for formats without an explicit group marker (RIS, CSV, EndNote, CNKI)."""
    name = name.strip()
    if not name:
        return False
    if has_cjk(name):
        return len(name) > 4 and bool(_CN_GROUP.search(name))
    return bool(_GROUP_WORDS.search(name)) and "," not in name.rstrip(",")


def groups_in(authors: list[str]) -> list[str]:
    """The entries of an author list that are groups, in order."""
    return [a for a in authors if is_group_name(a)]


_SEMICOLONS = re.compile(r"[;；]+")
_AND_THE = re.compile(r"\s+and\s+(?=the\s)", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_author_cell(cell: str) -> list[str]:
    """One table cell of authors to names: ';' separates; ' and ' separates people but never
    cuts a group name ('Kidney Disease and Hypertension Study Group' stays whole)."""
    out: list[str] = []
    # ';' first, so that 'Lewis, J.; 中华医学会' keeps 'Lewis, J.' whole; CNKI's commas only
    # separate names inside a piece written in Chinese.
    pieces = [p.strip() for p in _SEMICOLONS.split(cell) if p.strip()]
    for piece in (name for p in pieces for name in split_authors([p])):
        # '... and the X Study Group': 'and the' always starts a group.
        for segment in _AND_THE.split(piece):
            out.extend(_split_and(segment.strip()))
    return [name for name in out if name]


def _split_and(piece: str) -> list[str]:
    if not _AND.search(piece):
        return [piece]
    tokens = [t.strip() for t in _AND.split(piece)]
    if len(tokens) == 1:
        return [piece]
    if not is_group_name(piece):
        return [t for t in tokens if t]
    # A group name in the cell: split off only leading tokens that are clearly people
    # ('Smith J', 'Smith, John'); the rest is one group name, 'and' included.
    people: list[str] = []
    for token in tokens[:-1]:
        if not _PERSON.search(token) or is_group_name(token):
            break
        people.append(token)
    return [*people, " and ".join(tokens[len(people) :])]


def unusable(values: dict[str, object]) -> str | None:
    """Why a parsed record cannot be imported, or None.

    A record without a title is still imported (flagged 'title missing') when a DOI, PMID or
    author list lets a reviewer find it; only a record with none of these is refused.
    """
    if values.get("title"):
        return None
    if values.get("doi") or values.get("pmid") or values.get("authors"):
        return None
    return "no title, no DOI or PMID and no authors"


def with_groups(values: dict[str, object]) -> dict[str, object]:
    """Mark group authors by name where the format has no explicit group marker."""
    if "group_authors" not in values:
        authors = values.get("authors")
        values["group_authors"] = groups_in(authors) if isinstance(authors, list) else []
    return values
