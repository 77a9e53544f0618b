"""The asyncio runtime: the only part of imkit's SIP stack that does I/O.

:class:`Endpoint` binds UDP, TCP and TLS sockets on 127.0.0.1 (or any given
host), drives the sans-IO transaction layer with ``loop.time()`` as ``now``
and feeds the optional trace recorder.  MSRP has its own transport
(:mod:`imkit.runtime.msrp_transport`).
"""

from __future__ import annotations

from imkit.runtime.endpoint import (
    Endpoint,
    Handler,
    IncomingRequest,
    Limits,
    OutgoingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener, RelayConnection
from imkit.runtime.transport import (
    StreamTransport,
    TransportError,
    TransportLimits,
    UdpTransport,
)

__all__ = [
    "MSRPChannel",
    "MSRPListener",
    "RelayConnection",
    "Endpoint",
    "Handler",
    "IncomingRequest",
    "Limits",
    "OutgoingRequest",
    "StreamTransport",
    "TransactionTimeout",
    "TransportError",
    "TransportFailure",
    "TransportLimits",
    "UdpTransport",
]
