"""MSRP over real loopback sockets: TCP and TLS, binding, 481, a 1 MB message."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imkit.msrp import (
    MSRPURI,
    MessageReceived,
    MSRPRequest,
    MSRPResponse,
    MSRPSession,
    Role,
    SessionConfig,
    SessionState,
    parse,
)
from imkit.runtime.msrp_transport import (
    ChannelClosed,
    MSRPChannel,
    MSRPListener,
    MSRPSendError,
    trace_hook,
)
from imkit.trace import Direction, Trace

Log = list[tuple[Direction, tuple[str, int], tuple[str, int], bytes, object, float]]


def recorder(log: Log):
    def hook(direction, local, remote, raw, parsed, now):
        log.append((direction, local, remote, raw, parsed, now))
    return hook


async def open_pair(listener: MSRPListener, log: Log, *, ssl_client: ssl.SSLContext | None = None,
                    config: SessionConfig | None = None,
                    bob_uri: MSRPURI | None = None) -> tuple[MSRPChannel, MSRPChannel, MSRPURI]:
    """Bob listens (passive), Alice connects (active), as after an SDP answer
    with a=setup:passive."""
    bob_local = listener.uri()
    alice_local = MSRPURI(listener.scheme, "127.0.0.1", 9, "alice" + os.urandom(4).hex(), "tcp")
    bob = MSRPSession([bob_local], [alice_local], Role.PASSIVE, config=config)
    alice = MSRPSession([alice_local], [bob_uri or bob_local], Role.ACTIVE, config=config)
    bob_channel = listener.accept(bob, on_message=recorder(log))
    alice_channel = await MSRPChannel.connect(alice, ssl=ssl_client, on_message=recorder(log))
    return alice_channel, bob_channel, bob_local


@pytest.fixture
async def listener() -> AsyncIterator[MSRPListener]:
    log: Log = []
    server = await MSRPListener.start(on_message=recorder(log))
    server.log = log  # type: ignore[attr-defined]
    yield server
    await server.close()


async def test_bind_then_chat(listener: MSRPListener) -> None:
    log: Log = []
    alice, bob, _ = await open_pair(listener, log)
    await asyncio.wait_for(asyncio.gather(alice.wait_bound(), bob.wait_bound()), 5)
    # RFC 4975 section 5.4: the active side's first SEND binds, empty when
    # nothing is queued.
    direction, local, _, raw, first, _ = log[0]
    assert direction is Direction.SENT and isinstance(first, MSRPRequest)
    assert first.method == "SEND" and first.body is None and raw == bytes(first)
    assert b"Byte-Range: 1-0/0\r\n" in raw and local == alice.local_address
    message_id = await alice.send_and_wait(b"Hi, I'm Alice!")
    event = await asyncio.wait_for(bob.receive(), 5)
    assert event == MessageReceived(message_id, "text/plain", b"Hi, I'm Alice!")
    reply = await bob.send_and_wait(b"Hi, Alice! I'm Bob!", success_report=True)
    assert (await asyncio.wait_for(alice.receive(), 5)).body == b"Hi, Alice! I'm Bob!"
    assert reply
    await alice.close()
    await asyncio.wait_for(bob.wait_closed(), 5)
    with pytest.raises(ChannelClosed):
        await bob.receive()


async def test_one_megabyte_in_small_chunks_with_success_reports(listener: MSRPListener) -> None:
    log: Log = []
    config = SessionConfig(chunk_size=1024, max_pending_transactions=64)
    alice, bob, _ = await open_pair(listener, log, config=config)
    body = os.urandom(1 << 20)
    message_id = await alice.send(body, "application/octet-stream", success_report=True)
    received = await asyncio.wait_for(bob.receive(), 30)
    await asyncio.wait_for(alice.delivered(message_id), 30)
    assert isinstance(received, MessageReceived) and received.body == body
    sends = [p for d, _, _, _, p, _ in log if d is Direction.SENT and isinstance(p, MSRPRequest)
             and p.method == "SEND"]
    # the message was queued before the connection was up: its first chunk is the binding SEND
    assert len(sends) == 1024 and all(len(p.body) == 1024 and p.message_id == message_id for p in sends)
    # every message that crossed was seen by both hooks, byte for byte
    alice_sent = [raw for d, local, _, raw, _, _ in log if d is Direction.SENT and local == alice.local_address]
    bob_got = [raw for d, local, _, raw, _, _ in log if d is Direction.RECEIVED and local == bob.local_address]
    assert alice_sent == bob_got
    reports = [p for d, _, _, _, p, _ in log
               if d is Direction.SENT and isinstance(p, MSRPRequest) and p.method == "REPORT"]
    assert len(reports) == 1 and str(reports[0].byte_range) == f"1-{1 << 20}/{1 << 20}"
    oks = [p for _, _, _, _, p, _ in log if isinstance(p, MSRPResponse) and p.code == 200]
    assert len(oks) == 2 * 1024       # each chunk's 200, seen sent and received
    await alice.close()


async def test_inbox_is_bounded(listener: MSRPListener) -> None:
    bob_local = listener.uri()
    alice_local = MSRPURI("msrp", "127.0.0.1", 9, "alice3", "tcp")
    bob = listener.accept(MSRPSession([bob_local], [alice_local], Role.PASSIVE), max_inbox=2)
    alice = await MSRPChannel.connect(MSRPSession([alice_local], [bob_local], Role.ACTIVE))
    ids = [await alice.send(f"message {i}".encode()) for i in range(6)]
    await asyncio.wait_for(alice.delivered(ids[1]), 5)
    await asyncio.sleep(0.2)
    # Bob stopped reading: two messages wait, the rest are not even answered
    assert bob.waiting == 2
    late = asyncio.ensure_future(alice.delivered(ids[5]))
    await asyncio.sleep(0.1)
    assert not late.done()
    bodies = [(await asyncio.wait_for(bob.receive(), 5)).body for _ in ids]
    assert bodies == [f"message {i}".encode() for i in range(6)]
    await asyncio.wait_for(late, 5)
    await alice.close()


async def test_to_path_mismatch_gets_481(listener: MSRPListener) -> None:
    log: Log = []
    wrong = MSRPURI("msrp", "127.0.0.1", listener.port, "nosuchsession", "tcp")
    alice, bob, _ = await open_pair(listener, log, bob_uri=wrong)
    with pytest.raises(MSRPSendError) as info:
        await asyncio.wait_for(alice.send_and_wait(b"anyone?"), 5)
    assert info.value.code == 481
    # the listener answered; the response came from the URI that was addressed
    response = next(p for d, _, _, _, p, _ in listener.log if d is Direction.SENT)  # type: ignore[attr-defined]
    assert isinstance(response, MSRPResponse) and response.code == 481
    assert response.headers.get("From-Path") == str(wrong)
    assert bob.session.state is not SessionState.BOUND
    await alice.close()


async def test_trace_hook_records_into_a_trace(listener: MSRPListener) -> None:
    trace = Trace()
    bob_local = listener.uri()
    alice_local = MSRPURI("msrp", "127.0.0.1", 9, "alice2", "tcp")
    bob = listener.accept(MSRPSession([bob_local], [alice_local], Role.PASSIVE))
    alice = await MSRPChannel.connect(MSRPSession([alice_local], [bob_local], Role.ACTIVE),
                                      on_message=trace_hook(trace))
    await alice.send_and_wait(b"traced")
    await asyncio.wait_for(bob.receive(), 5)
    # Alice's side only: her SEND (queued before the connection was up, so
    # it is also the binding SEND) and Bob's 200
    assert [r.direction for r in trace] == [Direction.SENT, Direction.RECEIVED]
    assert all(r.protocol.value == "MSRP" for r in trace)
    assert parse(trace[0].raw).body == b"traced" and parse(trace[1].raw).code == 200
    await alice.close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imkit test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))   # verifies the certificate and the IP
    log: Log = []
    listener = await MSRPListener.start(ssl=server_context, on_message=recorder(log))
    try:
        assert listener.scheme == "msrps"
        alice, bob, bob_uri = await open_pair(listener, log, ssl_client=client_context,
                                              config=SessionConfig(chunk_size=4096))
        assert bob_uri.secure
        body = os.urandom(100_000)
        message_id = await alice.send(body, "application/octet-stream", success_report=True)
        event = await asyncio.wait_for(bob.receive(), 10)
        await asyncio.wait_for(alice.delivered(message_id), 10)
        assert event.body == body
        # the hooks see the decrypted MSRP
        assert any(raw.startswith(b"MSRP ") for _, _, _, raw, _, _ in log)
        await alice.close()
        # without the certificate the client refuses the connection
        with pytest.raises(ssl.SSLError):
            await MSRPChannel.connect(
                MSRPSession([MSRPURI("msrps", "127.0.0.1", 9, "x1", "tcp")], [listener.uri()], Role.ACTIVE),
                ssl=ssl.create_default_context())
        with pytest.raises(ValueError):
            await MSRPChannel.connect(MSRPSession(["msrp://127.0.0.1:9/x;tcp"], [listener.uri()],
                                                  Role.ACTIVE))   # msrps without a context
    finally:
        await listener.close()


# -- many sessions on one listener, and sessions that leave before their connection --

PEER = MSRPURI("msrp", "127.0.0.1", 9, "peer", "tcp")


def waiting_session(listener: MSRPListener) -> MSRPSession:
    """A passive session on ``listener`` (a fresh session-id) whose peer is ``PEER``."""
    return MSRPSession([listener.uri()], [PEER], Role.PASSIVE)


async def first_send(uri: MSRPURI, transaction: str) -> bytes:
    """Open a connection to ``uri``'s socket, send a first SEND addressed to
    it, and return the whole response."""
    reader, writer = await asyncio.open_connection(*uri.address)
    try:
        writer.write(
            f"MSRP {transaction} SEND\r\nTo-Path: {uri}\r\nFrom-Path: {PEER}\r\n"
            f"Message-ID: m{transaction}\r\nByte-Range: 1-2/2\r\nContent-Type: text/plain\r\n\r\n"
            f"hi\r\n-------{transaction}$\r\n".encode()
        )
        return await asyncio.wait_for(reader.readuntil(f"-------{transaction}$\r\n".encode()), 5)
    finally:
        writer.close()


async def next_body(channel: MSRPChannel) -> bytes:
    event = await asyncio.wait_for(channel.receive(), 5)
    assert isinstance(event, MessageReceived)
    return event.body


def no_such_session(transaction: str, uri: MSRPURI) -> bytes:
    """RFC 4975 section 7.3's 481 to ``first_send``, from the URI it addressed."""
    return (f"MSRP {transaction} 481 No Such Session\r\nTo-Path: {PEER}\r\nFrom-Path: {uri}\r\n"
            f"-------{transaction}$\r\n").encode()


