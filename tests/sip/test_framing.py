"""imkit.sip.framing: stream framing by Content-Length and UDP datagram rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.sip import (
    FramingError,
    KeepAlivePing,
    ParseError,
    StreamFramer,
    parse_datagram,
)
from imkit.sip.framing import _content_length
from imkit.sip.headers import header_key
from tests.sip.conftest import build_invite


def test_stream_in_arbitrary_pieces() -> None:
    one, two = build_invite(), build_invite(b"")
    stream = one + two
    for size in (1, 7, 100, len(stream)):
        framer = StreamFramer()
        out: list[object] = []
        for i in range(0, len(stream), size):
            out += framer.feed(stream[i : i + size])
        assert out == [one, two]
        assert framer.buffered == 0


def test_keepalive_ping_and_leading_crlf() -> None:
    framer = StreamFramer()
    out = framer.feed(b"\r\n\r\n" + build_invite())
    assert isinstance(out[0], KeepAlivePing) and out[1] == build_invite()


@pytest.mark.parametrize(
    "header",
    [b"Content-Length: -3", b"Content-Length: abc", b"Content-Length: 1\r\nl: 1", None],
)
def test_bad_content_length_breaks_the_stream(header: bytes | None) -> None:
    head = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    data = head + (header + b"\r\n" if header else b"") + b"\r\n"
    with pytest.raises(FramingError):
        StreamFramer().feed(data)


def test_stream_bounds() -> None:
    framer = StreamFramer(max_message_size=1000)
    with pytest.raises(FramingError, match="no end of headers"):
        framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 200)
    with pytest.raises(FramingError, match="exceeds"):
        StreamFramer(max_message_size=1000).feed(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n")


def test_datagram_surplus_is_discarded() -> None:
    invite = build_invite()
    message = parse_datagram(invite + b"garbage after the body")
    assert bytes(message) == invite


def test_datagram_short_body_is_malformed() -> None:
    invite = build_invite()
    with pytest.raises(ParseError, match="exceeds"):
        parse_datagram(invite[:-5])


def test_datagram_without_content_length_takes_the_rest() -> None:
    raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\nbody"
    assert parse_datagram(raw).body == b"body"


def _content_length_by_rows(head: bytes) -> int | None:
    """Content-Length read row by row: each line after the first, its name
    before the first colon (``bytes.strip``-ped, SP/HTAB first making a
    continuation line), compared by :func:`header_key`."""
    found: int | None = None
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon or name[:1] in (b" ", b"\t"):
            continue
        try:
            key = header_key(name.strip().decode("ascii"))
        except UnicodeDecodeError:
            continue
        if key != "content-length":
            continue
        text = value.strip()
        if found is not None:
            raise FramingError("Content-Length appears more than once", 0)
        if not text.isdigit():
            raise FramingError(f"Content-Length {text[:20]!r} is not a non-negative number", 0)
        found = int(text)
    return found


_HEAD_PIECES = st.sampled_from([
    b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x0b", b"\x0c", b":", b"l", b"L", b"Content-Length", b"content-LENGTH",
    b"Content-Lengthy", b"xl", b"1", b"23", b"-", b"a", b"\xc3\xa9", b"Via", b"\x00",
])


@given(st.lists(_HEAD_PIECES, max_size=30))
@settings(max_examples=1000, deadline=None)
def test_content_length_pattern_reads_like_the_rows(pieces: list[bytes]) -> None:
    head = b"INVITE sip:a@b SIP/2.0\r\n" + b"".join(pieces)
    try:
        expected: int | None | str = _content_length_by_rows(head)
    except FramingError as exc:
        expected = exc.what
    try:
        got: int | None | str = _content_length(head, 0)
    except FramingError as exc:
        got = exc.what
    assert got == expected
