"""SDP model and MSRP offer/answer (imkit/sip/sdp.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError, ParseError
from imkit.sip.sdp import (
    MAX_SDP_LINES,
    MAX_SDP_SIZE,
    ActiveSide,
    Attribute,
    Connection,
    Line,
    MediaDescription,
    MediaLine,
    MsrpTransport,
    Origin,
    SDPParseError,
    SessionDescription,
    Setup,
    SetupNegotiationError,
    build_msrp_answer,
    build_msrp_offer,
    msrp_active_side,
    msrp_media,
    msrp_path_uri,
)


def crlf(text: str) -> bytes:
    """Lines written one per line in the test, sent with CRLF."""
    return "".join(line + "\r\n" for line in text.strip("\n").split("\n")).encode()


# The session description of RFC 4566 section 5 (written from the RFC text).
RFC4566_EXAMPLE = crlf("""
v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
a=recvonly
m=audio 49170 RTP/AVP 0
m=video 51372 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
""")

# Every line type, with the repeat (r=) and zone (z=) forms of RFC 4566
# sections 5.10 and 5.11 and the bandwidth and key forms of 5.8 and 5.12.
ALL_TYPES = crlf("""
v=0
o=- 1 2 IN IP4 192.0.2.1
s=\x20
i=every line type
u=http://example.com/sdp
e=ops@example.com
p=+1 617 555-6011
c=IN IP4 224.2.1.1/127
b=CT:128
t=3034423619 3042462419
r=7d 1h 0 25h
r=604800 3600 0 90000
t=0 0
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
a=tool:imkit
m=audio 49170/2 RTP/AVP 0 8
i=voice
c=IN IP4 224.2.1.2/127
c=IN IP4 224.2.1.3/127
b=AS:64
k=clear:secret
a=rtpmap:0 PCMU/8000
a=ptime:20
m=message 7654 TCP/MSRP *
a=accept-types:message/cpim
a=path:msrp://192.0.2.1:7654/s1;tcp
""")

# RFC 4975 section 8.7's exchange: Alice offers, Bob answers.  The RFC shows
# only the media lines; the session-level lines RFC 4566 requires are added.
ALICE_OFFER = crlf("""
v=0
o=alice 2890844526 2890844526 IN IP4 atlanta.example.com
s=\x20
c=IN IP4 atlanta.example.com
t=0 0
m=message 7654 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://atlanta.example.com:7654/jshA7weztas;tcp
""")
BOB_ANSWER = crlf("""
v=0
o=bob 2890844612 2890844612 IN IP4 biloxi.example.com
s=\x20
c=IN IP4 biloxi.example.com
t=0 0
m=message 12763 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp
""")

# RFC 4975 section 8.6's content negotiation example, with a relay in front
# of the endpoint in a=path (section 8.3: the rightmost URI is the endpoint).
WRAPPED_OFFER = crlf("""
v=0
o=- 5 5 IN IP4 192.0.2.7
s=-
c=IN IP4 192.0.2.7
t=0 0
m=message 7394 TCP/TLS/MSRP *
a=accept-types:message/cpim text/plain text/html
a=accept-wrapped-types:text/plain image/jpeg image/gif
a=max-size:131072
a=path:msrps://relay.example.com:2855/aik3;tcp msrps://192.0.2.7:7394/98cjs;tcp
""")


# -- parsing and round trips ------------------------------------------------


@pytest.mark.parametrize("data", [RFC4566_EXAMPLE, ALL_TYPES, ALICE_OFFER, BOB_ANSWER, WRAPPED_OFFER])
def test_unmodified_description_round_trips_exactly(data: bytes) -> None:
    sd = SessionDescription.parse(data)
    assert bytes(sd) == data
    assert SessionDescription.parse(bytes(sd)) == sd


def test_rfc4566_example_views() -> None:
    sd = SessionDescription.parse(RFC4566_EXAMPLE)
    assert sd.origin == Origin("jdoe", 2890844526, 2890842807, "IN", "IP4", "10.47.16.5")
    assert sd.session_name == "SDP Seminar"
    assert sd.connection == Connection("IN", "IP4", "224.2.17.12/127")
    assert sd.attributes == (Attribute("recvonly"),)
    assert [m.media_line for m in sd.media] == [
        MediaLine("audio", 49170, "RTP/AVP", ("0",)),
        MediaLine("video", 51372, "RTP/AVP", ("99",)),
    ]
    assert sd.media[1].attribute_values("rtpmap") == ["99 h263-1998/90000"]
    assert sd.media[0].connection is None
    assert sd.connection_for(sd.media[0]) == sd.connection
    # offsets are byte positions in the original input
    m_video = sd.media[1].lines[0]
    assert RFC4566_EXAMPLE[sd.offset_of(m_video):].startswith(b"m=video 51372")


def test_media_level_lines_belong_to_their_section() -> None:
    sd = SessionDescription.parse(ALL_TYPES)
    audio, message = sd.media
    assert audio.media_line == MediaLine("audio", 49170, "RTP/AVP", ("0", "8"), port_count=2)
    assert str(audio.media_line) == "audio 49170/2 RTP/AVP 0 8"
    assert audio.connection == Connection("IN", "IP4", "224.2.1.2/127")
    assert [line.type for line in audio.lines] == list("miccbkaa")
    assert message.attribute_values("accept-types") == ["message/cpim"]
    assert sd.connection_for(message) == Connection("IN", "IP4", "224.2.1.1/127")
    assert [line.type for line in sd.session][-3:] == ["k", "a", "a"]


def test_lf_endings_and_a_missing_last_line_end_are_kept() -> None:
    data = b"v=0\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\na=sendrecv"
    sd = SessionDescription.parse(data)
    assert [line.eol for line in sd.lines] == ["\n", "\r\n", "\n", "\n", "\n", ""]
    assert bytes(sd) == data


def test_non_utf8_text_round_trips() -> None:
    # RFC 8866 a=charset lets text fields use another character set
    data = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=caf\xe9 cr\xe8me\r\ni=\xff\xfe\r\n"
            b"t=0 0\r\na=charset:ISO-8859-1\r\n")
    sd = SessionDescription.parse(data)
    assert bytes(sd) == data
    assert sd.session_name.encode("utf-8", "surrogateescape") == b"caf\xe9 cr\xe8me"


def test_flag_and_empty_valued_attributes_differ() -> None:
    sd = SessionDescription.parse(crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=x\na=x:\na=x:y:z"))
    assert sd.attributes == (Attribute("x"), Attribute("x", ""), Attribute("x", "y:z"))
    assert [str(a.line()) for a in sd.attributes] == ["a=x", "a=x:", "a=x:y:z"]


HEAD = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
NO_C = HEAD.replace("c=IN IP4 127.0.0.1\n", "")


@pytest.mark.parametrize(
    ("data", "at", "what"),
    [
        # (input, the bytes the offset must point at, what the error says)
        (b"", b"", "empty"),
        (crlf(HEAD.replace("v=0", "v=1")), b"v=1", "version"),
        (b"x=0\r\n", b"x=0", "must be v="),
        (b"v=0\r\n\r\n", b"\r\n", "type letter"),
        (b"v =0\r\n", b"v =0", "type letter"),
        (b"V=0\r\n", b"V=0", "type letter"),
        (b"v=0\ro=x\r\n", b"\ro=x", "CR"),
        (b"v=0\r", b"\r", "CR without LF"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\x00\r\n", b"\x00", "NUL"),
        (b"v=0\r\no=- x 1 IN IP4 h\r\n", b"o=", "origin"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", b"t=", "must be s="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\r\n", b"s=", "empty s="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", b"", "t= line"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\na=x\r\nt=0 0\r\n", b"a=x", "t= line"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=a 1 P 0\r\n", b"m=", "before m="),
        (crlf(HEAD + "i=late"), b"i=late", "out of order"),
        (crlf(HEAD + "a=x\nr=1 1 0"), b"r=1", "out of order"),
        (crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nb=X:1\nr=1 1 0\nt=0 0"), b"r=1", "r= must follow"),
        (crlf(HEAD + "z=1"), b"z=1", "bad z="),
        (crlf(HEAD + "k=prompt\nk=prompt"), b"k=prompt\r\n\x00", "out of order"),
        (crlf(HEAD + "q=1"), b"q=1", "not allowed"),
        (crlf(HEAD + "m=audio 1 RTP/AVP 0\nt=0 0"), b"t=0 0\r\n\x00", "not allowed at media level"),
        (crlf(HEAD + "m=audio 1 RTP/AVP"), b"m=", "media line"),
        (crlf(HEAD + "m=audio 70000 RTP/AVP 0"), b"m=", "out of range"),
        (crlf(HEAD + "m=audio 1 RTP/AVP 0\na=rtpmap:0 x\ni=late"), b"i=late", "out of order"),
        (crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nb=AS\nt=0 0"), b"b=AS", "bad b="),
        (crlf(HEAD + "a=:x"), b"a=:x", "attribute"),
        (crlf(HEAD + "a=a b"), b"a=a b", "attribute"),
        (crlf(NO_C + "m=audio 1 RTP/AVP 0"), b"m=", "without c="),
        (crlf(NO_C + "m=a 1 P 0\nm=b 1 P 0\nc=IN IP4 h"), b"m=a", "without c="),
        (crlf(NO_C + "m=a 1 P 0\nc=IN IP4 h\nm=b 1 P 0\na=x"), b"m=b", "without c="),
        (b"v=0\r\n" + b"a" * MAX_SDP_SIZE, None, "larger"),
        (b"v=0\r\n" * (MAX_SDP_LINES + 1), None, "more than"),
    ],
)
def test_malformed_descriptions_say_what_and_where(data: bytes, at: bytes | None, what: str) -> None:
    with pytest.raises(SDPParseError) as info:
        SessionDescription.parse(data)
    assert what in info.value.what
    assert isinstance(info.value, ParseError)
    offset = info.value.offset
    if at is None:  # size limits: the offset is where the limit was crossed
        assert offset in (MAX_SDP_SIZE, 5 * MAX_SDP_LINES)
    elif at.endswith(b"\x00") and at != b"\x00":  # the last occurrence
        assert offset == data.rindex(at[:-1])
    else:
        assert data[offset:].startswith(at) and (at or offset == len(data))


def test_a_description_without_media_needs_no_connection() -> None:
    data = crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0")
    assert bytes(SessionDescription.parse(data)) == data


# -- building ----------------------------------------------------------------


def test_building_from_lines_checks_the_same_rules() -> None:
    head = [Line("v", "0"), Line("o", "- 1 1 IN IP4 h"), Line("s", "-"), Line("t", "0 0")]
    sd = SessionDescription.from_lines(head + [Line("a", "sendrecv", "")])
    assert bytes(sd) == b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\na=sendrecv"
    with pytest.raises(LocalProtocolError, match="only the last line"):
        SessionDescription.from_lines([head[0], Line("o", "- 1 1 IN IP4 h", ""), *head[2:]])
    with pytest.raises(LocalProtocolError, match="out of order"):
        SessionDescription.from_lines(head + [Line("s", "again")])
    with pytest.raises(LocalProtocolError, match="m= lines belong"):
        SessionDescription(tuple(head + [Line("m", "a 1 P 0")]))
    with pytest.raises(LocalProtocolError, match="starts with its m= line"):
        MediaDescription((Line("a", "x"),))
    with pytest.raises(LocalProtocolError, match="one m= line"):
        MediaDescription((Line("m", "a 1 P 0"), Line("m", "a 1 P 0")))


@pytest.mark.parametrize(
    ("kind", "value", "eol"),
    [("vv", "0", "\r\n"), ("V", "0", "\r\n"), ("a", "x\r\ny", "\r\n"), ("a", "x\x00", "\r\n"),
     ("a", "x", "\r"), ("a", "\ud800", "\r\n")],
)
def test_a_line_refuses_what_cannot_be_written(kind: str, value: str, eol: str) -> None:
    with pytest.raises(LocalProtocolError):
        Line(kind, value, eol)


# -- MSRP ---------------------------------------------------------------------


def test_rfc4975_exchange_reads_back() -> None:
    offer = msrp_media(SessionDescription.parse(ALICE_OFFER))
    answer = msrp_media(SessionDescription.parse(BOB_ANSWER))
    assert offer.path == ("msrp://atlanta.example.com:7654/jshA7weztas;tcp",)
    assert offer.accept_types == ("text/plain",)
    assert offer.transport is MsrpTransport.TCP
    assert offer.setup is None and not offer.rejected
    assert answer.uri == "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"
    assert answer.connection == Connection("IN", "IP4", "biloxi.example.com")
    # no a=setup anywhere: the offerer connects (RFC 4975)
    assert msrp_active_side(SessionDescription.parse(ALICE_OFFER),
                            SessionDescription.parse(BOB_ANSWER)) is ActiveSide.OFFERER


def test_wrapped_types_relays_and_tls_read_back() -> None:
    media = msrp_media(SessionDescription.parse(WRAPPED_OFFER))
    assert media.transport is MsrpTransport.TLS
    assert media.accept_types == ("message/cpim", "text/plain", "text/html")
    assert media.accept_wrapped_types == ("text/plain", "image/jpeg", "image/gif")
    assert media.max_size == 131072
    assert media.first_hop == "msrps://relay.example.com:2855/aik3;tcp"
    assert media.uri == "msrps://192.0.2.7:7394/98cjs;tcp"
    assert media.port == 7394


def test_offer_bytes() -> None:
    offer = build_msrp_offer(
        path=msrp_path_uri("127.0.0.1", 40001, "s3cr3t"),
        session_id=3912, session_version=3913,
        accept_wrapped_types=("text/plain", "message/imdn+xml"), max_size=65536,
    )
    assert bytes(offer) == crlf("""