async def test_sessions_on_one_listener_bind_by_session_id(listener: MSRPListener) -> None:
    """RFC 4975 section 5.4: each connection is bound to the session its
    first SEND is addressed to, whatever order they come in."""
    first, second = listener.accept(waiting_session(listener)), listener.accept(waiting_session(listener))
    assert listener.waiting == 2
    assert first.session.local_uri.address == second.session.local_uri.address == (listener.host, listener.port)
    assert first.session.local_uri.session_id != second.session.local_uri.session_id
    peers = []
    for channel in (second, first):
        peer = await MSRPChannel.connect(MSRPSession([PEER], [channel.session.local_uri], Role.ACTIVE))
        await asyncio.wait_for(channel.wait_bound(), 5)
        peers.append(peer)
    assert listener.waiting == 0
    await peers[0].send_and_wait(b"to the second")
    await peers[1].send_and_wait(b"to the first")
    assert await next_body(first) == b"to the first"
    assert await next_body(second) == b"to the second"
    for peer in peers:
        await peer.close()


async def test_a_withdrawn_session_gets_481_and_the_others_still_bind() -> None:
    listener = await MSRPListener.start(max_waiting=2)
    try:
        gone, kept = listener.accept(waiting_session(listener)), listener.accept(waiting_session(listener))
        with pytest.raises(ValueError):
            listener.accept(waiting_session(listener))   # max_waiting=2
        assert listener.withdraw(gone) is True
        assert listener.withdraw(gone) is False          # twice: nothing more to do
        assert listener.waiting == 1
        # a withdrawn channel will never be bound: it is closed
        assert gone.closed
        with pytest.raises(ChannelClosed):
            await gone.wait_bound(5)
        with pytest.raises(ChannelClosed):
            await gone.receive()
        uri = gone.session.local_uri
        assert await first_send(uri, "t1") == no_such_session("t1", uri)
        # its place is free again
        again = listener.accept(waiting_session(listener))
        assert listener.waiting == 2
        assert listener.withdraw(again) is True
        response = await first_send(kept.session.local_uri, "t2")
        assert response.startswith(b"MSRP t2 200 OK\r\n")
        await asyncio.wait_for(kept.wait_bound(), 5)
        event = await asyncio.wait_for(kept.receive(), 5)
        assert isinstance(event, MessageReceived) and event.body == b"hi"
        assert listener.waiting == 0
        await kept.close()
    finally:
        await listener.close()


