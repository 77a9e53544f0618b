"""imkit.runtime.transport and the endpoint's handling of bad input, over real
sockets on 127.0.0.1: raw UDP datagrams and TCP connections written by hand
(so the bytes are exactly the ones under test)."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from imkit.runtime import Endpoint, Limits
from imkit.sip import parse
from imkit.trace import Direction, Trace
from tests.runtime.sip_peers import Recorder, out_of_dialog, target_uri

BRANCH = b"z9hG4bKraw1"


def options(content_length: bytes = b"0", version: bytes = b"SIP/2.0", extra: bytes = b"",
            call_id: bytes = b"raw-1@127.0.0.1", port: int = 9) -> bytes:
    return (
        b"OPTIONS sip:bob@127.0.0.1 " + version + b"\r\n"
        b"Via: SIP/2.0/TCP 127.0.0.1:" + str(port).encode() + b";branch=" + BRANCH + b";rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: <sip:raw@127.0.0.1>;tag=r1\r\n"
        b"To: <sip:bob@127.0.0.1>\r\n"
        b"Call-ID: " + call_id + b"\r\n"
        b"CSeq: 1 OPTIONS\r\n" + extra +
        b"Content-Length: " + content_length + b"\r\n\r\n"
    )


def udp(data: bytes) -> bytes:
    return data.replace(b"SIP/2.0/TCP", b"SIP/2.0/UDP")


class UdpPeer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    async def exchange(self, data: bytes, to: tuple[str, int], wait: float = 1.0) -> bytes | None:
        loop = asyncio.get_running_loop()
        self.sock.sendto(data, to)
        try:
            return await asyncio.wait_for(loop.sock_recv(self.sock, 65536), wait)
        except TimeoutError:
            return None


class TcpPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, address: tuple[str, int]) -> TcpPeer:
        return cls(*await asyncio.open_connection(*address))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self, wait: float = 2.0) -> bytes:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), wait)
        found = re.search(rb"\r\nContent-Length: *([0-9]+)", head)
        length = int(found.group(1)) if found else 0
        return head + await asyncio.wait_for(self.reader.readexactly(length), wait)

    async def closed_by_peer(self, wait: float = 2.0) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), wait)
        return data == b""

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def bob():
    handler = Recorder()
    trace = Trace()
    async with Endpoint(udp_port=0, tcp_port=0, handler=handler, trace=trace) as endpoint:
        endpoint.recorder = handler  # type: ignore[attr-defined]
        yield endpoint


# ---------------------------------------------------------------- UDP


async def test_udp_good_request_answered_at_rport(bob) -> None:
    peer = UdpPeer()
    reply = await peer.exchange(udp(options()), bob.local_address("UDP"))
    response = parse(reply)
    assert response.status == 200
    port = peer.sock.getsockname()[1]
    # RFC 3581: the answer went to the source port, which the Via now names
    assert response.top_via.rport == port and response.top_via.received == "127.0.0.1"


@pytest.mark.parametrize(
    "data, status, reason",
    [
        (options(content_length=b"-1"), 400, b"Bad Request (Content-Length"),
        (options(content_length=b"abc"), 400, b"Bad Request (Content-Length"),
        (options(extra=b"Content-Length: 0\r\n"), 400, b"Bad Request (Content-Length appears more than once"),
        (options(extra=b"CSeq: 2 OPTIONS\r\n"), 400, b"Bad Request (CSeq appears more than once"),
        (options().replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS"), 400, b"Bad Request (malformed CSeq"),
        (options().replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), 400, b"CSeq method does not match"),
        (options(version=b"SIP/3.0"), 505, b"Version Not Supported"),
        (options(version=b"SIP/x"), 505, b"Version Not Supported"),
        (options().replace(b"To: <sip:bob@127.0.0.1>", b"To: <sip:bob@127.0.0.1"), 400, b"Bad Request ("),
    ],
    ids=["negative-length", "non-numeric-length", "two-lengths", "two-cseq", "bad-cseq",
         "cseq-method", "sip-3.0", "bad-version", "bad-to"],
)
async def test_udp_malformed_request_rejected(bob, data, status, reason) -> None:
    peer = UdpPeer()
    reply = await peer.exchange(udp(data), bob.local_address("UDP"))
    assert reply is not None
    first_line = reply.split(b"\r\n", 1)[0]
    assert first_line.startswith(b"SIP/2.0 %d " % status)
    assert reason in first_line
    assert b"Call-ID: raw-1@127.0.0.1\r\n" in reply
    assert b"CSeq: " in reply and b";branch=z9hG4bKraw1" in reply
    assert bob.recorder.seen == []


@pytest.mark.parametrize(
    "data",
    [
        b"SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: broken\r\nCSeq: 1 OPTIONS\r\n\r\n",
        b"\x00\x01\x02 not SIP at all",
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n",  # no Via, From, To, Call-ID
    ],
    ids=["bad-status", "bad-via", "garbage", "request-without-headers"],
)
async def test_udp_malformed_input_dropped_and_endpoint_still_works(bob, data) -> None:
    peer = UdpPeer()
    assert await peer.exchange(data, bob.local_address("UDP"), wait=0.2) is None
    reply = await peer.exchange(udp(options()), bob.local_address("UDP"))
    assert parse(reply).status == 200
    # the trace keeps the malformed bytes too
    received = [r for r in bob.trace if r.direction is Direction.RECEIVED]
    assert received[0].raw == data


async def test_udp_oversized_datagram_dropped() -> None:
    async with Endpoint(udp_port=0, handler=Recorder(), limits=Limits(max_message_size=1000)) as small:
        peer = UdpPeer()
        big = udp(options(content_length=b"2000")) + b"x" * 2000
        assert await peer.exchange(big, small.local_address("UDP"), wait=0.2) is None
        assert parse(await peer.exchange(udp(options()), small.local_address("UDP"))).status == 200


async def test_udp_response_matching_nothing_is_dropped(bob) -> None:
    peer = UdpPeer()
    stray = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnothing\r\n" \
            b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    assert await peer.exchange(stray, bob.local_address("UDP"), wait=0.2) is None


# ---------------------------------------------------------------- TCP


async def test_tcp_response_on_the_same_connection(bob) -> None:
    peer = await TcpPeer.connect(bob.local_address("TCP"))
    try:
        await peer.send(options())
        response = parse(await peer.read_message())
        assert response.status == 200
        # two messages in one write, and one message split in two writes
        await peer.send(options(call_id=b"two-a") + options(call_id=b"two-b").replace(BRANCH, b"z9hG4bKraw2"))
        got = {parse(await peer.read_message()).call_id for _ in range(2)}
        assert got == {"two-a", "two-b"}
        third = options(call_id=b"split").replace(BRANCH, b"z9hG4bKraw3")
        await peer.send(third[:30])
        await asyncio.sleep(0.05)
        await peer.send(third[30:])
        assert parse(await peer.read_message()).call_id == "split"
    finally:
        peer.close()


@pytest.mark.parametrize(
    "data",
    [
        options(content_length=b"-5"),
        options(content_length=b"12abc"),
        options(extra=b"Content-Length: 0\r\n"),
        options().replace(b"Content-Length: 0\r\n", b""),
    ],
    ids=["negative", "non-numeric", "duplicate", "missing"],
)
async def test_tcp_closed_on_bad_content_length(bob, data) -> None:
    peer = await TcpPeer.connect(bob.local_address("TCP"))
    try:
        await peer.send(data)
        assert await peer.closed_by_peer()
    finally:
        peer.close()
    assert bob.recorder.seen == []
    transport = bob._streams["TCP"]
    await asyncio.sleep(0.01)
    assert transport.connections == {}


async def test_tcp_malformed_but_framed_request_gets_400(bob) -> None:
    peer = await TcpPeer.connect(bob.local_address("TCP"))
    try:
        await peer.send(options().replace(b"CSeq: 1 OPTIONS", b"CSeq: x OPTIONS"))
        reply = await peer.read_message()
        assert reply.startswith(b"SIP/2.0 400 Bad Request (malformed CSeq")
        await peer.send(options(version=b"SIP/3.0").replace(BRANCH, b"z9hG4bKv3"))
        assert (await peer.read_message()).startswith(b"SIP/2.0 505 ")
    finally:
        peer.close()


async def test_tcp_keepalive_ping_gets_pong(bob) -> None:
    peer = await TcpPeer.connect(bob.local_address("TCP"))
    try:
        await peer.send(b"\r\n\r\n")
        assert await asyncio.wait_for(peer.reader.readexactly(2), 2) == b"\r\n"
        await peer.send(options())
        assert parse(await peer.read_message()).status == 200
    finally:
        peer.close()


async def test_tcp_head_without_end_closed_at_size_limit() -> None:
    async with Endpoint(udp_port=None, tcp_port=0, limits=Limits(max_message_size=2048)) as small:
        peer = await TcpPeer.connect(small.local_address("TCP"))
        try:
            await peer.send(b"OPTIONS sip:x SIP/2.0\r\nX-Long: " + b"a" * 4096)
            assert await peer.closed_by_peer()
        finally:
            peer.close()


async def test_connections_are_bounded() -> None:
    async with Endpoint(udp_port=None, tcp_port=0, handler=Recorder(), limits=Limits(max_connections=1)) as small:
        first = await TcpPeer.connect(small.local_address("TCP"))
        second = await TcpPeer.connect(small.local_address("TCP"))
        try:
            assert await second.closed_by_peer()
            await first.send(options())
            assert parse(await first.read_message()).status == 200
        finally:
            first.close()
            second.close()


async def test_tcp_connection_reused_between_endpoints() -> None:
    handler = Recorder()
    async with Endpoint(udp_port=None, tcp_port=0, handler=handler) as bob, \
            Endpoint(udp_port=None, tcp_port=0) as alice:
        for cseq in (1, 2, 3):
            request = out_of_dialog(alice, "OPTIONS", target_uri(bob, "TCP"), "TCP", cseq=cseq)
            assert (await asyncio.wait_for(alice.request(request), 5)).status == 200
        assert len(alice._streams["TCP"].connections) == 1
        assert len(bob._streams["TCP"].connections) == 1
        assert len({i.source.connection for i in handler.seen}) == 1


async def test_response_reopens_connection_when_the_old_one_closed(bob) -> None:
    """18.2.2: when the request's connection is gone, the response goes to the
    received address and the sent-by port."""
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    accepted: asyncio.Queue = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(TcpPeer(reader, writer))

    listener.close()
    await listener.wait_closed()
    server = await asyncio.start_server(on_connect, "127.0.0.1", port)
    got = asyncio.Queue()

    async def slow(incoming):
        await got.put(incoming)

    bob.handler = slow
    try:
        peer = await TcpPeer.connect(bob.local_address("TCP"))
        await peer.send(options(port=port))
        incoming = await asyncio.wait_for(got.get(), 2)
        peer.close()
        await asyncio.sleep(0.05)
        from imkit.sip.builders import make_response

        bob.respond(incoming, make_response(incoming.request, 200, to_tag="t"))
        fresh = await asyncio.wait_for(accepted.get(), 2)
        assert parse(await fresh.read_message()).status == 200
        fresh.close()
    finally:
        server.close()


async def test_tcp_trace_records_both_directions(bob) -> None:
    peer = await TcpPeer.connect(bob.local_address("TCP"))
    try:
        await peer.send(options())
        reply = await peer.read_message()
    finally:
        peer.close()
    records = bob.trace.records
    assert [(r.direction, r.raw) for r in records] == [
        (Direction.RECEIVED, options()),
        (Direction.SENT, reply),
    ]
    assert records[0].local == bob.local_address("TCP")
    assert records[0].remote == records[1].remote


class _Collect:
    """A receiver that keeps what it is given."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, object, object]] = []

    def message_received(self, transport: str, data: bytes, source: object, local: object) -> None:
        self.got.append((transport, data, source, local))

    def stream_closed(self, transport: str, source: object, local: object, reason: str) -> None:
        raise AssertionError("UDP has no streams")


def test_udp_sources_are_made_once_per_peer_address() -> None:
    from imkit.runtime.transport import _MAX_SOURCES, TransportLimits, UdpTransport
    from imkit.sip.transaction import Destination

    receiver = _Collect()
    transport = UdpTransport(receiver, TransportLimits(max_message_size=100))
    for port in (5060, 5061, 5060):
        transport.datagram_received(b"x", ("127.0.0.1", port))
    transport.datagram_received(b"x" * 101, ("127.0.0.1", 5062))  # too large: dropped
    transport.datagram_received(b"y", ("::1", 5060, 0, 0))
    sources = [source for _, _, source, _ in receiver.got]
    assert sources == [Destination("UDP", "127.0.0.1", 5060), Destination("UDP", "127.0.0.1", 5061),
                       Destination("UDP", "127.0.0.1", 5060), Destination("UDP", "::1", 5060)]
    assert sources[0] is sources[2]
    for port in range(_MAX_SOURCES + 10):  # many peers: the table stays bounded
        transport.datagram_received(b"z", ("127.0.0.2", port))
    assert len(transport._sources) <= _MAX_SOURCES
    assert receiver.got[-1][2] == Destination("UDP", "127.0.0.2", _MAX_SOURCES + 9)
