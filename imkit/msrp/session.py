"""One MSRP session, sans-IO (RFC 4975 sections 5.3, 5.4, 7; RFC 6135).

:class:`MSRPSession` is the endpoint side of one chat session on one
connection.  It is fed what arrives (``receive_data`` / ``receive_message``)
and the passing of time (``handle_timer(now)``, ``next_deadline()``); it
hands out what to write (``data_to_send(now)``) and what happened
(``next_event()``, :mod:`imkit.msrp.events`).  It reads no clock and opens no
socket.

What it does:

* cuts outgoing messages into chunks (``chunk_size``, 2048 bytes unless told
  otherwise) with Byte-Range, interleaving messages round-robin and keeping
  at most ``max_pending_transactions`` chunks unanswered;
* answers SENDs with 200 (none when ``Failure-Report: no``, errors only when
  ``partial``), puts chunks back together (:mod:`imkit.msrp.chunking`), sends
  a success REPORT when ``Success-Report: yes`` once the whole message is in,
  and failure REPORTs for messages whose chunks stop coming;
* answers 481 to a request whose To-Path is not this session (section 7.3),
  415 to content outside ``accept_types``, 413 beyond the size bounds, 501 to
  methods it does not know; never answers a REPORT;
* times transactions out (``transaction_timeout``, default 30 s: a 408);
* binds the connection (section 5.4, RFC 6135): the active side sends a SEND
  at once, empty when nothing is queued; the passive side sends nothing
  until a request for the session has arrived.

From SDP it needs (see ``imkit.sip.sdp.MsrpMedia``): the local ``a=path``
(``local_path``: relays, then this endpoint's own URI last), the remote
``a=path`` (``remote_path``), who is active (``role``, from ``a=setup``),
the local ``a=accept-types`` (``accept_types``), the remote one
(``remote_accept_types``) and the remote ``a=max-size``
(``remote_max_size``).
"""

from __future__ import annotations

import enum
import random
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imkit.errors import LocalProtocolError
from imkit.msrp.chunking import Outcome, Reassembler, cut
from imkit.msrp.errors import ParseError
from imkit.msrp.events import (
    Event,
    MessageAborted,
    MessageReceived,
    MessageSent,
    ReportReceived,
    RequestRejected,
    SendFailed,
    SessionBound,
)
from imkit.msrp.headers import ByteRange, FailureReport, Headers, Status
from imkit.msrp.message import (
    REASONS,
    TRANSACTION_ID_RE,
    Flag,
    Method,
    MSRPMessage,
    MSRPRequest,
    MSRPResponse,
    new_message_id,
    new_transaction_id,
)
from imkit.msrp.parser import StreamParser
from imkit.msrp.uri import MSRPURI, format_path

__all__ = [
    "MSRPSession",
    "Outgoing",
    "Role",
    "SessionConfig",
    "SessionState",
    "accepts",
]

# the header fields every chunk gets from the session
_SESSION_HEADERS = frozenset({"to-path", "from-path", "message-id", "byte-range", "success-report",
                              "failure-report", "status", "content-type"})
# RFC 4975 section 9: format-entry = "*" / (type "/" subtype) / (type "/" "*")
_MEDIA_TYPE_RE = re.compile(r"[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+(?:\s*;.*)?", re.DOTALL)


class Role(enum.Enum):
    """Who opens the connection (RFC 4975 section 5.4; RFC 6135 ``a=setup``).

    ``imkit.sip.sdp.msrp_active_side(offer, answer)`` says which end of the
    offer/answer is active; the session on that end is ``ACTIVE``.
    """

    ACTIVE = "active"
    PASSIVE = "passive"


class SessionState(enum.Enum):
    IDLE = "idle"              # no connection yet
    CONNECTED = "connected"    # a connection, not yet bound to the session
    BOUND = "bound"            # the connection carries this session
    CLOSED = "closed"          # the connection is gone; the session is over


