"""imkit.widgets.html: byte views, parse errors, reasons, verdicts."""

from __future__ import annotations

import pytest

from imkit.procedures import general
from imkit.sip import ParseError, parse
from imkit.trace.provenance import Provenance
from imkit.widgets.html import (
    EDIT_CLAUSE,
    hexdump_html,
    parse_error_html,
    reasons_html,
    spec_words,
    table,
    wire_html,
)
from tests.widgets.support import marked, visible_text

MESSAGE = b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n<a/>\n<b>\x00</b>"


def test_wire_view_numbers_lines_gives_offsets_and_shows_line_ends() -> None:
    lines = visible_text(wire_html(MESSAGE)).split("\n")
    assert lines[0] == "   1      0 │ OPTIONS sip:b@example.com SIP/2.0␍␊"
    assert lines[1] == "   2     35 │ Via: SIP/2.0/UDP h;branch=z9hG4bK1␍␊"
    assert lines[2] == "   3     71 │ ␍␊"
    assert lines[3] == "   4     73 │ <a/>␊"  # the body's bare LF
    assert lines[4] == "   5     78 │ <b>⟨00⟩</b>"
    assert MESSAGE[35:38] == b"Via" and MESSAGE[73:77] == b"<a/>"


def test_wire_view_escapes_markup() -> None:
    shown = wire_html(b"<b>bold?</b>")
    assert visible_text(shown).endswith("│ <b>bold?</b>")
    assert "&lt;b&gt;bold?&lt;/b&gt;" in shown


@pytest.mark.parametrize(("offset", "shown"), [(35, "V"), (69, "␍␊"), (81, "⟨00⟩"), (len(MESSAGE), "⟂ end of the bytes")])
def test_wire_view_marks_one_byte(offset: int, shown: str) -> None:
    assert marked(wire_html(MESSAGE, mark=offset)) == [shown]


def test_wire_view_around_the_mark_and_bounded() -> None:
    around = visible_text(wire_html(MESSAGE, mark=73, around=1)).split("\n")
    assert [line.split("│")[0].split()[0] for line in around] == ["3", "4", "5"]
    cut = visible_text(wire_html(b"x" * 100, limit=10))
    assert "xxxxxxxxxx" in cut and "xxxxxxxxxxx" not in cut and "90 more bytes not shown" in cut


def test_hexdump() -> None:
    text = visible_text(hexdump_html(b"SIP/2.0 200 OK\r\n\x00\xff"))
    assert text.split("\n") == [
        "000000  53 49 50 2f 32 2e 30 20 32 30 30 20 4f 4b 0d 0a  |SIP/2.0 200 OK..|",
        "000010  00 ff                                            |..|",
    ]


def test_parse_error_says_what_and_where() -> None:
    data = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: one INVITE\r\n\r\n"
    with pytest.raises(ParseError) as caught:
        parse(data)
    error = caught.value
    shown = parse_error_html(error, data)
    text = visible_text(shown)
    line, column = 3, error.offset - data.index(b"CSeq") + 1
    assert error.what in text
    assert f"at byte {error.offset} of {len(data)} (line {line}, column {column})" in text
    assert marked(shown) == [data[error.offset:error.offset + 1].decode()]


def test_reasons_cite_the_spec_words() -> None:
    reasons = [Provenance("7.1.1.1", "1", "RFC 3841 caller preferences"), Provenance("RFC 3261", "20.14")]
    shown = reasons_html(reasons)
    words = next(rule.text for rule in general.RULES if rule.item == "1")
    assert spec_words("7.1.1.1", "1") == words
    assert f"title='{words}'" in shown.replace("&#x27;", "'")
    assert visible_text(shown) == f"← {reasons[0]}← {reasons[1]}"
    assert str(reasons[0]) == "7.1.1.1 item 1 (RFC 3841 caller preferences)"
    assert spec_words("RFC 3261", "20.14") is None and spec_words("7.1.1.1", "no such item") is None


def test_reasons_flag_hand_edits_and_missing_reasons() -> None:
    assert "#b26a00" in reasons_html([Provenance(EDIT_CLAUSE, "", "added by hand")])
    assert visible_text(reasons_html([])) == "(no reason recorded)"


def test_table_escapes_its_head_and_takes_html_cells() -> None:
    shown = table(["<th>"], [["<b>x</b>"]], row_styles=["background:red"])
    assert "&lt;th&gt;" in shown and "<b>x</b>" in shown and "style='background:red'" in shown
