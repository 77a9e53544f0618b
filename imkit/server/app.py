"""The test IM Server: :class:`TestServer` (issue 5).

One SIP :class:`imkit.runtime.Endpoint` on 127.0.0.1 (UDP and TCP on one
port) is the server.  Every request it receives goes, in this order,
through:

1. fault injection (:mod:`imkit.server.faults`): drop, delay or fail it;
2. the bad-input checks (:mod:`imkit.server.validation`): 400, 416 ...;
3. the services (:mod:`imkit.server.service`; the conference focus is one):
   the first that owns the request answers it;
4. the registrar (RFC 3261 10.3) for REGISTER, or the server's own answers
   for requests addressed to the server itself (OPTIONS, 405/501, 481, 489);
5. the stateful proxy (:mod:`imkit.server.proxy`) for everything else: a
   1-1 session (7.1.1.2) reaches the callee, a registered imkit client or
   a simulated user (:mod:`imkit.server.users`), with Record-Route.

Every message in or out is logged (one line, logger ``imkit.server``) and
recorded in ``server.trace`` when there is one.  A request the server sends
(a proxied one, a NOTIFY of the focus) that is larger than 1300 bytes goes
over TCP even to a UDP target (RFC 3261 18.1.1, done by the endpoint); when
no TCP connection opens there it goes over UDP, and ``server.trace`` gets a
note of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from imkit.errors import LocalProtocolError
from imkit.runtime import Endpoint, IncomingRequest
from imkit.runtime.endpoint import send_policy
from imkit.server.behaviour import Answer, Behaviour
from imkit.server.config import (
    ACCEPT,
    ALLOW,
    KNOWN_METHODS,
    SUPPORTED_OPTIONS,
    ServerConfig,
    Transport,
    parse_transports,
)
from imkit.server.faults import Fault, FaultAction, Faults
from imkit.server.proxy import Proxy, Router, core_uri
from imkit.server.registrar import Location, Registrar
from imkit.server.service import Service
from imkit.server.session_timer import TimerPolicy
from imkit.server.users import SimulatedUsers
from imkit.server.validation import (
    Rejection,
    check_body,
    check_method,
    check_request,
    check_require,
    error_response,
)
from imkit.server.wirelog import WireLog
from imkit.sip import (
    NameAddr,
    Request,
    Response,
    SipURI,
    parse,
    parse_datagram,
    parse_uri,
)
from imkit.sip.auth import DigestVerifier
from imkit.sip.builders import make_response, new_request
from imkit.sip.errors import ParseError
from imkit.sip.ids import IdGenerator
from imkit.sip.transaction import Destination
from imkit.sip.uri import URI
from imkit.trace import Direction, Note, Protocol, Trace
from imkit.trace import Transport as TraceTransport

__all__ = ["TestServer", "default_groups"]

_log = logging.getLogger("imkit.server")

#: Requests remembered for fault decisions (dropped branches, decided ones).
_REMEMBERED = 1024

FaultKey = tuple[str, str, int | None, str]


class _ScreenedEndpoint(Endpoint):
    """An endpoint that lets a screen drop incoming bytes before the
    transaction layer sees them (fault injection: ``drop``)."""

    def __init__(self, *, screen: Any, **options: Any) -> None:
        super().__init__(**options)
        self._screen = screen

    def message_received(self, transport: str, data: bytes, source: Destination, local: tuple[str, int]) -> None:
        if self._screen(transport, data, source, local):
            super().message_received(transport, data, source, local)


class _ServerWire(WireLog):
    """The server's wire log, which also takes the endpoint's notes (a
    request over ``udp_mtu`` that went over UDP after all, RFC 3261 18.1.1)
    into the server's trace; the endpoint logs them itself."""

    def note(self, note: Note) -> None:
        if self.trace is not None:
            self.trace.note(note)


def _fault_key(request: Request) -> FaultKey | None:
    try:
        via = request.top_via
    except ParseError:
        return None
    if via is None or not via.branch:
        return None
    return via.branch, via.host.lower(), via.port, request.method