@dataclass(frozen=True)
class SessionConfig:
    """Sizes, bounds and timers of a session."""

    chunk_size: int = 2048                 # body bytes per outgoing chunk
    max_chunk_size: int = 1 << 20          # largest incoming chunk body
    max_message_size: int = 16 << 20       # largest incoming message
    max_incoming_messages: int = 16        # incoming messages incomplete at once
    max_outgoing_messages: int = 64        # outgoing messages queued or unanswered
    max_pending_transactions: int = 256    # chunks sent and not yet answered
    transaction_timeout: float = 30.0      # seconds to wait for a response
    reassembly_timeout: float = 120.0      # idle seconds before a partial message is dropped

    def __post_init__(self) -> None:
        if min(self.chunk_size, self.max_incoming_messages, self.max_outgoing_messages,
               self.max_pending_transactions) < 1:
            raise LocalProtocolError("chunk size and bounds are at least 1")
        if self.max_chunk_size < 0 or self.max_message_size < 0:
            raise LocalProtocolError("size bounds are not negative")
        if self.transaction_timeout <= 0 or self.reassembly_timeout <= 0:
            raise LocalProtocolError("timeouts are positive")


@dataclass(frozen=True)
class Outgoing:
    """One message to write: its bytes and the parsed form (for traces)."""

    raw: bytes
    message: MSRPMessage


@dataclass(eq=False)
class _Outbound:
    """An outgoing message and how far it got."""

    message_id: str
    body: bytes
    content_type: str | None        # None: a SEND without content (the bind)
    success_report: bool
    failure_report: FailureReport
    headers: tuple[tuple[str, str], ...]
    is_bind: bool = False
    offset: int = 0
    chunks_out: int = 0
    acked: int = 0
    done_sending: bool = False
    abort: bool = False


@dataclass(eq=False)
class _Inbound:
    """What the chunks of an incoming message asked for."""

    report_to: str
    success_report: bool
    failure_report: FailureReport


def accepts(patterns: Iterable[str], media_type: str) -> bool:
    """Does an ``a=accept-types`` list admit ``media_type`` (``*``, ``type/*``)?"""
    wanted = media_type.split(";", 1)[0].strip().lower()
    kind = wanted.split("/", 1)[0]
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern in ("*", "*/*", wanted) or pattern == f"{kind}/*":
            return True
    return False


def _uris(path: Sequence[MSRPURI | str], what: str) -> tuple[MSRPURI, ...]:
    uris = []
    for uri in path:
        if isinstance(uri, str):
            try:
                uri = MSRPURI.parse(uri)
            except ParseError as exc:
                raise LocalProtocolError(f"{what}: {exc.what}") from None
        uris.append(uri)
    if not uris:
        raise LocalProtocolError(f"{what} needs at least one MSRP URI")
    return tuple(uris)


