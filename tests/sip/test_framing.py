"""imkit.sip.framing: stream framing by Content-Length and UDP datagram rules."""

from __future__ import annotations

import pytest

from imkit.sip import FramingError, KeepAlivePing, ParseError, StreamFramer, parse_datagram
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
