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
