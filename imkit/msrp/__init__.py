"""MSRP (RFC 4975, relays RFC 4976, connection set-up RFC 6135) and
``message/cpim`` (RFC 3862): the sans-IO core of the OMA IM User Plane.

Bytes in, bytes and events out; no sockets, no clock (``now`` is an
argument).  Modules: :mod:`~imkit.msrp.uri` (MSRP URIs),
:mod:`~imkit.msrp.headers` (typed header values), :mod:`~imkit.msrp.message`
(requests, responses, their bytes), :mod:`~imkit.msrp.parser` (one message or
a stream), :mod:`~imkit.msrp.chunking` (cutting and reassembling),
:mod:`~imkit.msrp.session` (one session on one connection),
:mod:`~imkit.msrp.events`, :mod:`~imkit.msrp.cpim`.
"""

from __future__ import annotations

from imkit.msrp import cpim, relay
from imkit.msrp.chunking import ChunkResult, Outcome, Reassembler, cut
from imkit.msrp.errors import HeaderValueError, ParseError
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
    Flag,
    Method,
    MSRPMessage,
    MSRPRequest,
    MSRPResponse,
    new_message_id,
    new_transaction_id,
)
from imkit.msrp.parser import Frame, StreamParser, parse
from imkit.msrp.session import (
    MSRPSession,
    Outgoing,
    Role,
    SessionConfig,
    SessionState,
    accepts,
)
from imkit.msrp.uri import MSRPURI, format_path, parse_path

__all__ = [  # noqa: RUF022 - grouped by topic
    # messages
    "parse", "ParseError", "HeaderValueError", "MSRPRequest", "MSRPResponse", "MSRPMessage",
    "Method", "Flag", "REASONS", "new_transaction_id", "new_message_id",
    "StreamParser", "Frame",
    # headers and URIs
    "Headers", "ByteRange", "Status", "FailureReport", "MSRPURI", "parse_path", "format_path",
    # chunks
    "cut", "Reassembler", "Outcome", "ChunkResult",
    # the session and its events
    "MSRPSession", "SessionConfig", "SessionState", "Role", "Outgoing", "accepts",
    "Event", "SessionBound", "MessageReceived", "MessageAborted", "RequestRejected",
    "MessageSent", "SendFailed", "ReportReceived",
    # message/cpim, RFC 4976 relays
    "cpim", "relay",
]
