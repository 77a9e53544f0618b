"""A SIP endpoint on asyncio: transports, the transaction layer, timers, trace.

:class:`Endpoint` drives the sans-IO :class:`imkit.sip.transaction_layer.TransactionLayer`:
it feeds it the messages the transports deliver, with ``now = loop.time()``,
performs the outputs (send, deliver, report), and arms the layer's next
deadline with ``loop.call_at``.  Around that it does what a user agent's
transport and core need:

* next hop (RFC 3261 8.1.2): an explicit destination, else the outbound
  proxy, else the first Route (loose routing), else the Request-URI; the
  transport comes from ``transport=`` (``sips:`` means TLS), the port
  defaults to 5060/5061, names resolve with ``getaddrinfo`` (no RFC 3263);
* the top Via: the endpoint owns it (transport and sent-by of the socket used,
  ``rport`` per RFC 3581, a fresh branch unless the caller's is unused);
* bad input: a request that does not parse but has a request line and the
  headers a response needs gets a 400 (505 for another SIP version); a
  response that does not parse is dropped; a stream with a bad
  Content-Length is closed (by the transport);
* every message sent or received goes to the optional trace recorder, with
  the same ``now`` the layer got;
* TCP beside UDP (RFC 3261 18.2.1: "For any port and interface that a server
  listens on for UDP, it MUST listen on that same port and interface for
  TCP."): an endpoint with UDP listens on TCP on the same host and port
  (``pair_tcp``, on by default; with ``udp_port=0`` the port is the one UDP
  got, a few tries when TCP finds it taken);
* big requests over TCP (RFC 3261 18.1.1: "If a request is within 200 bytes
  of the path MTU, or if it is larger than 1300 bytes and the path MTU is
  unknown, the request MUST be sent using an RFC 2914 congestion controlled
  transport protocol, such as TCP.  If this causes a change in the transport
  protocol from the one indicated in the top Via, the value in the top Via
  MUST be changed."): a request whose bytes exceed ``udp_mtu`` (1300 by
  default, the path MTU being unknown; ``None`` turns the switch off) and
  whose next hop is UDP goes over TCP to the same host and port, the server
  there listening on TCP too (18.2.1).  Its top Via becomes
  ``SIP/2.0/TCP`` with the sent-by of our TCP listener and the same branch
  before the client transaction starts, so the transaction, the trace and
  the wire agree.  When no TCP connection can be opened there (refused,
  timed out, no TCP transport here), the request goes over UDP after all,
  its Via unchanged, and the trace gets a note (key :data:`NOTE_UDP_MTU`)
  saying why.  Responses are not switched: they follow the Via (18.2.2).

  The requests that belong to another: a CANCEL goes where its INVITE went
  (9.1: "The destination address, port, and transport for the CANCEL MUST
  be identical to those used to send the original request."), and so does
  the ACK of a non-2xx, sent by the INVITE transaction (17.1.1.3: "The ACK
  MUST be sent to the same address, port, and transport to which the
  original request was sent."); both copy the INVITE's top Via, so they
  follow the switch (or the fallback) with no size test of their own.  The
  ACK of a 2xx is a request of the TU sent without a transaction (13.2.2.4:
  "the procedures of [4] are used to determine the destination address,
  port and transport"), so the size rule applies to it on its own: it
  usually stays on UDP after an INVITE that went over TCP.

Incoming requests go to ``handler`` (an async callable receiving an
:class:`IncomingRequest`, which may return the response to send).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from imkit.errors import LocalProtocolError, ParseError, ProtocolError
from imkit.runtime.transport import (
    Address,
    StreamTransport,
    TransportError,
    TransportLimits,
    UdpTransport,
)
from imkit.sip.builders import make_response
from imkit.sip.framing import parse_datagram
from imkit.sip.headers import split_list
from imkit.sip.ids import MAGIC_COOKIE, IdGenerator
from imkit.sip.message import MAX_MESSAGE_SIZE, Request, Response, SIPMessage, parse
from imkit.sip.params import Params
from imkit.sip.transaction import (
    AckNotReceived,
    CancelReceived,
    ClientTransaction,
    Destination,
    Output,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    ServerTransaction,
    StrayResponse,
    Terminated,
    TimedOut,
    Timers,
    TransportFailed,
)
from imkit.sip.transaction_layer import (
    DEFAULT_MAX_SETTLED,
    Rejection,
    TransactionLayer,
    default_port,
    salvage_request,
)
from imkit.sip.uri import URI, SipURI, parse_uri
from imkit.sip.values import Via
from imkit.trace.notes import Note
from imkit.trace.record import Direction, Protocol
from imkit.trace.record import Transport as TraceTransport

__all__ = [
    "NOTE_UDP_MTU",
    "UDP_MTU",
    "Endpoint",
    "Handler",
    "IncomingRequest",
    "Limits",
    "OutgoingRequest",
    "TransactionTimeout",
    "TransportFailure",
]

_log = logging.getLogger("imkit.runtime")
_TRACE_TRANSPORTS = {t.value: t for t in TraceTransport}

#: The default ``udp_mtu``: RFC 3261 18.1.1's size for an unknown path MTU
#: ("larger than 1300 bytes and the path MTU is unknown").
UDP_MTU = 1300
#: The key of the trace note written when a request over ``udp_mtu`` goes over UDP after all.
NOTE_UDP_MTU = "rfc3261-18.1.1"
#: Binding UDP on a free port, then TCP on the same one: tries before giving up.
_PAIR_TRIES = 20

Handler = Callable[["IncomingRequest"], Awaitable["Response | None"]]
ProvisionalCallback = Callable[[Response], Any]


class TransactionTimeout(ProtocolError, TimeoutError):
    """No final response in time (Timer B or F; RFC 3261 8.1.3.1: "treated as a
    408"), or no ACK for a 2xx (13.3.1.4).  Also a ``TimeoutError``."""


class TransportFailure(ProtocolError):
    """The request could not be sent (RFC 3261 8.1.3.1: "treated as a 503")."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what peers can make an endpoint hold.

    ``max_transactions`` bounds the live transactions (waiting on the TU or
    the peer; beyond it a request gets 503), ``max_settled`` the settled ones
    that only absorb retransmissions for up to 32 s (beyond it the oldest is
    terminated early): see :class:`~imkit.sip.transaction_layer.TransactionLayer`."""

    max_message_size: int = MAX_MESSAGE_SIZE
    max_transactions: int = 4096
    max_settled: int = DEFAULT_MAX_SETTLED
    max_connections: int = 256
    max_write_buffer: int = 1 << 20
    connect_timeout: float = 5.0
    max_handlers: int = 1024
    remembered_branches: int = 8192


@dataclass(eq=False)
class IncomingRequest:
    """A request delivered to the handler.  ``transaction`` is ``None`` for an
    ACK to a 2xx whose transaction is gone; for an INVITE, ``cancelled`` is set
    when a CANCEL arrives and ``ack`` resolves with the ACK for our 2xx, or
    raises :class:`TransactionTimeout` when none came within 64*T1 (RFC 3261
    13.3.1.4)."""

    request: Request
    transaction: ServerTransaction | None
    source: Destination
    local: Address
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    ack: asyncio.Future[Request] = field(default_factory=lambda: _quiet_future())

    @property
    def responded(self) -> bool:
        txn = self.transaction
        return txn is None or txn.final_status is not None or txn.terminated


@dataclass(eq=False)
class OutgoingRequest:
    """A request in flight; ``await`` it for the final response (``None``
    for a CANCEL that was never needed)."""

    request: Request
    transaction: ClientTransaction
    destination: Destination
    response: asyncio.Future[Response | None]
    on_provisional: ProvisionalCallback | None = None
    provisional: list[Response] = field(default_factory=list)

    def __await__(self) -> Generator[Any, None, Response | None]:
        return self.response.__await__()


def _quiet_future() -> asyncio.Future[Any]:
    """A future whose exception nobody has to read (no "never retrieved" log)."""
    future = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    """Whether ``host`` is an IP address literal (cached: an endpoint talks
    to few hosts, and this is on every request's path)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def loopback_only(host: str) -> bool:
    """A ``may_send_to`` policy: 127.0.0.0/8 and ::1 only."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def send_policy(bind_host: str) -> Callable[[str], bool] | None:
    """The ``may_send_to`` policy of an endpoint bound to ``bind_host``: bound
    to loopback, it sends to loopback only, whatever Route, Contact or
    Request-URI a (hostile) request carries; bound elsewhere, anywhere."""
    return loopback_only if loopback_only(bind_host) else None


def _local_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Endpoint:
    """A SIP user agent's I/O: UDP, TCP and TLS sockets bound on ``host``.

    Ports: ``0`` picks a free one, ``None`` disables the transport.  TLS needs
    ``tls_server`` (and ``tls_client`` to open connections; default: the
    system's trust store).

    TCP with UDP (RFC 3261 18.2.1): with ``pair_tcp`` (the default) and UDP
    enabled, TCP listens on the UDP port when ``tcp_port`` is ``None``, ``0``
    or that same port; with ``udp_port=0`` the port is the one UDP got (TCP
    is then bound on it, and the pair tried again on another port should
    TCP find it taken).  A ``tcp_port`` that names another port is honoured
    as given: TCP listens there, not on the UDP port, so the endpoint does
    not follow 18.2.1, and a request switched to TCP (``udp_mtu``) names
    that TCP port in its Via sent-by (where the endpoint takes TCP; the
    response comes back on the connection, RFC 3261 18.2.2).  ``pair_tcp=False``
    keeps to the ports given (no TCP unless ``tcp_port`` says so, ``0`` then
    meaning a port of its own): for a caller that needs UDP alone.

    ``udp_mtu``: a request larger than this many bytes whose next hop is UDP
    goes over TCP (RFC 3261 18.1.1; see the module docstring); the default
    is the RFC's 1300 for an unknown path MTU (for a known path MTU, pass
    it less 200), ``None`` sends every request on the transport its next
    hop names.  Kamailio's ``udp_mtu`` setting means the same."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        udp_port: int | None = 0,
        tcp_port: int | None = None,
        tls_port: int | None = None,
        tls_server: ssl.SSLContext | None = None,
        tls_client: ssl.SSLContext | None = None,
        outbound_proxy: URI | str | None = None,
        handler: Handler | None = None,
        trace: Any = None,
        timers: Timers | None = None,
        limits: Limits | None = None,
        ids: IdGenerator | None = None,
        send_trying: bool = True,
        answer_cancel: bool = True,
        may_send_to: Callable[[str], bool] | None = None,
        pair_tcp: bool = True,
        udp_mtu: int | None = UDP_MTU,
    ) -> None:
        if udp_mtu is not None and udp_mtu < 1:
            raise LocalProtocolError(f"udp_mtu must be a positive number of bytes or None, not {udp_mtu}")
        self.host = host
        #: requests larger than this go over TCP when their next hop is UDP (None: never)
        self.udp_mtu = udp_mtu
        #: which IP addresses requests may be sent to (None: any); a server
        #: bound to loopback keeps hostile Route/Contact/Request-URI values from
        #: making it send anywhere else (see :func:`loopback_only`)
        self.may_send_to = may_send_to
        self.limits = limits or Limits()
        self.handler = handler
        self.trace = trace
        self.ids = ids or IdGenerator()
        self.outbound_proxy = parse_uri(outbound_proxy) if isinstance(outbound_proxy, str) else outbound_proxy
        self.layer = TransactionLayer(
            timers, max_transactions=self.limits.max_transactions, max_settled=self.limits.max_settled,
            send_trying=send_trying,
            answer_cancel=answer_cancel, ids=self.ids,
        )
        #: TCP on the UDP port (RFC 3261 18.2.1), bound as a pair by start()
        self._paired = pair_tcp and udp_port is not None and tcp_port in (None, 0, udp_port)
        self._ports = {"UDP": udp_port, "TCP": udp_port if self._paired else tcp_port, "TLS": tls_port}
        if tls_port is not None and tls_server is None:
            raise LocalProtocolError("TLS needs a tls_server SSL context")
        self._tls_server = tls_server
        self._tls_client = tls_client
        self._udp: UdpTransport | None = None
        self._streams: dict[str, StreamTransport] = {}
        self._outgoing: dict[int, OutgoingRequest] = {}
        self._incoming: dict[int, IncomingRequest] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._branches: OrderedDict[str, None] = OrderedDict()
        #: trace provenance and label of requests the layer sends later (a held CANCEL)
        self._annotations: dict[int, tuple[Mapping[str, Any] | None, str | None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # -- life cycle --------------------------------------------------------------
    async def start(self) -> Self:
        self._loop = asyncio.get_running_loop()
        tlimits = TransportLimits(
            self.limits.max_message_size, self.limits.max_connections,
            self.limits.max_write_buffer, self.limits.connect_timeout,
        )
        if self._paired:
            await self._open_pair(tlimits)
        else:
            if self._ports["UDP"] is not None:
                self._udp = await UdpTransport.open(self.host, self._ports["UDP"], self, tlimits)
            if self._ports["TCP"] is not None:
                self._streams["TCP"] = await StreamTransport.open(
                    "TCP", self.host, self._ports["TCP"], self, tlimits)
        if self._ports["TLS"] is not None:
            client = self._tls_client or ssl.create_default_context()
            self._streams["TLS"] = await StreamTransport.open(
                "TLS", self.host, self._ports["TLS"], self, tlimits,
                server_ssl=self._tls_server, client_ssl=client,
            )
        return self

    async def _open_pair(self, tlimits: TransportLimits) -> None:
        """UDP, then TCP on the port UDP got (RFC 3261 18.2.1); with port 0,
        another pair when TCP finds that port taken."""
        port = self._ports["UDP"]
        assert port is not None
        last: OSError | None = None
        for _ in range(_PAIR_TRIES if port == 0 else 1):
            udp = await UdpTransport.open(self.host, port, self, tlimits)
            try:
                tcp = await StreamTransport.open("TCP", self.host, udp.local[1], self, tlimits)
            except OSError as exc:
                udp.close()
                last = exc
                continue
            self._udp = udp
            self._streams["TCP"] = tcp
            return
        assert last is not None
        raise last

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for pending in self._outgoing.values():
            if not pending.response.done():
                pending.response.set_exception(TransportFailure("the endpoint was closed"))
        if self._udp is not None:
            self._udp.close()
        for stream in self._streams.values():
            await stream.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addresses ---------------------------------------------------------------
    @property
    def transports(self) -> list[str]:
        return [name for name, port in self._ports.items() if port is not None]

    def local_address(self, transport: str = "UDP") -> Address:
        transport = transport.upper()
        if transport == "UDP" and self._udp is not None:
            return self._udp.local
        if transport in self._streams:
            return self._streams[transport].local
        raise LocalProtocolError(f"{transport} is not enabled on this endpoint")

    def contact_uri(self, user: str | None = None, transport: str = "UDP") -> SipURI:
        """``sip:user@host:port[;transport=tcp]`` for this endpoint's socket
        (``sips:user@host:port`` for TLS)."""
        host, port = self.local_address(transport)
        params = (("transport", "tcp"),) if transport.upper() == "TCP" else ()
        return SipURI(host=_local_host(host), user=user, port=port,
                      scheme="sips" if transport.upper() == "TLS" else "sip", params=params)

    def new_via(self, transport: str = "UDP") -> Via:
        """A top Via for ``transport`` with ``rport`` and a fresh branch."""
        host, port = self.local_address(transport)
        params = Params((("branch", self.ids.branch()), ("rport", None)))
        return Via(transport.upper(), _local_host(host), port, params)

    async def resolve(self, target: Destination | URI | str) -> Destination:
        """Where to send: an explicit destination, or a URI (``transport=``,
        ``maddr``, ``sips:`` -> TLS, default port 5060/5061), names via getaddrinfo."""
        if isinstance(target, str):
            scheme, colon, rest = target.partition(":")
            is_uri = scheme.lower() in ("sip", "sips") or (
                colon and not rest[:1].isdigit() and not target.startswith("[")
            )
            target = parse_uri(target if is_uri else f"sip:{target}")  # "host:port" -> sip:
        if isinstance(target, Destination):
            transport = target.transport
            destination = target if transport.isupper() else Destination(
                transport.upper(), target.host, target.port, target.connection)
        else:
            if not isinstance(target, SipURI):
                raise LocalProtocolError(f"cannot send to a {target} URI")
            transport = target.transport.upper() if target.transport else None
            if target.scheme.lower() == "sips":
                transport = "TLS"
            if transport is None:
                transport = "UDP" if self._ports["UDP"] is not None else self.transports[0]
            host = target.param("maddr") or target.host
            destination = Destination(transport, host.strip("[]"), target.port or default_port(transport))
        if destination.transport not in self.transports:
            raise LocalProtocolError(f"{destination.transport} is not enabled on this endpoint")
        if _is_ip(destination.host):
            return self._allowed(destination)
        if self.may_send_to is not None and destination.host.lower() != "localhost":
            # a restricted endpoint does not even ask DNS about names it was handed
            raise TransportFailure(f"{destination.host} is outside the addresses this endpoint may send to")
        assert self._loop is not None
        kind = socket.SOCK_DGRAM if destination.transport == "UDP" else socket.SOCK_STREAM
        try:
            infos = await self._loop.getaddrinfo(destination.host, destination.port, type=kind)
        except OSError as exc:
            raise TransportFailure(f"cannot resolve {destination.host}: {exc}") from exc
        host = str(infos[0][4][0])
        return self._allowed(Destination(destination.transport, host, destination.port, destination.connection))

    def _allowed(self, destination: Destination) -> Destination:
        if self.may_send_to is not None and not self.may_send_to(destination.host):
            raise TransportFailure(f"{destination.host} is outside the addresses this endpoint may send to")
        return destination

    def next_hop(self, request: Request) -> URI:
        """RFC 3261 8.1.2: the outbound proxy, else the first Route value, else the
        Request-URI ("the UAC MUST send the request to the location given by the
        first element of the Route header field if present")."""
        if self.outbound_proxy is not None:
            return self.outbound_proxy
        route = request.route
        return route[0].uri if route else request.uri

    # -- UAC -------------------------------------------------------------------
    async def send_request(
        self,
        request: Request,
        destination: Destination | URI | str | None = None,
        *,
        on_provisional: ProvisionalCallback | None = None,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> OutgoingRequest:
        """Start a client transaction; ``await`` the result for the final response."""
        target = await self.resolve(destination if destination is not None else self.next_hop(request))
        self._own_via(request, target.transport)
        target = await self._congestion_controlled(request, target)
        now = self._now()
        txn, out = self.layer.send_request(request, target, now)
        pending = OutgoingRequest(request, txn, target, self._future(), on_provisional)
        self._outgoing[id(txn)] = pending
        self._run(out, now, provenance, label)
        return pending

    async def request(
        self,
        request: Request,
        destination: Destination | URI | str | None = None,
        *,
        on_provisional: ProvisionalCallback | None = None,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> Response:
        """Send ``request`` and return its final response.  Raises
        :class:`TransactionTimeout` or :class:`TransportFailure`."""
        pending = await self.send_request(
            request, destination, on_provisional=on_provisional, provenance=provenance, label=label
        )
        response = await pending
        assert response is not None
        return response

    async def cancel(
        self,
        invite: Request | OutgoingRequest | ClientTransaction,
        *,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> Response | None:
        """CANCEL a pending INVITE (RFC 3261 9.1); the CANCEL's final response, or
        ``None`` when the INVITE got a final response first (no CANCEL sent).
        ``provenance`` and ``label`` go to the trace with the CANCEL, also when
        the layer holds it until a provisional response arrives."""
        txn = self._client_transaction(invite)
        if txn is None:
            return None
        now = self._now()
        cancel_txn, out = self.layer.cancel(txn, now)
        if cancel_txn is None:
            return None
        pending = self._outgoing.get(id(cancel_txn))
        if pending is None:
            pending = OutgoingRequest(cancel_txn.request, cancel_txn, cancel_txn.destination, self._future())
            self._outgoing[id(cancel_txn)] = pending
        if provenance is not None or label is not None:
            self._annotations[id(cancel_txn)] = (provenance, label)
        self._run(out, now)
        return await pending

    async def send_ack(
        self,
        ack: Request,
        destination: Destination | URI | str | None = None,
        *,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        """Send the ACK for a 2xx (RFC 3261 13.2.2.4; not a transaction)."""
        target = await self.resolve(destination if destination is not None else self.next_hop(ack))
        self._own_via(ack, target.transport)
        target = await self._congestion_controlled(ack, target)
        now = self._now()
        self._run(self.layer.send_ack(ack, target, now), now, provenance, label)

    async def _congestion_controlled(self, request: Request, target: Destination) -> Destination:
        """Where ``request`` (its top Via ours, for ``target``) goes: over TCP
        to the same host and port when it is larger than ``udp_mtu`` and
        ``target`` is UDP.  RFC 3261 18.1.1: "If a request is within 200 bytes
        of the path MTU, or if it is larger than 1300 bytes and the path MTU
        is unknown, the request MUST be sent using an RFC 2914 congestion
        controlled transport protocol, such as TCP."  The connection is
        opened first: when it cannot be, the request stays on UDP, and a
        trace note says why."""
        if target.transport != "UDP" or self.udp_mtu is None:
            return target
        size = len(bytes(request))
        if size <= self.udp_mtu:
            return target
        what = (f"{request.method} of {size} bytes (more than udp_mtu {self.udp_mtu}: RFC 3261 18.1.1 "
                f"asks for TCP) sent over UDP to {target.host}:{target.port}")
        stream = self._streams.get("TCP")
        if stream is None:
            self._note_udp_mtu(request, f"{what}: TCP is not enabled on this endpoint")
            return target
        switched = Destination("TCP", target.host, target.port)
        try:
            await stream.connect(switched)
        except TransportError as exc:
            self._note_udp_mtu(request, f"{what} after all: {exc}")
            return target
        # 18.1.1: "If this causes a change in the transport protocol from the
        # one indicated in the top Via, the value in the top Via MUST be changed."
        self._via_transport(request, "TCP")
        return switched

    def _via_transport(self, request: Request, transport: str) -> None:
        """Change our top Via to ``transport`` (with the sent-by of our
        socket for it), its parameters and branch kept."""
        rows = request.headers.fields("Via")
        items = split_list(rows[0].value)
        host, port = self.local_address(transport)
        via = Via(transport, _local_host(host), port, Via.parse(items[0]).params)
        rows[0].value = ", ".join([str(via), *items[1:]])
        rows[0].raw = None

    def _note_udp_mtu(self, message: SIPMessage, text: str) -> None:
        """Log ``text`` and give the trace recorder a note of it about
        ``message``, when the recorder takes notes (a :class:`~imkit.trace.Trace` does)."""
        _log.info("%s", text)
        note = getattr(self.trace, "note", None)
        if note is not None:
            note(Note.about(self._now(), NOTE_UDP_MTU, text, message))

    def _client_transaction(self, item: Request | OutgoingRequest | ClientTransaction) -> ClientTransaction | None:
        if isinstance(item, ClientTransaction):
            return item
        if isinstance(item, OutgoingRequest):
            return item.transaction
        via = item.top_via
        return self.layer.find_client_transaction(via.branch or "", item.method) if via else None

    def _own_via(self, request: Request, transport: str) -> None:
        """Make the top Via ours: transport, sent-by, ``rport`` (RFC 3581 3: "A
        client implementing this specification MAY include an rport parameter"),
        a branch never used before (RFC 3261 8.1.1.7: "unique across space and time")."""
        host, port = self.local_address(transport)
        rows = request.headers.fields("Via")
        items = split_list(rows[0].value) if rows else []
        params = Via.parse(items[0]).params if items else Params()
        branch = params.get("branch")
        if not branch or not branch.startswith(MAGIC_COOKIE) or branch in self._branches:
            branch = self.ids.branch()
        params = params.without("received").with_param("branch", branch)
        if "rport" not in params:
            params = params.with_param("rport")
        via = Via(transport.upper(), _local_host(host), port, params)
        if rows:
            rows[0].value = ", ".join([str(via), *items[1:]])
            rows[0].raw = None
        else:
            request.headers.add("Via", str(via), first=True)
        self._branches[branch] = None
        while len(self._branches) > self.limits.remembered_branches:
            self._branches.popitem(last=False)
        if "Content-Length" not in request.headers:
            request.headers.set("Content-Length", str(len(request.body)))

    # -- UAS -------------------------------------------------------------------
    def respond(
        self,
        target: IncomingRequest | ServerTransaction | Request,
        response: Response,
        *,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        """Send ``response`` through the server transaction of ``target``."""
        if isinstance(target, IncomingRequest):
            txn = target.transaction
        elif isinstance(target, ServerTransaction):
            txn = target
        else:
            txn = self.layer.find_server_transaction(target)
        if txn is None:
            raise LocalProtocolError("no server transaction for that request (an ACK is never answered)")
        if "Content-Length" not in response.headers:
            response.headers.set("Content-Length", str(len(response.body)))
        now = self._now()
        self._run(self.layer.send_response(txn, response, now), now, provenance, label)
        if response.status >= 300:
            # a non-2xx final: its ACK stays in the transaction (17.2.1), no
            # CANCEL can match any more
            self._incoming.pop(id(txn), None)

    # -- receiving (called by the transports) ------------------------------------
    def message_received(self, transport: str, data: bytes, source: Destination, local: Address) -> None:
        if self._closed:
            return
        now = self._now()
        if self.trace is not None:
            self._record(now, Direction.RECEIVED, transport, local, source, data)
        try:
            if transport == "UDP":
                message: SIPMessage = parse_datagram(data, self.limits.max_message_size)
            else:
                message = parse(data, max_size=self.limits.max_message_size)
        except ParseError as exc:
            salvaged = salvage_request(data, self.limits.max_message_size)
            if salvaged is None:
                _log.info("dropped malformed message from %s: %s", source, exc)
                return
            if salvaged.version != "SIP/2.0":
                rejection = Rejection(505, "Version Not Supported")
            else:
                rejection = Rejection(400, f"Bad Request ({exc.what})")
            self._run(self.layer.reject(salvaged, rejection, source), now)
            return
        self._run(self.layer.receive(message, source, now), now, local=local)

    def stream_closed(self, transport: str, source: Destination, local: Address, reason: str) -> None:
        _log.info("closed %s connection from %s: %s", transport, source, reason)

    # -- performing the layer's outputs ----------------------------------------------
    def _run(
        self,
        outputs: list[Output],
        now: float,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
        local: Address | None = None,
    ) -> None:
        for item in outputs:
            if isinstance(item, SendMessage):
                first = not item.retransmission
                item_provenance, item_label = provenance, label
                held = self._annotations.pop(id(item.transaction), None) if first else None
                if held is not None:
                    item_provenance, item_label = held
                self._send(item, now, item_provenance if first else None, item_label if first else "retransmission")
            elif isinstance(item, ResponseReceived):
                self._deliver_response(item)
            elif isinstance(item, RequestReceived):
                self._deliver_request(item, local)
            elif isinstance(item, (TimedOut, TransportFailed)):
                self._fail(item)
            elif isinstance(item, CancelReceived):
                # the layer answered the INVITE 487: no ACK for a 2xx will follow
                incoming = self._incoming.pop(id(item.transaction), None)
                if incoming is not None:
                    incoming.cancelled.set()
            elif isinstance(item, AckNotReceived):
                incoming = self._incoming.get(id(item.transaction))
                if incoming is not None and not incoming.ack.done():
                    incoming.ack.set_exception(TransactionTimeout("no ACK for the 2xx within 64*T1"))
            elif isinstance(item, Terminated):
                self._terminated(item)
            elif isinstance(item, StrayResponse):
                _log.debug("stray response %s from %s", item.response, item.source)
        self._arm()

    def _send(self, item: SendMessage, now: float, provenance: Mapping[str, Any] | None, label: str | None) -> None:
        destination = item.destination
        try:
            if destination.transport == "UDP":
                if self._udp is None:
                    raise TransportError("UDP is not enabled")
                local = self._udp.send(item.data, destination)
                if self.trace is not None:
                    self._record(now, Direction.SENT, "UDP", local, destination, item.data, provenance, label)
                return
            stream = self._streams.get(destination.transport)
            if stream is None:
                raise TransportError(f"{destination.transport} is not enabled")
            local_or_none = stream.send_nowait(item.data, destination)
            if local_or_none is not None:
                if self.trace is not None:
                    self._record(now, Direction.SENT, destination.transport, local_or_none, destination, item.data,
                                 provenance, label)
                return
        except TransportError as exc:
            self._send_failed(item, exc)
            return
        if destination.connection is not None and isinstance(item.message, Response):
            # RFC 3261 18.2.2: "If connection failed, the server SHOULD use the
            # procedures in [4] for servers in order to send the response" -- here:
            # the received address and the sent-by port of the top Via.
            via = item.message.top_via
            if via is not None:
                host = via.received or via.host
                destination = Destination(destination.transport, host.strip("[]"),
                                          via.port or default_port(destination.transport))
        self._spawn(self._send_later(item, destination, now, provenance, label))

    async def _send_later(
        self, item: SendMessage, destination: Destination, now: float,
        provenance: Mapping[str, Any] | None, label: str | None,
    ) -> None:
        stream = self._streams[destination.transport]
        try:
            local = await stream.send(item.data, destination)
        except TransportError as exc:
            self._send_failed(item, exc)
            return
        self._record(now, Direction.SENT, destination.transport, local, destination, item.data, provenance, label)

    def _send_failed(self, item: SendMessage, exc: Exception) -> None:
        _log.info("cannot send to %s: %s", item.destination, exc)
        if item.transaction is not None:
            now = self._now()
            self._run(self.layer.transport_error(item.transaction, now), now)

    def _deliver_response(self, item: ResponseReceived) -> None:
        pending = self._outgoing.get(id(item.transaction))
        if pending is None or pending.response.done():
            return
        response = item.response
        if response.is_provisional:
            pending.provisional.append(response)
            if pending.on_provisional is not None:
                try:
                    pending.on_provisional(response)
                except Exception:  # noqa: BLE001 -- a caller's bug must not stop the endpoint
                    _log.exception("on_provisional callback failed")
            return
        pending.response.set_result(response)
        if pending.request.method != "CANCEL":
            # The transaction may stay settled for 32 s (RFC 6026 Timer M); what
            # it passes up from now on (2xx retransmissions) finds a done future.
            # A CANCEL's stays: cancel() answers a second call with its response.
            del self._outgoing[id(item.transaction)]

    def _deliver_request(self, item: RequestReceived, local: Address | None) -> None:
        request = item.request
        txn = item.transaction
        if request.method == "ACK" and txn is not None:
            # The ACK for our 2xx (RFC 3261 13.3.1.4): nothing more to tell the
            # INVITE's handler; the settled transaction needs no entry here.
            invite = self._incoming.pop(id(txn), None)
            if invite is not None and not invite.ack.done():
                invite.ack.set_result(request)
        incoming = IncomingRequest(request, txn if request.method != "ACK" else None, item.source,
                                   local or ("", 0))
        if txn is not None and request.method == "INVITE":
            # kept for what only an INVITE gets: CancelReceived, its ACK, AckNotReceived
            self._incoming[id(txn)] = incoming
        if len(self._tasks) >= self.limits.max_handlers and request.method != "ACK":
            self._answer(incoming, 503)
            return
        self._spawn(self._handle(incoming))

    async def _handle(self, incoming: IncomingRequest) -> None:
        method = incoming.request.method
        if self.handler is None:
            if method != "ACK":
                self._answer(incoming, 501)
            return
        try:
            result = await self.handler(incoming)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 -- a handler's bug becomes a 500, as RFC 3261 21.5.1 says
            _log.exception("request handler failed for %s", incoming.request)
            self._answer(incoming, 500)
            return
        if isinstance(result, Response) and method != "ACK" and not incoming.responded:
            self.respond(incoming, result)

    def _answer(self, incoming: IncomingRequest, status: int) -> None:
        if incoming.responded:
            return
        try:
            self.respond(incoming, make_response(incoming.request, status, to_tag=self.ids.tag()))
        except LocalProtocolError:
            _log.exception("cannot answer %s with %d", incoming.request, status)

    def _fail(self, item: TimedOut | TransportFailed) -> None:
        pending = self._outgoing.get(id(item.transaction))
        if pending is None or pending.response.done():
            return
        if isinstance(item, TimedOut):
            pending.response.set_exception(TransactionTimeout(
                f"{pending.request.method} to {pending.destination}: Timer {item.timer.value} fired"
            ))
        else:
            pending.response.set_exception(TransportFailure(
                f"{pending.request.method} could not be sent to {pending.destination}"
            ))

    def _terminated(self, item: Terminated) -> None:
        pending = self._outgoing.pop(id(item.transaction), None)
        if pending is not None and not pending.response.done():
            pending.response.set_result(None)
        self._incoming.pop(id(item.transaction), None)
        self._annotations.pop(id(item.transaction), None)

    # -- plumbing ------------------------------------------------------------------
    def _now(self) -> float:
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    def _future(self) -> asyncio.Future[Any]:
        return _quiet_future()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        loop = self._loop or asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _arm(self) -> None:
        """Arm ``loop.call_at`` for the layer's next deadline."""
        when = self.layer.next_deadline()
        if when == self._timer_at or self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = when
        if when is not None:
            assert self._loop is not None
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        assert self._loop is not None and self._timer_at is not None
        # asyncio may run a handle up to one clock resolution early.
        now = max(self._loop.time(), self._timer_at)
        self._timer = None
        self._timer_at = None
        self._run(self.layer.handle_timer(now), now)

    def _record(
        self,
        now: float,
        direction: Direction,
        transport: str,
        local: Address,
        remote: Destination,
        data: bytes,
        provenance: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> None:
        """Give a message sent or received to the trace recorder (callers skip
        the call when there is none: it is on every message's path)."""
        if self.trace is None:
            return
        self.trace.record(
            now,
            direction,
            Protocol.SIP,
            _TRACE_TRANSPORTS.get(transport) or TraceTransport(transport),
            local,
            (remote.host, remote.port),
            data,
            provenance=provenance,
            label=label,
        )
