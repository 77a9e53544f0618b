"""asyncio transports for SIP over UDP, TCP and TLS (RFC 3261 section 18).

* :class:`UdpTransport`: one datagram socket; one datagram is one message.
* :class:`StreamTransport`: a listening TCP (or TLS, with an ``ssl``
  context) socket plus the connections accepted or opened; each connection
  cuts its byte stream into messages with :class:`imkit.sip.StreamFramer`,
  answers a CRLF keep-alive ping with a CRLF pong (RFC 5626 3.5.1: "When a
  server receives a double CRLF, it MUST immediately send a single CRLF over
  the same connection") and is closed on a framing error, since the rest of
  the stream can no longer be trusted.  Connections are reused per remote
  address (RFC 3261 18.1: a transport "MUST try to use an existing
  connection"); their number, their read buffer (the framer's message size
  limit) and their write buffer are bounded.

Transports hand every complete message, as bytes, to a :class:`Receiver`
(the endpoint); they never parse SIP.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from dataclasses import dataclass
from typing import Protocol

from imkit.errors import ProtocolError
from imkit.sip.errors import FramingError
from imkit.sip.framing import KeepAlivePing, StreamFramer
from imkit.sip.message import MAX_MESSAGE_SIZE
from imkit.sip.transaction import Destination

__all__ = [
    "Address",
    "Connection",
    "Receiver",
    "StreamTransport",
    "TransportError",
    "TransportLimits",
    "UdpTransport",
]

Address = tuple[str, int]


class TransportError(ProtocolError):
    """A message could not be sent (no connection, buffer full, socket error)."""


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Bounds on what a peer can make a transport hold."""

    max_message_size: int = MAX_MESSAGE_SIZE
    max_connections: int = 256
    max_write_buffer: int = 1 << 20
    connect_timeout: float = 5.0


class Receiver(Protocol):
    """Who gets the messages (the endpoint)."""

    def message_received(self, transport: str, data: bytes, source: Destination, local: Address) -> None: ...

    def stream_closed(self, transport: str, source: Destination, local: Address, reason: str) -> None: ...


def _address(sockname: object) -> Address:
    host, port = sockname[:2]  # type: ignore[index]
    return str(host), int(port)


#: How many peer addresses a UDP transport keeps a Destination for.
_MAX_SOURCES = 1024


