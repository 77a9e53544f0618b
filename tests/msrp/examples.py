"""Example messages for the MSRP tests, written out from the examples in
RFC 4975 (sections 4, 5.1 and 11) and RFC 4976 (section 5, AUTH), with
CRLF line ends.

The RFC's Byte-Range values are kept even where they do not match the body
("Hi, I'm Alice!" is 14 bytes, section 11.1 says 1-16/16; our copy of the
section 11.5 body is 117 bytes, the RFC says 106): the framing is the
end-line, and imkit's session trusts the body's length, so these messages
must still parse, write back byte for byte, and be delivered."""

from __future__ import annotations


def crlf(text: str) -> bytes:
    """The message as sent: every line ended by CRLF."""
    return "".join(line + "\r\n" for line in text.split("\n")).encode()


# RFC 4975 section 4: Alice's first SEND to Bob and Bob's response.
SECTION_4_SEND = crlf(
    "MSRP a786hjs2 SEND\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
    "Message-ID: 87652491\n"
    "Byte-Range: 1-25/25\n"
    "Content-Type: text/plain\n"
    "\n"
    "Hey Bob, are you there?\n"
    "-------a786hjs2$"
)
SECTION_4_OK = crlf(
    "MSRP a786hjs2 200 OK\n"
    "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
    "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
    "-------a786hjs2$"
)

# RFC 4975 section 5.1: one message in two chunks (paths as in section 4).
SECTION_5_1_CHUNK_1 = crlf(
    "MSRP dkei38sd SEND\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
    "Message-ID: 4564dpWd\n"
    "Byte-Range: 1-*/8\n"
    "Content-Type: text/plain\n"
    "\n"
    "abcd\n"
    "-------dkei38sd+"
)
SECTION_5_1_CHUNK_2 = crlf(
    "MSRP dkei38ia SEND\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
    "Message-ID: 4564dpWd\n"
    "Byte-Range: 5-8/8\n"
    "Content-Type: text/plain\n"
    "\n"
    "EFGH\n"
    "-------dkei38ia$"
)

# RFC 4975 section 11.1: a basic IM session.
ALICE = "msrp://alicepc.example.com:7777/iau39soe2843z;tcp"
BOB = "msrp://bob.example.com:8888/9di4eae923wzd;tcp"
SECTION_11_1_SEND = crlf(
    "MSRP d93kswow SEND\n"
    f"To-Path: {BOB}\n"
    f"From-Path: {ALICE}\n"
    "Message-ID: 12339sdqwer\n"
    "Byte-Range: 1-16/16\n"
    "Content-Type: text/plain\n"
    "\n"
    "Hi, I'm Alice!\n"
    "-------d93kswow$"
)
SECTION_11_1_OK = crlf(
    "MSRP d93kswow 200 OK\n"
    f"To-Path: {ALICE}\n"
    f"From-Path: {BOB}\n"
    "-------d93kswow$"
)
SECTION_11_1_REPLY = crlf(
    "MSRP dkei38sd SEND\n"
    f"To-Path: {ALICE}\n"
    f"From-Path: {BOB}\n"
    "Message-ID: 456s9wlk3\n"
    "Byte-Range: 1-19/19\n"
    "Content-Type: text/plain\n"
    "\n"
    "Hi, Alice! I'm Bob!\n"
    "-------dkei38sd$"
)

# RFC 4975 section 11.5: a message asking for a success report, and the REPORT.
SECTION_11_5_BODY = (
    "<html><body>\n"
    "<p>Here is that important link...\n"
    "<a href=\"http://www.example.com/foobar\">foobar</a>\n"
    "</p>\n"
    "</body></html>"
)
SECTION_11_5_SEND = crlf(
    "MSRP d93kswow SEND\n"
    f"To-Path: {BOB}\n"
    f"From-Path: {ALICE}\n"
    "Message-ID: 12339sdqwer\n"
    "Byte-Range: 1-106/106\n"
    "Success-Report: yes\n"
    "Failure-Report: no\n"
    "Content-Type: text/html\n"
    "\n"
    f"{SECTION_11_5_BODY}\n"
    "-------d93kswow$"
)
SECTION_11_5_REPORT = crlf(
    "MSRP dkei38sd REPORT\n"
    f"To-Path: {ALICE}\n"
    f"From-Path: {BOB}\n"
    "Message-ID: 12339sdqwer\n"
    "Byte-Range: 1-106/106\n"
    "Status: 000 200 OK\n"
    "-------dkei38sd$"
)

# RFC 4976 section 5: authenticating to a relay (digest values shortened).
RFC4976_AUTH = crlf(
    "MSRP 49fh AUTH\n"
    "To-Path: msrps://alice@intra.example.com;tcp\n"
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\n"
    "-------49fh$"
)
RFC4976_401 = crlf(
    "MSRP 49fh 401 Unauthorized\n"
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\n"
    "From-Path: msrps://alice@intra.example.com;tcp\n"
    'WWW-Authenticate: Digest realm="intra.example.com", qop="auth", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"\n'
    "-------49fh$"
)
RFC4976_200 = crlf(
    "MSRP 49fi 200 OK\n"
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\n"
    "From-Path: msrps://alice@intra.example.com;tcp\n"
    "Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\n"
    "Expires: 900\n"
    "-------49fi$"
)

ALL = {
    "4-send": SECTION_4_SEND,
    "4-ok": SECTION_4_OK,
    "5.1-chunk-1": SECTION_5_1_CHUNK_1,
    "5.1-chunk-2": SECTION_5_1_CHUNK_2,
    "11.1-send": SECTION_11_1_SEND,
    "11.1-ok": SECTION_11_1_OK,
    "11.1-reply": SECTION_11_1_REPLY,
    "11.5-send": SECTION_11_5_SEND,
    "11.5-report": SECTION_11_5_REPORT,
    "4976-auth": RFC4976_AUTH,
    "4976-401": RFC4976_401,
    "4976-200": RFC4976_200,
}
