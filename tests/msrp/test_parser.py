"""Reading MSRP from bytes: one message, a stream, malformed input, bounds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imkit.errors
from imkit.msrp import Frame, MSRPMessage, ParseError, StreamParser, parse
from tests.msrp import examples as ex
from tests.msrp.strategies import messages

STREAM = b"".join(ex.ALL.values())


def feed_in_pieces(data: bytes, cuts: list[int], **limits: int) -> list[Frame]:
    parser = StreamParser(**limits)
    frames: list[Frame] = []
    previous = 0
    for cut in sorted(cuts) + [len(data)]:
        frames += parser.feed(data[previous:cut])
        previous = cut
    assert parser.buffered == 0
    return frames


def test_parse_error_is_an_imkit_parse_error() -> None:
    assert issubclass(ParseError, imkit.errors.ParseError)


def test_stream_of_examples_byte_by_byte() -> None:
    frames = feed_in_pieces(STREAM, list(range(len(STREAM))))
    assert [f.raw for f in frames] == list(ex.ALL.values())
    assert [f.message for f in frames] == [parse(m) for m in ex.ALL.values()]


def test_stream_all_at_once() -> None:
    frames = StreamParser().feed(STREAM)
    assert b"".join(f.raw for f in frames) == STREAM


def test_body_with_near_miss_end_lines() -> None:
    body = b"x\r\n-------abcd1234X\r\n-------abcd123$\r\n-------abcd1234"
    data = (b"MSRP abcd1234 SEND\r\nTo-Path: " + ex.BOB.encode() + b"\r\nFrom-Path: "
            + ex.ALICE.encode() + b"\r\nContent-Type: text/plain\r\n\r\n" + body
            + b"\r\n-------abcd1234+\r\n")
    for cuts in ([], list(range(0, len(data), 3))):
        (frame,) = feed_in_pieces(data, cuts)
        assert frame.message.body == body


def test_empty_body_and_no_body_differ() -> None:
    head = b"MSRP abcd1234 SEND\r\nTo-Path: " + ex.BOB.encode() + b"\r\nFrom-Path: " + ex.ALICE.encode()
    no_body = parse(head + b"\r\n-------abcd1234$\r\n")
    empty = parse(head + b"\r\nContent-Type: text/plain\r\n\r\n\r\n-------abcd1234$\r\n")
    assert no_body.body is None and empty.body == b""


def test_lenient_header_spacing_is_written_canonically() -> None:
    data = ex.SECTION_4_SEND.replace(b"Message-ID: ", b"Message-ID:\t ")
    message = parse(data)
    assert message.message_id == "87652491"
    assert bytes(message) == ex.SECTION_4_SEND


GOOD = ex.SECTION_4_SEND


@pytest.mark.parametrize(("data", "offset"), [
    (b"", 0),                                                    # nothing: truncated
    (GOOD[:-1], len(GOOD) - 1),                                  # truncated end-line
    (GOOD + b"x", len(GOOD)),                                    # trailing bytes
    (b"msrp" + GOOD[4:], 0),                                     # "MSRP" in caps
    (GOOD.replace(b"a786hjs2 SEND", b"a786hjs2  SEND"), 14),     # double space: bad method
    (GOOD.replace(b"a786hjs2 SEND", b"a786hjs2 send"), 14),
    (GOOD.replace(b"MSRP a786hjs2", b"MSRP a7/6hjs2"), 5),       # bad transaction id
    (GOOD.replace(b"To-Path:", b"To Path:"), 20),                # bad header name
    (GOOD.replace(b"Byte-Range: 1-25/25", b"Byte-Range: 26-25/1"), GOOD.index(b"Byte-Range")),
    (GOOD.replace(b"To-Path", b"X-Path"), 0),                    # no To-Path
    (GOOD.replace(b"-------a786hjs2$", b"-------a786hjs2!"), None),   # no valid end-line
    (GOOD.replace(b"a786hjs2$\r\n", b"a786hjs2$\n\r"), len(GOOD) - 2),
    (GOOD.replace(b"text/plain", b"text/\x01plain"), GOOD.index(b"plain")),
    (GOOD.replace(b"text/plain", b"text/\xffplain"), GOOD.index(b"plain")),
    (ex.SECTION_4_OK.replace(b"tcp\r\n-------", b"tcp\r\n\r\nbody\r\n-------"),
     ex.SECTION_4_OK.index(b"tcp\r\n-------") + 3),  # a response has no body
])
def test_malformed(data: bytes, offset: int | None) -> None:
    with pytest.raises(ParseError) as info:
        parse(data)
    if offset is not None:
        assert info.value.offset == offset


def test_bounds() -> None:
    with pytest.raises(ParseError, match="larger than the limit"):
        StreamParser(max_chunk_size=10).feed(GOOD)
    # the bound bites before the end-line arrives, with the buffer still small
    parser = StreamParser(max_chunk_size=100)
    head = GOOD[:GOOD.index(b"Hey")]
    with pytest.raises(ParseError):
        parser.feed(head + b"x" * 200)
    with pytest.raises(ParseError, match="header block too long"):
        StreamParser(max_header_size=100).feed(GOOD[:GOOD.index(b"\r\n\r\n")] + b"\r\nX: " + b"y" * 200)
    with pytest.raises(ParseError, match="start line too long"):
        StreamParser(max_header_size=100).feed(b"MSRP " + b"a" * 200)
    assert StreamParser(max_chunk_size=23).feed(GOOD)[0].message.body == b"Hey Bob, are you there?"


def test_error_sticks() -> None:
    parser = StreamParser()
    with pytest.raises(ParseError):
        parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ParseError):
        parser.feed(GOOD)


def test_offsets_count_from_the_start_of_the_stream() -> None:
    parser = StreamParser()
    assert len(parser.feed(GOOD)) == 1
    with pytest.raises(ParseError) as info:
        parser.feed(b"MSRP abcd1234 lower\r\n")
    assert info.value.offset == len(GOOD) + 14


@given(messages)
def test_round_trip_property(message: MSRPMessage) -> None:
    data = bytes(message)
    assert parse(data) == message
    assert bytes(parse(data)) == data


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, min_size=1, max_size=4), st.data())
def test_stream_property(batch: list[MSRPMessage], data: st.DataObject) -> None:
    stream = b"".join(bytes(m) for m in batch)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    frames = feed_in_pieces(stream, cuts)
    assert [f.message for f in frames] == batch
    assert [f.raw for f in frames] == [bytes(m) for m in batch]


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        parse(data)
    except ParseError:
        pass
    try:
        StreamParser(max_chunk_size=64, max_header_size=128).feed(data)
    except ParseError:
        pass


@given(messages, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.booleans()),
                          min_size=1, max_size=5), st.integers(0, 10_000))
def test_mutated_messages_raise_only_parse_error(message: MSRPMessage, edits: list, cut: int) -> None:
    data = bytearray(bytes(message))
    for position, value, insert in edits:
        position %= len(data) + 1
        if insert:
            data.insert(position, value)
        elif position < len(data):
            data[position] = value
    data = data[:cut % (len(data) + 1)] if cut % 3 == 0 else data
    try:
        parse(bytes(data))
    except ParseError:
        pass
    try:
        feed_in_pieces(bytes(data) + b"MSRP", [len(data) // 2], max_chunk_size=128)
    except (ParseError, AssertionError):
        pass
