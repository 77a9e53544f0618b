"""Reading MSRP messages from bytes (RFC 4975 sections 5.1 and 9).

:func:`parse` reads one complete message; :class:`StreamParser` is fed the
bytes of a connection as they come and hands out each message once its
end-line has arrived.  Framing follows the end-line, not a length: a message
ends at the first ``CRLF "-------" transact-id continuation-flag CRLF`` after
its header block.  Every buffer is bounded (header block, chunk body), and
malformed input of any kind raises :class:`imkit.msrp.ParseError` with the
absolute byte offset in the stream; nothing else escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imkit.errors import LocalProtocolError
from imkit.msrp.errors import HeaderValueError, ParseError
from imkit.msrp.headers import MAX_HEADERS, Headers
from imkit.msrp.message import (
    METHOD_RE,
    TRANSACTION_ID_RE,
    Flag,
    MSRPMessage,
    MSRPRequest,
    MSRPResponse,
)

__all__ = ["DEFAULT_MAX_CHUNK_SIZE", "DEFAULT_MAX_HEADER_SIZE", "Frame", "StreamParser", "parse"]

#: Largest chunk body a stream parser accepts unless told otherwise.
DEFAULT_MAX_CHUNK_SIZE = 1 << 20
#: Largest start line plus header block.
DEFAULT_MAX_HEADER_SIZE = 16384

_START = b"MSRP "
_HYPHENS = b"-------"
_FLAGS = {ord("$"): Flag.END, ord("+"): Flag.MORE, ord("#"): Flag.ABORT}
_STATUS_RE = re.compile(rb"([0-9]{3})(?: (.*))?", re.DOTALL)
_HNAME_STR_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-.!%*_+`'~]*")
# in a header block: no control character but HTAB, and CR only before LF
_BAD_BLOCK_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
# utf8text: HTAB, %x20-7E and UTF-8 beyond ASCII; no other control characters
_BAD_TEXT_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_COMPACT_AT = 1 << 16


@dataclass(frozen=True)
class Frame:
    """One message read from a stream, with the exact bytes it came in."""

    raw: bytes
    message: MSRPMessage


@dataclass
class _Head:
    """What is known of the message being read once its header block is in."""

    transaction_id: str
    marker: bytes                  # CRLF, seven hyphens and the transaction id
    method: str | None             # None for a response
    code: int | None
    comment: str | None
    headers: Headers
    body_start: int | None         # None: no body, the end-line follows the headers
    tail: int                      # where the end-line search starts


def _text(raw: bytes, what: str, offset: int) -> str:
    bad = _BAD_TEXT_RE.search(raw)
    if bad is not None:
        raise ParseError(f"control character in {what}", offset + bad.start())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{what} is not UTF-8", offset + exc.start) from None


class StreamParser:
    """Incremental reader for one MSRP connection.

    ``feed(data)`` returns the messages completed by ``data`` (possibly
    none).  After a :class:`ParseError` the stream cannot be re-synchronised
    (RFC 4975 has no recovery), so every later call raises it again.
    """

    def __init__(
        self,
        *,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
    ) -> None:
        if max_chunk_size < 0 or max_header_size < 64:
            raise LocalProtocolError("max_chunk_size >= 0 and max_header_size >= 64")
        self.max_chunk_size = max_chunk_size
        self.max_header_size = max_header_size
        self._buf = bytearray()
        self._pos = 0            # start of the message being read, in _buf
        self._base = 0           # stream offset of _buf[0]
        self._scan = 0           # where the next search for the header end starts
        self._head: _Head | None = None
        self._block: tuple[int, list[str]] = (0, [])  # the current header block: offset, lines
        self._error: ParseError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a returned message."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> list[Frame]:
        if self._error is not None:
            raise self._error
        self._buf += data
        frames: list[Frame] = []
        try:
            while True:
                frame = self._next()
                if frame is None:
                    break
                frames.append(frame)
        except ParseError as exc:
            self._error = exc
            raise
        if self._pos >= _COMPACT_AT or self._pos == len(self._buf):
            self._compact()
        return frames

    # -- internals ----------------------------------------------------------

    def _compact(self) -> None:
        shift = self._pos
        if shift == 0:
            return
        del self._buf[:shift]
        self._base += shift
        self._pos = 0
        self._scan -= shift
        if self._head is not None:
            self._head.tail -= shift
            if self._head.body_start is not None:
                self._head.body_start -= shift

    def _offset(self, index: int) -> int:
        return self._base + index

    def _next(self) -> Frame | None:
        if self._head is None:
            self._head = self._read_head()
            if self._head is None:
                return None
        return self._read_tail(self._head)

    def _read_head(self) -> _Head | None:
        buf, pos = self._buf, self._pos
        if len(buf) == pos:
            return None
        # RFC 4975 section 9: pMSRP = %x4D.53.52.50 ; MSRP in caps
        prefix = bytes(buf[pos:pos + len(_START)])
        if not _START.startswith(prefix):
            raise ParseError("a message starts with 'MSRP '", self._offset(pos))
        line_end = buf.find(b"\r\n", pos, pos + self.max_header_size)
        if line_end < 0:
            if len(buf) - pos >= self.max_header_size:
                raise ParseError("start line too long", self._offset(pos))
            return None
        words = bytes(buf[pos + len(_START):line_end]).split(b" ", 1)
        if len(words) != 2:
            raise ParseError("start line is MSRP SP transact-id SP method-or-status", self._offset(pos))
        tid_raw, rest = words
        tid = tid_raw.decode("latin-1")
        if TRANSACTION_ID_RE.fullmatch(tid) is None:
            raise ParseError("bad transaction id", self._offset(pos + len(_START)))
        marker = b"\r\n" + _HYPHENS + tid_raw
        rest_at = pos + len(_START) + len(tid_raw) + 1
        method: str | None = None
        code: int | None = None
        comment: str | None = None
        status = _STATUS_RE.fullmatch(rest)
        if status is not None:
            code = int(status.group(1))
            if code < 100:
                raise ParseError("status code below 100", self._offset(rest_at))
            if status.group(2) is not None:
                comment = _text(status.group(2), "comment", self._offset(rest_at + 4))
        elif METHOD_RE.fullmatch(rest.decode("latin-1")) is not None:
            method = rest.decode("ascii")
        else:
            raise ParseError("method is 1 to 32 upper-case letters", self._offset(rest_at))
        # The header block ends at a blank line (a body follows) or at the
        # end-line (no body), whichever comes first.
        start = max(self._scan, line_end)
        limit = pos + self.max_header_size
        blank = buf.find(b"\r\n\r\n", start, limit)
        end = buf.find(marker, start, limit)
        if blank < 0 and end < 0:
            if len(buf) >= limit:
                raise ParseError("header block too long", self._offset(pos))
            self._scan = max(line_end, len(buf) - len(marker))
            return None
        has_body = blank >= 0 and (end < 0 or blank < end)
        block_end = blank if has_body else end
        headers = self._headers(line_end + 2, block_end)
        if code is not None and has_body:
            raise ParseError("a response has no body", self._offset(blank))
        body_start = blank + 4 if has_body else None
        return _Head(tid, marker, method, code, comment, headers, body_start,
                     body_start if body_start is not None else end)

    def _headers(self, start: int, end: int) -> Headers:
        """The header lines between ``start`` and ``end``, checked once here
        (name syntax, utf8text values) and then trusted by :class:`Headers`."""
        self._block = (self._offset(start), [])
        if end <= start:
            return Headers()
        block = bytes(self._buf[start:end])
        bad = _BAD_BLOCK_RE.search(block)
        if bad is not None:
            raise ParseError("control character in a header line", self._offset(start + bad.start()))
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("header line is not UTF-8", self._offset(start + exc.start)) from None
        lines = text.split("\r\n")
        self._block = (self._offset(start), lines)
        if len(lines) > MAX_HEADERS:
            raise ParseError(f"more than {MAX_HEADERS} header fields", self._line_offset(MAX_HEADERS))
        fields = []
        for index, line in enumerate(lines):
            colon = line.find(":")
            if colon <= 0 or _HNAME_STR_RE.fullmatch(line, 0, colon) is None:
                raise ParseError('header line is name ":" SP value', self._line_offset(index))
            fields.append((line[:colon], line[colon + 1:].strip(" \t")))
        return Headers.trusted(tuple(fields))

    def _line_offset(self, index: int) -> int:
        """Stream offset of header line ``index`` of the current block."""
        base, lines = self._block
        return base + sum(len(line.encode()) + 2 for line in lines[:index])

    def _read_tail(self, head: _Head) -> Frame | None:
        buf, marker = self._buf, head.marker
        after = len(marker)
        if head.body_start is None:
            found = head.tail
        else:
            # "data CRLF end-line": the first CRLF "-------" id flag after the
            # blank line ends the body.
            found = buf.find(marker, head.tail)
            while found >= 0 and found + after < len(buf) and buf[found + after] not in _FLAGS:
                found = buf.find(marker, found + 1)
            if found < 0:
                if len(buf) - head.body_start > self.max_chunk_size + after:
                    raise ParseError("chunk body larger than the limit", self._offset(head.body_start))
                head.tail = max(head.body_start, len(buf) - after)
                return None
            if found - head.body_start > self.max_chunk_size:
                raise ParseError("chunk body larger than the limit", self._offset(head.body_start))
        if found + after + 3 > len(buf):
            head.tail = found
            return None
        flag = _FLAGS.get(buf[found + after])
        if flag is None:
            raise ParseError("end-line flag is one of $ + #", self._offset(found + after))
        if buf[found + after + 1:found + after + 3] != b"\r\n":
            raise ParseError("end-line ends with CRLF", self._offset(found + after + 1))
        end = found + after + 3
        raw = bytes(buf[self._pos:end])
        body = None if head.body_start is None else bytes(buf[head.body_start:found])
        message = self._build(head, body, flag)
        self._pos = end
        self._scan = end
        self._head = None
        return Frame(raw, message)

    def _build(self, head: _Head, body: bytes | None, flag: Flag) -> MSRPMessage:
        try:
            if head.method is not None:
                return MSRPRequest(head.transaction_id, head.method, head.headers, body, flag)
            assert head.code is not None
            return MSRPResponse(head.transaction_id, head.code, head.comment, head.headers, flag)
        except HeaderValueError as exc:
            position = head.headers.index(exc.name)
            offset = self._line_offset(position) if position is not None else self._offset(self._pos)
            raise ParseError(str(exc), offset) from None
        except LocalProtocolError as exc:
            raise ParseError(str(exc), self._offset(self._pos)) from None


def parse(data: bytes) -> MSRPMessage:
    """Read exactly one complete MSRP message from ``data``.

    Raises :class:`imkit.msrp.ParseError` for anything else: malformed,
    truncated, or followed by more bytes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("MSRP input must be bytes", 0)
    data = bytes(data)
    parser = StreamParser(max_chunk_size=len(data), max_header_size=max(len(data), 64))
    frames = parser.feed(data)
    if not frames:
        raise ParseError("truncated MSRP message", len(data))
    if len(frames) > 1 or parser.buffered:
        raise ParseError("bytes after the end-line", len(frames[0].raw))
    return frames[0].message
