"""Messages shared by the trace tests (bytes written by hand)."""

from __future__ import annotations

ALICE_SIP = ("127.0.0.1", 5070)
SERVER_SIP = ("127.0.0.1", 5060)
ALICE_TCP = ("127.0.0.1", 41000)
SERVER_TCP = ("127.0.0.1", 5062)
ALICE_MSRP = ("127.0.0.1", 40001)
BOB_MSRP = ("127.0.0.1", 40002)
ALICE_V6 = ("::1", 41001)
SERVER_V6 = ("::1", 5061)

SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=message 40001 TCP/MSRP *\r\na=accept-types:message/cpim\r\n"
       b"a=path:msrp://127.0.0.1:40001/jshA7weztas;tcp\r\n")


def sip_request(method: str, body: bytes = b"", transport: str = "UDP", cseq: int = 1) -> bytes:
    content_type = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:5070;branch=z9hG4bK{method.lower()}{cseq}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>\r\n"
        "Call-ID: c1@127.0.0.1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Accept-Contact: *;+g.oma.sip-im\r\n"
        f"{content_type}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def sip_response(status: int, reason: str, method: str = "INVITE", transport: str = "UDP",
                 cseq: int = 1) -> bytes:
    return (
        f"SIP/2.0 {status} {reason}\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:5070;branch=z9hG4bK{method.lower()}{cseq}\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>;tag=b2\r\n"
        "Call-ID: c1@127.0.0.1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


MSRP_SEND = (b"MSRP a786hjs2 SEND\r\n"
             b"To-Path: msrp://127.0.0.1:40002/kjhd37s2s20w2a;tcp\r\n"
             b"From-Path: msrp://127.0.0.1:40001/jshA7weztas;tcp\r\n"
             b"Message-ID: 87652491\r\n"
             b"Byte-Range: 1-5/5\r\n"
             b"Content-Type: text/plain\r\n\r\n"
             b"Hello\r\n"
             b"-------a786hjs2$\r\n")
MSRP_OK = (b"MSRP a786hjs2 200 OK\r\n"
           b"To-Path: msrp://127.0.0.1:40001/jshA7weztas;tcp\r\n"
           b"From-Path: msrp://127.0.0.1:40002/kjhd37s2s20w2a;tcp\r\n"
           b"-------a786hjs2$\r\n")
