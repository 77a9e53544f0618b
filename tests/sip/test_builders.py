"""imkit.sip.builders and imkit.sip.ids: responses (RFC 3261 8.2.6), requests
(8.1.1), CANCEL (9.1), ACK for non-2xx (17.1.1.3) and random identifiers.

The RFC 3261 section 24.2 messages below are written from the RFC's text; the
SDP bodies are ours (the RFC does not show them) with matching Content-Length.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from imkit.errors import LocalProtocolError
from imkit.sip import NameAddr, Request, Response, Via, parse
from imkit.sip.builders import make_ack_for_non2xx, make_cancel, make_response, new_request
from imkit.sip.ids import MAGIC_COOKIE, IdGenerator, new_branch, new_call_id, new_tag

ALICE_SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\n"
    b"s=-\r\n"
    b"c=IN IP4 pc33.atlanta.com\r\n"
    b"t=0 0\r\n"
    b"m=message 7394 TCP/MSRP *\r\n"
)
BOB_SDP = (
    b"v=0\r\n"
    b"o=bob 2890844527 2890844527 IN IP4 192.0.2.4\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\n"
    b"m=message 7400 TCP/MSRP *\r\n"
)


def _length(body: bytes) -> bytes:
    return str(len(body)).encode()


#: F1 INVITE Alice -> atlanta.com proxy, as the proxy's transport received it
#: (it added received=, RFC 3261 18.2.1; folded as in F2).
F1_AT_PROXY = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
    b" ;received=192.0.2.1\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + _length(ALICE_SDP) + b"\r\n\r\n" + ALICE_SDP
)

#: F5 INVITE biloxi.com proxy -> Bob, as Bob's transport received it.
F5_AT_BOB = (
    b"INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1\r\n"
    b" ;received=192.0.2.3\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1\r\n"
    b" ;received=192.0.2.2\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
    b" ;received=192.0.2.1\r\n"
    b"Max-Forwards: 68\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + _length(ALICE_SDP) + b"\r\n\r\n" + ALICE_SDP
)

#: F6 180 Ringing Bob -> biloxi.com proxy, in the RFC's own header order.
F6_RFC = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1\r\n"
    b" ;received=192.0.2.3\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1\r\n"
    b" ;received=192.0.2.2\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
    b" ;received=192.0.2.1\r\n"
    b"To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"Contact: <sip:bob@192.0.2.4>\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def _semantic(message: Request | Response) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in message.headers:
        out.setdefault(row.key, []).append(row.value)
    return out


# ---------------------------------------------------------------- responses


def test_100_trying_from_the_proxy_is_rfc_f2() -> None:
    invite = parse(F1_AT_PROXY)
    assert isinstance(invite, Request)
    trying = make_response(invite, 100)
    assert bytes(trying) == (
        b"SIP/2.0 100 Trying\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8 ;received=192.0.2.1\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def test_180_from_bob_is_rfc_f6() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    ringing = make_response(invite, 180, to_tag="a6c85cf", headers=[("Contact", "<sip:bob@192.0.2.4>")])
    assert bytes(ringing) == (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1 ;received=192.0.2.3\r\n"
        b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1 ;received=192.0.2.2\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8 ;received=192.0.2.1\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Contact: <sip:bob@192.0.2.4>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    # The same header values as the RFC's F6, which orders them differently.
    rfc = parse(F6_RFC)
    assert isinstance(rfc, Response)
    assert _semantic(ringing) == _semantic(rfc)
    assert (ringing.status, ringing.reason) == (rfc.status, rfc.reason)


def test_response_keeps_via_order_and_typed_values() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    ok = make_response(invite, 200, to_tag="a6c85cf", body=BOB_SDP, content_type="application/sdp")
    again = parse(bytes(ok))
    assert [str(v) for v in again.via] == [str(v) for v in invite.via]
    assert [v.branch for v in again.via] == [
        "z9hG4bK4b43c2ff8.1", "z9hG4bK77ef4c2312983.1", "z9hG4bKnashds8",
    ]
    assert again.from_ == invite.from_
    assert again.call_id == invite.call_id and again.cseq == invite.cseq
    assert again.to is not None and again.to.tag == "a6c85cf"
    assert again.body == BOB_SDP and again.content_length == len(BOB_SDP)
    assert bytes(ok).endswith(
        b"Content-Type: application/sdp\r\nContent-Length: " + _length(BOB_SDP) + b"\r\n\r\n" + BOB_SDP
    )


def test_100_copies_timestamp_and_never_gets_a_tag() -> None:
    raw = F1_AT_PROXY.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nTimestamp: 54.2 0.5\r\n")
    invite = parse(raw)
    assert isinstance(invite, Request)
    trying = make_response(invite, 100, to_tag="ignored")
    assert trying.headers.get("Timestamp") == "54.2 0.5"
    assert trying.to is not None and trying.to.tag is None
    ringing = make_response(invite, 180, to_tag="x1")
    assert "Timestamp" not in ringing.headers


def test_tag_is_required_beyond_100_and_kept_when_present() -> None:
    invite = parse(F1_AT_PROXY)
    assert isinstance(invite, Request)
    with pytest.raises(LocalProtocolError):
        make_response(invite, 486)
    in_dialog = parse(F1_AT_PROXY.replace(b"To: Bob <sip:bob@biloxi.com>", b"To: Bob <sip:bob@biloxi.com>;tag=abc"))
    assert isinstance(in_dialog, Request)
    response = make_response(in_dialog, 200, to_tag="other")
    assert response.headers.get("To") == "Bob <sip:bob@biloxi.com>;tag=abc"


def test_bare_addr_spec_to_gets_a_header_tag() -> None:
    invite = parse(F1_AT_PROXY.replace(b"To: Bob <sip:bob@biloxi.com>", b"t: sip:bob@biloxi.com"))
    assert isinstance(invite, Request)
    response = make_response(invite, 404, to_tag="t9")
    assert response.headers.get("To") == "sip:bob@biloxi.com;tag=t9"
    to = parse(bytes(response)).to
    assert to is not None and to.tag == "t9" and str(to.uri) == "sip:bob@biloxi.com"


def test_record_route_copied_only_into_dialog_creating_responses() -> None:
    raw = F1_AT_PROXY.replace(
        b"Max-Forwards: 70\r\n",
        b"Max-Forwards: 70\r\nRecord-Route: <sip:p2.example.com;lr>\r\nRecord-Route: <sip:p1.example.com;lr>\r\n",
    )
    invite = parse(raw)
    assert isinstance(invite, Request)
    ok = make_response(invite, 200, to_tag="t")
    assert ok.headers.get_all("Record-Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert [r.name for r in ok.headers][:4] == ["Via", "Record-Route", "Record-Route", "From"]
    assert "Record-Route" not in make_response(invite, 100).headers
    assert "Record-Route" not in make_response(invite, 486, to_tag="t").headers
    message = parse(raw.replace(b"INVITE sip:", b"MESSAGE sip:").replace(b"314159 INVITE", b"314159 MESSAGE"))
    assert isinstance(message, Request)
    assert "Record-Route" not in make_response(message, 200, to_tag="t").headers


def test_response_refusals() -> None:
    invite = parse(F1_AT_PROXY)
    assert isinstance(invite, Request)
    with pytest.raises(LocalProtocolError):
        make_response(invite, 99)
    with pytest.raises(LocalProtocolError):
        make_response(invite, 200, to_tag="t", body=b"x")
    ack = Request("ACK", invite.uri, invite.headers.copy())
    with pytest.raises(LocalProtocolError):
        make_response(ack, 200, to_tag="t")
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        broken = Request("INVITE", invite.uri, invite.headers.copy())
        broken.headers.remove(name)
        with pytest.raises(LocalProtocolError):
            make_response(broken, 500, to_tag="t")


def test_reason_phrase_default_and_override() -> None:
    invite = parse(F1_AT_PROXY)
    assert isinstance(invite, Request)
    assert make_response(invite, 486, to_tag="t").reason == "Busy Here"
    assert bytes(make_response(invite, 486, "Busy Now", to_tag="t")).startswith(b"SIP/2.0 486 Busy Now\r\n")


# ---------------------------------------------------------------- requests


def _alice_request(**overrides: object) -> Request:
    kwargs: dict[str, object] = dict(
        from_addr=NameAddr.parse("Alice <sip:alice@atlanta.com>;tag=1928301774"),
        to_addr=NameAddr.parse("Bob <sip:bob@biloxi.com>"),
        call_id="a84b4c76e66710",
        cseq=314159,
        via=Via.parse("SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8"),
        contact=NameAddr.parse("<sip:alice@pc33.atlanta.com>"),
        body=ALICE_SDP,
        content_type="application/sdp",
    )
    kwargs.update(overrides)
    return new_request("INVITE", "sip:bob@biloxi.com", **kwargs)  # type: ignore[arg-type]


def test_new_request_writes_f1_in_conventional_order() -> None:
    invite = _alice_request()
    assert bytes(invite) == (
        b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: " + _length(ALICE_SDP) + b"\r\n\r\n" + ALICE_SDP
    )
    assert parse(bytes(invite)) == invite


def test_new_request_with_route_and_extra_headers() -> None:
    request = new_request(
        "MESSAGE", "sip:bob@biloxi.com",
        from_addr=NameAddr.parse("<sip:alice@atlanta.com>;tag=88"),
        to_addr=NameAddr.parse("<sip:bob@biloxi.com>"),
        call_id="c1@h", cseq=1,
        via=Via.parse("SIP/2.0/TCP 127.0.0.1:5070;rport").with_param("branch", "z9hG4bKm1"),
        max_forwards=10,
        route=[NameAddr.parse("<sip:p1.example.com;lr>"), NameAddr.parse("<sip:p2.example.com;lr>")],
        headers=[("Accept-Contact", "*;+g.oma.sip-im"), ("User-Agent", "IM-client/OMA1.0 imkit/0.1")],
        body=b"hello", content_type="text/plain",
    )
    assert bytes(request) == (
        b"MESSAGE sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP 127.0.0.1:5070;rport;branch=z9hG4bKm1\r\n"
        b"Max-Forwards: 10\r\n"
        b"Route: <sip:p1.example.com;lr>\r\n"
        b"Route: <sip:p2.example.com;lr>\r\n"
        b"From: <sip:alice@atlanta.com>;tag=88\r\n"
        b"To: <sip:bob@biloxi.com>\r\n"
        b"Call-ID: c1@h\r\n"
        b"CSeq: 1 MESSAGE\r\n"
        b"Accept-Contact: *;+g.oma.sip-im\r\n"
        b"User-Agent: IM-client/OMA1.0 imkit/0.1\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Length: 5\r\n\r\nhello"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"from_addr": NameAddr.parse("<sip:alice@atlanta.com>")},
        {"via": Via.parse("SIP/2.0/UDP h;branch=1234")},
        {"via": Via.parse("SIP/2.0/UDP h")},
        {"via": Via.parse("SIP/2.0/UDP h;branch=z9hG4bK")},
        {"cseq": 2**31},
        {"cseq": -1},
        {"max_forwards": 256},
        {"call_id": "a b"},
        {"content_type": None},
    ],
)
def test_new_request_refuses_what_rfc_3261_forbids(overrides: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        _alice_request(**overrides)


def test_new_request_refuses_a_bad_method() -> None:
    with pytest.raises(LocalProtocolError):
        new_request(
            "invite", "sip:b@h", from_addr=NameAddr.parse("<sip:a@h>;tag=1"),
            to_addr=NameAddr.parse("<sip:b@h>"), call_id="c", cseq=1,
            via=Via.parse("SIP/2.0/UDP h;branch=z9hG4bK1"),
        )


# ---------------------------------------------------------------- CANCEL and ACK


def test_cancel_copies_what_9_1_requires() -> None:
    raw = F1_AT_PROXY.replace(
        b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nRoute: <sip:p1.example.com;lr>\r\n"
    ).replace(b"Via: SIP/2.0/UDP pc33", b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKtop, SIP/2.0/UDP pc33", 1)
    invite = parse(raw)
    assert isinstance(invite, Request)
    cancel = make_cancel(invite)
    assert bytes(cancel) == (
        b"CANCEL sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKtop\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:p1.example.com;lr>\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 CANCEL\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    with pytest.raises(LocalProtocolError):
        make_cancel(cancel)


def test_ack_for_non_2xx_takes_to_from_the_response() -> None:
    invite = _alice_request()
    busy = make_response(invite, 486, to_tag="b7")
    ack = make_ack_for_non2xx(invite, busy)
    assert bytes(ack) == (
        b"ACK sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>;tag=b7\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 ACK\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    with pytest.raises(LocalProtocolError):
        make_ack_for_non2xx(invite, make_response(invite, 200, to_tag="b7"))


# ---------------------------------------------------------------- ids


def test_ids_are_reproducible_with_a_seeded_source() -> None:
    a, b = IdGenerator(random.Random(7)), IdGenerator(random.Random(7))
    assert [a.branch(), a.tag(), a.call_id("h"), a.cseq(), a.cnonce()] == [
        b.branch(), b.tag(), b.call_id("h"), b.cseq(), b.cnonce()
    ]
    assert new_branch(random.Random(3)) == new_branch(random.Random(3))
    assert new_tag(random.Random(3)) == new_tag(random.Random(3))
    assert new_call_id("h", random.Random(3)) == new_call_id("h", random.Random(3))


def test_id_shapes() -> None:
    ids = IdGenerator(random.Random(1))
    branches = {ids.branch() for _ in range(200)}
    assert len(branches) == 200
    assert all(b.startswith(MAGIC_COOKIE) and len(b) == len(MAGIC_COOKIE) + 19 for b in branches)
    tags = [ids.tag() for _ in range(50)]
    assert all(len(t) == 13 and t.isalnum() for t in tags)
    assert ids.call_id("example.com").endswith("@example.com")
    assert "@" not in ids.call_id()
    assert all(1 <= ids.cseq() < 2**31 for _ in range(100))


def test_default_ids_come_from_the_system() -> None:
    assert new_branch() != new_branch()
    assert new_tag() != new_tag()


class _Counter:
    """A random source that counts, to show the generator uses only it."""

    def __init__(self) -> None:
        self.n = 0

    def getrandbits(self, k: int) -> int:
        self.n += 1
        return self.n % (1 << k)


def test_ids_use_only_the_injected_source() -> None:
    ids = IdGenerator(_Counter())
    assert ids.tag() == "0" * 12 + "1"
    assert ids.branch() == MAGIC_COOKIE + "0" * 18 + "2"
    assert ids.cseq() == 4


# ---------------------------------------------------------------- properties


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=699),
    tag=_token,
    call_id=_token,
    seq=st.integers(min_value=0, max_value=2**31 - 1),
    hops=st.lists(_token, min_size=1, max_size=4),
)
def test_response_round_trips_and_matches_its_request(
    status: int, tag: str, call_id: str, seq: int, hops: list[str]
) -> None:
    request = new_request(
        "OPTIONS", "sip:bob@example.com",
        from_addr=NameAddr.parse("<sip:alice@example.com>").with_tag(tag),
        to_addr=NameAddr.parse("<sip:bob@example.com>"),
        call_id=call_id, cseq=seq,
        via=Via.parse(f"SIP/2.0/UDP {hops[0]}.example.com;branch=z9hG4bK{tag}"),
    )
    for hop in hops[1:]:
        request.headers.add("Via", f"SIP/2.0/TCP {hop}.example.net;branch=z9hG4bK{hop}", first=True)
    response = make_response(request, status, to_tag="x" + tag)
    parsed = parse(bytes(response))
    assert isinstance(parsed, Response) and parsed.status == status
    assert parsed.headers.get_all("Via") == request.headers.get_all("Via")
    assert parsed.call_id == call_id and parsed.cseq == request.cseq
    assert parsed.from_ is not None and parsed.from_.tag == tag
    assert parsed.to is not None and parsed.to.tag == (None if status == 100 else "x" + tag)
