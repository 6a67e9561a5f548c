r"""Bytes of a file to text, or the reason they are not text (``Rejected``, a user-facing message).

>>> decode("café\r\nbar".encode("cp1252"))
'café\nbar'
>>> decode(b"\x00\x01binary")
Traceback (most recent call last):
...
index.decode.Rejected: binary data, not text
"""

from __future__ import annotations

import codecs

_BINARY_PROBE = 8192
_MAX_CONTROL_SHARE = 0.10
_CONTROL_CHARS = dict.fromkeys([*(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}), 0x7F])  # str.translate: delete
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


class Rejected(Exception):
    """The file cannot be used; the message is the user-facing reason."""


def decode(data: bytes) -> str:
    """Text from bytes; line endings normalised to ``\\n``.

    UTF-16/32 with a byte-order mark; else UTF-8 (BOM stripped); else, for mostly-UTF-8 text with a
    few broken bytes, UTF-8 with U+FFFD for them; else strict Windows-1252 (Latin-1 included).
    NUL bytes, or more than 10% control characters, mean binary data.
    """
    bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
    if bom:
        try:
            text = data.decode(bom)
        except UnicodeDecodeError:
            raise Rejected(f"cannot decode text (broken {bom.upper()})") from None
    elif b"\x00" in data:
        raise Rejected("binary data, not text")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
    if any(_control_share(part) > _MAX_CONTROL_SHARE for part in (text[:_BINARY_PROBE], text)):
        raise Rejected("binary data, not text")
    if not text.strip():
        raise Rejected("empty file")
    return newlines(text)


def _decode_legacy(data: bytes) -> str:
    """Not valid UTF-8: UTF-8 with U+FFFD if more characters decode than break, else Windows-1252."""
    lenient = data.decode("utf-8", "replace")
    broken = lenient.count("\ufffd")
    valid_multibyte = len(lenient) - len(lenient.encode("ascii", "ignore")) - broken
    if valid_multibyte > broken:
        return lenient
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise Rejected("cannot decode text (not UTF-8 or Windows-1252)") from None


def _control_share(text: str) -> float:
    return (len(text) - len(text.translate(_CONTROL_CHARS))) / max(len(text), 1)


def newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
