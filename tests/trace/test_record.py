"""TraceRecord (imkit/trace/record.py) and Provenance (imkit/trace/provenance.py)."""

from __future__ import annotations

import dataclasses

import pytest

from imkit import msrp, sip
from imkit.trace import Direction, Protocol, Provenance, Trace, TraceRecord, Transport, format_address
from tests.trace.trace_messages import (
    ALICE_MSRP,
    ALICE_SIP,
    BOB_MSRP,
    MSRP_OK,
    MSRP_SEND,
    SERVER_SIP,
    sip_request,
    sip_response,
)


def _record(raw: bytes, direction: Direction = Direction.SENT, protocol: Protocol = Protocol.SIP,
            transport: Transport = Transport.UDP, **kwargs) -> TraceRecord:
    local, remote = (ALICE_MSRP, BOB_MSRP) if protocol is Protocol.MSRP else (ALICE_SIP, SERVER_SIP)
    return TraceRecord(0, 1.5, direction, protocol, transport, local, remote, raw, **kwargs)


def test_sip_request_is_parsed_on_demand() -> None:
    raw = sip_request("INVITE")
    record = _record(raw)
    assert isinstance(record.message, sip.Request)
    assert record.message.method == "INVITE"
    assert bytes(record.message) == raw
    assert record.parse_error is None
    assert record.title == "INVITE" and not record.is_response
    assert record.first_line == "INVITE sip:bob@example.com SIP/2.0"
    assert record.head.splitlines()[-1] == "Content-Length: 0"
    assert record.message is record.message  # parsed once


def test_sip_response_title_and_direction() -> None:
    record = _record(sip_response(486, "Busy Here"), Direction.RECEIVED)
    assert isinstance(record.message, sip.Response)
    assert record.title == "486 Busy Here" and record.is_response
    assert record.source == SERVER_SIP and record.destination == ALICE_SIP
    sent = _record(sip_request("BYE"), label="leave")
    assert sent.source == ALICE_SIP and sent.destination == SERVER_SIP
    assert sent.summary == "BYE [leave]"


def test_a_datagram_is_read_as_rfc3261_18_3_says() -> None:
    raw = sip_request("MESSAGE", b"hi") + b"surplus"
    over_udp = _record(raw)
    assert over_udp.message is not None and over_udp.message.body == b"hi"
    assert over_udp.raw == raw  # the record keeps every byte
    over_tcp = _record(raw, transport=Transport.TCP)
    assert over_tcp.message is None and isinstance(over_tcp.parse_error, sip.ParseError)


def test_msrp_records_parse_with_the_msrp_parser() -> None:
    send = _record(MSRP_SEND, protocol=Protocol.MSRP, transport=Transport.TCP)
    assert send.message is not None and send.parse_error is None
    assert send.title == "SEND" and not send.is_response
    ok = _record(MSRP_OK, Direction.RECEIVED, Protocol.MSRP, Transport.TCP)
    assert ok.message is not None
    assert ok.title == "200 OK" and ok.is_response


@pytest.mark.parametrize(
    ("raw", "protocol", "error"),
    [
        (b"INVITE sip:bob@example.com SIP/2.0\r\nVia: broken\r\n\r\n", Protocol.SIP, sip.ParseError),
        (b"\xff\xfe not a message", Protocol.SIP, sip.ParseError),
        (b"", Protocol.SIP, sip.ParseError),
        (MSRP_SEND[:-5], Protocol.MSRP, msrp.ParseError),
        (b"MSRP x SEND\r\n", Protocol.MSRP, msrp.ParseError),
    ],
)
def test_malformed_messages_are_kept(raw: bytes, protocol: Protocol, error: type) -> None:
    trace = Trace()
    transport = Transport.TCP if protocol is Protocol.MSRP else Transport.UDP
    local, remote = (ALICE_MSRP, BOB_MSRP) if protocol is Protocol.MSRP else (ALICE_SIP, SERVER_SIP)
    record = trace.record(0.0, Direction.RECEIVED, protocol, transport, local, remote, raw)
    assert trace.records == (record,)
    assert record.raw == raw
    assert record.message is None
    assert isinstance(record.parse_error, error)
    assert record.title == f"malformed {protocol.value}"


def test_provenance_is_keyed_by_lower_case_name_and_frozen() -> None:
    reason = Provenance("7.1.1.1", "1", "OMA IM feature tag")
    record = _record(sip_request("INVITE"), provenance={"Accept-Contact": [reason]})
    assert dict(record.provenance) == {"accept-contact": (reason,)}
    assert str(reason) == "7.1.1.1 item 1 (OMA IM feature tag)"
    assert str(Provenance("7.1.1.2", "3")) == "7.1.1.2 item 3"
    with pytest.raises(TypeError):
        record.provenance["via"] = (reason,)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.raw = b""  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"now": float("nan")},
        {"now": float("inf")},
        {"now": "1"},
        {"direction": "sent"},
        {"transport": "UDP"},
        {"protocol": Protocol.MSRP, "transport": Transport.UDP},
        {"local": ("127.0.0.1", 70000)},
        {"local": ["127.0.0.1", 5060]},
        {"remote": ("", 5060)},
        {"raw": "text"},
        {"label": 3},
        {"provenance": {"via": ["7.1.1.1"]}},
    ],
)
def test_bad_records_are_refused(changes: dict) -> None:
    fields = {"seq": 0, "now": 0.0, "direction": Direction.SENT, "protocol": Protocol.SIP,
              "transport": Transport.UDP, "local": ALICE_SIP, "remote": SERVER_SIP, "raw": b"x"}
    with pytest.raises(ValueError):
        TraceRecord(**{**fields, **changes})


def test_format_address() -> None:
    assert format_address(("127.0.0.1", 5060)) == "127.0.0.1:5060"
    assert format_address(("::1", 5061)) == "[::1]:5061"
