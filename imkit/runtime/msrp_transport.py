"""MSRP over TCP and TLS with asyncio, driving :class:`imkit.msrp.MSRPSession`.

RFC 4975 section 5.4 (and RFC 6135): the *active* endpoint opens the
connection to the first hop of the path and at once sends a SEND that binds
it to the session; the *passive* endpoint listens, and binds the connection
to whichever of its sessions that first SEND is addressed to.

* :class:`MSRPChannel`: one session on one connection.  ``connect()`` makes
  the active side; a passive channel comes from :meth:`MSRPListener.accept`.
  ``send()`` / ``send_and_wait()`` / ``receive()`` are the chat API.
* :class:`RelayConnection`: a connection to an MSRP relay (RFC 4976),
  authenticated with AUTH (:mod:`imkit.msrp.relay`); its ``use_path`` goes
  before the endpoint's own URI in its ``a=path``, and
  :meth:`RelayConnection.channel` runs the session over that same
  connection.
* :class:`MSRPListener`: a listening socket (127.0.0.1 and an ephemeral port
  by default; TLS with an ``ssl`` context, for ``msrps``) that binds
  incoming connections to the sessions registered with it, and answers 481
  to a first SEND whose To-Path matches none (RFC 4975 section 7.3).  Many
  sessions may wait on one listener, told apart by the session-id of their
  URI; one that ends before its peer connected leaves the listener when its
  channel is closed (or :meth:`MSRPListener.withdraw` is called), so its
  place is free again and a late connection for it gets that 481.

Every message written or read is passed to the ``on_message(direction,
local_addr, remote_addr, raw_bytes, parsed, now)`` hook (``direction`` is
:class:`imkit.trace.Direction`; ``now`` is the loop time the session was
given), so a :class:`imkit.trace.Trace` can record it (:func:`trace_hook`).

Queues are bounded: incoming messages not yet taken by ``receive()`` (the
reader stops reading the socket while ``max_inbox`` are waiting), outgoing
messages (``send()`` waits for room), and what is written before draining.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Self

from imkit.errors import ProtocolError
from imkit.msrp.errors import ParseError
from imkit.msrp.events import (
    Event,
    MessageAborted,
    MessageReceived,
    MessageSent,
    ReportReceived,
    SendFailed,
    SessionBound,
)
from imkit.msrp.headers import FailureReport
from imkit.msrp.message import (
    Method,
    MSRPMessage,
    MSRPRequest,
    MSRPResponse,
    new_message_id,
)
from imkit.msrp.parser import Frame, StreamParser
from imkit.msrp.relay import RelayAuth, RelayAuthError, RelayGrant
from imkit.msrp.session import MSRPSession, SessionState
from imkit.msrp.uri import MSRPURI
from imkit.trace.record import Direction, Protocol, Transport

__all__ = [
    "Address",
    "ChannelClosed",
    "MSRPChannel",
    "MSRPListener",
    "MSRPSendError",
    "MessageHook",
    "RelayConnection",
    "trace_hook",
]

Address = tuple[str, int]
MessageHook = Callable[[Direction, Address, Address, bytes, MSRPMessage, float], None]

_log = logging.getLogger("imkit.runtime.msrp")
_READ_SIZE = 65536
_WRITE_BATCH = 65536
_SETTLED_KEPT = 256  # outcomes kept for a late ``delivered()``


class MSRPSendError(ProtocolError):
    """An outgoing message failed (error response, failure REPORT, timeout,
    connection lost or abort)."""

    def __init__(self, message_id: str, code: int | None, reason: str) -> None:
        super().__init__(f"message {message_id} failed: {code or ''} {reason}".replace("  ", " "))
        self.message_id = message_id
        self.code = code
        self.reason = reason


class ChannelClosed(ProtocolError):
    """The connection is closed: nothing more will arrive."""


def trace_hook(trace: object, *, tls: bool = False) -> MessageHook:
    """An ``on_message`` hook recording into an :class:`imkit.trace.Trace`."""
    transport = Transport.TLS if tls else Transport.TCP

    def hook(direction: Direction, local: Address, remote: Address, raw: bytes,
             parsed: MSRPMessage, now: float) -> None:
        trace.record(now, direction, Protocol.MSRP, transport, local, remote, raw)  # type: ignore[attr-defined]

    return hook


def _address(sockname: object) -> Address:
    host, port = sockname[:2]  # type: ignore[index]
    return str(host), int(port)


@dataclass(eq=False)
class _Delivery:
    """What ``send_and_wait`` waits for."""

    future: asyncio.Future[None]
    success_report: bool
    holds_slot: bool = True


async def _open_to(
    hop: MSRPURI, host: str | None, port: int | None, ssl: ssl_module.SSLContext | None,
    server_hostname: str | None, timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection to ``hop`` (or to the ``host``/``port`` given instead);
    an ``msrps`` hop needs an ``ssl`` context."""
    hop_host, hop_port = hop.address
    host = host if host is not None else hop_host
    port = port if port is not None else hop_port
    if port is None:
        raise ValueError(f"no port to connect to in {hop}")
    if hop.secure and ssl is None:
        raise ValueError(f"{hop} is msrps: give an ssl context")
    return await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl, server_hostname=server_hostname if ssl is not None else None),
        timeout,
    )


