"""imkit.sip.headers: rows, the look-ups by key and the header-block parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.sip import ParseError
from imkit.sip.headers import (
    Field,
    Headers,
    _rows,
    copy_as,
    header_key,
    parse_header_block,
    split_list,
)

# Spellings of a few headers (compact forms included) and one unknown name.
NAMES = ["Via", "v", "VIA", "From", "f", "To", "t", "Contact", "m", "Route", "X-Thing", "x-thing"]
VALUES = ["a", "b, c", "<sip:x@y>;tag=1", ""]


def _scan(headers: Headers, name: str) -> list[Field]:
    """The rows of ``name`` by a scan of every row: what the index must give."""
    key = header_key(name)
    return [f for f in headers if header_key(f.name) == key]


def _check_look_ups(headers: Headers) -> None:
    for name in NAMES:
        rows = _scan(headers, name)
        assert headers.fields(name) == rows
        assert all(a is b for a, b in zip(headers.fields(name), rows))
        assert (name in headers) is bool(rows)
        assert headers.first(name) is (rows[0] if rows else None)
        assert headers.get(name, "none") == (rows[0].value if rows else "none")
        expected = [f.value for f in rows]
        if header_key(name) in ("via", "contact", "route"):
            expected = [item for value in expected for item in split_list(value)]
        assert headers.get_all(name) == expected


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "add_first", "set", "remove", "remove_first", "add_before", "rename", "revalue", "copy"]),
        st.sampled_from(NAMES),
        st.sampled_from(VALUES),
        st.integers(0, 20),
    ),
    max_size=25,
)


@given(operations)
@settings(max_examples=300, deadline=None)
def test_look_ups_follow_every_change(ops: list[tuple[str, str, str, int]]) -> None:
    raw = b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nv: SIP/2.0/UDP g\r\nf: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nX-Thing: 1"
    headers = parse_header_block(raw)
    _check_look_ups(headers)
    for op, name, value, n in ops:
        rows = list(headers)
        if op == "add":
            headers.add(name, value)
        elif op == "add_first":
            headers.add(name, value, first=True)
        elif op == "set":
            headers.set(name, value)
        elif op == "remove":
            headers.remove(name)
        elif op == "remove_first":
            headers.remove_first(name)
        elif op == "add_before":
            headers.add_before((name, "To"), "Route", value)
        elif op == "rename" and rows:
            rows[n % len(rows)].name = name
        elif op == "revalue" and rows:
            rows[n % len(rows)].value = value
        elif op == "copy":
            headers = headers.copy()
        _check_look_ups(headers)


def test_renaming_a_row_moves_it_to_its_new_key() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP h"), ("To", "<sip:b@c>")])
    assert headers.fields("Via") and not headers.fields("From")
    row = headers.fields("To")[0]
    row.name = "f"
    assert row.key == "from"
    assert headers.fields("From") == [row] and headers.fields("To") == []
    assert "t" not in headers and "From" in headers


def test_fields_is_a_copy() -> None:
    headers = Headers([("Via", "a")])
    headers.fields("Via").append(Field("Via", "b"))
    assert [f.value for f in headers.fields("Via")] == ["a"]


def test_plain_and_general_block_parsers_agree() -> None:
    # The same rows with and without folding: the fast path and the general
    # one give the same fields (the folded one through the general parser).
    plain = b"Via: SIP/2.0/UDP h\r\nSubject: a b\r\nl: 0"
    folded = b"Via: SIP/2.0/UDP h\r\nSubject: a\r\n b\r\nl: 0"
    assert parse_header_block(plain) == parse_header_block(folded)
    assert [f.offset for f in parse_header_block(plain, base_offset=5)] == [5, 25, 39]


def test_block_parser_reports_bad_rows_the_same_the_second_time() -> None:
    # Rows the fast path remembered do not hide an error in the next block:
    # the error is the general parser's, what and where.
    good = b"Via: SIP/2.0/UDP h\r\nTo: <sip:b@c>"
    parse_header_block(good)
    for bad in (good + b"\r\nno colon", good + b"\r\nVi a: x", b"To: \xff\r\n" + good, good + b"\r\nX: \xfe"):
        with pytest.raises(ParseError) as expected:
            _rows(bad, 0, 256)
        for _ in range(2):
            with pytest.raises(ParseError) as info:
                parse_header_block(bad)
            assert (info.value.what, info.value.offset) == (expected.value.what, expected.value.offset)


def test_copy_as_keeps_value_and_typed_value() -> None:
    headers = parse_header_block(b"v: SIP/2.0/UDP h;branch=z9hG4bK1")
    row = headers.fields("Via")[0]
    parsed = row.typed(lambda text, offset: text.upper())
    copy = copy_as(row, "Via")
    assert (copy.name, copy.value, copy.raw, copy.key) == ("Via", row.value, None, "via")
    assert copy.to_bytes() == b"Via: SIP/2.0/UDP h;branch=z9hG4bK1"
    assert copy.typed(row._typed[1]) is parsed  # type: ignore[index]


def test_added_names_are_checked() -> None:
    headers = Headers()
    with pytest.raises(LocalProtocolError):
        headers.add("Bad Name", "x")
    with pytest.raises(LocalProtocolError):
        headers.add("X-Ok", "a\r\nb")
    with pytest.raises(LocalProtocolError):
        headers.set("Bad:Name", "x")
    assert len(headers) == 0


def test_rows_of_large_and_small_blocks_read_alike() -> None:
    # Rows of small blocks are remembered, of large ones not: same fields.
    row = b"X-Long: " + b"y" * 100
    small = b"\r\n".join([row] * 3)
    large = b"\r\n".join([row] * 40)
    for block in (small, large, small, large):
        fields = parse_header_block(block, base_offset=7)
        assert [(f.name, f.value, f.raw) for f in fields] == [("X-Long", "y" * 100, row)] * (block.count(b"\r\n") + 1)
        assert [f.offset for f in fields] == [7 + i * (len(row) + 2) for i in range(len(fields))]
