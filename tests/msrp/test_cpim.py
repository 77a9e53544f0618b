"""message/cpim (RFC 3862): the RFC's examples, typed views, wrap and unwrap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.msrp import ParseError
from imkit.msrp.cpim import (
    CPIM_NAMESPACE,
    CPIMHeader,
    CPIMMessage,
    NameAddr,
    unwrap,
    wrap,
)


def crlf(text: str) -> bytes:
    """``text`` with every newline written as CRLF."""
    return text.replace("\n", "\r\n").encode()

# RFC 3862 section 3 (the "h:" and "e:" lines of its first example).
RFC3862_BASIC = crlf(
    "From: MR SANDERS <im:piglet@100akerwood.com>\n"
    "To: Depressed Donkey <im:eeyore@100akerwood.com>\n"
    "DateTime: 2000-12-13T13:40:00-08:00\n"
    "Subject: the weather will be fine today\n"
    "\n"
    "Content-type: text/plain\n"
    "Content-ID: <1234567890@foo.com>\n"
    "\n"
) + b"Here is the text of my message."

# RFC 3862 section 6: Subject with ;lang, NS, Require and prefixed headers.
RFC3862_FULL = crlf(
    "From: MR SANDERS <im:piglet@100akerwood.com>\n"
    "To: Dopey Donkey <im:eeyore@100akerwood.com>\n"
    "DateTime: 2000-12-13T13:40:00-08:00\n"
    "Subject: the weather will be fine today\n"
    "Subject:;lang=fr beau temps prevu pour aujourd'hui\n"
    "NS: MyFeatures <mid:MessageFeatures@id.foo.com>\n"
    "Require: MyFeatures.VitalMessageOption\n"
    "MyFeatures.VitalMessageOption: Confirmation-requested\n"
    "MyFeatures.WackyMessageOption: Use-silly-font\n"
    "\n"
    "Content-type: text/xml; charset=utf-8\n"
    "Content-ID: <1234567890@foo.com>\n"
    "\n"
    "<body>\n"
    "Here is the text of my message.\n"
    "</body>"
)


@pytest.mark.parametrize("data", [RFC3862_BASIC, RFC3862_FULL])
def test_rfc_3862_examples_round_trip(data: bytes) -> None:
    message = unwrap(data)
    assert bytes(message) == data
    assert unwrap(bytes(message)) == message


def test_basic_views() -> None:
    message = unwrap(RFC3862_BASIC)
    assert message.from_ == NameAddr("im:piglet@100akerwood.com", "MR SANDERS")
    assert message.to == [NameAddr("im:eeyore@100akerwood.com", "Depressed Donkey")]
    assert message.datetime == datetime(2000, 12, 13, 13, 40, tzinfo=timezone(timedelta(hours=-8)))
    assert message.subjects == [("the weather will be fine today", None)]
    assert message.content_type == "text/plain"
    assert message.content_headers[1] == ("Content-ID", "<1234567890@foo.com>")
    assert message.body == b"Here is the text of my message."


def test_namespaces_and_prefixed_headers() -> None:
    message = unwrap(RFC3862_FULL)
    assert message.subjects == [("the weather will be fine today", None),
                                ("beau temps prevu pour aujourd'hui", "fr")]
    assert message.namespaces == [("MyFeatures", "mid:MessageFeatures@id.foo.com")]
    assert message.require == ["MyFeatures.VitalMessageOption"]
    features = "mid:MessageFeatures@id.foo.com"
    assert message.extension(features, "VitalMessageOption") == ["Confirmation-requested"]
    assert message.extension(features, "WackyMessageOption") == ["Use-silly-font"]
    assert message.extension(CPIM_NAMESPACE, "Subject")[0] == "the weather will be fine today"
    assert message.extension("urn:other", "VitalMessageOption") == []
    header = message.get("MyFeatures.WackyMessageOption")[0]
    assert (header.prefix, header.local_name) == ("MyFeatures", "WackyMessageOption")


def test_wrap_builds_the_rfc_example() -> None:
    built = wrap(
        b"<body>\r\nHere is the text of my message.\r\n</body>",
        "text/xml; charset=utf-8",
        from_=NameAddr("im:piglet@100akerwood.com", "MR SANDERS"),
        to=NameAddr("im:eeyore@100akerwood.com", "Dopey Donkey"),
        datetime=datetime(2000, 12, 13, 13, 40, tzinfo=timezone(timedelta(hours=-8))),
        subjects=["the weather will be fine today", ("beau temps prevu pour aujourd'hui", "fr")],
        namespaces=[("MyFeatures", "mid:MessageFeatures@id.foo.com")],
        require=["MyFeatures.VitalMessageOption"],
        headers=[("MyFeatures.VitalMessageOption", "Confirmation-requested"),
                 ("MyFeatures.WackyMessageOption", "Use-silly-font")],
        content_headers=[("Content-ID", "<1234567890@foo.com>")],
    )
    assert bytes(built) == RFC3862_FULL.replace(b"Content-type", b"Content-Type")


def test_wrap_chat_message_with_cc_and_quoted_names() -> None:
    built = wrap(b"hi", from_="sip:alice@example.com",
                 to=["sip:bob@example.com", NameAddr("sip:carol@example.com", 'Carol "C" <x>')],
                 cc=[NameAddr("sip:conf@example.com", "Conference")],
                 datetime=datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC))
    assert bytes(built) == crlf(
        "From: <sip:alice@example.com>\n"
        "To: <sip:bob@example.com>\n"
        'To: "Carol \\"C\\" <x>" <sip:carol@example.com>\n'
        "cc: Conference <sip:conf@example.com>\n"
        "DateTime: 2024-01-02T03:04:05.120000Z\n"
        "\n"
        "Content-Type: text/plain;charset=UTF-8\n"
        "\n"
    ) + b"hi"
    again = unwrap(bytes(built))
    assert again.to[1] == NameAddr("sip:carol@example.com", 'Carol "C" <x>')
    assert again.cc == [NameAddr("sip:conf@example.com", "Conference")]
    assert again.datetime == datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)


@pytest.mark.parametrize("data", [
    b"",
    b"From: <im:a@b>\r\n",                                   # no blank line
    b"From: <im:a@b>\r\n\r\nContent-Type: text/plain\r\n",  # content headers not closed
    b"From <im:a@b>\r\n\r\n\r\n",                           # no colon
    b"From: im:a@b\r\n\r\n\r\n",                            # no angle brackets
    b"From: <im:a@b>\r\nFrom: <im:c@d>\r\n\r\n\r\n",        # From twice
    b"DateTime: yesterday\r\n\r\n\r\n",
    b"DateTime: 2000-13-13T13:40:00Z\r\n\r\n\r\n",
    b"Subject:;lang fr x\r\n\r\n\r\n",
    b"NS: <no-prefix-ok> extra\r\n\r\n\r\n",
    b"Require: a,,b\r\n\r\n\r\n",
    b"X: bad\nline\r\n\r\n\r\n",
    b"X: \xff\r\n\r\n\r\n",
    b"To: <im:a@b>\r\n\r\nBad Name: x\r\n\r\n",
])
def test_malformed(data: bytes) -> None:
    with pytest.raises(ParseError):
        unwrap(data)


def test_builder_checks() -> None:
    with pytest.raises(LocalProtocolError):
        CPIMHeader("Bad Name", "x")
    with pytest.raises(LocalProtocolError):
        CPIMHeader("X", "two\r\nlines")
    with pytest.raises(LocalProtocolError):
        wrap(b"", from_="im:a@b", to="im:c@d", datetime=datetime(2000, 1, 1))   # no time zone
    with pytest.raises(LocalProtocolError):
        CPIMMessage((), (("Content-Type", " leading"),), b"")


names = st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,10}", fullmatch=True)
values = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)


@given(st.lists(st.tuples(names, values), max_size=5), st.lists(st.tuples(names, values.map(str.lstrip)),
                                                                max_size=3), st.binary(max_size=100))
def test_round_trip_property(headers: list, content: list, body: bytes) -> None:
    lines = [CPIMHeader(f"P.{name}" if i % 2 else name, value) for i, (name, value) in enumerate(headers)
             if name not in ("From", "To", "cc", "DateTime", "NS", "Require")]
    message = CPIMMessage(tuple(lines), tuple(content), body)
    assert unwrap(bytes(message)) == message


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        unwrap(data)
    except ParseError:
        pass