class MSRPChannel:
    """One MSRP session on one TCP or TLS connection."""

    def __init__(
        self,
        session: MSRPSession,
        *,
        on_message: MessageHook | None = None,
        on_event: Callable[[Event], None] | None = None,
        max_inbox: int = 64,
    ) -> None:
        if max_inbox < 1:
            raise ValueError("max_inbox must be at least 1")
        self.session = session
        self.on_message = on_message
        self.on_event = on_event
        self.max_inbox = max_inbox
        self.local_address: Address = ("", 0)
        self.remote_address: Address = ("", 0)
        self._loop = asyncio.get_running_loop()
        self._writer: asyncio.StreamWriter | None = None
        self._inbox: deque[MessageReceived | MessageAborted] = deque()
        self._inbox_ready = asyncio.Event()
        self._inbox_room = asyncio.Event()
        self._wake = asyncio.Event()
        self._bound = asyncio.Event()
        self._closed = asyncio.Event()
        self._slots = asyncio.Semaphore(session.config.max_outgoing_messages)
        self._deliveries: dict[str, _Delivery] = {}
        self._settled: OrderedDict[str, asyncio.Future[None]] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: the listener a passive channel waits on, until its connection comes
        self._listener: MSRPListener | None = None

    # -- opening ----------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        session: MSRPSession,
        *,
        host: str | None = None,
        port: int | None = None,
        ssl: ssl_module.SSLContext | None = None,
        server_hostname: str | None = None,
        timeout: float = 10.0,
        **options: object,
    ) -> MSRPChannel:
        """Open the connection as the active side and send the binding SEND.

        Without ``host``/``port`` the first hop of the path is used: this
        endpoint's first relay, else the first URI of the remote path.  An
        ``msrps`` first hop needs ``ssl``.
        """
        first_hop = (session.local_path[:-1] + session.remote_path)[0]
        reader, writer = await _open_to(first_hop, host, port, ssl, server_hostname, timeout)
        channel = cls(session, **options)  # type: ignore[arg-type]
        channel._tasks.append(asyncio.create_task(
            channel._run(reader, writer, StreamParser(max_chunk_size=session.config.max_chunk_size), [])
        ))
        return channel

    # -- the chat API -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def waiting(self) -> int:
        """Incoming messages not yet taken by ``receive()`` (at most ``max_inbox``)."""
        return len(self._inbox)

    async def wait_bound(self, timeout: float | None = None) -> None:
        """Until the connection is bound to the session (see :class:`SessionBound`)."""
        waiter = asyncio.ensure_future(self._bound.wait())
        closer = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({waiter, closer}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            closer.cancel()
        if not self._bound.is_set():
            if self.closed:
                raise ChannelClosed("the connection closed before it was bound")
            raise TimeoutError("the connection was not bound in time")

    async def send(
        self,
        body: bytes,
        content_type: str = "text/plain",
        *,
        success_report: bool = False,
        failure_report: FailureReport = FailureReport.YES,
        headers: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Queue a message (waiting while the outgoing queue is full); returns
        its Message-ID.  ``delivered(message_id)`` waits for the outcome."""
        if self.closed:
            raise ChannelClosed("the connection is closed")
        await self._slots.acquire()
        try:
            message_id = self.session.send_message(
                body, content_type, success_report=success_report,
                failure_report=failure_report, headers=headers,
            )
        except BaseException:
            self._slots.release()
            raise
        future: asyncio.Future[None] = self._loop.create_future()
        # a failure nobody awaits must not be reported as never retrieved
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._deliveries[message_id] = _Delivery(future, success_report)
        self._wake.set()
        return message_id

    async def delivered(self, message_id: str) -> None:
        """Until the message is sent (every chunk got its 200) or, when it
        asked for one, its success report came; raises :class:`MSRPSendError`."""
        delivery = self._deliveries.get(message_id)
        future = delivery.future if delivery is not None else self._settled.get(message_id)
        if future is None:
            raise KeyError(f"no message {message_id} is known (or its outcome is long gone)")
        await asyncio.shield(future)

    async def send_and_wait(self, body: bytes, content_type: str = "text/plain", **options: object) -> str:
        """``send`` then ``delivered``; returns the Message-ID."""
        message_id = await self.send(body, content_type, **options)  # type: ignore[arg-type]
        await self.delivered(message_id)
        return message_id

    def abort(self, message_id: str) -> None:
        """Abort an outgoing message (its next chunk goes out flagged ``#``)."""
        self.session.abort_message(message_id)
        self._pump()

    async def receive(self) -> MessageReceived | MessageAborted:
        """The next incoming message (or an incoming message that failed)."""
        while not self._inbox:
            if self.closed:
                raise ChannelClosed("the connection is closed")
            self._inbox_ready.clear()
            await self._inbox_ready.wait()
        event = self._inbox.popleft()
        self._inbox_room.set()
        return event

    async def close(self) -> None:
        """Close the connection and wait until it is down.  A passive channel
        still waiting for its connection stops waiting: it leaves its
        listener (see :meth:`MSRPListener.withdraw`)."""
        if self._writer is None:
            if self._listener is not None:
                self._listener.withdraw(self)
            if not self.closed:
                self._connection_lost()
            return
        if not self._writer.is_closing():
            self._writer.close()
        try:
            await asyncio.wait_for(self._closed.wait(), 5.0)
        except TimeoutError:
            for task in self._tasks:
                task.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- the connection -------------------------------------------------------------

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   parser: StreamParser, first: list[Frame]) -> None:
        """Drive the session on this connection until it closes."""
        if self.closed:
            # close()d before this task ran: the session is over, drop the connection
            writer.close()
            return
        self._writer = writer
        self.local_address = _address(writer.get_extra_info("sockname"))
        self.remote_address = _address(writer.get_extra_info("peername"))
        self.session.connection_made(self._loop.time())
        writing = asyncio.create_task(self._write_loop(writer))
        try:
            await self._deliver(first)
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    break
                try:
                    frames = parser.feed(data)
                except ParseError as exc:
                    _log.warning("MSRP stream from %s broken: %s", self.remote_address, exc)
                    break
                await self._deliver(frames)
        except (ConnectionError, OSError, ssl_module.SSLError) as exc:
            _log.info("MSRP connection to %s lost: %s", self.remote_address, exc)
        finally:
            writing.cancel()
            self._connection_lost()
            writer.close()

    async def _deliver(self, frames: list[Frame]) -> None:
        """Hand frames to the session, pausing while the inbox is full."""
        now = self._loop.time()
        for frame in frames:
            if len(self._inbox) >= self.max_inbox:
                # backpressure: stop reading (and answering) until receive()
                # makes room
                self._pump()
                while len(self._inbox) >= self.max_inbox:
                    self._inbox_room.clear()
                    await self._inbox_room.wait()
                now = self._loop.time()
            self._received(frame, now)
            self._dispatch()
        self._pump()

    def _hook(self, direction: Direction, raw: bytes, message: MSRPMessage, now: float) -> None:
        if self.on_message is None:
            return
        try:
            self.on_message(direction, self.local_address, self.remote_address, raw, message, now)
        except Exception:  # noqa: BLE001 - a broken recorder must not stop the chat
            _log.exception("on_message hook failed")

    def _received(self, frame: Frame, now: float) -> None:
        self._hook(Direction.RECEIVED, frame.raw, frame.message, now)
        self.session.receive_message(frame.message, now)

    async def _write_loop(self, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while True:
                    now = self._loop.time()
                    batch = self.session.data_to_send(now, _WRITE_BATCH)
                    self._dispatch()
                    if not batch:
                        break
                    for item in batch:
                        self._hook(Direction.SENT, item.raw, item.message, now)
                        writer.write(item.raw)
                    self._arm_timer()
                    await writer.drain()
        except (ConnectionError, OSError, ssl_module.SSLError) as exc:
            _log.info("MSRP write to %s failed: %s", self.remote_address, exc)
            writer.close()

    def _pump(self) -> None:
        """After the session was given something: hand out its events, let
        the writer look for output, re-arm the timer."""
        self._dispatch()
        self._wake.set()
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.session.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self.session.handle_timer(self._loop.time())
        self._pump()

    def _connection_lost(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        self.session.connection_lost(self._loop.time())
        self._dispatch()
        for message_id, delivery in list(self._deliveries.items()):
            self._settle(message_id, delivery, MSRPSendError(message_id, None, "connection closed"))
        self._closed.set()
        self._inbox_ready.set()

    def _settle(self, message_id: str, delivery: _Delivery, error: MSRPSendError | None) -> None:
        if delivery.holds_slot:
            delivery.holds_slot = False
            self._slots.release()
        if not delivery.future.done():
            if error is None:
                delivery.future.set_result(None)
            else:
                delivery.future.set_exception(error)
        self._deliveries.pop(message_id, None)
        self._settled[message_id] = delivery.future
        while len(self._settled) > _SETTLED_KEPT:
            self._settled.popitem(last=False)

    def _dispatch(self) -> None:
        for event in self.session.events():
            if self.on_event is not None:
                try:
                    self.on_event(event)
                except Exception:  # noqa: BLE001 - a broken callback must not stop the chat
                    _log.exception("on_event callback failed")
            if isinstance(event, (MessageReceived, MessageAborted)):
                self._inbox.append(event)
                self._inbox_ready.set()
            elif isinstance(event, SessionBound):
                self._bound.set()
            elif isinstance(event, MessageSent):
                delivery = self._deliveries.get(event.message_id)
                if delivery is not None:
                    if delivery.success_report:
                        # the session is done with it; the report may still come
                        if delivery.holds_slot:
                            delivery.holds_slot = False
                            self._slots.release()
                    else:
                        self._settle(event.message_id, delivery, None)
            elif isinstance(event, SendFailed):
                delivery = self._deliveries.get(event.message_id)
                if delivery is not None:
                    self._settle(event.message_id, delivery,
                                 MSRPSendError(event.message_id, event.code, event.reason))
            elif isinstance(event, ReportReceived):
                delivery = self._deliveries.get(event.message_id)
                if delivery is None or not delivery.success_report:
                    continue
                if not event.ok:
                    self._settle(event.message_id, delivery, MSRPSendError(
                        event.message_id, event.status.code, event.status.reason or "failure report"))
                elif event.byte_range is None or event.byte_range.start == 1 and (
                        event.byte_range.end == event.byte_range.total):
                    self._settle(event.message_id, delivery, None)


class RelayConnection:
    """A connection to an MSRP relay, authenticated (RFC 4976 section 5.1).

    ``await RelayConnection.authenticate(relay_uri, username, password)``
    opens the connection, runs the AUTH exchange and returns once the relay
    granted a ``Use-Path`` (or raises a :class:`~imkit.msrp.relay.RelayAuthError`).
    The connection then stays open for the session: RFC 4976 has the client
    send and receive its session traffic over the connection it
    authenticated on, since that is how the relay reaches it.  Build the
    session with ``local_path=relay.local_path`` (the Use-Path, then
    ``local_uri``) and hand it to :meth:`channel`.
    """

    def __init__(self, auth: RelayAuth, grant: RelayGrant, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, parser: StreamParser, leftover: list[Frame],
                 on_message: MessageHook | None) -> None:
        self.auth = auth
        self.grant = grant
        self.on_message = on_message
        self.local_address = _address(writer.get_extra_info("sockname"))
        self.remote_address = _address(writer.get_extra_info("peername"))
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._leftover = leftover
        self._channel: MSRPChannel | None = None

    @classmethod
    async def authenticate(
        cls,
        relay_uri: MSRPURI | str,
        username: str,
        password: str,
        *,
        local_uri: MSRPURI | str | None = None,
        host: str | None = None,
        port: int | None = None,
        ssl: ssl_module.SSLContext | None = None,
        server_hostname: str | None = None,
        expires: int | None = None,
        timeout: float = 10.0,
        on_message: MessageHook | None = None,
        max_chunk_size: int = 1 << 20,
    ) -> RelayConnection:
        """Connect to the relay (its URI's address unless ``host``/``port``
        say otherwise), AUTH, answer the Digest challenge, and return the
        connection with its grant.  ``local_uri`` is this endpoint's URI in
        the From-Path; by default ``msrp://<local address>:<port>/<fresh
        id>;tcp``.  ``timeout`` bounds the connect and each AUTH transaction."""
        relay = MSRPURI.parse(relay_uri) if isinstance(relay_uri, str) else relay_uri
        reader, writer = await _open_to(relay, host, port, ssl, server_hostname, timeout)
        try:
            local = _address(writer.get_extra_info("sockname"))
            if local_uri is None:
                own_host = f"[{local[0]}]" if ":" in local[0] else local[0]
                local_uri = MSRPURI(relay.scheme, own_host, local[1], new_message_id(), "tcp")
            auth = RelayAuth(relay, local_uri, username, password, expires=expires, timeout=timeout)
            parser = StreamParser(max_chunk_size=max_chunk_size)
            grant, leftover = await _run_auth(auth, reader, writer, parser, on_message)
        except BaseException:
            writer.close()
            raise
        return cls(auth, grant, reader, writer, parser, leftover, on_message)

    @property
    def relay(self) -> MSRPURI:
        return self.auth.relay

    @property
    def local_uri(self) -> MSRPURI:
        """This endpoint's URI, as given in the AUTH From-Path."""
        return self.auth.local_uri

    @property
    def use_path(self) -> tuple[MSRPURI, ...]:
        """The relay URIs of the 200's Use-Path."""
        return self.grant.use_path

    @property
    def expires(self) -> int | None:
        """The 200's Expires, in seconds (``None``: the relay did not say)."""
        return self.grant.expires

    @property
    def local_path(self) -> tuple[MSRPURI, ...]:
        """The ``a=path`` of a session through the relay: Use-Path, own URI."""
        return self.grant.local_path(self.local_uri)

    def channel(self, session: MSRPSession, **options: object) -> MSRPChannel:
        """Run ``session`` over this connection (once).  Its local path must
        begin with the Use-Path; an ``ACTIVE`` session sends its binding
        SEND at once, a ``PASSIVE`` one waits for the peer's first SEND to
        come through the relay.  ``on_message`` defaults to this
        connection's hook."""
        if self._channel is not None:
            raise ValueError("this relay connection already carries a session")
        if session.local_path[:len(self.use_path)] != self.use_path:
            raise ValueError("the session's local path must begin with the relay's Use-Path")
        options.setdefault("on_message", self.on_message)
        channel = MSRPChannel(session, **options)  # type: ignore[arg-type]
        self._channel = channel
        channel._tasks.append(asyncio.create_task(
            channel._run(self._reader, self._writer, self._parser, self._leftover)))
        self._leftover = []
        return channel

    async def close(self) -> None:
        """Close the connection (through the channel, when one runs on it)."""
        if self._channel is not None:
            await self._channel.close()
            return
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError, ssl_module.SSLError):
            pass


async def _run_auth(auth: RelayAuth, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    parser: StreamParser, on_message: MessageHook | None,
                    ) -> tuple[RelayGrant, list[Frame]]:
    """Drive :class:`RelayAuth` on a fresh connection until the grant; the
    frames read after it are handed back for the session."""
    loop = asyncio.get_running_loop()
    local = _address(writer.get_extra_info("sockname"))
    remote = _address(writer.get_extra_info("peername"))

    def hook(direction: Direction, raw: bytes, message: MSRPMessage, now: float) -> None:
        if on_message is None:
            return
        try:
            on_message(direction, local, remote, raw, message, now)
        except Exception:  # noqa: BLE001 - a broken recorder must not stop the AUTH
            _log.exception("on_message hook failed")

    async def write(request: MSRPRequest, now: float) -> None:
        raw = bytes(request)
        hook(Direction.SENT, raw, request, now)
        writer.write(raw)
        await writer.drain()

    await write(auth.start(loop.time()), loop.time())
    while True:
        deadline = auth.next_deadline()
        assert deadline is not None  # an AUTH is out until the grant
        try:
            data = await asyncio.wait_for(reader.read(_READ_SIZE), max(0.0, deadline - loop.time()))
        except TimeoutError:
            auth.handle_timer(max(loop.time(), deadline))  # overdue: raises RelayAuthTimeout
            continue
        if not data:
            raise RelayAuthError(None, "the relay closed the connection")
        try:
            frames = parser.feed(data)
        except ParseError as exc:
            raise RelayAuthError(None, f"broken MSRP stream from the relay: {exc}") from None
        for index, frame in enumerate(frames):
            now = loop.time()
            hook(Direction.RECEIVED, frame.raw, frame.message, now)
            if not isinstance(frame.message, MSRPResponse):
                _log.info("request from the relay before AUTH completed: ignored")
                continue
            step = auth.receive(frame.message, now)
            if isinstance(step, RelayGrant):
                return step, frames[index + 1:]
            if step is not None:
                await write(step, now)


class MSRPListener:
    """A listening socket binding incoming connections to sessions."""

    def __init__(self, *, ssl: ssl_module.SSLContext | None = None,
                 on_message: MessageHook | None = None,
                 max_chunk_size: int = 1 << 20, max_waiting: int = 64,
                 max_connections: int = 64) -> None:
        """``max_waiting`` bounds the passive channels waiting for their
        connection, ``max_connections`` the connections open at once."""
        self.ssl = ssl
        self.on_message = on_message
        self.max_chunk_size = max_chunk_size
        self.max_waiting = max_waiting
        self.max_connections = max_connections
        self.host = ""
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._waiting: list[MSRPChannel] = []
        self._handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, *,
                    ssl: ssl_module.SSLContext | None = None,
                    on_message: MessageHook | None = None,
                    max_chunk_size: int = 1 << 20, max_waiting: int = 64,
                    max_connections: int = 64) -> Self:
        """Listen on ``host:port`` (port 0: an ephemeral one); the options
        are those of the constructor."""
        listener = cls(ssl=ssl, on_message=on_message, max_chunk_size=max_chunk_size,
                       max_waiting=max_waiting, max_connections=max_connections)
        server = await asyncio.start_server(listener._handle, host, port, ssl=listener.ssl)
        listener._server = server
        listener.host, listener.port = _address(server.sockets[0].getsockname())
        return listener

    @property
    def scheme(self) -> str:
        return "msrps" if self.ssl is not None else "msrp"

    def uri(self, session_id: str | None = None) -> MSRPURI:
        """An MSRP URI on this listener (a fresh session-id unless given)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return MSRPURI(self.scheme, host, self.port, session_id or new_message_id(), "tcp")

    @property
    def waiting(self) -> int:
        """How many passive channels wait for their connection (at most
        ``max_waiting``)."""
        return len(self._waiting)

    def accept(self, session: MSRPSession, **options: object) -> MSRPChannel:
        """Register a passive session: the connection whose first SEND is
        addressed to ``session.local_uri`` will drive the returned channel.
        Until then the channel holds one of ``max_waiting`` places; closing
        it gives the place back."""
        if len(self._waiting) >= self.max_waiting:
            raise ValueError("too many sessions waiting for their connection")
        channel = MSRPChannel(session, **options)  # type: ignore[arg-type]
        channel._listener = self
        self._waiting.append(channel)
        return channel

    def withdraw(self, channel: MSRPChannel) -> bool:
        """Stop waiting for ``channel``'s connection (its session ended before
        the peer connected) and close the channel: its place is free again,
        and a connection that comes later for its session is answered like
        one for any unknown session, with 481 (RFC 4975 section 7.3).
        ``channel.close()`` does this for a channel still waiting.  Returns
        whether ``channel`` was waiting here; a channel already bound to its
        connection, or not accepted here, is left alone."""
        if channel not in self._waiting:
            return False
        self._waiting.remove(channel)
        channel._listener = None
        if not channel.closed:
            channel._connection_lost()
        return True

    async def close(self) -> None:
        """Stop listening, close the connections it still holds and the
        channels still waiting for theirs."""
        if self._server is not None:
            self._server.close()
        for writer in self._handlers.values():
            writer.close()   # each connection's reader sees the end and its handler returns
        if self._handlers:
            _, late = await asyncio.wait(set(self._handlers), timeout=5.0)
            for task in late:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
        for channel in list(self._waiting):
            self.withdraw(channel)

    def _match(self, message: MSRPMessage) -> MSRPChannel | None:
        # RFC 4975 section 5.4 (paraphrased): the passive endpoint binds a
        # connection to the session its first SEND is addressed to.
        if not isinstance(message, MSRPRequest) or message.method != Method.SEND.value:
            return None
        to_path = message.to_path
        if len(to_path) != 1:
            return None
        for channel in self._waiting:
            if (channel.session.state is SessionState.IDLE
                    and to_path[0].matches(channel.session.local_uri)):
                return channel
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._handlers) >= self.max_connections:
            _log.warning("MSRP listener full: refusing a connection")
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        local = _address(writer.get_extra_info("sockname"))
        remote = _address(writer.get_extra_info("peername"))
        parser = StreamParser(max_chunk_size=self.max_chunk_size)
        handed_over = False
        try:
            while not handed_over:
                data = await reader.read(_READ_SIZE)
                if not data:
                    return
                now = asyncio.get_running_loop().time()
                try:
                    frames = parser.feed(data)
                except ParseError as exc:
                    _log.warning("MSRP stream from %s broken: %s", remote, exc)
                    return
                for index, frame in enumerate(frames):
                    channel = self._match(frame.message)
                    if channel is not None:
                        self._waiting.remove(channel)
                        channel._listener = None
                        handed_over = True
                        await channel._run(reader, writer, parser, frames[index:])
                        return
                    self._refuse(frame, writer, local, remote, now)
                await writer.drain()
        except (ConnectionError, OSError, ssl_module.SSLError) as exc:
            _log.info("MSRP connection from %s lost: %s", remote, exc)
        finally:
            self._handlers.pop(task, None)
            if not handed_over:
                writer.close()

    def _refuse(self, frame: Frame, writer: asyncio.StreamWriter, local: Address,
                remote: Address, now: float) -> None:
        """A request on an unbound connection for no session of ours: 481."""
        message = frame.message
        self._hook(Direction.RECEIVED, local, remote, frame.raw, message, now)
        if not isinstance(message, MSRPRequest) or message.method == Method.REPORT.value:
            return  # responses match nothing here; REPORTs are never answered
        if message.failure_report is FailureReport.NO:
            return
        # RFC 4975 section 7.3: a To-Path that maps to no session "MUST
        # generate a 481 error"; the response comes from the URI it addressed.
        response = MSRPResponse.answering(message, 481, local_uri=message.to_path[0])
        raw = bytes(response)
        self._hook(Direction.SENT, local, remote, raw, response, now)
        writer.write(raw)

    def _hook(self, direction: Direction, local: Address, remote: Address, raw: bytes,
              message: MSRPMessage, now: float) -> None:
        if self.on_message is None:
            return
        try:
            self.on_message(direction, local, remote, raw, message, now)
        except Exception:  # noqa: BLE001 - a broken recorder must not stop the listener
            _log.exception("on_message hook failed")