class TestServer:
    """The test IM Server, embedded: ``async with TestServer() as server: ...``.

    ``users`` declares simulated users and their behaviours
    (``{"carol": "busy"}``); ``groups`` is a groups file (or the group
    tables) for the focus, by default :func:`default_groups`
    (``sip:group-friends@<domain>`` for alice, bob and carol, and the public
    ``sip:chat-public@<domain>``); ``focus=False`` leaves the focus out.  Other
    :class:`~imkit.server.config.ServerConfig` fields (``core``, ``min_se``,
    ``min_expires``, ``auto_users`` ...) may be given as keywords, or a whole
    ``config`` (then only those keywords change it).
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        domain: str = "example.com",
        host: str = "127.0.0.1",
        port: int = 0,
        transports: str | Iterable[str] = ("udp", "tcp"),
        groups: str | Path | Iterable[Any] | None = None,
        trace: Trace | None = None,
        users: Mapping[str, Behaviour | Answer | str] | None = None,
        require_auth: bool = False,
        credentials: Mapping[str, str] | None = None,
        *,
        focus: bool = True,
        config: ServerConfig | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            config = ServerConfig(
                domain=domain, host=host, port=port,
                transports=parse_transports(transports if isinstance(transports, str) else tuple(transports)),
                require_auth=require_auth, credentials=dict(credentials or {}),
            )
        if "transports" in settings:
            settings["transports"] = parse_transports(settings["transports"])
        self.config: ServerConfig = dataclasses.replace(config, **settings) if settings else config
        if self.config.require_auth and not self.config.credentials:
            raise LocalProtocolError("require_auth needs credentials (user -> password)")
        self.trace = trace
        self.groups = groups
        self.ids = IdGenerator()
        self.faults = Faults()
        self.location = Location(self.config.max_registered_users, self.config.max_bindings_per_user)
        self.core: SipURI | None = core_uri(self.config.core) if self.config.core else None
        policy = TimerPolicy(self.config.min_se, self.config.session_expires)
        self.users = SimulatedUsers(
            self.config.domain, host=self.config.host, trace=trace, policy=policy,
            auto_create=self.config.auto_users, max_users=self.config.max_users,
            default=self.config.default_behaviour,
            server_header=self.config.server_header, ids=self.ids,
            msrp_wait=self.config.msrp_wait, max_sessions=self.config.max_user_sessions,
        )
        for name, behaviour in (users or {}).items():
            self.users.add(name, behaviour)
        verifier = None
        if self.config.require_auth:
            verifier = DigestVerifier(self.config.domain, self.config.credentials.get)
        self.registrar = Registrar(
            self.config.domain, self.location, self.is_local_domain, verifier=verifier,
            min_expires=self.config.min_expires, max_expires=self.config.max_expires,
            default_expires=self.config.default_expires, ids=self.ids,
            server=self.config.server_header,
        )
        self.router = Router(self)
        self.proxy = Proxy(self)
        self.services: list[Service] = []
        self.endpoint: Endpoint | None = None
        self._focus = focus
        self._wire = _ServerWire(_log, trace, lane="IM server")
        self._dropped: OrderedDict[FaultKey, Fault] = OrderedDict()
        self._decided: OrderedDict[FaultKey, Fault] = OrderedDict()
        self._record_routes: dict[str, NameAddr] = {}
        self._closed = False

    def __repr__(self) -> str:
        where = "not started" if self.endpoint is None else self._where()
        return f"<TestServer {self.config.domain} {where}>"

    # -- addresses -------------------------------------------------------------
    @property
    def domain(self) -> str:
        return self.config.domain

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on (UDP and TCP share the port)."""
        endpoint = self.require_endpoint()
        return endpoint.local_address(endpoint.transports[0])

    @property
    def uri(self) -> SipURI:
        """``sip:host:port``: where to send requests for the server."""
        host, port = self.address
        return SipURI(host=f"[{host}]" if ":" in host else host, port=port)

    @property
    def factory_uri(self) -> SipURI:
        """The Conference-factory-URI (7.1.1.3 item 2): ``sip:conference-factory@<domain>``."""
        return SipURI(host=self.domain, user="conference-factory")

    @property
    def contact(self) -> NameAddr:
        """The server's own Contact (for requests it sends as a UAC)."""
        return NameAddr(self.uri)

    @property
    def transports(self) -> tuple[str, ...]:
        return tuple(t.value for t in self.config.transports)

    @property
    def allow(self) -> list[str]:
        """The methods the server accepts: its own and its services'."""
        methods = list(ALLOW)
        for service in self.services:
            for method in _names(service, "methods"):
                if method.upper() not in methods:
                    methods.append(method.upper())
        return methods

    @property
    def events(self) -> list[str]:
        """Event packages the services serve (Allow-Events)."""
        events: list[str] = []
        for service in self.services:
            for event in _names(service, "events"):
                if event not in events:
                    events.append(event)
        return events

    def now(self) -> float:
        """The loop time (registrations expire by it)."""
        return asyncio.get_running_loop().time()

    def require_endpoint(self) -> Endpoint:
        """The running endpoint (raises before ``start()``)."""
        if self.endpoint is None:
            raise LocalProtocolError("the server is not started (await server.start())")
        return self.endpoint

    def _addresses(self) -> set[tuple[str, int]]:
        if self.endpoint is None:
            return set()
        return {self.endpoint.local_address(t) for t in self.endpoint.transports}

    def _where(self) -> str:
        host, port = self.address
        return ", ".join(f"{t} {host}:{port}" for t in self.transports)

    def is_own_sent_by(self, host: str, port: int | None) -> bool:
        """Whether a Via sent-by (or a URI's host:port) is this server's socket."""
        if self.endpoint is None:
            return False
        our_host, our_port = self.address
        return host.strip("[]").lower() == our_host.lower() and (port or 5060) == our_port

    def is_local_domain(self, uri: URI | str) -> bool:
        """Whether ``uri`` is in the domain this server serves: its host is the
        domain, an alias, or the server's own host:port."""
        if isinstance(uri, str):
            try:
                uri = parse_uri(uri)
            except ParseError:
                return False
        if not isinstance(uri, SipURI):
            return False
        host = uri.host.lower()
        if host == self.domain.lower() or host in (a.lower() for a in self.config.aliases):
            return True
        return self.is_own_sent_by(uri.host, uri.port)

    def is_own_route(self, uri: URI) -> bool:
        """Whether a Route (or Request-URI) value names this server itself: its
        host:port, or the domain without a user part (RFC 3261 16.4)."""
        if not isinstance(uri, SipURI) or uri.user:
            return False
        return self.is_local_domain(uri)

    def record_route(self, transport: str) -> NameAddr:
        """``<sip:host:port;transport=tcp;lr>``: our Record-Route value for one side."""
        key = transport.upper()
        value = self._record_routes.get(key)
        if value is None:
            uri = self.uri
            if key != "UDP":
                uri = uri.with_param("transport", transport.lower())
            # the sockets do not move once bound: one value per transport
            value = self._record_routes[key] = NameAddr(uri.with_param("lr"))
        return value

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> TestServer:
        """Open the sockets, add the focus; returns the server."""
        if self.endpoint is not None:
            return self
        self.endpoint = await self._bind()
        # a proxy's client transactions see the Via values of the hops upstream
        self.endpoint.layer.proxy = True
        if self.trace is not None:
            for address in self._addresses():
                self.trace.names.setdefault(address, "IM server")
        if self._focus:
            self.add_service(self._make_focus())
        _log.debug("imkit server listening on %s (domain %s)", self._where(), self.domain)
        return self

    def _make_focus(self) -> Service:
        from imkit.server.focus import Focus
        from imkit.server.groups import groups_from, load_groups

        definitions: Iterable[Any] = ()
        if self.groups is None:
            definitions = groups_from(default_groups(self.domain))
        elif isinstance(self.groups, (str, Path)):
            definitions = load_groups(self.groups)
        elif self.groups is not None:
            items = list(self.groups)
            definitions = items if all(not isinstance(i, Mapping) for i in items) else groups_from(items)
        return Focus(self, groups=definitions)

    async def _bind(self) -> Endpoint:
        """The endpoint, UDP and TCP on one port (a free one when port is 0:
        the endpoint binds UDP, then TCP on the port UDP got, and tries
        again should TCP find it taken).  UDP always brings TCP on its port
        (RFC 3261 18.2.1: "For any port and interface that a server listens
        on for UDP, it MUST listen on that same port and interface for
        TCP."), also when ``transports`` names UDP alone: requests over 1300
        bytes travel over it (18.1.1).  ``transports`` says what the server
        offers (its URI and Record-Route), TCP alone means no UDP socket."""
        config = self.config
        udp = Transport.UDP in config.transports
        endpoint = _ScreenedEndpoint(
            screen=self._screen, host=config.host,
            udp_port=config.port if udp else None, tcp_port=None if udp else config.port,
            handler=self._handle, trace=self._wire, ids=self.ids, send_trying=False,
            may_send_to=send_policy(config.host),
        )
        try:
            return await endpoint.start()
        except OSError as exc:
            await endpoint.close()
            raise LocalProtocolError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc

    async def close(self) -> None:
        """End the services and the simulated users, close the sockets."""
        if self._closed:
            return
        self._closed = True
        for service in reversed(self.services):
            try:
                await service.close()
            except Exception:  # noqa: BLE001 -- one broken service must not keep the others open
                _log.exception("closing service %s failed", getattr(service, "name", service))
        await self.users.close()
        if self.endpoint is not None:
            await self.endpoint.close()
        _log.debug("imkit server stopped")

    async def __aenter__(self) -> TestServer:  # noqa: PYI034 -- the server is final in practice
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add_service(self, service: Service) -> Service:
        """Add a service; services are asked in the order they were added."""
        if not isinstance(service, Service):
            raise LocalProtocolError(f"{service!r} is not a Service (name, owns, handle, close)")
        self.services.append(service)
        return service

    def service(self, name: str) -> Service | None:
        """The service called ``name`` (``server.service("focus")``)."""
        return next((s for s in self.services if s.name == name), None)

    # -- for services -------------------------------------------------------------
    async def locate(self, aor: SipURI | str) -> Destination | SipURI | None:
        """Where to reach ``aor``: a registered contact or a simulated user's
        contact (a :class:`SipURI`: use it as the Request-URI), the SIP/IP Core
        (a :class:`Destination`: keep the AoR as Request-URI, send there), or
        ``None`` (nobody)."""
        uri = parse_uri(aor) if isinstance(aor, str) else aor
        target = await self.router.resolve(uri, self.config.transports[0].upper)
        if isinstance(target, Rejection):
            return None
        if target.destination is not None:
            return await self.require_endpoint().resolve(target.destination)
        return target.uri if isinstance(target.uri, SipURI) else None

    def new_request(
        self,
        method: str,
        uri: URI | str,
        *,
        to: NameAddr | str | None = None,
        from_: NameAddr | str | None = None,
        call_id: str | None = None,
        cseq: int = 1,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        transport: str | None = None,
        contact: NameAddr | bool = True,
    ) -> Request:
        """A request from the server as a UAC: its Via and Contact, a From tag,
        a Call-ID, ``User-Agent: IM-serv/OMA1.0 ...``; To defaults to the
        Request-URI, From to the server's URI.  Send it with
        ``server.endpoint.request(...)``."""
        endpoint = self.require_endpoint()
        target = parse_uri(uri) if isinstance(uri, str) else uri
        to_addr = NameAddr.parse(to) if isinstance(to, str) else to or NameAddr(target)
        from_addr = NameAddr.parse(from_) if isinstance(from_, str) else from_ or NameAddr(self.uri)
        if not from_addr.tag:
            from_addr = from_addr.with_tag(self.ids.tag())
        chosen = (transport or self.config.transports[0].value).upper()
        contact_addr = self.contact if contact is True else contact or None
        if isinstance(contact_addr, NameAddr) and contact is True and chosen != "UDP":
            contact_addr = NameAddr(self.uri.with_param("transport", chosen.lower()))
        return new_request(
            method, target, from_addr=from_addr, to_addr=to_addr,
            call_id=call_id or self.ids.call_id(self.address[0]), cseq=cseq,
            via=endpoint.new_via(chosen), contact=contact_addr,
            headers=[("User-Agent", self.config.server_header), *headers],
            body=body, content_type=content_type,
        )

    def reject(self, incoming: IncomingRequest, rejection: Rejection) -> None:
        """Answer ``incoming`` with an error (rows of the request copied as written)."""
        if incoming.responded:
            return
        response = error_response(incoming.request, rejection, self.ids.tag(), self.config.server_header)
        self.require_endpoint().respond(incoming, response)

    def _reply(self, incoming: IncomingRequest, status: int, reason: str | None = None,
               headers: Iterable[tuple[str, str]] = ()) -> None:
        rows = [*headers, ("Server", self.config.server_header)]
        response = make_response(incoming.request, status, reason, to_tag=self.ids.tag(), headers=rows)
        self.require_endpoint().respond(incoming, response)

    # -- fault screen (called by the transport, before the transaction layer) -------------------
    def _screen(self, transport: str, data: bytes, source: Destination, local: tuple[str, int]) -> bool:
        if not len(self.faults) and not self._dropped:
            return True
        try:
            message = parse_datagram(data) if transport == "UDP" else parse(data)
        except ParseError:
            return True
        if not isinstance(message, Request) or message.method == "ACK":
            return True
        key = _fault_key(message)
        if key is None:
            return True
        if key in self._dropped:
            self._note_drop(message, self._dropped[key], transport, data, source, local)
            return False
        endpoint = self.endpoint
        try:
            retransmission = endpoint is not None and endpoint.layer.find_server_transaction(message) is not None
        except ParseError:
            return True
        if retransmission or key in self._decided:
            return True
        fault = self.faults.take(message)
        if fault is None:
            return True
        if fault.action is FaultAction.DROP:
            _remember(self._dropped, key, fault)
            self._note_drop(message, fault, transport, data, source, local)
            return False
        _remember(self._decided, key, fault)
        return True

    def _note_drop(self, message: Request, fault: Fault, transport: str, data: bytes,
                   source: Destination, local: tuple[str, int]) -> None:
        self._wire.record(self.now(), Direction.RECEIVED, Protocol.SIP, TraceTransport(transport),
                          local, (source.host, source.port), data, label=f"dropped by fault {fault}")

    # -- requests ----------------------------------------------------------------------
    async def _handle(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            await self._dispatch(incoming)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 -- never a crash: a failing handler gives a 500
            _log.exception("handling %s failed", request)
            if request.method != "ACK" and not incoming.responded:
                self.reject(incoming, Rejection(500, "Server Internal Error"))
            return
        if request.method != "ACK" and not incoming.responded:
            _log.error("nobody answered %s; sending 500", request)
            self.reject(incoming, Rejection(500, "Server Internal Error (not answered)"))

    async def _dispatch(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        # _screen fills _decided; with no fault pending the Via is not read here
        key = _fault_key(request) if self._decided else None
        fault = self._decided.pop(key, None) if key is not None else None
        if fault is not None:
            _log.info("fault %s hits %s %s", fault, request.method, request.uri)
            if fault.delay:
                if request.method == "INVITE":
                    # a held INVITE rings, so the caller may CANCEL it (RFC 3261 9.1)
                    self._reply(incoming, 100)
                await asyncio.sleep(fault.delay)
            if incoming.responded:
                return
            if fault.action is FaultAction.RESPOND:
                self.reject(incoming, Rejection(fault.status, fault.reason or _reason(fault.status)))
                return
        if request.method == "ACK":
            owner = self._owner(request)
            if owner is not None:
                await owner.handle(incoming)
            else:
                await self.proxy.forward_ack(incoming)
            return
        rejection = check_request(request)
        if rejection is not None:
            self.reject(incoming, rejection)
            return
        owner = self._owner(request)
        if owner is not None:
            await self._to_service(incoming, owner)
            return
        if request.method == "REGISTER":
            rejection = check_require(request, SUPPORTED_OPTIONS)
            if rejection is not None:
                self.reject(incoming, rejection)
                return
            response = self.registrar.handle(request, self.now(), incoming.source)
            self.require_endpoint().respond(incoming, response)
            return
        if self._for_server(request):
            self._serve(incoming)
            return
        if request.method == "INVITE":
            self._trying(incoming)
        await self.proxy.handle(incoming)

    def _owner(self, request: Request) -> Service | None:
        for service in self.services:
            try:
                if service.owns(request):
                    return service
            except Exception:  # noqa: BLE001 -- a broken service is skipped, not fatal
                _log.exception("service %s failed in owns()", service.name)
        return None

    def _trying(self, incoming: IncomingRequest) -> None:
        # RFC 3261 16.2: a stateful proxy "MUST ... generate a 100 (Trying)" for
        # an INVITE it will not answer at once (17.2.1 for a UAS).
        self.require_endpoint().respond(incoming, make_response(incoming.request, 100))

    async def _to_service(self, incoming: IncomingRequest, service: Service) -> None:
        request = incoming.request
        rejection = check_require(request, SUPPORTED_OPTIONS)
        if rejection is not None:
            self.reject(incoming, rejection)
            return
        if request.method == "INVITE":
            self._trying(incoming)
        result = await service.handle(incoming)
        if isinstance(result, Response) and not incoming.responded:
            self.require_endpoint().respond(incoming, result)

    def _for_server(self, request: Request) -> bool:
        """Addressed to the server itself: its host:port or the domain, no user
        part, and no Route beyond it."""
        if not self.is_own_route(request.uri):
            return False
        routes = request.route
        return all(self.is_own_route(r.uri) for r in routes)

    def _serve(self, incoming: IncomingRequest) -> None:
        """The server as the UAS of a request to itself."""
        request = incoming.request
        rejection = (
            check_method(request.method, self.allow, KNOWN_METHODS)
            or check_require(request, SUPPORTED_OPTIONS)
            or check_body(request, ACCEPT)
        )
        if rejection is not None:
            self.reject(incoming, rejection)
            return
        if request.method == "OPTIONS":
            self._reply(incoming, 200, headers=self._capabilities())
            return
        if request.method == "SUBSCRIBE":
            self._unknown_subscription(incoming)
            return
        to = request.to
        if (to is not None and to.tag) or request.method in ("BYE", "NOTIFY"):
            # RFC 3261 12.2.2 (and RFC 6665 4.1.3 for NOTIFY): no such dialog here.
            self.reject(incoming, Rejection(481, "Call/Transaction Does Not Exist"))
            return
        self.reject(incoming, Rejection(404, "Not Found"))

    def _capabilities(self) -> list[tuple[str, str]]:
        rows = [
            ("Allow", ", ".join(self.allow)), ("Accept", ", ".join(ACCEPT)),
            ("Supported", ", ".join(sorted(SUPPORTED_OPTIONS))),
        ]
        if self.events:
            rows.append(("Allow-Events", ", ".join(self.events)))
        return rows

    def _unknown_subscription(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        event = request.event
        if event is None:
            # RFC 6665 8.2.1: SUBSCRIBE "MUST contain exactly one Event header field"
            self.reject(incoming, Rejection(400, "Missing Event"))
            return
        to = request.to
        if to is not None and to.tag:
            self.reject(incoming, Rejection(481, "Subscription Does Not Exist"))
            return
        if event.value.lower() in (e.lower() for e in self.events):
            self.reject(incoming, Rejection(404, "Not Found"))
            return
        # RFC 6665 7.2.2 / 8.3.2: a package the notifier does not understand gets
        # 489, with Allow-Events listing the packages it does.
        rows = (("Allow-Events", ", ".join(self.events)),) if self.events else ()
        self.reject(incoming, Rejection(489, "Bad Event", rows))


def default_groups(domain: str) -> list[dict[str, Any]]:
    """The groups a server has when given none (``groups=None``): what the
    7.1.1.4 and 7.1.1.10 walk-throughs use.  ``groups=()`` means no groups."""
    return [
        {"uri": f"sip:group-friends@{domain}", "subject": "Friends",
         "members": [f"sip:{user}@{domain}" for user in ("alice", "bob", "carol")]},
        {"uri": f"sip:chat-public@{domain}", "subject": "Public chat", "public": True, "anonymity": True},
    ]


def _names(service: Service, attribute: str) -> list[str]:
    """The strings of a service's optional ``methods`` / ``events`` attribute.
    An instance attribute of that name that is something else (the focus keeps
    its event package *handler* in ``self.events``) hides the class's list of
    names; the class attribute is read then."""
    for value in (getattr(service, attribute, ()), getattr(type(service), attribute, ())):
        if isinstance(value, str):
            return [value]
        if isinstance(value, (tuple, list, set, frozenset)):
            return [item for item in value if isinstance(item, str)]
    return []


def _reason(status: int) -> str:
    from imkit.sip.message import REASON_PHRASES

    return REASON_PHRASES.get(status, "Fault Injected")


def _remember(table: OrderedDict[FaultKey, Fault], key: FaultKey, fault: Fault) -> None:
    table[key] = fault
    while len(table) > _REMEMBERED:
        table.popitem(last=False)
