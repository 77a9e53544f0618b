"""imkit.sip.message: parse, serialise and the typed accessors."""

from __future__ import annotations

import pytest

from imkit.sip import (
    Headers,
    ParseError,
    Request,
    Response,
    SipURI,
    parse,
)
from tests.sip.conftest import SDP, build_invite


def test_invite_round_trips_exactly(invite_bytes: bytes) -> None:
    message = parse(invite_bytes)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert str(message.uri) == "sip:bob@example.com"
    assert message.body == SDP
    assert bytes(message) == invite_bytes


def test_typed_accessors(invite_bytes: bytes) -> None:
    m = parse(invite_bytes)
    via = m.top_via
    assert via is not None
    assert (via.transport, via.host, via.port, via.branch) == ("UDP", "127.0.0.1", 5070, "z9hG4bK776asdhds")
    assert "rport" in via.params and via.rport is None
    assert m.from_ is not None and m.from_.display_name == "Alice A." and m.from_.tag == "1928301774"
    assert m.to is not None and m.to.tag is None and m.to.display_name == "Bob"
    assert m.call_id == "a84b4c76e66710@127.0.0.1"
    assert m.cseq is not None and (m.cseq.seq, m.cseq.method) == (314159, "INVITE")
    assert m.max_forwards == 70
    assert [str(c.uri) for c in m.contact] == ["sip:alice@127.0.0.1:5070"]
    assert "+g.oma.sip-im" in m.contact[0].params
    assert m.accept_contact[0].has("+g.oma.sip-im")
    assert m.allow == ["INVITE", "ACK", "CANCEL", "BYE", "REFER", "NOTIFY", "OPTIONS"]
    assert m.supported == ["timer"]
    se = m.session_expires
    assert se is not None and se.delta == 1800 and se.refresher == "uac"
    ct = m.content_type
    assert ct is not None and ct.mime == "application/sdp"
    assert m.content_length == len(SDP)
    assert m.user_agent == "IM-client/OMA1.0 imkit/0.1.0"


def test_compact_forms_map_to_full_names() -> None:
    raw = (
        b"NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\n"
        b"v: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKa\r\n"
        b"f: <sip:conf@example.com>;tag=x\r\n"
        b"t: <sip:alice@example.com>;tag=y\r\n"
        b"i: cid1\r\n"
        b"CSeq: 2 NOTIFY\r\n"
        b"m: <sip:conf@127.0.0.1>;isfocus\r\n"
        b"o: conference\r\n"
        b"k: timer, norefersub\r\n"
        b"u: conference\r\n"
        b"r: <sip:carol@example.com>\r\n"
        b"b: <sip:alice@example.com>\r\n"
        b"x: 600;refresher=uas\r\n"
        b"a: *;+g.oma.sip-im\r\n"
        b"c: text/plain\r\n"
        b"l: 0\r\n\r\n"
    )
    m = parse(raw)
    assert m.headers.get("Via") == "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKa"
    assert m.call_id == "cid1"
    assert "isfocus" in m.contact[0].params
    assert m.event is not None and m.event.value == "conference"
    assert m.supported == ["timer", "norefersub"]
    assert m.allow_events == ["conference"]
    assert m.refer_to is not None and str(m.refer_to.uri) == "sip:carol@example.com"
    assert m.referred_by is not None
    assert m.session_expires is not None and m.session_expires.refresher == "uas"
    assert m.accept_contact and m.content_type is not None and m.content_length == 0
    assert bytes(m) == raw


