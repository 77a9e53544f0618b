"""imkit.widgets.wiretext: bytes <-> editable text, exactly, and byte offsets -> line/column."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.widgets.wiretext import from_text, position, to_text


@given(st.binary(max_size=512))
def test_any_bytes_survive_the_round_trip(data: bytes) -> None:
    assert from_text(to_text(data)) == data


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_text_without_marks_is_its_utf8_with_crlf_line_breaks(text: str) -> None:
    plain = text.replace("\r", "").replace("␊", "").replace("␍", "").replace("⟨", "")
    assert from_text(plain) == plain.replace("\n", "\r\n").encode("utf-8")


@pytest.mark.parametrize(("data", "text"), [
    (b"INVITE sip:b@x SIP/2.0\r\nVia: v\r\n\r\n", "INVITE sip:b@x SIP/2.0\nVia: v\n\n"),
    (b"<a/>\n<b/>", "<a/>␊\n<b/>"),
    (b"x\ry", "x␍y"),
    (b"\x00\x7f\xff", "⟨00⟩⟨7F⟩⟨FF⟩"),
    ("caf\u00e9".encode(), "caf\u00e9"),
    ("a\u00a0b\u200bc".encode(), "a⟨C2⟩⟨A0⟩b⟨E2⟩⟨80⟩⟨8B⟩c"),  # no-break and zero-width spaces made visible
    # the marks themselves are written as bytes (a lone ⟩ is unambiguous)
    ("⟨41⟩ ␊".encode(), "⟨E2⟩⟨9F⟩⟨A8⟩41⟩ ⟨E2⟩⟨90⟩⟨8A⟩"),
    (b"a\tb", "a\tb"),
])
def test_notation(data: bytes, text: str) -> None:
    assert to_text(data) == text
    assert from_text(text) == data


def test_what_a_browser_sends_back_is_read_the_same() -> None:
    # a textarea may return CRLF line breaks, and a person may type ␊ at a line end
    assert from_text("a\r\nb␊\r\nc␊") == b"a\r\nb\nc\n"
    assert from_text("⟨4") == "⟨4".encode()  # an unfinished escape is just text


@pytest.mark.parametrize(("offset", "expected"), [
    (0, (1, 1)), (3, (1, 4)), (5, (2, 1)), (7, (2, 3)), (8, (3, 1)), (9, (3, 5)), (99, (3, 6)),
])
def test_position_counts_lines_at_every_lf(offset: int, expected: tuple[int, int]) -> None:
    # line 2 ends in a bare LF; line 3 starts with a NUL, four characters wide as ⟨00⟩
    data = b"abc\r\nxy\n\x00z"
    assert position(data, offset) == expected
