"""HTML pieces shared by the widgets and the rich reprs: bytes, errors, reasons.

Everything here is a plain function from data to an HTML string, so it is
tested without a browser and shown by a stock ``ipywidgets.HTML`` or by
Jupyter's ``_repr_html_``.  Every byte view uses the notation of
:mod:`imkit.widgets.wiretext` (line ends shown as ``␍␊`` or ``␊``, invisible
bytes as ``⟨HH⟩``) with each line's line number and starting byte offset, so a
:class:`~imkit.errors.ParseError`'s offset and a Content-Length can be
checked by eye.  Views are bounded: at most :data:`MAX_SHOWN_BYTES` bytes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import cache

from imkit.errors import ParseError
from imkit.procedures.rules import Verdict
from imkit.trace.provenance import Provenance
from imkit.widgets.wiretext import position, to_text

__all__ = [
    "EDIT_CLAUSE",
    "MAX_SHOWN_BYTES",
    "error_html",
    "esc",
    "hexdump_html",
    "parse_error_html",
    "reasons_html",
    "spec_words",
    "table",
    "verdict_html",
    "wire_html",
]

#: Largest number of bytes a byte view or hex dump shows (SIP's own message cap).
MAX_SHOWN_BYTES = 65536
#: The ``clause`` of a :class:`Provenance` the composer adds to a header a person edited.
EDIT_CLAUSE = "composer"

CRLF = b"\r\n"
MONO = "font-family:var(--jp-code-font-family, monospace);font-size:12px"
_DIM = "color:#9e9e9e"
_MARK = "background:#ffcdd2;outline:1px solid #d32f2f"
_CELL = "text-align:left;vertical-align:top;padding:2px 8px"
VERDICT_COLOURS = {Verdict.PASS: "#1a7f37", Verdict.FAIL: "#cf222e", Verdict.NOT_APPLICABLE: "#6e7781"}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, row_styles: Sequence[str] | None = None) -> str:
    """A left-aligned table; ``head`` is text, ``rows`` cells are HTML already."""
    header = "".join(f"<th style='{_CELL}'>{esc(name)}</th>" for name in head)
    body = []
    for index, row in enumerate(rows):
        style = f" style='{row_styles[index]}'" if row_styles and row_styles[index] else ""
        body.append(f"<tr{style}>" + "".join(f"<td style='{_CELL}'>{cell}</td>" for cell in row) + "</tr>")
    return f"<table style='border-collapse:collapse'><tr>{header}</tr>{''.join(body)}</table>"


def _lines(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, content, line end) for each line, split at every LF."""
    lines = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            lines.append((start, data[start:], b""))
            break
        content_end = end - 1 if end > start and data[end - 1] == 0x0D else end
        lines.append((start, data[start:content_end], data[content_end:end + 1]))
        start = end + 1
    return lines


def _ending_text(ending: bytes) -> str:
    return "␍␊" if ending == CRLF else "␊"


def _ending_html(ending: bytes) -> str:
    if not ending:
        return ""
    return f"<span style='{_DIM}'>{_ending_text(ending)}</span>"


def _line_html(offset: int, content: bytes, ending: bytes, mark: int | None) -> str:
    if mark is None or not offset <= mark < offset + len(content) + len(ending):
        return esc(to_text(content)) + _ending_html(ending)
    at = mark - offset
    if at >= len(content):  # the mark is on the line end
        return esc(to_text(content)) + f"<span style='{_MARK}'>{_ending_text(ending)}</span>"
    return (esc(to_text(content[:at])) + f"<span style='{_MARK}'>{esc(to_text(content[at:at + 1]))}</span>"
            + esc(to_text(content[at + 1:])) + _ending_html(ending))


