"""Settings of the test IM Server and the protocol vocabulary it speaks.

:class:`ServerConfig` holds every knob of :class:`imkit.server.TestServer`
(domain, address, transports, registrar bounds, session timer minimum,
simulated users); the module constants say which methods, option tags
(RFC 3261 section 19.2) and body types the server knows.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError

__all__ = [
    "ACCEPT",
    "ALLOW",
    "KNOWN_METHODS",
    "SERVER_HEADER",
    "SUPPORTED_OPTIONS",
    "ServerConfig",
    "Transport",
    "parse_transports",
]

#: OMA IM Appendix F (unverified, see REFERENCES.md): servers send
#: ``Server: IM-serv/OMA1.0 <product>/<version>``.
SERVER_HEADER = "IM-serv/OMA1.0 imkit-test-server/0.1"

#: The methods the server and its simulated users accept (RFC 3261 20.5 Allow).
ALLOW: tuple[str, ...] = (
    "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "SUBSCRIBE", "NOTIFY", "REFER",
)

#: Methods known to exist but not accepted here: 405, not 501 (RFC 3261 21.4.6
#: and 21.5.2: 501 is for a method the server "does not recognize").
KNOWN_METHODS: frozenset[str] = frozenset(ALLOW) | {
    "UPDATE", "PRACK", "INFO", "MESSAGE", "PUBLISH",
}

#: Option tags understood in Require (RFC 3261 8.2.2.3): session timers (RFC
#: 4028), Replaces (RFC 3891), Refer-Sub (RFC 4488), multiple REFER (RFC 5368)
#: and URI-list services (RFC 5366, RFC 5367).  ``100rel`` (RFC 3262) is not
#: supported.
SUPPORTED_OPTIONS: frozenset[str] = frozenset({
    "timer", "replaces", "norefersub", "multiple-refer",
    "recipient-list-invite", "recipient-list-subscribe",
})

#: Body types a request to the server may carry (RFC 3261 21.4.13 Accept).
ACCEPT: tuple[str, ...] = (
    "application/sdp", "multipart/mixed", "application/resource-lists+xml", "message/sipfrag",
)

_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-.]*[A-Za-z0-9])?")


class Transport(enum.Enum):
    """The SIP transports the server listens on."""

    UDP = "udp"
    TCP = "tcp"

    @property
    def upper(self) -> str:
        return self.value.upper()


def parse_transports(value: str | tuple[str, ...] | list[str]) -> tuple[Transport, ...]:
    """``"udp,tcp"`` or ``("udp", "tcp")`` -> transports, in order, no repeats."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[Transport] = []
    for item in items:
        try:
            transport = Transport(str(item).strip().lower())
        except ValueError:
            raise LocalProtocolError(f"unknown transport {item!r} (udp or tcp)") from None
        if transport not in out:
            out.append(transport)
    if not out:
        raise LocalProtocolError("the server needs at least one transport")
    return tuple(out)


@dataclass(frozen=True)
class ServerConfig:
    """Every setting of a :class:`~imkit.server.TestServer`.

    Times are seconds.  ``min_se`` and ``min_expires`` may be set below the
    RFC floors (90 s for Min-SE, RFC 4028 section 5) so tests can run fast.
    """

    domain: str = "example.com"
    host: str = "127.0.0.1"
    #: UDP and TCP share this port; 0 picks a free one
    port: int = 0
    transports: tuple[Transport, ...] = (Transport.UDP, Transport.TCP)
    #: other host names served as the domain (besides the domain and host:port)
    aliases: tuple[str, ...] = ()
    # -- registrar (RFC 3261 section 10.3)
    require_auth: bool = False
    credentials: Mapping[str, str] = field(default_factory=dict)
    min_expires: int = 60
    max_expires: int = 3600
    #: for a REGISTER that names no expiry (capped by max_expires)
    default_expires: int = 3600
    max_bindings_per_user: int = 8
    max_registered_users: int = 1024
    # -- simulated users
    #: create a simulated user for an unknown user of the domain on demand
    auto_users: bool = True
    #: the behaviour of users created on demand (see imkit.server.behaviour)
    default_behaviour: str = "answer"
    max_users: int = 64
    #: sessions one simulated user holds at once; past them it answers 486
    max_user_sessions: int = 64
    #: seconds after the ACK a simulated user's MSRP connection may take to
    #: open and bind; a session whose media never comes up then ends with BYE
    msrp_wait: float = 32.0
    # -- session timers (RFC 4028), as UAS: the simulated users and the focus
    min_se: int = 90
    session_expires: int = 1800
    # -- routing
    #: SIP/IP Core URI (loose-routing proxy) for users with no binding here
    #: and no declared simulated user; ``None``: create simulated users
    core: str | None = None
    server_header: str = SERVER_HEADER

    def __post_init__(self) -> None:
        for name in (self.domain, *self.aliases):
            if not _HOST_RE.fullmatch(name):
                raise LocalProtocolError(f"{name!r} is not a host name")
        if not 0 <= self.port <= 65535:
            raise LocalProtocolError(f"port {self.port} out of range")
        if not self.transports:
            raise LocalProtocolError("the server needs at least one transport")
        if not 1 <= self.min_expires <= min(self.default_expires, self.max_expires):
            raise LocalProtocolError("need 1 <= min_expires <= default_expires and max_expires")
        if min(self.max_bindings_per_user, self.max_registered_users, self.max_users, self.max_user_sessions) < 1:
            raise LocalProtocolError("the bounds on users and bindings are at least 1")
        if not self.msrp_wait > 0:
            raise LocalProtocolError("msrp_wait is a positive number of seconds")
        if not 1 <= self.min_se <= self.session_expires:
            raise LocalProtocolError("need 1 <= min_se <= session_expires")