async def test_closing_a_waiting_channel_leaves_the_listener() -> None:
    """No caller can leak a place by forgetting to withdraw: close() does it."""
    listener = await MSRPListener.start(max_waiting=1)
    try:
        for round_ in range(3):     # more rounds than places
            channel = listener.accept(waiting_session(listener))
            assert listener.waiting == 1
            await channel.close()
            assert listener.waiting == 0 and channel.closed
            assert listener.withdraw(channel) is False
            uri = channel.session.local_uri
            assert await first_send(uri, f"c{round_}") == no_such_session(f"c{round_}", uri)
    finally:
        await listener.close()


async def test_a_bound_channel_is_not_withdrawn(listener: MSRPListener) -> None:
    passive = listener.accept(waiting_session(listener))
    waiting = listener.accept(waiting_session(listener))
    active = await MSRPChannel.connect(MSRPSession([PEER], [passive.session.local_uri], Role.ACTIVE))
    await asyncio.wait_for(passive.wait_bound(), 5)
    assert listener.withdraw(passive) is False
    assert not passive.closed and listener.waiting == 1
    await active.send_and_wait(b"still bound")
    assert await next_body(passive) == b"still bound"
    # closing the bound channel closes its connection, and only that
    await passive.close()
    await asyncio.wait_for(active.wait_closed(), 5)
    assert listener.waiting == 1 and not waiting.closed
    await waiting.close()
    assert listener.waiting == 0


async def test_closing_the_listener_closes_the_waiting_channels() -> None:
    listener = await MSRPListener.start()
    channel = listener.accept(waiting_session(listener))
    waiter = asyncio.ensure_future(channel.wait_bound(30))
    await asyncio.sleep(0)
    await listener.close()
    assert listener.waiting == 0
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(waiter, 5)


async def test_closed_before_its_connection_runs_sends_nothing(listener: MSRPListener) -> None:
    """An active channel closed as soon as connect() returned: its
    connection is dropped, no binding SEND goes out on it."""
    passive = listener.accept(waiting_session(listener))
    log: Log = []
    active = await MSRPChannel.connect(MSRPSession([PEER], [passive.session.local_uri], Role.ACTIVE),
                                       on_message=recorder(log))
    await active.close()
    assert active.closed
    await asyncio.sleep(0.2)
    assert log == [] and listener.log == []  # type: ignore[attr-defined]
    assert passive.session.state is SessionState.IDLE and listener.waiting == 1