class MSRPSession:
    """The sans-IO MSRP endpoint for one session (see the module docstring)."""

    def __init__(
        self,
        local_path: Sequence[MSRPURI | str],
        remote_path: Sequence[MSRPURI | str],
        role: Role,
        *,
        config: SessionConfig | None = None,
        accept_types: Sequence[str] = ("*",),
        remote_accept_types: Sequence[str] = ("*",),
        remote_max_size: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.local_path = _uris(local_path, "local path")
        self.remote_path = _uris(remote_path, "remote path")
        self.role = role
        self.config = config or SessionConfig()
        self.accept_types = tuple(accept_types)
        self.remote_accept_types = tuple(remote_accept_types)
        self.remote_max_size = remote_max_size
        self.state = SessionState.IDLE
        self._rng = rng
        # RFC 4976: requests go through this endpoint's relays and then along
        # the peer's path; From-Path is this endpoint alone.
        self._to_path = format_path(self.local_path[:-1] + self.remote_path)
        self._from_path = str(self.local_uri)
        self._parser = StreamParser(max_chunk_size=self.config.max_chunk_size)
        self._reassembler = Reassembler(
            max_message_size=self.config.max_message_size,
            max_messages=self.config.max_incoming_messages,
        )
        self._inbound: dict[str, _Inbound] = {}
        self._outbound: dict[str, _Outbound] = {}
        self._rotation: deque[_Outbound] = deque()
        # transaction id -> (message id, deadline); insertion order is
        # deadline order, since ``now`` never goes back
        self._pending: dict[str, tuple[str, float]] = {}
        # Failure-Report: partial chunks: no 200 comes, but an error may
        self._partial: OrderedDict[str, str] = OrderedDict()
        self._control: deque[MSRPMessage] = deque()
        self._events: deque[Event] = deque()
        self._bind_pending = False
        self._bind_transaction: str | None = None

    @property
    def local_uri(self) -> MSRPURI:
        """This endpoint's own URI: the last of its path."""
        return self.local_path[-1]

    # -- the connection -----------------------------------------------------

    def connection_made(self, now: float) -> None:
        """The transport connection is up (opened by us if ``ACTIVE``)."""
        if self.state is not SessionState.IDLE:
            raise LocalProtocolError(f"connection_made in state {self.state.value}")
        self.state = SessionState.CONNECTED
        # RFC 4975 section 5.4 (paraphrased): once connected, the active
        # endpoint immediately sends a SEND, with a body if it has something
        # to say and without one otherwise; that first SEND is what binds
        # the connection to the session on the passive side.
        self._bind_pending = self.role is Role.ACTIVE

    def connection_lost(self, now: float) -> None:
        """The connection closed: every message in flight fails."""
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.CLOSED
        for message_id, outbound in list(self._outbound.items()):
            if not outbound.is_bind:
                self._events.append(SendFailed(message_id, None, "connection closed"))
        for message_id in list(self._inbound):
            self._reassembler.discard(message_id)
            self._events.append(MessageAborted(message_id, "connection closed"))
        self._outbound.clear()
        self._rotation.clear()
        self._pending.clear()
        self._partial.clear()
        self._inbound.clear()
        self._control.clear()

    # -- sending ------------------------------------------------------------

    def send_message(
        self,
        body: bytes,
        content_type: str = "text/plain",
        *,
        success_report: bool = False,
        failure_report: FailureReport = FailureReport.YES,
        message_id: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Queue a message; returns its Message-ID.  Raises
        :class:`LocalProtocolError` when the peer does not accept the type
        or size, or the outgoing queue is full."""
        if self.state is SessionState.CLOSED:
            raise LocalProtocolError("the session is closed")
        if not isinstance(body, bytes):
            raise LocalProtocolError("body must be bytes")
        if _MEDIA_TYPE_RE.fullmatch(content_type) is None:
            raise LocalProtocolError(f"bad Content-Type {content_type!r}")
        # RFC 4975 section 8.6: an endpoint sends only the media types the
        # peer listed in its a=accept-types.
        if not accepts(self.remote_accept_types, content_type):
            raise LocalProtocolError(f"the peer does not accept {content_type}")
        if self.remote_max_size is not None and len(body) > self.remote_max_size:
            raise LocalProtocolError(f"the peer takes at most {self.remote_max_size} bytes")
        if len(self._outbound) >= self.config.max_outgoing_messages:
            raise LocalProtocolError("outgoing queue full")
        if message_id is None:
            message_id = new_message_id(self._rng)
        elif TRANSACTION_ID_RE.fullmatch(message_id) is None:
            raise LocalProtocolError(f"a Message-ID is an ident, not {message_id!r}")
        if message_id in self._outbound:
            raise LocalProtocolError(f"message {message_id} is already being sent")
        extra = tuple(headers)
        Headers(extra)  # check the extra fields now, not at the first chunk
        for name, _ in extra:
            if name.lower() in _SESSION_HEADERS:
                raise LocalProtocolError(f"the session writes {name} itself")
        outbound = _Outbound(message_id, body, content_type, success_report, failure_report, extra)
        self._outbound[message_id] = outbound
        self._rotation.append(outbound)
        return message_id

    def abort_message(self, message_id: str) -> None:
        """Stop sending a message: its next chunk goes out flagged ``#``
        (RFC 4975 section 5.1); one not started is simply dropped."""
        outbound = self._outbound.get(message_id)
        if outbound is None or outbound.done_sending:
            return
        if outbound.chunks_out == 0:
            self._drop(outbound)
            self._events.append(SendFailed(message_id, None, "aborted before sending"))
        else:
            outbound.abort = True

    def data_to_send(self, now: float, max_bytes: int = 65536) -> list[Outgoing]:
        """What to write now: every pending response and REPORT, then chunks
        up to about ``max_bytes``, as long as the window allows."""
        out: list[Outgoing] = []
        size = 0
        while self._control:
            message = self._control.popleft()
            raw = bytes(message)
            out.append(Outgoing(raw, message))
            size += len(raw)
        if self.state is SessionState.CONNECTED and self._bind_pending:
            self._bind_pending = False
            self.state = SessionState.BOUND
            if not self._rotation:
                bind = _Outbound(new_message_id(self._rng), b"", None, False, FailureReport.YES, (),
                                 is_bind=True)
                self._outbound[bind.message_id] = bind
                self._rotation.append(bind)
            request = self._next_chunk(self._rotation[0], now)
            self._bind_transaction = request.transaction_id
            out.append(Outgoing(bytes(request), request))
            size += len(out[-1].raw)
        if self.state is not SessionState.BOUND:
            return out
        while (self._rotation and size < max_bytes
               and len(self._pending) < self.config.max_pending_transactions):
            request = self._next_chunk(self._rotation[0], now)
            raw = bytes(request)
            out.append(Outgoing(raw, request))
            size += len(raw)
        return out

    def _next_chunk(self, outbound: _Outbound, now: float) -> MSRPRequest:
        byte_range, piece, last = cut(outbound.body, outbound.offset, self.config.chunk_size)
        flag = Flag.ABORT if outbound.abort else Flag.END if last else Flag.MORE
        fields = [("To-Path", self._to_path), ("From-Path", self._from_path),
                  ("Message-ID", outbound.message_id)]
        if outbound.success_report:
            fields.append(("Success-Report", "yes"))
        if outbound.failure_report is not FailureReport.YES:
            fields.append(("Failure-Report", outbound.failure_report.value))
        fields.append(("Byte-Range", str(byte_range)))
        fields.extend(outbound.headers)
        body = None
        if outbound.content_type is not None:
            fields.append(("Content-Type", outbound.content_type))
            body = piece
        request = MSRPRequest(new_transaction_id(piece, self._rng), Method.SEND.value,
                              Headers(tuple(fields)), body, flag)
        outbound.offset += len(piece)
        outbound.chunks_out += 1
        outbound.done_sending = last or outbound.abort
        if outbound.done_sending:
            self._rotation.remove(outbound)
        else:
            self._rotation.rotate(-1)
        tid = request.transaction_id
        if outbound.failure_report is FailureReport.YES:
            self._pending[tid] = (outbound.message_id, now + self.config.transaction_timeout)
        elif outbound.failure_report is FailureReport.PARTIAL:
            self._partial[tid] = outbound.message_id
            while len(self._partial) > self.config.max_pending_transactions:
                self._partial.popitem(last=False)
        if outbound.abort:
            self._fail(outbound.message_id, None, "aborted")
        elif outbound.done_sending and outbound.failure_report is not FailureReport.YES:
            # no 200 will come: the message is sent once it is written
            self._drop(outbound)
            self._events.append(MessageSent(outbound.message_id))
        return request

    def _drop(self, outbound: _Outbound) -> None:
        self._outbound.pop(outbound.message_id, None)
        if outbound in self._rotation:
            self._rotation.remove(outbound)

    def _fail(self, message_id: str, code: int | None, reason: str) -> None:
        outbound = self._outbound.get(message_id)
        if outbound is not None:
            self._drop(outbound)
        for tid in [t for t, (mid, _) in self._pending.items() if mid == message_id]:
            del self._pending[tid]
        for tid in [t for t, mid in self._partial.items() if mid == message_id]:
            del self._partial[tid]
        self._events.append(SendFailed(message_id, code, reason))

    # -- receiving ----------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the connection.  A :class:`~imkit.msrp.ParseError`
        means the stream is broken: close the connection."""
        for frame in self._parser.feed(data):
            self.receive_message(frame.message, now)

    def receive_message(self, message: MSRPMessage, now: float) -> None:
        """One parsed message from the connection."""
        if self.state is SessionState.CLOSED:
            return
        if isinstance(message, MSRPResponse):
            self._on_response(message)
        else:
            self._on_request(message, now)

    def _on_response(self, response: MSRPResponse) -> None:
        tid = response.transaction_id
        entry = self._pending.pop(tid, None)
        message_id = entry[0] if entry is not None else self._partial.pop(tid, None)
        if message_id is None:
            return  # answers no transaction of ours: nothing to do
        if 200 <= response.code < 300:
            if tid == self._bind_transaction:
                self._bind_transaction = None
                self._events.append(SessionBound())
            outbound = self._outbound.get(message_id)
            if outbound is not None:
                outbound.acked += 1
                if outbound.done_sending and outbound.acked == outbound.chunks_out:
                    self._drop(outbound)
                    if not outbound.is_bind:
                        self._events.append(MessageSent(message_id))
        else:
            if tid == self._bind_transaction:
                self._bind_transaction = None
            comment = response.comment or REASONS.get(response.code, "")
            self._fail(message_id, response.code, comment)

    def _on_request(self, request: MSRPRequest, now: float) -> None:
        to_path = request.to_path
        # RFC 4975 section 7.3: "When the request is received, the To-Path
        # will have exactly one URI, which MUST map to an existing session
        # that is associated with the connection on which the request
        # arrived.  If this is not true, the receiver MUST generate a 481
        # error and ignore the request."
        if len(to_path) != 1 or not to_path[0].matches(self.local_uri):
            self._reject(request, 481)
            return
        if self.state is not SessionState.BOUND:
            self.state = SessionState.BOUND
            self._bind_pending = False
            self._events.append(SessionBound())
        if request.method == Method.SEND.value:
            self._on_send(request, now)
        elif request.method == Method.REPORT.value:
            self._on_report(request)
        else:
            # RFC 4975 section 10: 501 is for a request method the recipient
            # does not understand.
            self._reject(request, 501)

    def _reject(self, request: MSRPRequest, code: int, reason: str | None = None) -> None:
        reason = reason or REASONS[code]
        self._events.append(RequestRejected(request.transaction_id, request.method, code, reason))
        # RFC 4975 section 7.1.2: REPORT requests get no response at all.
        if request.method == Method.REPORT.value:
            return
        # "no": no response of any kind; "partial": only error responses.
        if request.failure_report is FailureReport.NO:
            return
        self._control.append(MSRPResponse.answering(request, code, reason, local_uri=self.local_uri))

    def _accept(self, request: MSRPRequest) -> None:
        # RFC 4975 section 7.2: a 200 only when Failure-Report is "yes"
        # (or absent); "partial" asks for error responses only.
        if request.failure_report is FailureReport.YES:
            self._control.append(MSRPResponse.answering(request, 200, local_uri=self.local_uri))

    def _on_send(self, request: MSRPRequest, now: float) -> None:
        body = request.body
        if body is None:
            # A SEND without content: the bind of section 5.4, or a keep-alive.
            self._accept(request)
            return
        message_id = request.message_id
        if message_id is None:
            self._reject(request, 400, "SEND without Message-ID")
            return
        media_type = request.media_type
        if media_type is not None and not accepts(self.accept_types, media_type):
            # RFC 4975 section 7.3.1: content the endpoint does not accept
            # gets 415.
            self._abandon(message_id, "unsupported media type")
            self._reject(request, 415)
            return
        result = self._reassembler.add(message_id, request.byte_range, body, request.flag,
                                       request.content_type, now)
        outcome = result.outcome
        if outcome in (Outcome.TOO_LARGE, Outcome.TOO_MANY):
            self._abandon(message_id, "message too large")
            self._reject(request, 413)
            return
        if outcome is Outcome.INCONSISTENT:
            self._abandon(message_id, "inconsistent Byte-Range")
            self._reject(request, 400, "Byte-Range contradicts earlier chunks")
            return
        self._accept(request)
        if outcome is Outcome.PENDING:
            inbound = self._inbound.get(message_id)
            if inbound is None:
                self._inbound[message_id] = self._inbound_of(request)
            else:
                inbound.success_report |= request.success_report
        elif outcome is Outcome.COMPLETE:
            inbound = self._inbound.pop(message_id, None) or self._inbound_of(request)
            assert result.body is not None
            self._events.append(MessageReceived(message_id, result.content_type, result.body))
            if inbound.success_report or request.success_report:
                # RFC 4975 section 7.1.3: a success report once the whole
                # message has been received.
                total = len(result.body)
                self._report(message_id, inbound, ByteRange(1, total, total), Status(200, "OK"))
        elif outcome is Outcome.ABORTED:
            self._inbound.pop(message_id, None)
            self._events.append(MessageAborted(message_id, "aborted by the sender"))

    def _inbound_of(self, request: MSRPRequest) -> _Inbound:
        # RFC 4975 section 7.1.2: a REPORT goes back along the From-Path of
        # the SEND it is about.
        report_to = request.headers.get("From-Path")
        assert report_to is not None
        return _Inbound(report_to, request.success_report, request.failure_report)

    def _abandon(self, message_id: str, reason: str) -> None:
        if self._inbound.pop(message_id, None) is not None:
            self._events.append(MessageAborted(message_id, reason))
        self._reassembler.discard(message_id)

    def _report(self, message_id: str, inbound: _Inbound, byte_range: ByteRange,
                status: Status) -> None:
        fields = (
            ("To-Path", inbound.report_to),
            ("From-Path", self._from_path),
            ("Message-ID", message_id),
            ("Byte-Range", str(byte_range)),
            ("Status", str(status)),
        )
        self._control.append(MSRPRequest(new_transaction_id(None, self._rng), Method.REPORT.value,
                                         Headers(fields)))

    def _on_report(self, request: MSRPRequest) -> None:
        message_id, status = request.message_id, request.status
        if message_id is None or status is None:
            return  # a REPORT must carry both; it is never answered
        self._events.append(ReportReceived(message_id, status, request.byte_range))
        if status.code != 200 and message_id in self._outbound:
            self._fail(message_id, status.code, status.reason or REASONS.get(status.code, ""))

    # -- time ---------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` has something to do, or ``None``."""
        deadlines = []
        if self._pending:
            deadlines.append(next(iter(self._pending.values()))[1])
        expiry = self._reassembler.next_expiry(self.config.reassembly_timeout)
        if expiry is not None:
            deadlines.append(expiry)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        """Time out transactions and stalled incoming messages due by ``now``."""
        while self._pending:
            tid, (message_id, deadline) = next(iter(self._pending.items()))
            if deadline > now:
                break
            del self._pending[tid]
            # RFC 4975 section 7.1.1: no response in time is treated as a 408.
            self._fail(message_id, 408, "Request Timeout")
        for message_id in self._reassembler.expire(now, self.config.reassembly_timeout):
            inbound = self._inbound.pop(message_id, None)
            self._events.append(MessageAborted(message_id, "chunks stopped coming"))
            if inbound is not None and inbound.failure_report is not FailureReport.NO:
                # RFC 4975 section 7.1.4: a failure report for a message the
                # endpoint will not deliver.
                self._report(message_id, inbound, ByteRange(1, None, None),
                             Status(408, "Request Timeout"))

    # -- events -------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The oldest event not yet handed out, or ``None``."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[Event]:
        """Every event not yet handed out."""
        events = list(self._events)
        self._events.clear()
        return events
