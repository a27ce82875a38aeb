"""Normalised keys for comparing bibliographic records across sources and scripts.

Chinese names are reduced to pinyin surname + given-name initial (pypinyin) so that a CNKI record
('田娟') and its MEDLINE twin ('Tian J', 'Tian, Juan') share an author key. Surnames are read as
surnames (曾 Zeng, not 'ceng'; table in `surnames.py`), as MEDLINE spells them. Latin names lose
diacritics ('Göttfried' -> 'gottfried'). Titles keep CJK characters, so Chinese-only records still
compare (ASReview's [a-z0-9] cleaning would empty them).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from myoivig.review.dedup.surnames import COMPOUND_SURNAMES, SURNAME_READINGS

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_INITIALS = re.compile(r"^[A-Z]{1,3}$|^([A-Z]\.?-?\s?){1,3}$")
_STOPWORDS = frozenset(
    ["a", "an", "the", "of", "in", "and", "for", "with", "on", "to", "by", "at", "from", "or"]
)


def is_cjk(text: str | None) -> bool:
    return bool(text and _CJK.search(text))


def ascii_fold(text: str) -> str:
    """Strip diacritics and lower-case ('Göttfried' -> 'gottfried')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def normalise_title(title: str | None) -> str:
    """Lower-case, diacritics off, punctuation to spaces; brackets of translated titles dropped."""
    if not title:
        return ""
    text = unicodedata.normalize("NFKC", title)
    text = ascii_fold(text)
    text = _NON_WORD.sub(" ", text)
    return " ".join(text.split())


def title_shingles(norm_title: str) -> frozenset[str]:
    """Character 3-grams (Latin) or 2-grams (CJK) of a normalised title, for Dice similarity."""
    if not norm_title:
        return frozenset()
    if is_cjk(norm_title):
        chars = norm_title.replace(" ", "")
        return frozenset(chars[i : i + 2] for i in range(max(1, len(chars) - 1)))
    text = f" {norm_title} "
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


def title_blocking_keys(norm_title: str) -> list[str]:
    """Keys robust to one typo: first and last significant words (or CJK characters)."""
    if not norm_title:
        return []
    if is_cjk(norm_title):
        chars = norm_title.replace(" ", "")
        return [f"tb:{chars[:8]}", f"te:{chars[-8:]}"] if len(chars) >= 8 else [f"tb:{chars}"]
    words = [w for w in norm_title.split() if w not in _STOPWORDS]
    if not words:
        return []
    return ["tb:" + " ".join(words[:3]), "te:" + " ".join(words[-3:])]


def _ascii_u(syllables: str) -> str:
    """pypinyin writes ü as 'v' (lv); MEDLINE writes it 'u' (Lu)."""
    return syllables.replace("v", "u")


@lru_cache(maxsize=65536)
def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin  # heavy: only for Chinese text

    return [p for p in lazy_pinyin(text, style=Style.NORMAL) if p.strip()]


def author_key(name: str | None) -> str | None:
    """'surname initial' key for one author, in ASCII; Chinese names transliterated to pinyin."""
    if not name or not name.strip():
        return None
    name = name.strip()
    if is_cjk(name):
        han = "".join(_CJK.findall(name))
        if not han:
            return None
        compound = COMPOUND_SURNAMES.get(han[:2])
        split = 2 if compound else 1
        surname = compound or SURNAME_READINGS.get(han[0]) or _ascii_u("".join(_pinyin(han[0])))
        given_syllables = _pinyin(han[split:])
        return f"{surname} {given_syllables[0][0]}" if given_syllables else surname
    if "," in name:
        surname, _, given_names = name.partition(",")
        given_initial = _first_letter(given_names)
        return _surname_key(surname) + (f" {given_initial}" if given_initial else "")
    tokens = name.replace(".", ". ").split()
    if len(tokens) == 1:
        return _surname_key(tokens[0])
    if _INITIALS.match(tokens[-1].replace(".", "")):  # MEDLINE 'Cherin P', 'Piette JC'
        return _surname_key(" ".join(tokens[:-1])) + f" {ascii_fold(tokens[-1])[0]}"
    # 'M Bomhof', 'Juan Tian', 'Dong Xue Wang': given names first, surname last.
    return _surname_key(tokens[-1]) + f" {_first_letter(tokens[0])}"


def _first_letter(text: str) -> str:
    folded = re.sub(r"[^a-z]", "", ascii_fold(text))
    return folded[:1]


def _surname_key(surname: str) -> str:
    return re.sub(r"[^a-z]", "", ascii_fold(surname))


def surname_of(key: str | None) -> str | None:
    return key.split(" ")[0] if key else None


def normalise_issn(value: str | None) -> str | None:
    if not value:
        return None
    match = re.search(r"(\d{4})-?(\d{3}[\dXx])", value)
    return (match.group(1) + match.group(2)).upper() if match else None


def normalise_number(value: str | None) -> str | None:
    """Volume/issue/page as digits without leading zeros ('08' -> '8', 'S1' stays 's1')."""
    if not value:
        return None
    text = ascii_fold(value).strip()
    digits = re.match(r"^[a-z]?0*(\d+)", text)
    if digits:
        prefix = text[0] if text[0].isalpha() else ""
        return prefix + digits.group(1)
    return text or None


def normalise_journal(value: str | None) -> str | None:
    if not value:
        return None
    text = normalise_title(value)
    words = [w for w in text.split() if w not in _STOPWORDS]
    return " ".join(words) or None
