"""The sans-IO MSRP session: two peers over an in-memory link, a fake clock."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.msrp import (
    ByteRange,
    FailureReport,
    Flag,
    MessageAborted,
    MessageReceived,
    MessageSent,
    MSRPRequest,
    MSRPResponse,
    MSRPSession,
    Outgoing,
    ReportReceived,
    RequestRejected,
    Role,
    SendFailed,
    SessionBound,
    SessionConfig,
    SessionState,
    Status,
    parse,
)
from tests.msrp import examples as ex

A = "msrp://127.0.0.1:7777/alice1;tcp"
B = "msrp://127.0.0.1:8888/bob1;tcp"


def pair(**config: object) -> tuple[MSRPSession, MSRPSession]:
    cfg = SessionConfig(**config)  # type: ignore[arg-type]
    alice = MSRPSession([A], [B], Role.ACTIVE, config=cfg, rng=random.Random(1))
    bob = MSRPSession([B], [A], Role.PASSIVE, config=cfg, rng=random.Random(2))
    return alice, bob


def pump(a: MSRPSession, b: MSRPSession, now: float = 0.0) -> list[tuple[str, MSRPRequest | MSRPResponse]]:
    """Carry bytes both ways until both are quiet; returns what crossed."""
    wire = []
    while True:
        from_a, from_b = a.data_to_send(now), b.data_to_send(now)
        if not from_a and not from_b:
            return wire
        for item in from_a:
            wire.append(("a", item.message))
            b.receive_data(item.raw, now)
        for item in from_b:
            wire.append(("b", item.message))
            a.receive_data(item.raw, now)


def connected(**config: object) -> tuple[MSRPSession, MSRPSession]:
    a, b = pair(**config)
    a.connection_made(0.0)
    b.connection_made(0.0)
    return a, b


def test_active_side_binds_with_an_empty_send() -> None:
    a, b = connected()
    (bind,) = a.data_to_send(0.0)
    message = bind.message
    assert isinstance(message, MSRPRequest)
    assert bind.raw == (
        f"MSRP {message.transaction_id} SEND\r\nTo-Path: {B}\r\nFrom-Path: {A}\r\n"
        f"Message-ID: {message.message_id}\r\nByte-Range: 1-0/0\r\n"
        f"-------{message.transaction_id}$\r\n"
    ).encode()
    assert a.state is SessionState.BOUND
    b.receive_data(bind.raw, 0.0)
    assert b.events() == [SessionBound()] and b.state is SessionState.BOUND
    (ok,) = b.data_to_send(0.0)
    assert bytes(ok.message) == (
        f"MSRP {message.transaction_id} 200 OK\r\nTo-Path: {A}\r\nFrom-Path: {B}\r\n"
        f"-------{message.transaction_id}$\r\n"
    ).encode()
    a.receive_data(ok.raw, 0.0)
    assert a.events() == [SessionBound()]   # the empty SEND is no user message


def test_a_queued_message_is_the_binding_send() -> None:
    a, b = pair()
    message_id = a.send_message(b"hello")
    a.connection_made(0.0)
    b.connection_made(0.0)
    (first,) = a.data_to_send(0.0)
    assert first.message.message_id == message_id and first.message.body == b"hello"
    b.receive_data(first.raw, 0.0)
    pump(a, b)
    assert b.events() == [SessionBound(), MessageReceived(message_id, "text/plain", b"hello")]
    assert a.events() == [SessionBound(), MessageSent(message_id)]


def test_passive_side_sends_nothing_until_bound() -> None:
    a, b = pair()
    b.connection_made(0.0)
    early = b.send_message(b"too early?")
    assert b.data_to_send(0.0) == []
    a.connection_made(0.0)
    pump(a, b)
    assert MessageReceived(early, "text/plain", b"too early?") in a.events()


def bob_session(**kw: object) -> MSRPSession:
    bob = MSRPSession([ex.BOB], [ex.ALICE], Role.PASSIVE, rng=random.Random(3), **kw)  # type: ignore[arg-type]
    bob.connection_made(0.0)
    return bob


def test_rfc_4975_section_11_1_as_bob() -> None:
    bob = bob_session()
    bob.receive_data(ex.SECTION_11_1_SEND, 0.0)
    (ok,) = bob.data_to_send(0.0)
    assert ok.raw == ex.SECTION_11_1_OK
    assert bob.events() == [SessionBound(), MessageReceived("12339sdqwer", "text/plain", b"Hi, I'm Alice!")]


def test_rfc_4975_section_11_5_success_report() -> None:
    bob = bob_session()
    bob.receive_data(ex.SECTION_11_5_SEND, 0.0)
    (report,) = bob.data_to_send(0.0)          # Failure-Report: no, so no 200
    length = len(ex.SECTION_11_5_BODY.replace("\n", "\r\n"))
    tid = report.message.transaction_id
    expected = ex.SECTION_11_5_REPORT.replace(b"dkei38sd", tid.encode()).replace(
        b"1-106/106", f"1-{length}/{length}".encode())
    assert report.raw == expected


def test_to_path_mismatch_gets_481() -> None:
    bob = bob_session()
    bob.receive_data(ex.SECTION_4_SEND, 0.0)            # addressed to biloxi, not to Bob
    (response,) = bob.data_to_send(0.0)
    assert response.raw == (
        b"MSRP a786hjs2 481 No Such Session\r\n"
        b"To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
        + f"From-Path: {ex.BOB}\r\n".encode()      # the responder's own URI (section 7.2)
        + b"-------a786hjs2$\r\n"
    )
    assert bob.events() == [RequestRejected("a786hjs2", "SEND", 481, "No Such Session")]
    assert bob.state is SessionState.CONNECTED
    # more than one URI in the To-Path is no match either; REPORTs are never answered
    two = ex.SECTION_11_1_SEND.replace(f"To-Path: {ex.BOB}".encode(), f"To-Path: {ex.BOB} {ex.BOB}".encode())
    bob.receive_data(two, 0.0)
    assert bob.data_to_send(0.0)[0].message.code == 481
    bob.receive_data(ex.SECTION_11_5_REPORT.replace(ex.ALICE.encode(), ex.BOB.encode(), 1)
                     .replace(b"To-Path: " + ex.BOB.encode(), b"To-Path: msrp://x:1/y;tcp"), 0.0)
    assert bob.data_to_send(0.0) == []


def test_481_respects_failure_report_no() -> None:
    bob = bob_session()
    bob.receive_data(ex.SECTION_4_SEND.replace(b"Message-ID", b"Failure-Report: no\r\nMessage-ID"), 0.0)
    assert bob.data_to_send(0.0) == []
    assert [type(e) for e in bob.events()] == [RequestRejected]


@pytest.mark.parametrize(("data", "code", "kw"), [
    (ex.SECTION_11_5_SEND.replace(b"Failure-Report: no", b"Failure-Report: yes"), 415,
     {"accept_types": ("text/plain", "message/*")}),
    (ex.SECTION_11_1_SEND, 413, {"config": SessionConfig(max_message_size=10)}),
    (ex.SECTION_11_1_SEND.replace(b"d93kswow SEND", b"d93kswow AUTH"), 501, {}),
    (ex.SECTION_11_1_SEND.replace(b"d93kswow SEND", b"d93kswow NICKNAME"), 501, {}),
    (ex.SECTION_11_1_SEND.replace(b"Message-ID: 12339sdqwer\r\n", b""), 400, {}),
])
def test_error_responses(data: bytes, code: int, kw: dict) -> None:
    bob = bob_session(**kw)
    bob.receive_data(data, 0.0)
    (response,) = bob.data_to_send(0.0)
    assert isinstance(response.message, MSRPResponse) and response.message.code == code
    assert not any(isinstance(e, MessageReceived) for e in bob.events())


def test_failure_report_partial_sends_errors_only() -> None:
    bob = bob_session(accept_types=("text/plain",))
    ok = ex.SECTION_11_1_SEND.replace(b"Message-ID", b"Failure-Report: partial\r\nMessage-ID")
    bob.receive_data(ok, 0.0)
    assert bob.data_to_send(0.0) == []
    bob.receive_data(ok.replace(b"text/plain", b"text/html").replace(b"12339sdqwer", b"other1"), 0.0)
    (error,) = bob.data_to_send(0.0)
    assert error.message.code == 415


def test_chunked_message_with_success_report() -> None:
    a, b = connected(chunk_size=1000)
    body = random.Random(5).randbytes(10_500)
    message_id = a.send_message(body, "application/octet-stream", success_report=True)
    wire = pump(a, b)
    sends = [m for side, m in wire if side == "a" and isinstance(m, MSRPRequest)]
    assert [s.byte_range for s in sends] == [
        ByteRange(1 + i * 1000, min(10_500, (i + 1) * 1000), 10_500) for i in range(11)]
    assert [s.flag for s in sends] == [Flag.MORE] * 10 + [Flag.END]
    assert all(s.success_report and s.message_id == message_id for s in sends)
    assert b.events() == [SessionBound(), MessageReceived(message_id, "application/octet-stream", body)]
    assert a.events() == [SessionBound(), MessageSent(message_id),
                          ReportReceived(message_id, Status(200, "OK"), ByteRange(1, 10_500, 10_500))]


def test_messages_are_interleaved() -> None:
    a, b = connected(chunk_size=10)
    first = a.send_message(b"x" * 30)
    second = a.send_message(b"y" * 30)
    order = [m.message_id for side, m in pump(a, b) if side == "a"]
    assert order == [first, second] * 3
    received = [e for e in b.events() if isinstance(e, MessageReceived)]
    assert [e.body for e in received] == [b"x" * 30, b"y" * 30]


def test_window_bounds_unanswered_chunks() -> None:
    a, b = connected(chunk_size=10, max_pending_transactions=3)
    a.send_message(b"z" * 100)
    first = a.data_to_send(0.0)
    assert len(first) == 3
    assert a.data_to_send(0.0) == []
    for item in first:
        b.receive_data(item.raw, 0.0)
    pump(a, b)
    assert any(isinstance(e, MessageSent) for e in a.events())


def test_transaction_timeout_is_a_408() -> None:
    a, _ = connected(transaction_timeout=30.0)
    message_id = a.send_message(b"anyone?")
    a.data_to_send(5.0)
    assert a.next_deadline() == 35.0
    a.handle_timer(34.9)
    assert a.events() == []
    a.handle_timer(35.0)
    assert a.events() == [SendFailed(message_id, 408, "Request Timeout")]
    assert a.next_deadline() is None


def test_error_response_fails_the_message_and_stops_its_chunks() -> None:
    a, b = pair(chunk_size=10, max_pending_transactions=1)
    b = MSRPSession([B], [A], Role.PASSIVE, config=SessionConfig(max_message_size=25))
    a.connection_made(0.0)
    b.connection_made(0.0)
    message_id = a.send_message(b"q" * 40, success_report=True)
    wire = pump(a, b)
    assert [e for e in a.events() if isinstance(e, SendFailed)] == [
        SendFailed(message_id, 413, "Message Too Large")]
    # the first chunk announced 40 bytes: 413 at once, and no further chunk went
    assert [side for side, _ in wire] == ["a", "b"]
    assert [type(e) for e in b.events()] == [SessionBound, RequestRejected]


def test_incomplete_message_times_out_with_a_failure_report() -> None:
    a, b = connected(chunk_size=10, reassembly_timeout=60.0)
    message_id = a.send_message(b"w" * 25)
    first = a.data_to_send(1.0)[0]                   # only the first chunk gets through
    b.receive_data(first.raw, 1.0)
    b.data_to_send(1.0)
    b.events()
    assert b.next_deadline() == 61.0
    b.handle_timer(61.0)
    assert b.events() == [MessageAborted(message_id, "chunks stopped coming")]
    (report,) = b.data_to_send(61.0)
    assert report.message.method == "REPORT" and report.message.status == Status(408, "Request Timeout")
    a.receive_data(report.raw, 61.0)
    events = a.events()
    assert ReportReceived(message_id, Status(408, "Request Timeout"), ByteRange(1, None, None)) in events
    assert SendFailed(message_id, 408, "Request Timeout") in events


def test_abort() -> None:
    a2, b2 = connected(chunk_size=10)
    message_id = a2.send_message(b"a" * 50)
    b2.receive_data(a2.data_to_send(0.0, max_bytes=1)[0].raw, 0.0)
    a2.abort_message(message_id)
    (aborting,) = a2.data_to_send(0.0, max_bytes=1)
    assert aborting.message.flag is Flag.ABORT
    assert a2.events() == [SendFailed(message_id, None, "aborted")]
    b2.receive_data(aborting.raw, 0.0)
    assert b2.events()[-1] == MessageAborted(message_id, "aborted by the sender")
    # a message not started yet is just dropped
    later = a2.send_message(b"never")
    a2.abort_message(later)
    assert a2.events() == [SendFailed(later, None, "aborted before sending")]


def test_failure_report_no_means_sent_once_written() -> None:
    a, b = connected()
    message_id = a.send_message(b"fire and forget", failure_report=FailureReport.NO)
    wire = pump(a, b)
    assert [side for side, _ in wire] == ["a"]
    assert a.events() == [MessageSent(message_id)]


def test_connection_lost_fails_what_is_in_flight() -> None:
    a, b = connected(chunk_size=10)
    out = a.send_message(b"b" * 30)
    chunk = a.data_to_send(0.0, max_bytes=1)[0]
    b.receive_data(chunk.raw, 0.0)
    b.events()
    a.connection_lost(1.0)
    b.connection_lost(1.0)
    assert a.events() == [SendFailed(out, None, "connection closed")]
    assert b.events() == [MessageAborted(out, "connection closed")]
    with pytest.raises(LocalProtocolError):
        a.send_message(b"late")
    a.receive_data(b"MSRP", 2.0)      # ignored once closed
    assert a.events() == []


def test_send_message_checks() -> None:
    a = MSRPSession([A], [B], Role.ACTIVE, remote_accept_types=("text/*",), remote_max_size=5,
                    config=SessionConfig(max_outgoing_messages=1))
    with pytest.raises(LocalProtocolError):
        a.send_message(b"x", "image/png")
    with pytest.raises(LocalProtocolError):
        a.send_message(b"too long")
    with pytest.raises(LocalProtocolError):
        a.send_message(b"x", "not a type")
    with pytest.raises(LocalProtocolError):
        a.send_message(b"x", message_id="not an ident")
    with pytest.raises(LocalProtocolError):
        a.send_message(b"x", headers=[("Byte-Range", "1-1/1")])
    a.send_message(b"x", "text/html", message_id="m1")
    with pytest.raises(LocalProtocolError):
        a.send_message(b"y")                             # the queue holds one
    with pytest.raises(LocalProtocolError):
        MSRPSession([], [B], Role.ACTIVE)
    with pytest.raises(LocalProtocolError):
        MSRPSession(["bogus"], [B], Role.ACTIVE)
    with pytest.raises(LocalProtocolError):
        SessionConfig(chunk_size=0)
    with pytest.raises(LocalProtocolError):
        a.connection_made(0.0) or a.connection_made(0.0)


def test_relays_in_the_paths() -> None:
    relay_a = "msrps://relay-a.example.com:2855/ra;tcp"
    relay_b = "msrps://relay-b.example.com:2855/rb;tcp"
    alice_uri = "msrps://alice.example.com:9892/98cjs;tcp"
    bob_uri = "msrps://bob.example.com:9000/b0b;tcp"
    alice = MSRPSession([relay_a, alice_uri], [relay_b, bob_uri], Role.ACTIVE)
    alice.send_message(b"hi")
    alice.connection_made(0.0)
    (send,) = alice.data_to_send(0.0)
    # RFC 4976: through this endpoint's relays, then the peer's path
    assert send.message.headers.get("To-Path") == f"{relay_a} {relay_b} {bob_uri}"
    assert send.message.headers.get("From-Path") == alice_uri


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 700), st.data())
def test_session_reassembles_any_order_and_duplicates(body: bytes, chunk_size: int, data: st.DataObject) -> None:
    a, b = connected(chunk_size=chunk_size, max_pending_transactions=10_000)
    message_id = a.send_message(body, "application/octet-stream", success_report=True)
    chunks = [item.raw for item in a.data_to_send(0.0, max_bytes=1 << 30)]
    chunks += data.draw(st.lists(st.sampled_from(chunks), max_size=5))
    for raw in data.draw(st.permutations(chunks)):
        b.receive_data(raw, 0.0)
    received = [e for e in b.events() if isinstance(e, MessageReceived)]
    assert received == [MessageReceived(message_id, "application/octet-stream", body)]
    out = b.data_to_send(0.0)
    assert sum(isinstance(o.message, MSRPResponse) and o.message.code == 200 for o in out) == len(chunks)
    reports = [o.message for o in out if isinstance(o.message, MSRPRequest)]
    assert [r.byte_range for r in reports] == [ByteRange(1, len(body), len(body))]


def test_outgoing_bytes_parse_back() -> None:
    a, b = connected(chunk_size=7)
    a.send_message(b"some text \r\n------- with hyphens", success_report=True)
    wire = pump(a, b)
    for _, message in wire:
        assert parse(bytes(message)) == message
    assert isinstance(Outgoing(b"", wire[0][1]).message, MSRPRequest)
