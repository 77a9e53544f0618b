"""The trace fixture shared by the trace tests."""

from __future__ import annotations

import pytest

from imkit.trace import Direction, Protocol, Trace, Transport
from tests.trace.trace_messages import (
    ALICE_MSRP,
    ALICE_SIP,
    ALICE_TCP,
    ALICE_V6,
    BOB_MSRP,
    MSRP_OK,
    MSRP_SEND,
    SDP,
    SERVER_SIP,
    SERVER_TCP,
    SERVER_V6,
    sip_request,
    sip_response,
)


@pytest.fixture
def exchange() -> Trace:
    """SIP over UDP, SIP over TCP (one message split over two records, two
    responses in one record), MSRP over TCP and SIP over TLS on IPv6."""
    trace = Trace()
    invite = sip_request("INVITE", SDP)
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP, invite)
    trace.record(1.25, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_response(200, "OK"))
    invite_tcp = sip_request("INVITE", SDP, "TCP", 2)
    trace.record(2.0, Direction.SENT, Protocol.SIP, Transport.TCP, ALICE_TCP, SERVER_TCP, invite_tcp[:100])
    trace.record(2.001, Direction.SENT, Protocol.SIP, Transport.TCP, ALICE_TCP, SERVER_TCP, invite_tcp[100:])
    trace.record(2.1, Direction.RECEIVED, Protocol.SIP, Transport.TCP, ALICE_TCP, SERVER_TCP,
                 sip_response(100, "Trying", transport="TCP", cseq=2)
                 + sip_response(200, "OK", transport="TCP", cseq=2))
    trace.record(3.0, Direction.SENT, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_SEND)
    trace.record(3.5, Direction.RECEIVED, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_OK)
    trace.record(4.0, Direction.SENT, Protocol.SIP, Transport.TLS, ALICE_V6, SERVER_V6,
                 sip_request("OPTIONS", transport="TLS", cseq=3))
    trace.record(4.5, Direction.RECEIVED, Protocol.SIP, Transport.TLS, ALICE_V6, SERVER_V6,
                 sip_response(200, "OK", "OPTIONS", "TLS", 3))
    return trace
