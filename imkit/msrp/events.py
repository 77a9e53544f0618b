"""What an MSRP session reports to its user: frozen dataclass events.

:class:`imkit.msrp.session.MSRPSession` queues these; ``next_event()`` hands
them out in order.  Incoming side: :class:`SessionBound`,
:class:`MessageReceived`, :class:`MessageAborted`, :class:`RequestRejected`;
outgoing side: :class:`MessageSent`, :class:`SendFailed`,
:class:`ReportReceived`.
"""

from __future__ import annotations

from dataclasses import dataclass

from imkit.msrp.headers import ByteRange, Status

__all__ = [
    "Event",
    "MessageAborted",
    "MessageReceived",
    "MessageSent",
    "ReportReceived",
    "RequestRejected",
    "SendFailed",
    "SessionBound",
]


@dataclass(frozen=True)
class Event:
    """Base of every session event."""


@dataclass(frozen=True)
class SessionBound(Event):
    """The connection is bound to the session (RFC 4975 section 5.4): on the
    passive side the first request for it arrived; on the active side the
    peer accepted the first SEND."""


@dataclass(frozen=True)
class MessageReceived(Event):
    """A complete incoming message (all its chunks put together)."""

    message_id: str
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class MessageAborted(Event):
    """An incoming message will not complete: the sender aborted it (``#``),
    it grew too large, or its chunks stopped coming."""

    message_id: str
    reason: str


@dataclass(frozen=True)
class RequestRejected(Event):
    """This session answered a request with an error (or would have, had
    ``Failure-Report: no`` not forbidden the response)."""

    transaction_id: str
    method: str
    code: int
    reason: str


@dataclass(frozen=True)
class MessageSent(Event):
    """Every chunk of an outgoing message was accepted: each got a 200, or was
    handed out when the message asked for no responses."""

    message_id: str


@dataclass(frozen=True)
class SendFailed(Event):
    """An outgoing message failed: an error response (``code``), a timeout
    (408, RFC 4975 section 7.1.1), the connection closing or a local abort
    (``code`` None)."""

    message_id: str
    code: int | None
    reason: str


@dataclass(frozen=True)
class ReportReceived(Event):
    """A REPORT about one of the messages (RFC 4975 section 7.1.2); a success
    report has status 200."""

    message_id: str
    status: Status
    byte_range: ByteRange | None

    @property
    def ok(self) -> bool:
        return self.status.code == 200
