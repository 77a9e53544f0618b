"""Kamailio's msrp module as a real RFC 4976 relay between imkit endpoints.

The relay runs the shipped msrp_relay.cfg on 127.0.0.1.  An imkit endpoint
authenticates to it (AUTH, 401 with a Digest challenge, AUTH with
Authorization, 200 with Use-Path and Expires), then chats over that same
connection with a second imkit endpoint: one listening directly, and one
that authenticated to the relay as well.  The bytes each endpoint wrote and
read are checked: the relay's URI heads the To-Path going out and is added
to the From-Path coming in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from imkit.msrp import MSRPURI, MessageReceived, MSRPResponse, MSRPSession, Role, parse
from imkit.msrp.relay import RelayAuthError, RelayAuthRejected, RelayAuthTimeout
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener, RelayConnection
from imkit.trace import Direction
from tests.support.kamailio import MsrpRelay
from tests.support.ports import LOOPBACK

pytestmark = pytest.mark.integration

TIMEOUT = 10.0
Log = list[tuple[Direction, bytes]]


def recorder(log: Log):
    def hook(direction, local, remote, raw, parsed, now):
        log.append((direction, raw))
    return hook


def header(raw: bytes, name: str) -> str | None:
    match = re.search(rb"^" + name.encode() + rb": (.*?)\r$", raw, re.MULTILINE | re.IGNORECASE)
    return None if match is None else match.group(1).decode()


def frames(log: Log, direction: Direction, start: bytes) -> list[bytes]:
    return [raw for d, raw in log if d is direction and raw.split(b"\r\n", 1)[0].endswith(start)]


@pytest.fixture
def relay(kamailio) -> MsrpRelay:
    return kamailio.msrp_relay()


@pytest.fixture
async def listener() -> AsyncIterator[MSRPListener]:
    server = await MSRPListener.start()
    yield server
    await server.close()


def use_path_re(relay: MsrpRelay) -> str:
    return rf"msrp://{re.escape(LOOPBACK)}:{relay.port}/[A-Za-z0-9.\-]+;tcp"


async def test_auth_challenge_then_use_path(relay: MsrpRelay) -> None:
    log: Log = []
    connection = await asyncio.wait_for(
        RelayConnection.authenticate(relay.uri, "alice", "alice-secret", on_message=recorder(log)),
        TIMEOUT)
    try:
        sent = [raw for d, raw in log if d is Direction.SENT]
        received = [raw for d, raw in log if d is Direction.RECEIVED]
        assert len(sent) == 2 and len(received) == 2
        # the first AUTH: to the relay alone, from our URI, no credentials
        first = parse(sent[0])
        assert sent[0].split(b"\r\n", 1)[0] == f"MSRP {first.transaction_id} AUTH".encode()
        assert header(sent[0], "To-Path") == relay.uri
        assert header(sent[0], "From-Path") == str(connection.local_uri)
        assert header(sent[0], "Authorization") is None
        assert connection.local_uri.address == connection.local_address
        # 401 with a Digest challenge for the relay's realm
        challenge_line = received[0].split(b"\r\n", 1)[0]
        assert challenge_line.startswith(f"MSRP {first.transaction_id} 401 ".encode())
        challenge = header(received[0], "WWW-Authenticate")
        assert challenge is not None and challenge.startswith("Digest ")
        assert 'realm="example.com"' in challenge
        assert header(received[0], "To-Path") == str(connection.local_uri)
        # the second AUTH answers it: method AUTH, the relay's URI as digest URI
        second = parse(sent[1])
        assert second.transaction_id != first.transaction_id
        authorization = header(sent[1], "Authorization")
        assert authorization is not None and authorization.startswith("Digest ")
        assert 'username="alice"' in authorization
        assert f'uri="{relay.uri}"' in authorization
        nonce = re.search(r'nonce="([^"]+)"', challenge)
        assert nonce is not None and f'nonce="{nonce.group(1)}"' in authorization
        # 200 with Use-Path (the relay, with the session id it chose) and Expires
        granted = parse(received[1])
        assert isinstance(granted, MSRPResponse) and granted.code == 200
        assert granted.transaction_id == second.transaction_id
        use_path = header(received[1], "Use-Path")
        assert use_path is not None and re.fullmatch(use_path_re(relay), use_path)
        assert connection.use_path == (MSRPURI.parse(use_path),)
        assert connection.expires == int(header(received[1], "Expires") or "-1") == 3600
        assert connection.local_path == (MSRPURI.parse(use_path), connection.local_uri)
    finally:
        await connection.close()


async def test_wrong_password_is_refused(relay: MsrpRelay) -> None:
    with pytest.raises(RelayAuthRejected) as caught:
        await asyncio.wait_for(
            RelayConnection.authenticate(relay.uri, "alice", "not-alice-secret"), TIMEOUT)
    assert caught.value.code == 401


async def exchange(alice: MSRPChannel, bob: MSRPChannel) -> None:
    """Alice (active) binds and says hello; Bob answers."""
    await asyncio.wait_for(alice.send_and_wait(b"hello through the relay"), TIMEOUT)
    got = await asyncio.wait_for(bob.receive(), TIMEOUT)
    assert isinstance(got, MessageReceived) and got.body == b"hello through the relay"
    await asyncio.wait_for(bob.send_and_wait("r\u00e9ponse".encode(), "text/plain;charset=utf-8"), TIMEOUT)
    back = await asyncio.wait_for(alice.receive(), TIMEOUT)
    assert isinstance(back, MessageReceived) and back.body == "r\u00e9ponse".encode()
    assert back.content_type == "text/plain;charset=utf-8"


def with_body(raws: list[bytes], body: bytes) -> bytes:
    matching = [raw for raw in raws if b"\r\n\r\n" + body + b"\r\n" in raw]
    assert len(matching) == 1, raws
    return matching[0]


async def test_send_relayed_to_a_direct_peer_and_back(relay: MsrpRelay, listener: MSRPListener) -> None:
    alice_log: Log = []
    bob_log: Log = []
    connection = await asyncio.wait_for(
        RelayConnection.authenticate(relay.uri, "alice", "alice-secret", on_message=recorder(alice_log)),
        TIMEOUT)
    bob_uri = listener.uri()
    # Alice's a=path is the Use-Path then her URI; Bob's is his listener
    alice = MSRPSession(connection.local_path, [bob_uri], Role.ACTIVE)
    bob = MSRPSession([bob_uri], connection.local_path, Role.PASSIVE)
    bob_channel = listener.accept(bob, on_message=recorder(bob_log))
    alice_channel = connection.channel(alice)
    try:
        await exchange(alice_channel, bob_channel)
    finally:
        await alice_channel.close()
        await bob_channel.close()

    relay_hop = str(connection.use_path[0])
    alice_uri = str(connection.local_uri)
    # Alice -> relay: her relay first in To-Path, then Bob; From-Path is Alice
    out = with_body(frames(alice_log, Direction.SENT, b" SEND"), b"hello through the relay")
    assert header(out, "To-Path") == f"{relay_hop} {bob_uri}"
    assert header(out, "From-Path") == alice_uri
    # relay -> Bob: the relay moved its URI to the From-Path
    arrived = with_body(frames(bob_log, Direction.RECEIVED, b" SEND"), b"hello through the relay")
    assert header(arrived, "To-Path") == str(bob_uri)
    assert header(arrived, "From-Path") == f"{relay_hop} {alice_uri}"
    assert arrived.split(b"\r\n", 1)[0] == out.split(b"\r\n", 1)[0]
    # Bob's 200 goes to the previous hop, the relay
    answers = frames(bob_log, Direction.SENT, b" 200 OK")
    assert answers and all(header(raw, "To-Path") == relay_hop for raw in answers)
    # Bob -> relay -> Alice, down the connection she authenticated on
    reply = "r\u00e9ponse".encode()
    back_out = with_body(frames(bob_log, Direction.SENT, b" SEND"), reply)
    assert header(back_out, "To-Path") == f"{relay_hop} {alice_uri}"
    assert header(back_out, "From-Path") == str(bob_uri)
    back_in = with_body(frames(alice_log, Direction.RECEIVED, b" SEND"), reply)
    assert header(back_in, "To-Path") == alice_uri
    assert header(back_in, "From-Path") == f"{relay_hop} {bob_uri}"
    # the relay answered Alice's SENDs hop by hop, from its own URI
    relay_answers = frames(alice_log, Direction.RECEIVED, b" 200 OK")[1:]  # [0]: the AUTH
    assert relay_answers and all(header(raw, "From-Path") == relay_hop for raw in relay_answers)


async def test_send_relayed_between_two_authenticated_clients(relay: MsrpRelay) -> None:
    alice_log: Log = []
    bob_log: Log = []
    alice_connection, bob_connection = await asyncio.wait_for(asyncio.gather(
        RelayConnection.authenticate(relay.uri, "alice", "alice-secret", on_message=recorder(alice_log)),
        RelayConnection.authenticate(relay.uri, "bob", "bob-secret", on_message=recorder(bob_log)),
    ), TIMEOUT)
    assert alice_connection.use_path != bob_connection.use_path  # one session id each
    alice = MSRPSession(alice_connection.local_path, bob_connection.local_path, Role.ACTIVE)
    bob = MSRPSession(bob_connection.local_path, alice_connection.local_path, Role.PASSIVE)
    bob_channel = bob_connection.channel(bob)
    alice_channel = alice_connection.channel(alice)
    try:
        await exchange(alice_channel, bob_channel)
    finally:
        await alice_channel.close()
        await bob_channel.close()

    alice_hop, bob_hop = str(alice_connection.use_path[0]), str(bob_connection.use_path[0])
    alice_uri, bob_uri = str(alice_connection.local_uri), str(bob_connection.local_uri)
    out = with_body(frames(alice_log, Direction.SENT, b" SEND"), b"hello through the relay")
    assert header(out, "To-Path") == f"{alice_hop} {bob_hop} {bob_uri}"
    assert header(out, "From-Path") == alice_uri
    arrived = with_body(frames(bob_log, Direction.RECEIVED, b" SEND"), b"hello through the relay")
    assert header(arrived, "To-Path") == bob_uri
    assert header(arrived, "From-Path") == f"{bob_hop} {alice_hop} {alice_uri}"
    back_in = with_body(frames(alice_log, Direction.RECEIVED, b" SEND"), "r\u00e9ponse".encode())
    assert header(back_in, "To-Path") == alice_uri
    assert header(back_in, "From-Path") == f"{alice_hop} {bob_hop} {bob_uri}"


# ---------------------------------------------------------------- a relay that fails


@pytest.mark.parametrize("behaviour", ["silent", "hangs up"])
async def test_relay_that_never_grants(behaviour: str) -> None:
    """Not Kamailio: a TCP peer that never answers the AUTH, or closes at once."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if behaviour == "silent":
            await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        expected = RelayAuthTimeout if behaviour == "silent" else RelayAuthError
        with pytest.raises(expected) as caught:
            await asyncio.wait_for(RelayConnection.authenticate(
                f"msrp://{LOOPBACK}:{port};tcp", "alice", "x", timeout=0.3), TIMEOUT)
        assert caught.value.code == (408 if behaviour == "silent" else None)
    finally:
        server.close()
        await server.wait_closed()