def test_folded_header_lines_are_joined_and_kept() -> None:
    raw = (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKf\r\n"
        b"Subject: I know you're there,\r\n"
        b"   pick up the phone\r\n"
        b"\t and talk to me!\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    assert m.headers.get("subject") == "I know you're there, pick up the phone and talk to me!"
    assert bytes(m) == raw


def test_multi_valued_headers_split_outside_quotes_and_angles() -> None:
    raw = (
        b"INVITE sip:x@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2\r\n"
        b"Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
        b"Contact: \"Doe, John\" <sip:j@example.com;a=1,2>;q=0.5, <sip:k@example.com>\r\n"
        b"Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    assert [v.host for v in m.via] == ["a.example.com", "b.example.com", "c.example.com"]
    assert m.via[1].port == 5061
    contacts = m.contact
    assert contacts[0].display_name == "Doe, John"
    assert contacts[0].sip_uri.param("a") == "1,2"
    assert contacts[0].params.get("q") == "0.5"
    assert [str(r.uri) for r in m.record_route] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]


def test_header_names_are_case_insensitive() -> None:
    headers = Headers([("CALL-id", "x"), ("content-LENGTH", "0")])
    assert headers.get("Call-ID") == "x"
    assert headers.get("i") == "x"
    assert "l" in headers
    assert headers.get_all("Content-Length") == ["0"]


def test_response_parse_and_properties() -> None:
    raw = (
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;received=127.0.0.1;rport=5070\r\n"
        b"To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
        b"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710@127.0.0.1\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Contact: <sip:conf123@127.0.0.1:5060>;isfocus\r\n"
        b"Require: timer\r\n"
        b"Session-Expires: 1800;refresher=uac\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    assert isinstance(m, Response)
    assert (m.status, m.reason, m.is_success, m.is_final) == (200, "OK", True, True)
    assert m.top_via is not None and m.top_via.rport == 5070 and m.top_via.received == "127.0.0.1"
    assert m.to is not None and m.to.tag == "a6c85cf"
    assert m.require == ["timer"]
    assert bytes(m) == raw


def test_reason_phrase_may_be_empty_or_have_spaces() -> None:
    for reason in (b"", b"Call/Transaction Does Not Exist"):
        raw = b"SIP/2.0 481 " + reason + b"\r\nContent-Length: 0\r\n\r\n"
        m = parse(raw)
        assert isinstance(m, Response) and m.reason == reason.decode()
        assert bytes(m) == raw


def test_built_request_serialises() -> None:
    r = Request("OPTIONS", "sip:bob@example.com")
    r.headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx")
    r.headers.add("Max-Forwards", "70")
    r.set_body(b"hello", "text/plain")
    data = bytes(r)
    assert data == (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        b"Max-Forwards: 70\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Length: 5\r\n\r\nhello"
    )
    assert parse(data) == r


def test_refer_related_accessors() -> None:
    raw = (
        b"REFER sip:conf-1@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKr\r\n"
        b"From: <sip:alice@example.com>;tag=1\r\n"
        b"To: <sip:conf-1@example.com>;tag=2\r\n"
        b"Call-ID: c\r\n"
        b"CSeq: 3 REFER\r\n"
        b"Refer-To: <sip:carol@example.com;method=BYE>\r\n"
        b"Refer-Sub: false\r\n"
        b"Require: multiple-refer, norefersub\r\n"
        b"Privacy: id;header\r\n"
        b"Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    assert m.refer_to is not None and m.refer_to.sip_uri.param("method") == "BYE"
    assert m.refer_sub is False
    assert m.require == ["multiple-refer", "norefersub"]
    assert m.privacy == ["id", "header"]
    rep = m.replaces
    assert rep is not None and (rep.call_id, rep.to_tag, rep.from_tag) == ("98732@sip.example.com", "ff87ff", "r33th4x0r")


def test_subscription_accessors() -> None:
    raw = (
        b"NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\n"
        b"Event: refer;id=93809824\r\n"
        b"Subscription-State: terminated;reason=noresource\r\n"
        b"Min-SE: 90\r\n"
        b"Expires: 600\r\n"
        b"Content-Type: message/sipfrag;version=2.0\r\n"
        b"Content-ID: <list1@example.com>\r\n"
        b"Content-Disposition: recipient-list;handling=required\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    assert m.event is not None and m.event.value == "refer" and m.event.param("id") == "93809824"
    ss = m.subscription_state
    assert ss is not None and ss.state == "terminated" and ss.reason == "noresource" and ss.expires is None
    assert m.min_se == 90 and m.expires == 600
    assert m.content_type is not None and m.content_type.param("version") == "2.0"
    assert m.content_id == "list1@example.com"
    cd = m.content_disposition
    assert cd is not None and cd.value == "recipient-list" and cd.param("handling") == "required"


def test_authentication_headers() -> None:
    raw = (
        b"SIP/2.0 401 Unauthorized\r\n"
        b'WWW-Authenticate: Digest realm="example.com", qop="auth,auth-int", nonce="abc,def", algorithm=SHA-256\r\n'
        b'WWW-Authenticate: Digest realm="example.com", nonce="xyz", algorithm=MD5\r\n'
        b"Content-Length: 0\r\n\r\n"
    )
    m = parse(raw)
    challenges = m.www_authenticate
    assert len(challenges) == 2
    assert challenges[0].scheme == "Digest"
    assert challenges[0].param("nonce") == "abc,def"
    assert challenges[0].param("qop") == "auth,auth-int"
    assert challenges[1].param("algorithm") == "MD5"


@pytest.mark.parametrize(
    "raw, what",
    [
        (b"", "empty line"),
        (b"INVITE sip:a@b SIP/2.0\r\n", "empty line"),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "single spaces"),
        (b"INVITE sip:a@b SIP/2.0 extra\r\n\r\n", "single spaces"),
        (b"INV@TE sip:a@b SIP/2.0\r\n\r\n", "not a token"),
        (b"INVITE sip:a@b SIP-2.0\r\n\r\n", "version"),
        (b"SIP/2.0 20 OK\r\n\r\n", "status code"),
        (b"SIP/2.0 abc OK\r\n\r\n", "status code"),
        (b"INVITE notauri SIP/2.0\r\n\r\n", "not a URI"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nNoColonHere\r\n\r\n", "colon"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", "token"),
        (b"OPTIONS sip:a@b SIP/2.0\r\n folded first\r\n\r\n", "continuation"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nabc", "Content-Length"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", "number"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\nl: 0\r\n\r\n", "more than once"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: x OPTIONS\r\n\r\n", "CSeq"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 4294967296 OPTIONS\r\n\r\n", "CSeq"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0 host\r\n\r\n", "sent-protocol"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:a@b\r\n\r\n", "'<' without '>'"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: seventy\r\n\r\n", "number"),
        (b"OPTIONS sip:a@b:99999 SIP/2.0\r\n\r\n", "port"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nSubject: \xff\xfe\r\n\r\n", "UTF-8"),
    ],
)
def test_malformed_messages_raise_parse_error_with_offset(raw: bytes, what: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(raw)
    assert what in str(info.value)
    assert 0 <= info.value.offset <= len(raw)


def test_error_offset_points_at_the_bad_header() -> None:
    raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: nope\r\n\r\n"
    with pytest.raises(ParseError) as info:
        parse(raw)
    assert info.value.offset >= raw.index(b"CSeq")


def test_size_limit() -> None:
    body = b"x" * 70000
    with pytest.raises(ParseError, match="larger than"):
        parse(build_invite(body))
    assert parse(build_invite(body), max_size=80000).body == body


def test_header_count_limit() -> None:
    raw = b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X-A: 1\r\n" * 300 + b"\r\n"
    with pytest.raises(ParseError, match="more than"):
        parse(raw)


def test_headers_editing_keeps_order() -> None:
    m = parse(build_invite())
    m.headers.set("Max-Forwards", "69")
    m.headers.add("Record-Route", "<sip:p.example.com;lr>", first=True)
    names = [f.name for f in m.headers]
    assert names[0] == "Record-Route"
    assert names[2] == "Max-Forwards"
    assert m.max_forwards == 69
    assert m.headers.remove("Record-Route") == 1
    popped = m.headers.remove_first("Via")
    assert popped is not None and m.via == []


def test_request_uri_object() -> None:
    r = Request("INVITE", SipURI(host="example.com", user="conf-factory"))
    assert r.start_line() == "INVITE sip:conf-factory@example.com SIP/2.0"


# -- what the parsers remember ------------------------------------------------
# Start lines, header rows and the values of From, To, Via, CSeq and
# Content-Type are remembered by text (they repeat message after message);
# a text that failed is not, so an error is found again, at its own offset.


def test_a_message_parsed_again_is_equal_and_shares_immutable_values() -> None:
    first, second = parse(build_invite()), parse(build_invite())
    assert first == second and bytes(second) == build_invite()
    assert second.from_ == first.from_ and second.via == first.via and second.cseq == first.cseq
    assert second.uri == first.uri and second.content_type == first.content_type


@pytest.mark.parametrize("bad", [b"From: <sip:a@b", b"CSeq: 1 IN VITE", b"Via: SIP/2.0 h", b"To: <sip:a@b:99999>"])
def test_a_value_that_failed_fails_again_where_it_is(bad: bytes) -> None:
    for padding in (b"", b"Subject: " + b"x" * 40 + b"\r\n", b""):
        raw = b"OPTIONS sip:a@b SIP/2.0\r\n" + padding + bad + b"\r\n\r\n"
        with pytest.raises(ParseError) as info:
            parse(raw)
        assert raw.index(bad) <= info.value.offset < len(raw) - 4


def test_a_start_line_that_failed_fails_again() -> None:
    for _ in range(2):
        with pytest.raises(ParseError, match="version"):
            parse(b"OPTIONS sip:a@b SIP/3\r\n\r\n")
    ok = parse(b"SIP/2.0 200 Fine\r\nCSeq: 1 OPTIONS\r\n\r\n")
    again = parse(b"SIP/2.0 200 Fine\r\nCSeq: 2 OPTIONS\r\n\r\n")
    assert isinstance(again, Response) and (again.status, again.reason) == (ok.status, ok.reason) == (200, "Fine")
    assert again.cseq is not None and again.cseq.seq == 2


def test_a_header_error_comes_before_a_start_line_error_either_way() -> None:
    # The header block is read before the start line's grammar is checked,
    # whether the start line was remembered or not.
    for start in (b"INVITE sip:a@b SIP/2.0", b"INVITE sip:a@b SIP/2"):
        with pytest.raises(ParseError, match="colon"):
            parse(start + b"\r\nNoColonHere\r\n\r\n")


def test_accessor_lists_are_fresh() -> None:
    m = parse(build_invite())
    m.via.clear()
    m.contact.clear()
    assert len(m.via) == 1 and len(m.contact) == 1


def test_top_via_reads_every_row() -> None:
    m = parse(build_invite())
    m.headers.add("Via", "SIP/2.0 nonsense")
    with pytest.raises(ParseError):
        _ = m.top_via
    with pytest.raises(ParseError):
        _ = m.via


def test_serialising_mixes_received_and_local_rows() -> None:
    m = parse(build_invite())
    m.headers.add("Record-Route", "<sip:p.example.com;lr>", first=True)
    m.headers.set("Max-Forwards", "69")
    expected = (
        b"INVITE sip:bob@example.com SIP/2.0\r\nRecord-Route: <sip:p.example.com;lr>\r\n"
        + build_invite().split(b"\r\n", 1)[1].replace(b"Max-Forwards: 70", b"Max-Forwards: 69")
    )
    assert bytes(m) == expected
    assert bytes(Request("OPTIONS", "sip:a@b")) == b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"
