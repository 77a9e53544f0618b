"""imkit.sip.multipart: multipart/mixed with SDP and a URI list (RFC 5366)."""

from __future__ import annotations

import pytest

from imkit.errors import LocalProtocolError
from imkit.sip import BodyPart, Multipart, ParseError, parse
from tests.sip.conftest import SDP, build_invite

URI_LIST = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
    b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\r\n'
    b'<list><entry uri="sip:bob@example.com"/></list></resource-lists>\r\n'
)


def build() -> Multipart:
    return Multipart(
        [
            BodyPart.build(SDP, "application/sdp"),
            BodyPart.build(
                URI_LIST, "application/resource-lists+xml",
                disposition="recipient-list", content_id="list1@example.com",
            ),
        ],
        boundary="boundary1",
    )


def test_build_exact_bytes() -> None:
    body = bytes(build())
    assert body == (
        b"--boundary1\r\nContent-Type: application/sdp\r\n\r\n" + SDP + b"\r\n"
        b"--boundary1\r\nContent-Type: application/resource-lists+xml\r\n"
        b"Content-Disposition: recipient-list\r\nContent-ID: <list1@example.com>\r\n\r\n"
        + URI_LIST + b"\r\n--boundary1--\r\n"
    )


def test_parse_round_trip_inside_a_message() -> None:
    mp = build()
    message = parse(build_invite(bytes(mp)).replace(b"application/sdp\r\nContent-Length", b"multipart/mixed;boundary=boundary1\r\nContent-Length"))
    content_type = message.content_type
    assert content_type is not None
    parsed = Multipart.parse(message.body, content_type)
    assert parsed == mp
    assert bytes(parsed) == message.body
    part = parsed.part_by_id("<list1@example.com>")
    assert part is not None and part.body == URI_LIST
    assert part.content_disposition is not None and part.content_disposition.value == "recipient-list"
    sdp = parsed.part_by_type("application/sdp")
    assert sdp is not None and sdp.body == SDP


def test_preamble_and_epilogue_kept() -> None:
    body = b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\nepilogue"
    mp = Multipart.parse(body, "multipart/mixed; boundary=b")
    assert mp.preamble == b"preamble\r\n" and mp.epilogue == b"epilogue"
    assert bytes(mp) == body


def test_boundary_inside_part_is_refused_when_building() -> None:
    mp = Multipart([BodyPart.build(b"--b inside", "text/plain")], boundary="b")
    with pytest.raises(LocalProtocolError):
        bytes(mp)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"no delimiter here", "multipart/mixed;boundary=b"),
        (b"--b\r\nContent-Type: text/plain\r\n\r\nunterminated", "multipart/mixed;boundary=b"),
        (b"--b--", "multipart/mixed"),
        (b"--b--", "text/plain"),
    ],
)
def test_malformed(body: bytes, content_type: str) -> None:
    with pytest.raises(ParseError):
        Multipart.parse(body, content_type)
