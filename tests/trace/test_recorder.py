"""The Trace recorder (imkit/trace/recorder.py): recording, listeners, bounds."""

from __future__ import annotations

import logging

import pytest

from imkit.trace import Direction, Note, Protocol, Provenance, Trace, TraceRecord, Transport
from tests.trace.trace_messages import ALICE_SIP, SERVER_SIP, sip_request, sip_response


def _send(trace: Trace, now: float, raw: bytes, **kwargs) -> TraceRecord:
    return trace.record(now, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                        raw, **kwargs)


def test_records_are_numbered_and_kept_in_order() -> None:
    trace = Trace()
    invite = _send(trace, 10.0, sip_request("INVITE"),
                   provenance={"accept-contact": [Provenance("7.1.1.1", "1")]}, label="start")
    ok = trace.record(10.5, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                      sip_response(200, "OK"))
    assert [r.seq for r in trace] == [0, 1]
    assert trace.records == (invite, ok) and trace[1] is ok and trace[-1] is ok
    assert trace[0:1] == (invite,)
    assert trace.by_seq(1) is ok
    assert len(trace) == 2 and trace.dropped == 0
    assert invite.now == 10.0 and invite.label == "start"
    assert invite.provenance["accept-contact"] == (Provenance("7.1.1.1", "1"),)
    assert repr(trace) == "<Trace 2 records, 0 dropped>"


def test_listeners_see_each_new_record_until_they_unsubscribe() -> None:
    trace = Trace()
    seen: list[TraceRecord] = []
    unsubscribe = trace.subscribe(seen.append)
    first = _send(trace, 1.0, sip_request("INVITE"))
    second = _send(trace, 2.0, sip_request("ACK"))
    assert seen == [first, second]
    unsubscribe()
    unsubscribe()  # twice is harmless
    _send(trace, 3.0, sip_request("BYE"))
    assert seen == [first, second]


def test_a_failing_listener_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    trace = Trace()
    seen: list[int] = []

    def broken(record: TraceRecord) -> None:
        raise RuntimeError("widget bug")

    trace.subscribe(broken)
    trace.subscribe(lambda record: seen.append(record.seq))
    with caplog.at_level(logging.ERROR, logger="imkit.trace"):
        record = _send(trace, 1.0, sip_request("INVITE"))
    assert seen == [0] and trace.records == (record,)
    assert "widget bug" in caplog.text


def test_the_bound_drops_the_oldest_and_counts_them() -> None:
    trace = Trace(max_records=3)
    for index in range(5):
        _send(trace, float(index), sip_request("MESSAGE", cseq=index + 1))
    assert [r.seq for r in trace] == [2, 3, 4]
    assert trace.dropped == 2 and len(trace) == 3
    assert trace.by_seq(4).raw == sip_request("MESSAGE", cseq=5)
    with pytest.raises(KeyError):
        trace.by_seq(1)
    with pytest.raises(KeyError):
        trace.by_seq(5)
    trace.mark_failed(2, "late")
    _send(trace, 5.0, sip_request("MESSAGE", cseq=6))
    assert trace.failed == {}  # the failed record was dropped with it
    with pytest.raises(ValueError):
        Trace(max_records=0)


def test_mark_failed_needs_a_known_record() -> None:
    trace = Trace()
    _send(trace, 1.0, sip_request("INVITE"))
    trace.mark_failed(0, "7.1.1.1 item 1")
    assert trace.failed == {0: "7.1.1.1 item 1"}
    with pytest.raises(KeyError):
        trace.mark_failed(7, "unknown")
    with pytest.raises(KeyError):
        Trace().by_seq(0)


def test_recording_copies_the_bytes_and_addresses() -> None:
    trace = Trace()
    raw = bytearray(sip_request("INVITE"))
    record = trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP,
                          ["127.0.0.1", 5070], ["127.0.0.1", 5060], raw)  # type: ignore[arg-type]
    raw[0:6] = b"CANCEL"
    assert record.raw.startswith(b"INVITE") and record.local == ("127.0.0.1", 5070)


def test_notes_are_kept_in_order_and_bounded() -> None:
    trace = Trace(max_records=2)
    for index in range(3):
        trace.note(Note(float(index), "session-identity", f"sip:conf{index}@example.com"))
    assert [n.text for n in trace.notes] == ["sip:conf1@example.com", "sip:conf2@example.com"]
    with pytest.raises(ValueError):
        trace.note(Note(float("nan"), "k", "v"))
