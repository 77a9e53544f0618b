"""imkit.payloads.sipfrag: RFC 3420 fragments as RFC 3515 REFER NOTIFYs carry them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.payloads import PayloadError
from imkit.payloads.sipfrag import CONTENT_TYPE, REFER_CONTENT_TYPE, RequestLine, SipFrag, StatusLine
from imkit.sip import Headers


def test_constants() -> None:
    assert CONTENT_TYPE == "message/sipfrag"
    assert REFER_CONTENT_TYPE == "message/sipfrag;version=2.0"


@pytest.mark.parametrize(
    ("data", "code", "reason", "final"),
    [
        (b"SIP/2.0 100 Trying\r\n", 100, "Trying", False),
        (b"SIP/2.0 180 Ringing\r\n", 180, "Ringing", False),
        (b"SIP/2.0 200 OK\r\n", 200, "OK", True),
        (b"SIP/2.0 603 Declined", 603, "Declined", True),
        (b"SIP/2.0 503 Service Unavailable\n", 503, "Service Unavailable", True),
        (b"sip/2.0 486 Busy Here\r\n", 486, "Busy Here", True),
        (b"SIP/2.0 200 \xc3\x9cbersicht ok\r\n", 200, "\u00dcbersicht ok", True),
        (b"SIP/2.0 202\r\n", 202, "", True),
    ],
)
def test_refer_progress_status_lines(data: bytes, code: int, reason: str, final: bool) -> None:
    frag = SipFrag.parse(data)
    assert (frag.status_code, frag.reason, frag.is_final) == (code, reason, final)
    assert frag.headers == Headers() and frag.body is None


def test_fragment_with_headers_and_body() -> None:
    data = (
        b"SIP/2.0 603 Declined\r\n"
        b"Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8\r\n"
        b"Warning: 399 example.com\r\n"
        b"  \"folded text\"\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"Not today.\r\n"
    )
    frag = SipFrag.parse(data)
    assert frag.start_line == StatusLine(603, "Declined")
    assert [(f.name, f.value) for f in frag.headers] == [
        ("Via", "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8"),
        ("Warning", '399 example.com "folded text"'),
        ("Content-Type", "text/plain"),
    ]
    assert frag.headers.get("content-type") == "text/plain"
    assert frag.body == b"Not today.\r\n"
    assert bytes(frag) == data


def test_request_fragment_and_header_only_fragment() -> None:
    frag = SipFrag.parse(b"INVITE sip:alice@atlanta.example.com SIP/2.0\r\nContact: <sip:alice@pc33>\r\n")
    assert frag.start_line == RequestLine("INVITE", "sip:alice@atlanta.example.com")
    assert frag.status_code is None and frag.reason is None and not frag.is_final
    headers_only = SipFrag.parse(b"From: Alice <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n")
    assert headers_only.start_line is None
    assert headers_only.headers.get("f") == "Alice <sip:alice@example.com>;tag=1"


def test_empty_parts() -> None:
    assert SipFrag.parse(b"") == SipFrag()
    assert SipFrag.parse(b"\r\nhello") == SipFrag(body=b"hello")
    assert SipFrag.parse(b"SIP/2.0 200 OK\r\n\r\n") == SipFrag(StatusLine(200, "OK"), body=b"")


def test_build_progress_fragments() -> None:
    assert bytes(SipFrag.from_status(100)) == b"SIP/2.0 100 Trying\r\n"
    assert bytes(SipFrag.from_status(200)) == b"SIP/2.0 200 OK\r\n"
    assert bytes(SipFrag.from_status(480, "Gone fishing", [("Retry-After", "60")])) == (
        b"SIP/2.0 480 Gone fishing\r\nRetry-After: 60\r\n"
    )
    assert bytes(SipFrag.from_status(299)) == b"SIP/2.0 299 \r\n"
    assert SipFrag.from_status(200).to_bytes() == bytes(SipFrag.from_status(200))


@pytest.mark.parametrize(
    ("code", "reason", "headers"),
    [(99, None, []), (700, None, []), (True, None, []), ("200", None, []), (200, "O\r\nK", []), (200, None, [("Bad Name", "x")])],
)
def test_build_refuses_invalid_fragments(code: object, reason: str | None, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(LocalProtocolError):
        SipFrag.from_status(code, reason, headers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"SIP/2.0 2000 OK\r\n", 0),
        (b"SIP/2.0 099 Low\r\n", 8),
        (b"SIP/2.0 700 High\r\n", 8),
        (b"SIP/2.0 20x OK\r\n", 0),
        (b"SIP/two 200 OK\r\n", 0),
        (b"SIP/2.0  200 OK\r\n", 0),
        (b"SIP/2.0 200 O\x01K\r\n", 13),
        (b"SIP/2.0 200 \xff\r\n", 12),
        (b"SIP/2.0 100 Trying\r\nNo colon here\r\n", 20),
        (b"SIP/2.0 100 Trying\r\n continuation first\r\n", 20),
        (b"SIP/2.0 100 Trying\r\nBad Name: x\r\n", 20),
    ],
)
def test_malformed_fragments(data: bytes, offset: int) -> None:
    with pytest.raises(PayloadError) as caught:
        SipFrag.parse(data)
    assert caught.value.offset == offset


def test_size_cap() -> None:
    with pytest.raises(PayloadError, match="cap"):
        SipFrag.parse(b"SIP/2.0 200 OK\r\n" + b"X-Pad: y\r\n" * 10_000)
    with pytest.raises(PayloadError, match="cap"):
        SipFrag.parse(b"SIP/2.0 200 OK\r\n", max_size=4)


def test_header_count_is_bounded() -> None:
    with pytest.raises(PayloadError, match="header fields"):
        SipFrag.parse(b"".join(b"X-%d: y\r\n" % i for i in range(300)))


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        SipFrag.parse("SIP/2.0 200 OK")  # type: ignore[arg-type]


REASON = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@given(st.integers(100, 699), REASON)
@settings(max_examples=200, deadline=None)
def test_status_fragments_round_trip(code: int, reason: str) -> None:
    frag = SipFrag.from_status(code, reason)
    again = SipFrag.parse(bytes(frag))
    assert again == frag and again.status_code == code and again.reason == reason


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_random_bytes_raise_only_payload_error(data: bytes) -> None:
    try:
        SipFrag.parse(data)
    except PayloadError:
        pass


def test_html_repr_escapes() -> None:
    assert SipFrag.from_status(200)._repr_html_() == "<pre>SIP/2.0 200 OK\r\n</pre>"
    assert "&lt;sip:a@b&gt;" in SipFrag.parse(b"SIP/2.0 100 Trying\r\nContact: <sip:a@b>\r\n")._repr_html_()