v=0
o=- 3912 3913 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=message 40001 TCP/MSRP *
a=accept-types:message/cpim text/plain
a=accept-wrapped-types:text/plain message/imdn+xml
a=max-size:65536
a=path:msrp://127.0.0.1:40001/s3cr3t;tcp
a=setup:actpass
""")
    media = msrp_media(SessionDescription.parse(bytes(offer)))
    assert media.setup is Setup.ACTPASS
    assert media.uri == "msrp://127.0.0.1:40001/s3cr3t;tcp"


def test_offer_over_tls_on_ipv6_with_a_relay() -> None:
    own = msrp_path_uri("::1", 2855, "abc", MsrpTransport.TLS)
    assert own == "msrps://[::1]:2855/abc;tcp"
    offer = build_msrp_offer(path=["msrps://relay.example.com:2855/r1;tcp", own], session_id=1,
                             address="::1", transport=MsrpTransport.TLS, setup=None, port=9)
    text = bytes(offer).decode()
    assert "o=- 1 1 IN IP6 ::1\r\n" in text and "c=IN IP6 ::1\r\n" in text
    assert "m=message 9 TCP/TLS/MSRP *\r\n" in text
    assert f"a=path:msrps://relay.example.com:2855/r1;tcp {own}\r\n" in text
    assert "a=setup" not in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": "http://x/y"},
        {"path": []},
        {"path": "msrps://h:1/s;tcp"},  # TCP/MSRP wants msrp:
        {"path": "msrp://h/s;tcp"},  # no port anywhere
        {"path": "msrp://h:1/s;tcp", "accept_types": ()},
        {"path": "msrp://h:1/s;tcp", "accept_types": ("text",)},
        {"path": "msrp://h:1/s;tcp", "accept_wrapped_types": ("a b",)},
        {"path": "msrp://h:1/s;tcp", "session_name": ""},
    ],
)
def test_offer_builder_refuses_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(LocalProtocolError):
        build_msrp_offer(session_id=1, **kwargs)


def test_path_uri_builder_refuses_bad_parts() -> None:
    with pytest.raises(LocalProtocolError):
        msrp_path_uri("h", 0, "s")
    with pytest.raises(LocalProtocolError):
        msrp_path_uri("h", 1, "a b")


def _offer(setup: Setup | None, types=("message/cpim", "text/plain"), wrapped=("text/plain",)):
    return build_msrp_offer(path="msrp://127.0.0.1:7000/off;tcp", session_id=1, setup=setup,
                            accept_types=types, accept_wrapped_types=wrapped)


def _answer(offer, prefer=Setup.PASSIVE, types=("message/cpim", "text/plain"), wrapped=("*",)):
    return build_msrp_answer(offer, path="msrp://127.0.0.1:8000/ans;tcp", session_id=2,
                             prefer=prefer, accept_types=types, accept_wrapped_types=wrapped)


@pytest.mark.parametrize(
    ("offered", "prefer", "answered", "active"),
    [
        (None, Setup.ACTIVE, Setup.PASSIVE, ActiveSide.OFFERER),
        (Setup.ACTIVE, Setup.ACTIVE, Setup.PASSIVE, ActiveSide.OFFERER),
        (Setup.PASSIVE, Setup.PASSIVE, Setup.ACTIVE, ActiveSide.ANSWERER),
        (Setup.ACTPASS, Setup.PASSIVE, Setup.PASSIVE, ActiveSide.OFFERER),
        (Setup.ACTPASS, Setup.ACTIVE, Setup.ACTIVE, ActiveSide.ANSWERER),
    ],
)
def test_answer_setup_and_active_side(offered, prefer, answered, active) -> None:
    offer = _offer(offered)
    answer = _answer(offer, prefer)
    parsed = SessionDescription.parse(bytes(answer))
    assert msrp_media(parsed).setup is answered
    assert msrp_active_side(offer, parsed) is active


def test_holdconn_is_mirrored_and_means_no_connection_yet() -> None:
    offer = _offer(Setup.HOLDCONN)
    answer = _answer(offer)
    assert msrp_media(answer).setup is Setup.HOLDCONN
    with pytest.raises(SetupNegotiationError, match="holdconn"):
        msrp_active_side(offer, answer)


def _with_setup(sd: SessionDescription, value: str | None) -> SessionDescription:
    lines = [line for line in sd.lines if not line.value.startswith("setup:")]
    if value is not None:
        lines.append(Line("a", f"setup:{value}"))
    return SessionDescription.from_lines(lines)


@pytest.mark.parametrize(
    ("offered", "answered", "expected"),
    [
        (None, None, ActiveSide.OFFERER),
        ("actpass", None, ActiveSide.OFFERER),  # RFC 4975-only answerer
        ("passive", None, ActiveSide.OFFERER),
        ("active", "active", "active"),
        (None, "active", "active"),
        ("passive", "passive", "passive"),
        ("actpass", "actpass", "actpass"),
    ],
)
def test_active_side_from_raw_setups(offered, answered, expected) -> None:
    offer = _with_setup(_offer(None), offered)
    answer = _with_setup(_answer(_offer(None)), answered)
    if isinstance(expected, ActiveSide):
        assert msrp_active_side(offer, answer) is expected
    else:
        with pytest.raises(SetupNegotiationError, match=expected):
            msrp_active_side(offer, answer)


def test_answer_intersects_types_in_our_order() -> None:
    offer = _offer(Setup.ACTPASS, types=("message/cpim", "text/*", "image/png"),
                   wrapped=("text/plain", "image/*"))
    answer = _answer(offer, types=("text/html", "message/cpim", "application/json"),
                     wrapped=("image/gif", "*"))
    media = msrp_media(answer)
    assert media.accept_types == ("text/html", "message/cpim")
    assert media.accept_wrapped_types == ("image/gif", "text/plain", "image/*")
    assert media.transport is MsrpTransport.TCP
    assert media.uri == "msrp://127.0.0.1:8000/ans;tcp" and media.port == 8000


def test_answer_leaves_wrapped_types_out_without_a_wrapper() -> None:
    answer = _answer(_offer(Setup.ACTPASS), types=("text/plain",))
    assert msrp_media(answer).accept_types == ("text/plain",)
    assert b"accept-wrapped-types" not in bytes(answer)


def test_answer_wildcard_takes_the_offered_types() -> None:
    answer = _answer(_offer(Setup.ACTPASS), types=("*",))
    assert msrp_media(answer).accept_types == ("message/cpim", "text/plain")


def test_answer_rejects_when_no_type_is_shared_and_rejects_other_streams() -> None:
    offer_bytes = crlf("""
