"""Decoding of exported files: byte-order marks, UTF-8, and GB18030 (CNKI's Windows exports).

Order matters: a BOM is authoritative; otherwise strict UTF-8 is tried first because GB18030 can
decode almost any byte sequence and would silently garble UTF-8 text.
"""

from __future__ import annotations

import codecs

_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


class DecodeError(ValueError):
    """The bytes are not text in any supported encoding."""


def decode_export(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used); newlines normalised to '\\n'."""
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DecodeError(f"cannot decode as {encoding}: {exc}") from exc
        return _newlines(text.lstrip("\ufeff")), encoding
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _newlines(data.decode(name).lstrip("\ufeff")), name
    try:
        return _newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return _newlines(data.decode("gb18030")), "gb18030"
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8 or GB18030 text (byte {exc.start})") from exc


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
