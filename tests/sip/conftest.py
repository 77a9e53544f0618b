"""Example messages shared by the SIP core tests (written from RFC 3261 24.2
and RFC 5366 section 4, with correct Content-Length values)."""

from __future__ import annotations

import pytest

SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"m=message 7394 TCP/MSRP *\r\n"
    b"a=accept-types:message/cpim text/plain\r\n"
    b"a=path:msrp://127.0.0.1:7394/iau39soe2843z;tcp\r\n"
)


def build_invite(body: bytes = SDP) -> bytes:
    return (
        b"INVITE sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"To: Bob <sip:bob@example.com>\r\n"
        b"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710@127.0.0.1\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Contact: <sip:alice@127.0.0.1:5070>;+g.oma.sip-im\r\n"
        b"Accept-Contact: *;+g.oma.sip-im\r\n"
        b"User-Agent: IM-client/OMA1.0 imkit/0.1.0\r\n"
        b"Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS\r\n"
        b"Supported: timer\r\n"
        b"Session-Expires: 1800;refresher=uac\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@pytest.fixture
def invite_bytes() -> bytes:
    return build_invite()