v=0
o=- 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 49170 RTP/AVP 0
m=message 7000 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://127.0.0.1:7000/a;tcp
m=message 7002 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://127.0.0.1:7002/b;tcp
""")
    offer = SessionDescription.parse(offer_bytes)
    answer = build_msrp_answer(offer, path="msrp://127.0.0.1:8000/z;tcp", session_id=9,
                               accept_types=("message/cpim", "text/plain"))
    assert [str(m.lines[0]) for m in answer.media] == [
        "m=audio 0 RTP/AVP 0", "m=message 8000 TCP/MSRP *", "m=message 0 TCP/MSRP *"]
    assert msrp_media(answer).index == 1
    none_shared = build_msrp_answer(offer, path="msrp://127.0.0.1:8000/z;tcp", session_id=9,
                                    accept_types=("message/cpim",))
    assert [m.media_line.port for m in none_shared.media] == [0, 0, 0]
    assert msrp_media(none_shared).rejected
    assert msrp_media(none_shared).path == ()


def test_answer_keeps_the_offered_transport() -> None:
    offer = SessionDescription.parse(WRAPPED_OFFER)
    answer = build_msrp_answer(offer, path="msrps://127.0.0.1:8001/t;tcp", session_id=1)
    assert msrp_media(answer).transport is MsrpTransport.TLS
    with pytest.raises(LocalProtocolError):
        build_msrp_answer(offer, path="msrp://127.0.0.1:8001/t;tcp", session_id=1)
    with pytest.raises(LocalProtocolError):
        build_msrp_answer(offer, path="msrps://127.0.0.1:8001/t;tcp", session_id=1,
                          prefer=Setup.ACTPASS)


MSRP_HEAD = HEAD + "m=message 7000 TCP/MSRP *\n"


@pytest.mark.parametrize(
    ("lines", "what"),
    [
        ("a=accept-types:text/plain", "without a=path"),
        ("a=path:msrp://h:1/s;tcp", "without a=accept-types"),
        ("a=accept-types:text/plain\na=path:http://h/", "bad MSRP URI"),
        ("a=accept-types:text\na=path:msrp://h:1/s;tcp", "bad a=accept-types entry"),
        ("a=accept-types:text/plain\na=accept-types:text/plain\na=path:msrp://h:1/s;tcp", "more than one"),
        ("a=accept-types\na=path:msrp://h:1/s;tcp", "needs a value"),
        ("a=accept-types:text/plain\na=path:msrp://h:1/s;tcp\na=max-size:big", "max-size"),
        ("a=accept-types:text/plain\na=path:msrp://h:1/s;tcp\na=setup:sometimes", "a=setup"),
    ],
)
def test_malformed_msrp_media(lines: str, what: str) -> None:
    sd = SessionDescription.parse(crlf(MSRP_HEAD + lines))
    with pytest.raises(SDPParseError, match=what) as info:
        msrp_media(sd)
    assert info.value.offset == crlf(MSRP_HEAD).index(b"m=message")


def test_no_msrp_media() -> None:
    sd = SessionDescription.parse(RFC4566_EXAMPLE)
    with pytest.raises(SDPParseError, match="no MSRP media"):
        msrp_media(sd)
    with pytest.raises(SDPParseError, match="not an MSRP stream"):
        msrp_media(sd, 0)
    with pytest.raises(SDPParseError, match="not an MSRP stream"):
        msrp_media(sd, 5)


# -- properties ----------------------------------------------------------------

_token = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-.!#$%&'*+^_`{|}~", min_size=1, max_size=8)
_digits = st.integers(0, 2**40).map(str)
_text = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=20)
_eol = st.sampled_from(["\r\n", "\n"])


@st.composite
def descriptions(draw) -> SessionDescription:
    def line(kind: str, value: str) -> tuple[str, str]:
        return (kind, value)

    def typed_time() -> str:
        return draw(_digits) + draw(st.sampled_from(["", "d", "h", "m", "s"]))

    out = [line("v", "0"),
           line("o", f"{draw(_token)} {draw(_digits)} {draw(_digits)} IN IP4 {draw(_token)}"),
           line("s", draw(_text))]
    for kind in "iu":
        if draw(st.booleans()):
            out.append(line(kind, draw(_text)))
    out += [line(k, draw(_text)) for k in draw(st.lists(st.sampled_from("e"), max_size=2))]
    out += [line(k, draw(_text)) for k in draw(st.lists(st.sampled_from("p"), max_size=2))]
    session_c = draw(st.booleans())
    if session_c:
        out.append(line("c", f"IN IP4 {draw(_token)}"))
    out += [line("b", f"{draw(_token)}:{draw(_digits)}") for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(1, 3))):
        out.append(line("t", f"{draw(_digits)} {draw(_digits)}"))
        for _ in range(draw(st.integers(0, 2))):
            out.append(line("r", f"{typed_time()} {typed_time()} {typed_time()}"))
    if draw(st.booleans()):
        out.append(line("z", f"{draw(_digits)} -{typed_time()}"))
    if draw(st.booleans()):
        out.append(line("k", draw(st.sampled_from(["prompt", "clear:x y", "base64:AAAA"]))))
    attributes = st.one_of(_token, st.tuples(_token, st.text(
        st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=15)
    ).map(lambda nv: f"{nv[0]}:{nv[1]}"))
    out += [line("a", v) for v in draw(st.lists(attributes, max_size=3))]
    for _ in range(draw(st.integers(0, 3))):
        port = draw(st.integers(0, 65535))
        count = draw(st.sampled_from(["", "/2"]))
        formats = " ".join(draw(st.lists(_token, min_size=1, max_size=3)))
        out.append(line("m", f"{draw(_token)} {port}{count} {draw(_token)}/{draw(_token)} {formats}"))
        if draw(st.booleans()):
            out.append(line("i", draw(_text)))
        for _ in range(draw(st.integers(0 if session_c else 1, 2))):
            out.append(line("c", f"IN IP6 {draw(_token)}"))
        out += [line("a", v) for v in draw(st.lists(attributes, max_size=3))]
    eols = [draw(_eol) for _ in out]
    if draw(st.booleans()):
        eols[-1] = ""
    return SessionDescription.from_lines(Line(k, v, e) for (k, v), e in zip(out, eols, strict=True))


@settings(max_examples=200, deadline=None)
@given(descriptions())
def test_parse_of_bytes_is_identity(sd: SessionDescription) -> None:
    data = bytes(sd)
    assert SessionDescription.parse(data) == sd
    assert bytes(SessionDescription.parse(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    try:
        sd = SessionDescription.parse(data)
    except SDPParseError as exc:
        assert 0 <= exc.offset <= max(len(data), MAX_SDP_SIZE)
    else:
        assert bytes(sd) == data


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([ALL_TYPES, WRAPPED_OFFER, ALICE_OFFER]), st.data())
def test_mutated_descriptions_raise_only_parse_errors(base: bytes, data) -> None:
    position = data.draw(st.integers(0, len(base)))
    cut = data.draw(st.integers(0, 8))
    insert = data.draw(st.binary(max_size=6))
    mutated = base[:position] + insert + base[position + cut:]
    try:
        sd = SessionDescription.parse(mutated)
    except SDPParseError:
        return
    assert bytes(sd) == mutated
    with contextlib.suppress(SDPParseError):
        msrp_media(sd)


# -- views are read once --------------------------------------------------------
# A description is immutable, so its bytes, line offsets and typed views are
# computed once (when parsed, built or first asked for); they must be what
# reading the lines afresh gives.


def _view(read: Callable[[], object]) -> object:
    """What ``read`` gives, or the error it raised (what, offset)."""
    try:
        return read()
    except SDPParseError as exc:
        return (exc.what, exc.offset)


def _offsets(lines: tuple[Line, ...]) -> list[int]:
    out, position = [], 0
    for line in lines:
        out.append(position)
        position += len(bytes(line))
    return out


@settings(max_examples=200, deadline=None)
@given(descriptions())
def test_parsed_and_built_descriptions_give_the_same_views(built: SessionDescription) -> None:
    parsed = SessionDescription.parse(bytes(built))
    for sd in (parsed, built):
        assert sd.lines == built.session + tuple(line for m in built.media for line in m.lines)
        assert [sd.offset_of(line) for line in sd.lines] == _offsets(sd.lines)
        assert bytes(sd) == b"".join(bytes(line) for line in sd.lines)
    assert parsed.connection == built.connection and parsed.attributes == built.attributes
    for mine, theirs in zip(parsed.media, built.media, strict=True):
        assert _view(lambda m=mine: m.media_line) == _view(lambda t=theirs: t.media_line)
        assert mine.connection == theirs.connection and mine.attributes == theirs.attributes
    for index in (None, *range(len(built.media))):
        assert _view(lambda i=index: msrp_media(parsed, i)) == _view(lambda i=index: msrp_media(built, i))


def test_msrp_media_is_read_once_and_errors_every_time() -> None:
    sd = SessionDescription.parse(WRAPPED_OFFER)
    assert msrp_media(sd) is msrp_media(sd)
    assert msrp_media(sd) == msrp_media(SessionDescription.parse(WRAPPED_OFFER))
    broken = SessionDescription.parse(ALICE_OFFER.replace(b"a=path:", b"a=pith:"))
    for _ in range(2):
        with pytest.raises(SDPParseError, match="without a=path"):
            msrp_media(broken)


def test_a_line_checks_non_ascii_values_only_for_encodability() -> None:
    assert bytes(Line("s", "caf\u00e9")) == "s=caf\u00e9\r\n".encode()
    assert bytes(Line("s", "x\udcff")) == b"s=x\xff\r\n"
    with pytest.raises(LocalProtocolError, match="not encodable"):
        Line("s", "x\ud800")