class UdpTransport(asyncio.DatagramProtocol):
    """SIP over UDP on one bound socket."""

    name = "UDP"

    def __init__(self, receiver: Receiver, limits: TransportLimits) -> None:
        self.receiver = receiver
        self.limits = limits
        self.local: Address = ("", 0)
        self._transport: asyncio.DatagramTransport | None = None
        # The Destination of each recent peer address (immutable, so shared
        # by the datagrams from there); emptied when full.
        self._sources: dict[object, Destination] = {}

    @classmethod
    async def open(cls, host: str, port: int, receiver: Receiver, limits: TransportLimits) -> UdpTransport:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(receiver, limits), local_addr=(host, port)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.local = _address(transport.get_extra_info("sockname"))

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > self.limits.max_message_size:
            return
        source = self._sources.get(addr)
        if source is None:
            host, port = _address(addr)
            source = Destination(self.name, host, port)
            if len(self._sources) >= _MAX_SOURCES:
                self._sources.clear()
            self._sources[addr] = source
        self.receiver.message_received(self.name, data, source, self.local)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors for earlier datagrams: UDP gives no way to tell which one."""

    def send(self, data: bytes, destination: Destination) -> Address:
        if self._transport is None or self._transport.is_closing():
            raise TransportError("the UDP socket is closed")
        if len(data) > self.limits.max_message_size:
            raise TransportError(f"message of {len(data)} bytes exceeds the limit")
        self._transport.sendto(data, (destination.host, destination.port))
        return self.local

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Connection(asyncio.Protocol):
    """One TCP or TLS connection carrying SIP."""

    def __init__(self, owner: StreamTransport) -> None:
        self.owner = owner
        self.id = next(owner._ids)
        self.framer = StreamFramer(owner.limits.max_message_size)
        self.peer: Address = ("", 0)
        self.local: Address = ("", 0)
        self.closed = asyncio.get_running_loop().create_future()
        self._transport: asyncio.Transport | None = None

    @property
    def source(self) -> Destination:
        return Destination(self.owner.name, self.peer[0], self.peer[1], self.id)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream: asyncio.Transport = transport  # type: ignore[assignment]
        self._transport = stream
        self.peer = _address(stream.get_extra_info("peername"))
        self.local = _address(stream.get_extra_info("sockname"))
        if not self.owner._register(self):
            stream.abort()
            return
        stream.set_write_buffer_limits(high=self.owner.limits.max_write_buffer)

    def data_received(self, data: bytes) -> None:
        try:
            items = self.framer.feed(data)
        except FramingError as exc:
            self.owner.receiver.stream_closed(self.owner.name, self.source, self.local, exc.what)
            self.close()
            return
        for item in items:
            if self.is_closing():
                return
            if isinstance(item, KeepAlivePing):
                self.write(b"\r\n")
            else:
                self.owner.receiver.message_received(self.owner.name, item, self.source, self.local)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._unregister(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def write(self, data: bytes) -> Address:
        if self._transport is None or self._transport.is_closing():
            raise TransportError(f"connection to {self.peer} is closed")
        if self._transport.get_write_buffer_size() + len(data) > self.owner.limits.max_write_buffer:
            # The peer does not read: drop it rather than buffer without bound.
            self._transport.abort()
            raise TransportError(f"write buffer to {self.peer} is full")
        self._transport.write(data)
        return self.local

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


class StreamTransport:
    """SIP over TCP, or over TLS when given ``ssl`` contexts."""

    def __init__(
        self,
        name: str,
        receiver: Receiver,
        limits: TransportLimits,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.receiver = receiver
        self.limits = limits
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.local: Address = ("", 0)
        self.connections: dict[int, Connection] = {}
        self._by_peer: dict[Address, Connection] = {}
        self._connecting: dict[Address, asyncio.Future[Connection]] = {}
        self._server: asyncio.AbstractServer | None = None
        self._ids = itertools.count(1)

    @classmethod
    async def open(
        cls,
        name: str,
        host: str,
        port: int,
        receiver: Receiver,
        limits: TransportLimits,
        *,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
    ) -> StreamTransport:
        self = cls(name, receiver, limits, server_ssl, client_ssl)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self), host, port, ssl=server_ssl,
            ssl_handshake_timeout=limits.connect_timeout if server_ssl else None,
        )
        self.local = _address(self._server.sockets[0].getsockname())
        return self

    # -- connections -----------------------------------------------------------
    def _register(self, connection: Connection) -> bool:
        if len(self.connections) >= self.limits.max_connections:
            return False
        self.connections[connection.id] = connection
        self._by_peer.setdefault(connection.peer, connection)
        return True

    def _unregister(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        if self._by_peer.get(connection.peer) is connection:
            del self._by_peer[connection.peer]

    def connection_for(self, destination: Destination) -> Connection | None:
        """The open connection a message to ``destination`` should use, if any:
        the one named by ``destination.connection``, else one to its address."""
        if destination.connection is not None:
            named = self.connections.get(destination.connection)
            if named is not None and not named.is_closing():
                return named
        found = self._by_peer.get((destination.host, destination.port))
        return found if found is not None and not found.is_closing() else None

    async def connect(self, destination: Destination) -> Connection:
        """An open connection to ``destination``, opened if needed (one at a time per address)."""
        existing = self.connection_for(destination)
        if existing is not None:
            return existing
        peer = (destination.host, destination.port)
        pending = self._connecting.get(peer)
        if pending is None:
            pending = asyncio.ensure_future(self._open(destination))
            self._connecting[peer] = pending
            pending.add_done_callback(lambda _: self._connecting.pop(peer, None))
        return await asyncio.shield(pending)

    async def _open(self, destination: Destination) -> Connection:
        if len(self.connections) >= self.limits.max_connections:
            raise TransportError(f"more than {self.limits.max_connections} {self.name} connections")
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(self), destination.host, destination.port,
                    ssl=self.client_ssl,
                    server_hostname=destination.host if self.client_ssl else None,
                ),
                self.limits.connect_timeout,
            )
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot connect to {destination}: {exc}") from exc
        if connection.is_closing():
            raise TransportError(f"connection to {destination} refused by the limits")
        return connection

    # -- sending ---------------------------------------------------------------
    def send_nowait(self, data: bytes, destination: Destination) -> Address | None:
        """Write on an open connection; ``None`` when one must be opened first."""
        connection = self.connection_for(destination)
        if connection is None:
            return None
        return connection.write(data)

    async def send(self, data: bytes, destination: Destination) -> Address:
        connection = await self.connect(destination)
        return connection.write(data)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pending in list(self._connecting.values()):
            pending.cancel()
        for connection in list(self.connections.values()):
            connection.close()
        waits = [c.closed for c in list(self.connections.values())]
        if waits:
            await asyncio.wait(waits, timeout=1.0)
        if self._server is not None:
            await self._server.wait_closed()
