"""Small normalisers shared by the importers (years, DOIs, author lists, pages)."""

from __future__ import annotations

import re

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
