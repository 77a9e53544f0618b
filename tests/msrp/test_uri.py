"""MSRP URIs: RFC 4975 section 9 syntax and section 6.1 comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.msrp import MSRPURI, ParseError, format_path, parse_path
from tests.msrp.strategies import msrp_uris


@pytest.mark.parametrize("text", [
    "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
    "msrps://alice.example.com:9892/98cjs;tcp",
    "msrps://alice@intra.example.com;tcp",                       # RFC 4976: no port, no session-id
    "msrp://[2001:db8::1]:2855/s+=/x;tcp;foo=bar;flag",
    "MSRP://Host.Example.COM:1/a;TCP",
    "msrp://user:pw%20x@127.0.0.1:2855/abc;sctp",
])
def test_parse_and_write_back(text: str) -> None:
    assert str(MSRPURI.parse(text)) == text


def test_parts() -> None:
    uri = MSRPURI.parse("msrps://alice@[::1]:2855/a/b=c;tcp;x=1;y")
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("msrps", "alice", "[::1]", 2855)
    assert (uri.session_id, uri.transport, uri.params) == ("a/b=c", "tcp", (("x", "1"), ("y", None)))
    assert uri.secure and uri.address == ("::1", 2855)


@pytest.mark.parametrize("text", [
    "", "msrp://", "sip:alice@example.com", "msrp://host:2855/abc",   # no transport
    "msrp://host:99999/abc;tcp", "msrp://[zz::1]:1/a;tcp", "msrp://host/a b;tcp",
    "msrp://host:1/a;tcp;=x", "msrp://host:1/a?;tcp", "msrp://ho st;tcp",
    "msrp://host;tcp;" + "a" * 2000,
])
def test_malformed(text: str) -> None:
    with pytest.raises(ParseError):
        MSRPURI.parse(text)


@pytest.mark.parametrize(("left", "right", "same"), [
    # "Scheme comparison is case insensitive"; domain names too
    ("MSRP://EXAMPLE.com:1/abc;tcp", "msrp://example.COM:1/abc;tcp", True),
    ("msrps://example.com:1/abc;tcp", "msrp://example.com:1/abc;tcp", False),
    # the session-id is case sensitive
    ("msrp://example.com:1/abc;tcp", "msrp://example.com:1/ABC;tcp", False),
    # an explicit port never equals a missing one
    ("msrp://example.com:2855/abc;tcp", "msrp://example.com/abc;tcp", False),
    ("msrp://example.com:2855/abc;tcp", "msrp://example.com:2856/abc;tcp", False),
    # userinfo and URI parameters are not compared; transport is, case-insensitively
    ("msrp://bob@example.com:1/abc;tcp;p=1", "msrp://example.com:1/abc;TCP", True),
    ("msrp://example.com:1/abc;tcp", "msrp://example.com:1/abc;sctp", False),
    # addresses compare as addresses; percent-encoded unreserved characters are decoded
    ("msrp://[2001:DB8:0::1]:1/a;tcp", "msrp://[2001:db8::1]:1/a;tcp", True),
    ("msrp://ex%61mple.com:1/a;tcp", "msrp://example.com:1/a;tcp", True),
    ("msrp://ex%2Dample.com:1/a;tcp", "msrp://ex-ample.com:1/a;tcp", True),
    ("msrp://ex%21ample.com:1/a;tcp", "msrp://ex!ample.com:1/a;tcp", False),   # "!" is reserved
    # a URI without a session-id never equals one with
    ("msrp://example.com:1;tcp", "msrp://example.com:1/a;tcp", False),
])
def test_section_6_1_comparison(left: str, right: str, same: bool) -> None:
    a, b = MSRPURI.parse(left), MSRPURI.parse(right)
    assert a.matches(b) is same
    assert b.matches(a) is same


def test_path() -> None:
    value = "msrps://relay.example.com:2855/r1;tcp msrp://bob.example.com:8888/9di4;tcp"
    path = parse_path(value)
    assert [str(u) for u in path] == value.split(" ")
    assert format_path(path) == value
    assert format_path(value.split(" ")) == value
    for bad in ("", " msrp://a:1/b;tcp", "msrp://a:1/b;tcp  msrp://a:1/b;tcp", "junk"):
        with pytest.raises(ParseError):
            parse_path(bad)
    with pytest.raises(LocalProtocolError):
        format_path([])
    with pytest.raises(LocalProtocolError):
        format_path(["not a uri"])


def test_constructor_checks() -> None:
    with pytest.raises(LocalProtocolError):
        MSRPURI("http", "example.com", 1, "a")
    with pytest.raises(LocalProtocolError):
        MSRPURI("msrp", "example.com", 70000, "a")
    with pytest.raises(LocalProtocolError):
        MSRPURI("msrp", "[::g]", 1, "a")


@given(msrp_uris())
def test_round_trip_property(uri: MSRPURI) -> None:
    again = MSRPURI.parse(str(uri))
    assert again == uri
    assert again.matches(uri)


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        MSRPURI.parse(text)
    except ParseError:
        pass
