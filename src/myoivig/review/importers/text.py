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


def is_blank(data: bytes) -> bool:
    """True for a file with nothing but a byte-order mark and white space (any encoding)."""
    for bom, _ in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return not data.strip(b" \t\r\n\x00")


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
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return _newlines(data.decode("gb18030")), "gb18030"
    except UnicodeDecodeError as exc:
        raise DecodeError(_neither(utf8_error, exc)) from exc


def decode_head(data: bytes, limit: int, encoding: str | None = None) -> tuple[str, str]:
    """Decode at most `limit` bytes from the start, for format detection.

    The cut may fall inside a multibyte character (UTF-8 uses up to 4 bytes, GB18030 up to 4),
    so the bytes go through an incremental decoder that holds back an unfinished character
    instead of failing on it; only bytes that are wrong in themselves reject the file. Detection
    therefore never refuses a file that decoding the whole file would accept.
    """
    final = len(data) <= limit
    head = data[:limit]
    if encoding:
        try:
            return _incremental(head, encoding, final), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise DecodeError(f"cannot decode as {encoding}: {exc}") from exc
    for bom, name in _BOMS:
        if head.startswith(bom):
            try:
                return _incremental(head, name, final).lstrip("\ufeff"), name
            except UnicodeDecodeError as exc:
                raise DecodeError(f"not {name} text despite its byte-order mark: {exc}") from exc
    try:
        return _incremental(head, "utf-8", final), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return _incremental(head, "gb18030", final), "gb18030"
    except UnicodeDecodeError as exc:
        raise DecodeError(_neither(utf8_error, exc)) from exc


def _incremental(data: bytes, encoding: str, final: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    return _newlines(decoder.decode(data, final=final))


def _neither(utf8: UnicodeDecodeError, gb: UnicodeDecodeError) -> str:
    return (
        f"not UTF-8 text (invalid byte at {utf8.start}) nor GB18030 text (invalid byte at "
        f"{gb.start}); give the encoding with --encoding"
    )


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