def wire_html(data: bytes, *, mark: int | None = None, around: int | None = None,
              limit: int = MAX_SHOWN_BYTES) -> str:
    """``data`` line by line: line number, byte offset, the line, its end.

    ``mark`` highlights the byte at that offset (at or past the end: a marker
    after the last byte); ``around`` shows only that many lines either side of
    the marked line.  At most ``limit`` bytes are shown, and the rest counted.
    """
    shown = data[:limit]
    lines = _lines(shown)
    if mark is not None and mark >= len(data):
        mark_line = len(lines)
    elif mark is not None:
        mark_line = position(data, mark)[0]
    else:
        mark_line = None
    rows = []
    for number, (offset, content, ending) in enumerate(lines, start=1):
        if around is not None and mark_line is not None and abs(number - mark_line) > around:
            continue
        gutter = f"<span style='{_DIM}'>{number:>4} {offset:>6} │ </span>"
        rows.append(gutter + _line_html(offset, content, ending, mark))
    if mark is not None and mark >= len(data):
        rows.append(f"<span style='{_DIM}'>{'':>4} {len(data):>6} │ </span><span style='{_MARK}'>⟂ end of the bytes</span>")
    note = ""
    if len(data) > limit:
        note = f"<div style='{_DIM}'>… {len(data) - limit} more bytes not shown</div>"
    return f"<pre style='{MONO};margin:0;white-space:pre-wrap'>{chr(10).join(rows)}</pre>{note}"


def hexdump_html(data: bytes, *, limit: int = MAX_SHOWN_BYTES) -> str:
    """A hex dump: offset, 16 bytes in hex, the same bytes as ASCII."""
    rows = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset:offset + 16]
        hexes = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
        rows.append(f"<span style='{_DIM}'>{offset:06x}</span>  {hexes:<47}  |{esc(text)}|")
    note = f"<div style='{_DIM}'>… {len(data) - limit} more bytes not shown</div>" if len(data) > limit else ""
    return f"<pre style='{MONO};margin:0'>{chr(10).join(rows)}</pre>{note}"


def parse_error_html(error: ParseError, data: bytes, *, title: str = "does not parse") -> str:
    """What the parser said, where (byte, line, column), and the lines around it."""
    line, column = position(data, error.offset)
    what = getattr(error, "what", str(error))
    return (
        f"<div style='border-left:4px solid #d32f2f;padding:4px 8px'>"
        f"<b style='color:#d32f2f'>{esc(type(error).__name__)}</b> ({esc(title)}): {esc(what)}<br>"
        f"at byte {error.offset} of {len(data)} (line {line}, column {column})"
        f"{wire_html(data, mark=error.offset, around=2)}</div>"
    )


def error_html(title: str, error: BaseException) -> str:
    """Any other failure: its type and message."""
    return (f"<div style='border-left:4px solid #d32f2f;padding:4px 8px'><b style='color:#d32f2f'>"
            f"{esc(title)}</b>: {esc(type(error).__name__)}: {esc(error)}</div>")


@cache
def spec_words(clause: str, item: str) -> str | None:
    """The spec's own words for ``clause`` item ``item`` (from the procedure's
    RULES), or ``None`` when the clause or item has no rule (an RFC section)."""
    from imkit.procedures import CLAUSES, get

    if clause not in CLAUSES:
        return None
    for rule in get(clause).RULES:
        if rule.item == item:
            return str(rule.text)
    return None


def reasons_html(reasons: Sequence[Provenance]) -> str:
    """``← 7.1.1.1 item 1; ...``, each with the spec's words as a tooltip;
    hand edits in amber; nothing recorded in grey."""
    if not reasons:
        return f"<span style='{_DIM}'>(no reason recorded)</span>"
    parts = []
    for reason in reasons:
        words = spec_words(reason.clause, reason.item)
        tip = f" title='{esc(words)}'" if words else ""
        colour = "color:#b26a00;font-weight:bold" if reason.clause == EDIT_CLAUSE else ""
        parts.append(f"<span style='{colour}'{tip}>← {esc(reason)}</span>")
    return "<br>".join(parts)


def verdict_html(verdict: Verdict) -> str:
    colour = VERDICT_COLOURS[verdict]
    return f"<b style='color:{colour}'>{esc(verdict.value)}</b>"
