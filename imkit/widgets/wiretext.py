"""Wire bytes as text a person can read and edit, and back, byte for byte.

RFC 3261 section 7: "the start-line, each message-header line, and the empty
line MUST be terminated by a carriage-return line-feed sequence (CRLF)", while
a body may hold bare LFs (the resource-lists documents lxml writes do) and a
peer may send anything.  A text box shows neither CR nor invisible
characters, so the composer's editor and every byte view use one exact,
reversible notation:

- CRLF is a line break (typing a line break gives CRLF: what SIP needs);
- a bare LF is ``␊`` followed by a line break; a bare CR is ``␍``;
- a byte that is not visible UTF-8 text (a control or format character, a
  non-ASCII space, a byte that is not UTF-8 at all), and the characters
  ``␊``, ``␍`` and ``⟨`` themselves, are written ``⟨HH⟩``, one per byte.

``from_text(to_text(data)) == data`` for all bytes.  :func:`position` maps a
byte offset (a :class:`~imkit.errors.ParseError`'s) to the line and column
of that text.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CR_MARK", "ESCAPE_OPEN", "LF_MARK", "from_text", "position", "to_text"]

LF_MARK = "\u240a"  # ␊ SYMBOL FOR LINE FEED
CR_MARK = "\u240d"  # ␍ SYMBOL FOR CARRIAGE RETURN
ESCAPE_OPEN = "\u27e8"  # ⟨
ESCAPE_CLOSE = "\u27e9"  # ⟩
_ESCAPE = re.compile(f"{ESCAPE_OPEN}([0-9A-Fa-f]{{2}}){ESCAPE_CLOSE}")
_MARKS = {LF_MARK, CR_MARK, ESCAPE_OPEN}
#: Unicode categories that are invisible or break lines: written as bytes.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _visible(char: str) -> bool:
    if char == "\t" or char == " ":
        return True
    if char in _MARKS:
        return False
    category = unicodedata.category(char)
    # a space other than U+0020 (no-break, thin...) looks like one: shown as bytes
    return category not in _HIDDEN and category != "Zs"


def _escape(data: bytes) -> str:
    return "".join(f"{ESCAPE_OPEN}{byte:02X}{ESCAPE_CLOSE}" for byte in data)


def _utf8_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def to_text(data: bytes) -> str:
    """``data`` in the editor's notation (see the module docstring)."""
    parts: list[str] = []
    i, size = 0, len(data)
    while i < size:
        byte = data[i]
        if byte == 0x0D:
            if data[i + 1:i + 2] == b"\n":
                parts.append("\n")
                i += 2
            else:
                parts.append(CR_MARK)
                i += 1
            continue
        if byte == 0x0A:
            parts.append(LF_MARK + "\n")
            i += 1
            continue
        length = _utf8_length(byte)
        char = None
        if length:
            try:
                char = data[i:i + length].decode("utf-8")
            except UnicodeDecodeError:
                char = None
        if char is not None and _visible(char):
            parts.append(char)
            i += length
        else:
            parts.append(_escape(data[i:i + 1]))
            i += 1
    return "".join(parts)


def from_text(text: str) -> bytes:
    """The bytes ``text`` (in the editor's notation) stands for.

    Never fails: a line break is CRLF (a browser's CRLF too), ``␊`` and an
    optional line break after it is LF, ``␍`` is CR, ``⟨HH⟩`` is that byte,
    anything else is its UTF-8 (an unpaired surrogate becomes ``?``).
    """
    out = bytearray()
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == "\r":
            out += b"\r\n"
            i += 2 if text[i + 1:i + 2] == "\n" else 1
        elif char == "\n":
            out += b"\r\n"
            i += 1
        elif char == LF_MARK:
            out += b"\n"
            i += 1
            # the line break written after the mark belongs to it
            if text.startswith("\r\n", i):
                i += 2
            elif text.startswith("\n", i):
                i += 1
        elif char == CR_MARK:
            out += b"\r"
            i += 1
        elif char == ESCAPE_OPEN and (match := _ESCAPE.match(text, i)):
            out.append(int(match.group(1), 16))
            i = match.end()
        else:
            out += char.encode("utf-8", "replace")
            i += 1
    return bytes(out)


def position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (both from 1) of byte ``offset`` in ``to_text(data)``.

    Lines are broken where ``data`` has an LF (after CR or bare), as in
    :func:`to_text`; an offset past the end is placed just after the last byte.
    """
    offset = max(0, min(offset, len(data)))
    start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    return line, len(to_text(data[start:offset])) + 1
