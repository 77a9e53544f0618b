"""Typed MSRP header values: Byte-Range, Status, the header list."""

from __future__ import annotations

import pytest

from imkit.msrp import ByteRange, Headers, HeaderValueError, Status


@pytest.mark.parametrize(("text", "value"), [
    ("1-25/25", ByteRange(1, 25, 25)),
    ("1-*/8", ByteRange(1, None, 8)),
    ("5-8/8", ByteRange(5, 8, 8)),
    ("1-*/*", ByteRange(1, None, None)),
    ("1-0/0", ByteRange(1, 0, 0)),          # an empty body
    ("2049-4096/*", ByteRange(2049, 4096, None)),
])
def test_byte_range(text: str, value: ByteRange) -> None:
    assert ByteRange.parse(text) == value
    assert str(value) == text


@pytest.mark.parametrize("text", [
    "0-1/1", "5-3/8", "1-9/8", "1-2", "a-b/c", "1 -2/3", "-1-2/3", "1-2/3 ", "1-" + "9" * 30 + "/*",
    "9-*/7",
])
def test_bad_byte_range(text: str) -> None:
    with pytest.raises(HeaderValueError):
        ByteRange.parse(text)


def test_status() -> None:
    assert Status.parse("000 200 OK") == Status(200, "OK", 0)
    assert str(Status(413)) == "000 413"
    assert Status.parse("000 481 No Such Session").reason == "No Such Session"
    for bad in ("200 OK", "000 20 OK", "0000 200", "000 200\tOK"):
        with pytest.raises(HeaderValueError):
            Status.parse(bad)


def test_headers_lookup_is_case_insensitive_and_ordered() -> None:
    headers = Headers((("To-Path", "a"), ("X-A", "1"), ("x-a", "2")))
    assert headers.get("TO-PATH") == "a"
    assert headers.get_all("X-a") == ["1", "2"]
    assert "x-A" in headers and "Missing" not in headers
    assert headers.index("x-a") == 1
    assert list(headers.with_field("Y", "3")) == [*headers, ("Y", "3")]
    assert list(headers.without("x-a")) == [("To-Path", "a")]


@pytest.mark.parametrize(("name", "value"), [
    ("Bad Name", "v"), ("1abc", "v"), ("X", " leading"), ("X", "trailing "), ("X", "a\r\nb"),
    ("X", "nul\x00"),
])
def test_headers_reject_what_cannot_be_written(name: str, value: str) -> None:
    with pytest.raises(HeaderValueError):
        Headers(((name, value),))
