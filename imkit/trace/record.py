"""One message seen on the wire: :class:`TraceRecord` and the enums it uses.

A record keeps the exact bytes that were sent or received, stamped with the
same ``now`` the sans-IO core was given, the transport and both addresses,
and, for messages imkit built, why each header is there (:class:`Provenance`).
The parsed message is computed on first use (``record.message``: SIP with
``imkit.sip.parse_datagram`` over UDP and ``imkit.sip.parse`` otherwise, MSRP
with ``imkit.msrp.parse``); when the bytes do not parse, ``record.message`` is
``None`` and ``record.parse_error`` says why: a trace keeps malformed messages
too, exactly as they travelled.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from imkit.errors import ParseError
from imkit.trace.provenance import Provenance

Address = tuple[str, int]

#: How much of a message's header block a tooltip or summary shows.
MAX_HEAD_CHARS = 4000


class Direction(enum.Enum):
    """Seen from the recording endpoint: sent by it, or received by it."""

    SENT = "sent"
    RECEIVED = "received"


class Protocol(enum.Enum):
    SIP = "SIP"
    MSRP = "MSRP"


class Transport(enum.Enum):
    """The transport the message travelled on.  TLS records hold the
    decrypted bytes (what the endpoint wrote into, or read from, TLS)."""

    UDP = "UDP"
    TCP = "TCP"
    TLS = "TLS"


def format_address(address: Address) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _frozen_provenance(
    provenance: Mapping[str, Any] | None,
) -> Mapping[str, tuple[Provenance, ...]]:
    if not provenance:
        return MappingProxyType({})
    frozen: dict[str, tuple[Provenance, ...]] = {}
    for name, reasons in provenance.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"provenance keys are header names, not {name!r}")
        items = tuple(reasons)
        if not all(isinstance(item, Provenance) for item in items):
            raise ValueError(f"provenance of {name!r} must be Provenance objects")
        frozen[name.lower()] = frozen.get(name.lower(), ()) + items
    return MappingProxyType(frozen)


def _check_address(address: Any, what: str) -> Address:
    if (not isinstance(address, tuple) or len(address) != 2 or not isinstance(address[0], str)
            or not address[0] or isinstance(address[1], bool) or not isinstance(address[1], int)
            or not 0 <= address[1] <= 65535):
        raise ValueError(f"{what} must be a (host, port) tuple, not {address!r}")
    return address


@dataclass(frozen=True)
class TraceRecord:
    """One message as it travelled.  ``seq`` numbers records from 0 in the
    order they were recorded and is never reused, even after the oldest
    records are dropped.  ``provenance`` maps a lower-cased full header name
    to the reasons it was added (kept as a read-only mapping of tuples)."""

    seq: int
    now: float
    direction: Direction
    protocol: Protocol
    transport: Transport
    local: Address
    remote: Address
    raw: bytes
    provenance: Mapping[str, Sequence[Provenance]] = field(
        default_factory=lambda: MappingProxyType({}))
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.now, (int, float)) or isinstance(self.now, bool) \
                or not math.isfinite(self.now):
            raise ValueError(f"now must be a finite number, not {self.now!r}")
        object.__setattr__(self, "now", float(self.now))
        for name, kind in (("direction", Direction), ("protocol", Protocol), ("transport", Transport)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be a {kind.__name__}")
        if self.protocol is Protocol.MSRP and self.transport is Transport.UDP:
            raise ValueError("MSRP runs over TCP or TLS, not UDP")
        _check_address(self.local, "local")
        _check_address(self.remote, "remote")
        if not isinstance(self.raw, bytes):
            raise ValueError("raw must be bytes")
        if self.label is not None and not isinstance(self.label, str):
            raise ValueError("label must be a string or None")
        object.__setattr__(self, "provenance", _frozen_provenance(self.provenance))

    # -- who talks to whom ------------------------------------------------
    @property
    def source(self) -> Address:
        return self.local if self.direction is Direction.SENT else self.remote

    @property
    def destination(self) -> Address:
        return self.remote if self.direction is Direction.SENT else self.local

    # -- the parsed message -------------------------------------------------
    @cached_property
    def _parsed(self) -> tuple[Any, ParseError | None]:
        if self.protocol is Protocol.SIP:
            from imkit import sip

            # a datagram is read as RFC 3261 18.3 says (bytes past
            # Content-Length dropped); a stream record must be one message
            parse = sip.parse_datagram if self.transport is Transport.UDP else sip.parse
            try:
                return parse(self.raw), None
            except sip.ParseError as exc:
                return None, exc
        from imkit import msrp

        try:
            return msrp.parse(self.raw), None
        except msrp.ParseError as exc:
            return None, exc

    @property
    def message(self) -> Any:
        """The parsed SIP or MSRP message, or ``None`` when the bytes are malformed."""
        return self._parsed[0]

    @property
    def parse_error(self) -> ParseError | None:
        """Why ``raw`` did not parse (``None`` when it did)."""
        return self._parsed[1]

    # -- text for people ------------------------------------------------------
    @property
    def first_line(self) -> str:
        """The start line as text (bytes that are not UTF-8 shown as U+FFFD)."""
        end = self.raw.find(b"\n")
        line = self.raw if end < 0 else self.raw[:end]
        return line.rstrip(b"\r").decode("utf-8", "replace")

    @property
    def head(self) -> str:
        """Start line and header fields (up to the empty line), as text."""
        end = self.raw.find(b"\r\n\r\n")
        if end < 0:
            end = self.raw.find(b"\n\n")
        head = self.raw if end < 0 else self.raw[:end]
        text = head.decode("utf-8", "replace").replace("\r\n", "\n")
        return text if len(text) <= MAX_HEAD_CHARS else text[:MAX_HEAD_CHARS] + "\n..."

    @property
    def is_response(self) -> bool:
        """A SIP or MSRP response (by its start line)."""
        parts = self.first_line.split(" ")
        if self.protocol is Protocol.SIP:
            return parts[0].startswith("SIP/")
        return len(parts) >= 3 and parts[0] == "MSRP" and parts[2].isdigit()

    @property
    def title(self) -> str:
        """What an arrow in a ladder says: the method, or status and reason.

        SIP uses the parsed message; MSRP the start line (``MSRP <tid>
        <METHOD>`` or ``MSRP <tid> <code> [<comment>]``, RFC 4975 section 9);
        a record that does not parse is titled ``malformed <protocol>``.
        """
        if self.message is None:
            return f"malformed {self.protocol.value}"
        if self.protocol is Protocol.SIP:
            if hasattr(self.message, "method"):
                return str(self.message.method)
            return f"{self.message.status} {self.message.reason}".strip()
        parts = self.first_line.split(" ", 3)
        return " ".join(parts[2:]) if len(parts) >= 3 else self.first_line

    @property
    def summary(self) -> str:
        """``title``, followed by the label in brackets when there is one."""
        return f"{self.title} [{self.label}]" if self.label else self.title
