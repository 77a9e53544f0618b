"""imkit.widgets.inspector: one record, every byte explained."""

from __future__ import annotations

import pytest

from imkit import conformance
from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.widgets.inspector import InspectorModel
from imkit.widgets.live import LiveTrace
from tests.widgets.support import (
    ALICE,
    SERVER,
    marked,
    refer_trace,
    response_to,
    row_with,
    table_rows,
    visible_text,
)


def inspector(**kwargs: object) -> InspectorModel:
    trace, _ = refer_trace(refer_sub=False)
    live = LiveTrace(trace, check=lambda t: conformance.check(t, ["7.1.1.7"]))
    return InspectorModel(live, **kwargs)  # type: ignore[arg-type]


def test_headers_show_offsets_reasons_and_the_rules_decided_on_them() -> None:
    model = inspector()
    record = model.record
    assert record is not None and record.seq == 0
    shown = model.headers_html()
    refer_to = row_with(shown, "Refer-To: <cid:")
    assert refer_to[0] == str(record.raw.index(b"\r\nRefer-To:") + 2)
    assert refer_to[2].startswith("← 7.1.1.7 item 4a") and refer_to[3] == "7.1.1.7/4a pass"
    # the rule that failed on a header the message lacks gets a row of its own
    assert row_with(shown, "(no Refer-Sub header)")[3] == "7.1.1.7/4c fail"
    assert "failed" in visible_text(model.meta_html())


def test_rules_tab_lists_every_verdict_on_the_record() -> None:
    model = inspector()
    rows = table_rows(model.rules_html())
    verdicts = {row[0]: row[2] for row in rows}
    expected = {r.rule_id: r.verdict.value for r in model.live.report if r.seq == 0}
    assert verdicts == expected and verdicts["7.1.1.7/4c"] == "fail"
    assert any("SHALL set the Refer-Sub header" in row[5] for row in rows)


def test_meta_says_who_when_and_how() -> None:
    model = inspector(seq=1)
    text = visible_text(model.meta_html())
    assert text.startswith("#1 202 Accepted — received at 1.100000, SIP over UDP: server (127.0.0.1:5060) → alice (127.0.0.1:5070)")
    assert f"{len(model.record.raw)} bytes" in text


def test_bytes_and_hex_are_the_record_exactly() -> None:
    model = inspector()
    raw = model.record.raw
    lines = visible_text(model.bytes_html()).split("\n")
    assert lines[0].endswith("│ " + raw.split(b"\r\n")[0].decode() + "␍␊")
    assert len(visible_text(model.hex_html()).split("\n")) == (len(raw) + 15) // 16


def test_msrp_records_show_their_headers() -> None:
    model = inspector(seq=2)
    assert row_with(model.headers_html(), "Message-ID: 87652491")[0] == ""
    assert "no rule was decided" in visible_text(model.rules_html())


def test_bytes_that_do_not_parse_show_the_error_at_its_offset() -> None:
    trace, _ = refer_trace()
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 b"SIP/2.0 200 OK\r\nCSeq: x INVITE\r\n\r\n")
    model = InspectorModel(LiveTrace(trace), seq=3)
    error = model.record.parse_error
    assert error is not None
    text = visible_text(model.headers_html())
    assert error.what in text and f"at byte {error.offset}" in text
    assert marked(model.headers_html()) == [model.record.raw[error.offset:error.offset + 1].decode()]
    assert "no conformance report" in visible_text(model.rules_html())


def test_choosing_stepping_and_following() -> None:
    model = inspector()
    told: list[int | None] = []
    model.changed.subscribe(lambda: told.append(model.seq))
    assert [seq for _, seq in model.options] == [0, 1, 2] and model.options[0][0].endswith("✗")
    model.step(1)
    model.step(5)
    model.step(-9)
    assert told == [1, 2, 0]
    with pytest.raises(KeyError):
        model.select(7)
    model.live.trace.record(9.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                            response_to(model.live.trace[0].raw, 200, "OK"))
    assert model.seq == 0  # not following: the choice stays
    model.follow = True
    model.live.refresh()
    assert model.seq == 3


def test_a_dropped_record_gives_way_to_the_oldest_kept() -> None:
    trace = Trace(max_records=2)
    source, _ = refer_trace()
    for record in source:
        trace.record(record.now, record.direction, record.protocol, record.transport, record.local,
                     record.remote, record.raw)
        if record.seq == 0:
            model = InspectorModel(LiveTrace(trace))
    assert model.seq == 1 and model.record is trace.by_seq(1)


def test_an_empty_trace_selects_nothing() -> None:
    model = InspectorModel(LiveTrace(Trace()))
    assert model.record is None and model.options == [] and model.headers_html() == ""
    assert visible_text(model.meta_html()) == "no record selected"
