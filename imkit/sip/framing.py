"""Finding message boundaries on the wire (RFC 3261 section 18.3, RFC 5626 3.5.1).

Over a stream (TCP, TLS) messages follow each other and Content-Length says
where each body ends: "In the case of stream-oriented transports such as TCP,
the Content-Length header field indicates the size of the body.  All
stream-oriented transports MUST use Content-Length to indicate the end of the
message."  A missing, negative, non-numeric or repeated Content-Length is a
:class:`FramingError`: the stream can no longer be trusted and the connection
must be closed.

Over a datagram transport one datagram is one message: "If the message is
received on UDP and the Content-Length is less than the message body, the
extra is discarded" (surplus cut by :func:`parse_datagram`); a Content-Length
larger than the body makes the message malformed.

CRLF keep-alives (RFC 5626): a double CRLF between messages is a ping, which
:class:`StreamFramer` reports so the runtime can answer with a single CRLF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imkit.sip.errors import FramingError, ParseError
from imkit.sip.message import MAX_MESSAGE_SIZE, SIPMessage, parse


@dataclass(frozen=True, slots=True)
class KeepAlivePing:
    """A double CRLF seen between messages (RFC 5626 3.5.1)."""


#: A Content-Length row (full or compact name) in a lower-cased head: the
#: line end before it, the name as a row-by-row reading finds it after
#: ``bytes.strip`` (white space around it, but not SP or HTAB first, which
#: makes a continuation line), the colon and the rest of the line.
_CONTENT_LENGTH_RE = re.compile(
    rb"\n(?:[\r\x0b\x0c][ \t\r\x0b\x0c]*+)?(?:content-length|l)[ \t\r\x0b\x0c]*+:([^\n]*)"
)


def _content_length(head: bytes, offset: int) -> int | None:
    """The Content-Length of a head (start line and header rows): ``None``
    when it has none, a :class:`FramingError` when it has several or one
    that is not a number."""
    first = head.find(b"\n")
    if first < 0:
        return None
    found: int | None = None
    for match in _CONTENT_LENGTH_RE.finditer(head.lower(), first):
        text = head[match.start(1) : match.end(1)].strip()
        if found is not None:
            raise FramingError("Content-Length appears more than once", offset)
        if not text.isdigit():
            raise FramingError(f"Content-Length {text[:20]!r} is not a non-negative number", offset)
        found = int(text)
    return found


class StreamFramer:
    """Cut a byte stream into complete SIP messages (as bytes).

    ``feed(data)`` returns the complete messages and keep-alive pings found so
    far; a partial message stays buffered.  The buffer is bounded by
    ``max_message_size``: a head without an end in that many bytes, or a
    Content-Length larger than it, is a :class:`FramingError`.
    """

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._consumed = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | KeepAlivePing]:
        self._buffer += data
        out: list[bytes | KeepAlivePing] = []
        while True:
            # RFC 3261 7.5: "implementations ... SHOULD ignore any CRLF appearing before the start-line"
            if self._buffer.startswith(b"\r\n\r\n"):
                del self._buffer[:4]
                self._consumed += 4
                out.append(KeepAlivePing())
                continue
            if self._buffer.startswith(b"\r\n") and len(self._buffer) >= 3 and self._buffer[2:3] != b"\r":
                del self._buffer[:2]
                self._consumed += 2
                continue
            if self._buffer in (b"\r\n", b"\r", b"\r\n\r"):
                break
            end = self._buffer.find(b"\r\n\r\n")
            if end == -1:
                if len(self._buffer) > self.max_message_size:
                    raise FramingError("no end of headers within the size limit", self._consumed)
                break
            head = bytes(self._buffer[:end])
            length = _content_length(head, self._consumed)
            if length is None:
                raise FramingError("a stream message must carry Content-Length", self._consumed)
            total = end + 4 + length
            if total > self.max_message_size:
                raise FramingError(
                    f"message of {total} bytes exceeds the limit of {self.max_message_size}",
                    self._consumed,
                )
            if len(self._buffer) < total:
                break
            out.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
            self._consumed += total
        return out


def parse_datagram(data: bytes, max_size: int = MAX_MESSAGE_SIZE) -> SIPMessage:
    """Parse one UDP datagram as a SIP message, applying RFC 3261 18.3."""
    if len(data) > max_size:
        raise ParseError(f"datagram larger than {max_size} bytes", max_size)
    stripped = data.lstrip(b"\r\n")
    skipped = len(data) - len(stripped)
    end = stripped.find(b"\r\n\r\n")
    if end != -1:
        try:
            length = _content_length(stripped[:end], skipped)
        except FramingError as exc:
            raise ParseError(exc.what, exc.offset) from None
        if length is not None:
            body_len = len(stripped) - end - 4
            if length > body_len:
                raise ParseError(
                    f"Content-Length {length} exceeds the {body_len} bytes of body", skipped + end + 4
                )
            stripped = stripped[: end + 4 + length]
    try:
        return parse(stripped, max_size=max_size)
    except ParseError as exc:
        raise ParseError(exc.what, exc.offset + skipped) from None
