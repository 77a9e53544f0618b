"""One log line per message, and what goes on to the trace."""

from __future__ import annotations

import logging

import pytest

from imkit.server.wirelog import WireLog, summary
from imkit.trace import Direction, Protocol, Trace, Transport
from tests.server.sip_ua import raw_request


def test_summary() -> None:
    data = raw_request("INVITE", "sip:bob@example.com", branch="z9hG4bKx")
    assert summary(data) == "INVITE sip:bob@example.com SIP/2.0 (1 INVITE, call raw-z9hG4bKx@127.0.0.1)"
    assert summary(b"MSRP a1 SEND\r\nTo-Path: x\r\n") == "MSRP a1 SEND"
    assert summary(b"\xff\xfe") == "\ufffd\ufffd"
    assert summary(b"") == "b''"


def test_record_logs_and_traces(caplog: pytest.LogCaptureFixture) -> None:
    trace = Trace()
    log = WireLog(logging.getLogger("imkit.test"), trace, prefix="[x] ", protocols=(Protocol.MSRP,), lane="x")
    sip = raw_request("OPTIONS", "sip:bob@example.com")
    with caplog.at_level(logging.INFO, "imkit.test"):
        log.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ("127.0.0.1", 1), ("127.0.0.1", 2), sip)
        log.msrp_hook()(Direction.RECEIVED, ("127.0.0.1", 3), ("127.0.0.1", 4), b"MSRP a SEND\r\n", None, 2.0)
    assert caplog.messages == [
        "[x] sent UDP 127.0.0.1:1 -> 127.0.0.1:2 OPTIONS sip:bob@example.com SIP/2.0 (1 OPTIONS, call raw-z9hG4bKraw1@127.0.0.1)",
        "[x] recv TCP 127.0.0.1:3 <- 127.0.0.1:4 MSRP a SEND",
    ]
    # only MSRP reached the trace, and its local address got the lane name
    assert [(r.protocol, r.now) for r in trace] == [(Protocol.MSRP, 2.0)]
    assert trace.names[("127.0.0.1", 3)] == "x"
