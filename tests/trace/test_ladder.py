"""Text and Mermaid ladders (imkit/trace/ladder.py)."""

from __future__ import annotations

from imkit.trace import Direction, Protocol, Trace, Transport
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


def _session() -> Trace:
    trace = Trace(names={ALICE_SIP: "alice", ALICE_MSRP: "alice", SERVER_SIP: "server", BOB_MSRP: "bob"})
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_request("INVITE"), label="1-1")
    trace.record(1.25, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_response(200, "OK"))
    trace.record(2.0, Direction.SENT, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_SEND)
    trace.record(2.5, Direction.RECEIVED, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_OK)
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 b"#junk; <x>\r\n")
    return trace


def test_text_ladder() -> None:
    trace = _session()
    trace.mark_failed(1, "7.1.1.2 item 1: no Contact")
    assert trace.ladder_text() == (
        "seq  time         alice             server               bob\n"
        "  0 1.000           |-- INVITE [1-1] ->|                  |\n"
        "  1 1.250           |<---- 200 OK -----|                  |   FAILED: 7.1.1.2 item 1: no Contact\n"
        "  2 2.000           |=============== SEND ===============>|\n"
        "  3 2.500           |<============= 200 OK ===============|\n"
        "  4 3.000           |< malformed SIP --|                  |\n"
        "(--- SIP  === MSRP)\n"
    )


def test_text_ladder_lanes_default_to_addresses_and_names_can_be_given() -> None:
    trace = _session()
    trace.names.clear()
    lines = trace.ladder_text().splitlines()
    assert lines[0].split() == ["seq", "time", "127.0.0.1:5070", "127.0.0.1:5060",
                                "127.0.0.1:40001", "127.0.0.1:40002"]
    renamed = trace.ladder_text(names={SERVER_SIP: "proxy"}, failed={4})
    assert "proxy" in renamed.splitlines()[0]
    assert renamed.splitlines()[5].endswith("FAILED: failed")
    assert Trace().ladder_text() == "(empty trace)\n"


def test_text_ladder_draws_a_message_to_the_same_lane() -> None:
    trace = Trace(names={ALICE_SIP: "alice", SERVER_SIP: "alice"})
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_request("OPTIONS"))
    assert trace.ladder_text().splitlines()[1].endswith("|--' OPTIONS")


def test_mermaid() -> None:
    trace = _session()
    trace.mark_failed(1, "7.1.1.2; no Contact")
    assert trace.to_mermaid() == (
        "sequenceDiagram\n"
        "    participant L0 as alice\n"
        "    participant L1 as server\n"
        "    participant L2 as bob\n"
        "    L0->>L1: INVITE [1-1]\n"
        "    L1--xL0: 200 OK\n"
        "    Note over L0: FAILED: 7.1.1.2#59; no Contact\n"
        "    L0-)L2: SEND\n"
        "    L2--)L0: 200 OK\n"
        "    L1->>L0: malformed SIP\n"
    )


def test_mermaid_escapes_what_mermaid_reads_as_syntax() -> None:
    trace = Trace(names={ALICE_SIP: 'a;b#c<d>"e"', SERVER_SIP: "s"})
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_request("INVITE"), label="x;y")
    text = trace.to_mermaid()
    assert "participant L0 as a#59;b#35;c#60;d#62;#34;e#34;\n" in text
    assert "L0->>L1: INVITE [x#59;y]\n" in text
