"""The focus's MSRP switch: every participant's chat to every other one.

RFC 4975 makes the focus an ordinary MSRP endpoint for each participant's
session (the "conference focus" of OMA SIMPLE IM terminates MSRP, there are
no relays here).  One :class:`MSRPSwitch` owns one :class:`MSRPListener`
(127.0.0.1, an ephemeral port) shared by every conference:

* a session the participant offered is answered ``a=setup:passive`` and
  waits on the listener for the participant's first SEND (RFC 4975 section
  5.4, RFC 6135); a session the focus offered (dial-out) is offered
  ``a=setup:active`` by default and the focus connects, so no SEND can arrive
  before the answer told the focus the participant's path (see
  :mod:`imkit.server.focus`);
* each conference is a :class:`Room`; each participant's session in it a
  :class:`Port`.  A message arriving on one port is re-wrapped and queued to
  every other port of the room, never to another room.

Re-wrapping (RFC 3862, ``message/cpim``): the focus asserts who spoke.  A
CPIM message keeps its To, DateTime, Subject, NS and extension headers and
its content, but its ``From`` is replaced by the participant's identity (with
display name), or by ``<sip:anonymous@anonymous.invalid>`` (RFC 3323's
anonymous URI) for an anonymous participant.  Any other content type is
wrapped in a new CPIM message ``From`` the participant ``To`` the IM Session
Identity, with the current ``DateTime``.

Reports: the focus's session for the sender sends the success REPORT a
sender asks for (``Success-Report: yes``, RFC 4975 section 7.1.3) once the
focus has the whole message; forwarded copies ask for failure reports only.
Nothing is dropped silently: a message that cannot be forwarded (unreadable
CPIM, a recipient that does not accept ``message/cpim``, a full queue, a
closed connection, an error response or failure REPORT from the recipient)
is logged and recorded in :attr:`MSRPSwitch.failures` (bounded) and counted
in :attr:`MSRPSwitch.stats`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from imkit.errors import LocalProtocolError, ProtocolError
from imkit.msrp import MSRPSession, cpim
from imkit.msrp.errors import ParseError as MSRPParseError
from imkit.msrp.events import (
    Event,
    MessageAborted,
    MessageReceived,
    MessageSent,
    ReportReceived,
    SendFailed,
)
from imkit.msrp.headers import FailureReport
from imkit.msrp.session import accepts
from imkit.msrp.uri import MSRPURI
from imkit.runtime.msrp_transport import (
    ChannelClosed,
    MessageHook,
    MSRPChannel,
    MSRPListener,
    trace_hook,
)

__all__ = ["ANONYMOUS_URI", "Failure", "MSRPSwitch", "Port", "PortState", "Room", "SwitchStats"]

_log = logging.getLogger("imkit.server.msrp_switch")

#: RFC 3323 section 4.1.1.3: "sip:anonymous@anonymous.invalid".
ANONYMOUS_URI = "sip:anonymous@anonymous.invalid"
CPIM = "message/cpim"
#: The trace lane of the IM server (the core names its SIP socket so too).
LANE = "IM server"


class PortState(enum.Enum):
    WAITING = "waiting"        # no connection yet
    OPEN = "open"              # connected (bound or binding)
    CLOSED = "closed"


@dataclass(frozen=True)
class Failure:
    """A message that did not reach a recipient (or could not be read)."""

    room: str
    sender: str
    recipient: str | None
    reason: str


@dataclass
class SwitchStats:
    received: int = 0          # complete messages from participants
    forwarded: int = 0         # copies handed to a recipient's session
    failed: int = 0            # copies (or messages) that failed


@dataclass(eq=False)
class Port:
    """One participant's MSRP session in a room."""

    room: Room
    key: str                              # the participant (aor_key form)
    session: MSRPSession
    cpim_from: cpim.NameAddr              # what the others see in CPIM From
    active: bool                          # the focus opens the connection
    channel: MSRPChannel | None = None
    state: PortState = PortState.WAITING
    #: (sender's key, CPIM bytes) waiting for this participant's session
    queue: asyncio.Queue[tuple[str, bytes]] = field(default_factory=lambda: asyncio.Queue(64))
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: Message-IDs of forwarded copies in flight -> the sender's key
    in_flight: dict[str, str] = field(default_factory=dict)

    @property
    def accepts_cpim(self) -> bool:
        return accepts(self.session.remote_accept_types, CPIM)


