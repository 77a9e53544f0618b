"""One log line per message the test IM Server sends or receives.

:class:`WireLog` stands where the runtime expects a trace recorder
(``Endpoint(trace=...)``, and the ``on_message`` hook of an MSRP channel):
it writes one ``logging`` line per message -- what the standalone ``imkit
server`` prints -- and passes the record on to the server's
:class:`imkit.trace.Trace`, if it has one.

A simulated user's SIP messages all travel to or from the server (its
proxy records the route of every session), so the server's own records
show them; recording them again from the user's side would draw each
twice.  A simulated user's log therefore records only MSRP (``protocols``),
which goes peer to peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from imkit.trace import Direction, Protocol, Trace, Transport, format_address

__all__ = ["WireLog", "summary"]

Address = tuple[str, int]
_SUMMARY_BYTES = 2048


def summary(raw: bytes) -> str:
    """The first line of a message and, for SIP, its CSeq and Call-ID:
    ``INVITE sip:bob@example.com (1 INVITE, call a84b4c76)``."""
    head = raw[:_SUMMARY_BYTES]
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        if colon and key in (b"cseq", b"call-id", b"i"):
            fields.setdefault("cseq" if key == b"cseq" else "call-id",
                              value.strip().decode("utf-8", "replace"))
    details = [fields[k] for k in ("cseq",) if k in fields]
    if "call-id" in fields:
        details.append(f"call {fields['call-id'][:64]}")
    if not first:
        first = repr(head[:40])
    return f"{first[:160]} ({', '.join(details)})" if details else first[:160]


class WireLog:
    """A trace recorder stand-in: logs each message, then records it."""

    def __init__(
        self,
        logger: logging.Logger,
        trace: Trace | None = None,
        *,
        prefix: str = "",
        protocols: Collection[Protocol] = (Protocol.SIP, Protocol.MSRP),
        lane: str | None = None,
    ) -> None:
        self.logger = logger
        self.trace = trace
        self.prefix = prefix
        self.protocols = frozenset(protocols)
        self.lane = lane

    def record(
        self,
        now: float,
        direction: Direction,
        protocol: Protocol,
        transport: Transport,
        local: Address,
        remote: Address,
        raw: bytes,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        """What ``Endpoint`` calls for every SIP message (the Trace signature)."""
        if self.logger.isEnabledFor(logging.INFO):
            # formatted only when the line is written (``imkit server -q`` writes none)
            arrow = "->" if direction is Direction.SENT else "<-"
            note = f" [{label}]" if label else ""
            self.logger.info(
                "%s%s %s %s %s %s %s%s", self.prefix, "sent" if direction is Direction.SENT else "recv",
                transport.value, format_address(local), arrow, format_address(remote), summary(raw), note,
            )
        if self.trace is None or protocol not in self.protocols:
            return
        if self.lane is not None:
            self.trace.names.setdefault(tuple(local), self.lane)  # type: ignore[arg-type]
        self.trace.record(now, direction, protocol, transport, local, remote, raw,
                          provenance=provenance, label=label)

    def msrp_hook(self) -> Callable[[Direction, Address, Address, bytes, Any, float], None]:
        """An ``on_message`` hook for :class:`imkit.runtime.msrp_transport.MSRPChannel`."""

        def hook(direction: Direction, local: Address, remote: Address, raw: bytes,
                 parsed: Any, now: float) -> None:
            self.record(now, direction, Protocol.MSRP, Transport.TCP, local, remote, raw)

        return hook
