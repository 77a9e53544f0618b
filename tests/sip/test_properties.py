"""Hypothesis properties of the SIP codec: parse(bytes(m)) == m, and any
bytes give a message or a ParseError, never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.sip import Headers, ParseError, Request, Response, StreamFramer, parse, parse_datagram, parse_uri
from imkit.sip.errors import FramingError
from tests.sip.conftest import build_invite

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=12)
value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"), max_size=40).map(str.strip)
user = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/ @%:é", min_size=1, max_size=15)
host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
SINGLE = {"from", "to", "call-id", "cseq", "max-forwards", "content-length", "via", "l", "f", "t", "i", "v",
          "contact", "m", "expires", "route", "record-route", "refer-to", "r", "content-type", "c"}


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    fields = draw(st.lists(st.tuples(token.filter(lambda t: t.lower() not in SINGLE), value), max_size=10))
    body = draw(st.binary(max_size=200))
    headers = Headers(fields)
    headers.add("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {draw(token)}")
    headers.add("Content-Length", str(len(body)))
    if draw(st.booleans()):
        return Request(draw(token), f"sip:{draw(host)}", headers, body)
    return Response(draw(st.integers(100, 699)), draw(value), headers, body)


@given(messages())
@settings(max_examples=200, deadline=None)
def test_parse_inverts_bytes(message: Request | Response) -> None:
    assert parse(bytes(message)) == message


@given(user, host, st.one_of(st.none(), st.integers(0, 65535)), st.lists(st.tuples(token, st.one_of(st.none(), user)), max_size=3),
       st.lists(st.tuples(token, user), max_size=3))
@settings(max_examples=200, deadline=None)
def test_uri_escape_round_trip(u: str, h: str, port: int | None, params: list, headers: list) -> None:
    from imkit.sip import SipURI

    uri = SipURI(host=h, user=u, port=port, params=tuple(params), headers=tuple(headers))
    assert parse_uri(str(uri)) == uri


@given(st.binary(max_size=400))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_only_raise_parse_error(data: bytes) -> None:
    for function in (parse, parse_datagram):
        try:
            function(data)
        except ParseError:
            pass
    try:
        StreamFramer(max_message_size=300).feed(data)
    except FramingError:
        pass


@given(st.integers(0, 600), st.binary(min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_mutated_invites_only_raise_parse_error(position: int, junk: bytes) -> None:
    data = bytearray(build_invite())
    position %= len(data)
    data[position : position + len(junk)] = junk
    try:
        message = parse(bytes(data))
    except ParseError:
        return
    for accessor in ("via", "from_", "to", "cseq", "contact", "accept_contact", "allow", "session_expires",
                     "content_type", "refer_to", "replaces", "event", "privacy", "route", "www_authenticate"):
        try:
            getattr(message, accessor)
        except ParseError:
            pass