@dataclass(eq=False)
class Room:
    """The MSRP side of one conference."""

    identity: str                         # the IM Session Identity (CPIM To)
    ports: dict[str, Port] = field(default_factory=dict)


class MSRPSwitch:
    """Listener, rooms and forwarding (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        trace: object | None = None,
        max_sessions: int = 4096,
        queue_size: int = 64,
        max_failures: int = 1024,
        on_closed: Callable[[Port], None] | None = None,
    ) -> None:
        self.host = host
        self.trace = trace
        self.max_sessions = max_sessions
        self.queue_size = queue_size
        self.on_closed = on_closed
        self.rooms: dict[str, Room] = {}
        self.failures: deque[Failure] = deque(maxlen=max_failures)
        self.stats = SwitchStats()
        self._listener: MSRPListener | None = None
        self._starting: asyncio.Lock | None = None
        self._hook: MessageHook | None = trace_hook(trace) if trace is not None else None
        self._detaching: set[asyncio.Task[None]] = set()

    # -- life cycle ------------------------------------------------------------

    async def start(self) -> MSRPListener:
        """Listen (once); return the listener."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._listener is None:
                self._listener = await MSRPListener.start(
                    self.host, 0, on_message=self._hook, max_waiting=self.max_sessions,
                )
                self._name((self._listener.host, self._listener.port))
        return self._listener

    def _name(self, address: tuple[str, int]) -> None:
        """Draw the focus's MSRP sockets in the IM server's lane of the trace's ladders."""
        names = getattr(self.trace, "names", None)
        if isinstance(names, dict):
            names.setdefault(address, LANE)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await self.remove_room(room)
        if self._detaching:
            await asyncio.gather(*self._detaching, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    async def local_uri(self) -> MSRPURI:
        """A fresh MSRP URI of this focus (a new session-id on the listener)."""
        return (await self.start()).uri()

    # -- rooms and ports ---------------------------------------------------------

    def room(self, identity: str) -> Room:
        room = self.rooms.get(identity)
        if room is None:
            room = self.rooms[identity] = Room(identity)
        return room

    async def remove_room(self, room: Room) -> None:
        for port in list(room.ports.values()):
            await self.detach(port)
        self.rooms.pop(room.identity, None)

    def attach(self, room: Room, key: str, session: MSRPSession, *, cpim_from: cpim.NameAddr,
               active: bool) -> Port:
        """Add a participant's session to ``room``.  Passive: registered on the
        listener now (before the SIP answer goes out); active: the focus
        connects in the background.  Raises :class:`LocalProtocolError` when
        the listener holds too many sessions."""
        if self._listener is None:
            raise LocalProtocolError("the MSRP switch is not started")
        old = room.ports.get(key)
        if old is not None:
            # the participant's new session replaces its old one
            task = asyncio.ensure_future(self.detach(old))
            self._detaching.add(task)
            task.add_done_callback(self._detaching.discard)
        port = Port(room, key, session, cpim_from, active, queue=asyncio.Queue(self.queue_size))
        if not active:
            try:
                port.channel = self._listener.accept(session, on_message=self._hook,
                                                     on_event=self._on_event_of(port))
            except ValueError as exc:
                raise LocalProtocolError(str(exc)) from None
            port.state = PortState.OPEN
        room.ports[key] = port
        port.tasks.append(asyncio.ensure_future(self._run(port)))
        return port

    async def detach(self, port: Port) -> None:
        """Take a port out of its room and close its connection."""
        if port.room.ports.get(port.key) is port:
            del port.room.ports[port.key]
        port.state = PortState.CLOSED
        current = asyncio.current_task()
        for task in port.tasks:
            if task is not current:
                task.cancel()
        if port.channel is not None:
            # closing a passive port whose participant never connected takes
            # it off the listener (its place is free, a late SEND gets 481)
            await port.channel.close()
        # gather: a cancellation of the caller still propagates
        await asyncio.gather(*(t for t in port.tasks if t is not current), return_exceptions=True)
        port.tasks.clear()
        while not port.queue.empty():
            sender, _ = port.queue.get_nowait()
            self._failed(port.room, sender, port.key, "the recipient left before delivery")

    def _on_event_of(self, port: Port) -> Callable[[Event], None]:
        return lambda event: self._on_event(port, event)

    # -- running a port -------------------------------------------------------------

    async def _run(self, port: Port) -> None:
        try:
            if port.active:
                try:
                    port.channel = await MSRPChannel.connect(port.session, on_message=self._hook,
                                                             on_event=self._on_event_of(port))
                except (OSError, TimeoutError, ValueError, ProtocolError) as exc:
                    self._failed(port.room, port.key, None, f"cannot connect to the participant: {exc}")
                    return
                port.state = PortState.OPEN
                self._name(port.channel.local_address)
            writer = asyncio.ensure_future(self._write(port))
            port.tasks.append(writer)
            await self._read(port)
        finally:
            if port.state is not PortState.CLOSED:
                port.state = PortState.CLOSED
                if port.room.ports.get(port.key) is port and self.on_closed is not None:
                    self.on_closed(port)

    async def _read(self, port: Port) -> None:
        assert port.channel is not None
        while True:
            try:
                event = await port.channel.receive()
            except ChannelClosed:
                return
            if isinstance(event, MessageAborted):
                self._failed(port.room, port.key, None, f"incoming message aborted: {event.reason}")
                continue
            self.stats.received += 1
            self.forward(port, event)

    async def _write(self, port: Port) -> None:
        assert port.channel is not None
        channel = port.channel
        while True:
            sender, body = await port.queue.get()
            try:
                message_id = await channel.send(body, CPIM, failure_report=FailureReport.YES)
            except (ChannelClosed, LocalProtocolError) as exc:
                self._failed(port.room, sender, port.key, f"cannot send: {exc}")
                if isinstance(exc, ChannelClosed):
                    return
                continue
            port.in_flight[message_id] = sender
            self.stats.forwarded += 1

    def _on_event(self, port: Port, event: Event) -> None:
        if isinstance(event, SendFailed):
            sender = port.in_flight.pop(event.message_id, "?")
            self._failed(port.room, sender, port.key, f"{event.code or ''} {event.reason}".strip())
        elif isinstance(event, MessageSent):
            port.in_flight.pop(event.message_id, None)
        elif isinstance(event, ReportReceived) and not event.ok:
            sender = port.in_flight.pop(event.message_id, "?")
            self._failed(port.room, sender, port.key, f"failure report {event.status.code}")

    # -- forwarding ------------------------------------------------------------------

    def forward(self, sender: Port, message: MessageReceived) -> int:
        """Queue ``message`` from ``sender`` to every other port of its room;
        returns how many copies were queued."""
        room = sender.room
        try:
            body = self.rewrap(sender, message)
        except (MSRPParseError, LocalProtocolError) as exc:
            self._failed(room, sender.key, None, f"unreadable message/cpim: {exc}")
            return 0
        queued = 0
        for key, port in list(room.ports.items()):
            if key == sender.key:
                continue
            if port.state is PortState.CLOSED:
                self._failed(room, sender.key, key, "the recipient's connection is closed")
            elif not port.accepts_cpim:
                self._failed(room, sender.key, key, "the recipient does not accept message/cpim")
            else:
                try:
                    port.queue.put_nowait((sender.key, body))
                    queued += 1
                except asyncio.QueueFull:
                    self._failed(room, sender.key, key, "the recipient's queue is full")
        return queued

    def rewrap(self, sender: Port, message: MessageReceived) -> bytes:
        """The CPIM message the others get (see the module docstring)."""
        content_type = message.content_type or "text/plain"
        if content_type.split(";", 1)[0].strip().lower() == CPIM:
            original = cpim.unwrap(message.body)
            kept = tuple(h for h in original.headers if h.name != "From")
            headers = (cpim.CPIMHeader("From", str(sender.cpim_from)), *kept)
            if not original.get("To"):
                headers = (headers[0], cpim.CPIMHeader("To", f"<{sender.room.identity}>"), *headers[1:])
            return bytes(cpim.CPIMMessage(headers, original.content_headers, original.body))
        wrapped = cpim.wrap(
            message.body, content_type, from_=sender.cpim_from, to=sender.room.identity,
            datetime=datetime.now(UTC).replace(microsecond=0),
        )
        return bytes(wrapped)

    def _failed(self, room: Room, sender: str, recipient: str | None, reason: str) -> None:
        self.stats.failed += 1
        failure = Failure(room.identity, sender, recipient, reason)
        self.failures.append(failure)
        _log.warning("MSRP switch %s: %s -> %s: %s", room.identity, sender, recipient or "*", reason)
