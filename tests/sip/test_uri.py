"""imkit.sip.uri and imkit.sip.address: SIP URIs, escapes, name-addr."""

from __future__ import annotations

import pytest

from imkit.sip import AbsoluteURI, NameAddr, ParseError, SipURI, parse_uri


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.example.com",
        "sip:alice:secretword@atlanta.example.com;transport=tcp",
        "sips:alice@atlanta.example.com?subject=project%20x&priority=urgent",
        "sip:+1-212-555-1212:1234@gateway.example.com;user=phone",
        "sips:1212@gateway.example.com",
        "sip:alice@192.0.2.4",
        "sip:atlanta.example.com;method=REGISTER?to=alice%40atlanta.example.com",
        "sip:alice;day=tuesday@atlanta.example.com",
        "sip:[2001:db8::10]:5070;lr",
        "sip:conf-factory@example.com",
        "sip:bob@example.com?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2",
    ],
)
def test_rfc3261_examples_round_trip(text: str) -> None:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    assert str(uri) == text
    rebuilt = uri.replace()  # drops the remembered text, forces re-escaping
    assert parse_uri(str(rebuilt)) == uri


def test_parts() -> None:
    uri = parse_uri("sips:alice:pw@[::1]:5061;transport=tls;lr?subject=project%20x")
    assert isinstance(uri, SipURI)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == ("sips", "alice", "pw", "[::1]", 5061)
    assert uri.transport == "tls"
    assert uri.param("lr") == ""
    assert uri.header("Subject") == "project x"
    assert str(uri.address_of_record) == "sips:alice@[::1]"


def test_user_with_semicolon_is_user_part() -> None:
    uri = parse_uri("sip:alice;day=tuesday@atlanta.example.com")
    assert isinstance(uri, SipURI)
    assert uri.user == "alice;day=tuesday" and uri.params == ()


def test_replaces_header_escaped_both_ways() -> None:
    replaces = "a84b4c76e66710@pc33.example.com;to-tag=8321234356;from-tag=9fxced76sl"
    uri = SipURI(host="example.com", user="bob").with_header("Replaces", replaces)
    text = str(uri)
    assert text == (
        "sip:bob@example.com?Replaces=a84b4c76e66710%40pc33.example.com"
        "%3Bto-tag%3D8321234356%3Bfrom-tag%3D9fxced76sl"
    )
    back = parse_uri(text)
    assert isinstance(back, SipURI) and back.header("replaces") == replaces


def test_lower_case_escapes_survive_exactly() -> None:
    text = "sip:bob@example.com?Replaces=x%3bto-tag%3d1%3bfrom-tag%3d2"
    uri = parse_uri(text)
    assert str(uri) == text
    assert isinstance(uri, SipURI) and uri.header("Replaces") == "x;to-tag=1;from-tag=2"


def test_method_as_uri_parameter() -> None:
    uri = parse_uri("sip:carol@example.com;method=BYE")
    assert isinstance(uri, SipURI) and uri.param("method") == "BYE"


def test_other_schemes_kept_whole() -> None:
    for text in ("tel:+1-201-555-0123;phone-context=example.com", "cid:list1@example.com", "mailto:a@b.example"):
        uri = parse_uri(text)
        assert isinstance(uri, AbsoluteURI)
        assert str(uri) == text


def test_equivalence_rules() -> None:
    a = parse_uri("sip:%61lice@atlanta.example.com;transport=TCP")
    b = parse_uri("sip:alice@AtLanTa.Example.Com;Transport=tcp")
    assert a.equivalent(b)
    assert not parse_uri("sip:bob@biloxi.example.com").equivalent(parse_uri("sip:bob@biloxi.example.com:5060"))
    assert not parse_uri("sip:carol@chicago.example.com").equivalent(parse_uri("sip:carol@chicago.example.com;security=off")) is False
    assert not parse_uri("sip:bob@x.example.com;user=phone").equivalent(parse_uri("sip:bob@x.example.com"))


@pytest.mark.parametrize(
    "text",
    ["", "sip:", "nocolon", "sip:@host", "sip:a@host:port", "sip:a@[::1", "sip:a@ho st",
     "sip:a@host;", "sip:a@host?x", "sip:a%zz@host", "sip:a%ff@host", "1sip:a@b", "sip:a@host:70000"],
)
def test_malformed_uris(text: str) -> None:
    with pytest.raises(ParseError):
        parse_uri(text)


def test_name_addr_forms() -> None:
    a = NameAddr.parse('"Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=88sja8x')
    assert a.display_name == 'Alice "A"'
    assert a.tag == "88sja8x"
    assert isinstance(a.uri, SipURI) and a.uri.transport == "tcp"
    b = NameAddr.parse("sip:alice@example.com;tag=1")
    assert not b.angle and b.tag == "1"
    assert isinstance(b.uri, SipURI) and b.uri.params == ()
    c = NameAddr.parse("Bob <sip:bob@example.com>")
    assert c.display_name == "Bob"


def test_name_addr_builds_angle_brackets_when_needed() -> None:
    uri = SipURI(host="example.com", user="carol", params=(("method", "BYE"),))
    assert str(NameAddr(uri)) == "<sip:carol@example.com;method=BYE>"
    assert str(NameAddr(uri, angle=False)) == "<sip:carol@example.com;method=BYE>"
    plain = NameAddr(SipURI(host="example.com", user="d"), angle=False)
    assert str(plain.with_tag("t1")) == "sip:d@example.com;tag=t1"
    assert str(NameAddr(SipURI(host="e.com", user="a"), display_name="Doe, John")) == '"Doe, John" <sip:a@e.com>'


@pytest.mark.parametrize("text", ["", "<sip:a@b", "Bob <sip:a@b> junk", '"unterminated <sip:a@b>'])
def test_malformed_name_addr(text: str) -> None:
    with pytest.raises(ParseError):
        NameAddr.parse(text)
