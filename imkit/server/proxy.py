"""The test IM Server's stateful proxy (RFC 3261 section 16) and its router.

1-1 IM sessions (7.1.1.2) use peer-to-peer MSRP media, so the server takes
part in their signalling only as a proxy: it finds the callee (a registered
imkit client, a simulated user, or the SIP/IP Core), records a route so
every in-dialog request (ACK, re-INVITE 7.1.1.5/7.1.1.8, BYE 7.1.1.12)
comes through it again, and relays responses.  A B2BUA would have to
rewrite SDP and hold two dialogs per session; a proxy keeps no dialog state
at all (transaction state only, in :class:`imkit.runtime.Endpoint`).

:class:`Router` turns a Request-URI into a :class:`Target` (RFC 3261 16.5);
:class:`Proxy` forwards (16.3 request validation, 16.4 route information
preprocessing, 16.6 forwarding with Record-Route and a Via whose branch
carries the loop-detection hash, 16.7 response processing, 16.8 Timer C,
16.10 CANCEL), and forwards ACKs for 2xx along the route set.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imkit.errors import LocalProtocolError
from imkit.runtime import (
    IncomingRequest,
    OutgoingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.server.config import SUPPORTED_OPTIONS
from imkit.server.registrar import aor_key
from imkit.server.validation import (
    MAX_FORWARDS,
    Rejection,
    check_proxy_require,
)
from imkit.sip import NameAddr, Request, Response, SipURI
from imkit.sip.builders import new_request
from imkit.sip.errors import ParseError
from imkit.sip.headers import split_list
from imkit.sip.ids import MAGIC_COOKIE
from imkit.sip.transaction import Destination
from imkit.sip.uri import URI, parse_uri

if TYPE_CHECKING:
    from imkit.server.app import TestServer

__all__ = ["Proxy", "Router", "Target", "pop_via"]

_log = logging.getLogger("imkit.server.proxy")

#: RFC 3261 16.6 item 11: "Timer C MUST be set for each client transaction
#: when an INVITE request is proxied.  The timer MUST be larger than 3 minutes."
TIMER_C = 181.0
#: How long to wait for the final response once a branch is cancelled (64*T1).
CANCEL_WAIT = 32.0
#: Methods whose initial requests get a Record-Route (they create dialogs).
RECORD_ROUTE_METHODS = frozenset({"INVITE", "SUBSCRIBE", "REFER"})


@dataclass(frozen=True)
class Target:
    """Where a request goes: its new Request-URI, and where to send it
    (``None``: by the Route header or the Request-URI, RFC 3261 16.6 item 7)."""

    uri: URI
    destination: Destination | URI | None = None
    description: str = ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class Router:
    """Location service lookup (RFC 3261 16.5): registered contact first,
    then a declared simulated user, then the SIP/IP Core, then a simulated
    user created on demand."""

    def __init__(self, server: TestServer) -> None:
        self.server = server

    async def resolve(self, uri: URI, transport: str) -> Target | Rejection:
        server = self.server
        config = server.config
        if not isinstance(uri, SipURI):
            return Rejection(416, f"Unsupported URI Scheme ({uri.scheme})")
        if not server.is_local_domain(uri):
            if _is_ip(uri.host):
                return Target(uri, None, "its Request-URI")
            if server.core is not None:
                return Target(uri, server.core, "SIP/IP Core")
            return Rejection(404, "Not Found (domain not served here)")
        if not uri.user:
            return Rejection(404, "Not Found")
        key = aor_key(uri, server.domain)
        assert key is not None
        binding = server.location.lookup(key, server.now())
        if binding is not None:
            return Target(binding.uri, None, f"registered contact of {key}")
        declared = server.users.get(uri.user)
        if declared is not None:
            user = await declared.start()
            return Target(user.contact(transport), None, f"simulated user {user.name}")
        if server.core is not None:
            return Target(uri, server.core, "SIP/IP Core")
        if uri.user in config.credentials:
            # a real user of the domain (it has credentials) who is not registered
            return Rejection(480, "Temporarily Unavailable")
        try:
            created = await server.users.obtain(uri.user)
        except LocalProtocolError:
            return Rejection(503, "Service Unavailable (too many simulated users)")
        if created is None:
            return Rejection(404, "Not Found")
        return Target(created.contact(transport), None, f"simulated user {created.name}")


def pop_via(message: Response) -> None:
    """Remove the topmost Via value (RFC 3261 16.7 item 3: "The proxy removes
    the topmost Via header field value from the response.")."""
    rows = message.headers.fields("Via")
    if not rows:
        return
    items = split_list(rows[0].value)
    if len(items) <= 1:
        message.headers.remove_first("Via")
    else:
        rows[0].value = ", ".join(items[1:])
        rows[0].raw = None


def _relayed(response: Response) -> Response:
    """The copy of a received response that goes upstream, its top Via
    removed (16.7 item 3); the received one is left as it came."""
    copy = Response(response.status, response.reason, response.headers.copy(), response.body, response.version)
    pop_via(copy)
    return copy


def _set_list(request: Request, name: str, values: list[str]) -> None:
    """Replace every row of list header ``name`` by one row (kept in place)."""
    if values:
        request.headers.set(name, ", ".join(values))
    else:
        request.headers.remove(name)


def loop_hash(request: Request) -> str:
    """RFC 3261 16.6 item 8: the part of the branch that detects loops, a hash
    of "the To tag, From tag, Call-ID header field, the Request-URI of the
    request received (before translation) ... and the sequence number from the
    CSeq header field, in addition to any Proxy-Require and
    Proxy-Authorization header fields" (the topmost Via is left out: a request
    looping through another proxy arrives with that proxy's Via on top)."""
    to, from_ = request.to, request.from_
    cseq = request.cseq
    parts = [
        str(request.uri), (to.tag if to else "") or "", (from_.tag if from_ else "") or "",
        request.call_id or "", str(cseq.seq if cseq else ""),
        ",".join(request.headers.get_all("Proxy-Require")),
        ",".join(request.headers.get_all("Proxy-Authorization")),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


class Proxy:
    """Forwards what no service owns and the server does not answer itself."""

    def __init__(self, server: TestServer, *, timer_c: float = TIMER_C) -> None:
        self.server = server
        self.timer_c = timer_c

    # -- helpers -----------------------------------------------------------------
    def _reject(self, incoming: IncomingRequest, rejection: Rejection) -> None:
        self.server.reject(incoming, rejection)

    def _own_routes(self, routes: list[NameAddr]) -> int:
        """How many leading Route values name this proxy (two after a double
        Record-Route, RFC 5658)."""
        count = 0
        for route in routes:
            if not self.server.is_own_route(route.uri):
                break
            count += 1
        return count

    def _looped(self, request: Request, hashed: str) -> bool:
        """RFC 3261 16.3 item 4: "If the request contains a Via header field
        with a sent-by value that equals a value placed into previous requests
        by the proxy, the request has been forwarded by this element before.
        The request has either looped or is legitimately spiraling ... the
        element MUST ... compare [the branch] against the value received in
        that Via header field.  If the values match, the request has looped".
        ``hashed`` is :func:`loop_hash` of the request."""
        wanted = f"{MAGIC_COOKIE}{hashed}."
        for via in request.via:
            if self.server.is_own_sent_by(via.host, via.port) and (via.branch or "").startswith(wanted):
                return True
        return False

    # -- requests ------------------------------------------------------------------
    async def handle(self, incoming: IncomingRequest) -> None:
        """Proxy a request other than ACK (answered one way or another on return)."""
        request = incoming.request
        server = self.server
        max_forwards = request.max_forwards
        if max_forwards is not None and max_forwards <= 0:
            # RFC 3261 16.3 item 3: "If the request does not contain a
            # Max-Forwards header field, this check is passed.  If the request
            # contains a Max-Forwards header field with a field value of zero
            # (0), the element MUST NOT forward the request ... the element
            # MUST return a 483 (Too many hops) response."
            self._reject(incoming, Rejection(483, "Too Many Hops"))
            return
        hashed = loop_hash(request)
        if self._looped(request, hashed):
            self._reject(incoming, Rejection(482, "Loop Detected"))
            return
        rejection = check_proxy_require(request, SUPPORTED_OPTIONS)
        if rejection is not None:
            self._reject(incoming, rejection)
            return
        routes = request.route
        own = self._own_routes(routes)
        remaining = routes[own:]
        request_uri: URI = request.uri
        if own == 0 and routes and server.is_own_route(request_uri):
            # RFC 3261 16.4: "If the Request-URI contains a value this proxy
            # previously placed into a Record-Route header field, the proxy MUST
            # replace the Request-URI in the request with the last value from the
            # Route header field, and remove that value" (a strict router's request).
            request_uri, remaining = routes[-1].uri, routes[:-1]
        if remaining:
            # 16.6 item 7: loose routing, the Request-URI stays.
            target: Target | Rejection = Target(request_uri, None, "next hop of the route set")
        else:
            target = await server.router.resolve(request_uri, incoming.source.transport)
        if isinstance(target, Rejection):
            self._reject(incoming, target)
            return
        if incoming.cancelled.is_set():
            return
        await self._forward(incoming, target, remaining, max_forwards, hashed)

    def _copy(self, request: Request, target: Target, remaining: list[NameAddr],
              max_forwards: int | None) -> Request:
        # 16.6 item 1: "Make a copy of the received request" -- new header rows,
        # so the received request (its server transaction's) stays as it came;
        # it was parsed and checked already, so it is not parsed again.
        copy = Request(request.method, request.uri, request.headers.copy(), request.body, request.version)
        # item 2: "Update the Request-URI"
        copy.uri = target.uri
        # item 3: "If the copy contains a Max-Forwards header field, the proxy MUST
        # decrement its value by one (1).  If the copy does not contain a
        # Max-Forwards header field, the proxy MUST add one with a field value,
        # which SHOULD be 70."
        copy.headers.set("Max-Forwards", str(MAX_FORWARDS if max_forwards is None else max_forwards - 1))
        _set_list(copy, "Route", [str(r) for r in remaining])
        return copy

    async def _forward(self, incoming: IncomingRequest, target: Target, remaining: list[NameAddr],
                       max_forwards: int | None, hashed: str) -> None:
        request = incoming.request
        server = self.server
        endpoint = server.require_endpoint()
        copy = self._copy(request, target, remaining, max_forwards)
        try:
            destination = await endpoint.resolve(
                target.destination if target.destination is not None else endpoint.next_hop(copy)
            )
        except (LocalProtocolError, TransportFailure) as exc:
            self._reject(incoming, Rejection(480, f"Temporarily Unavailable ({exc})"[:100]))
            return
        to = request.to
        if request.method in RECORD_ROUTE_METHODS and not (to is not None and to.tag):
            # 16.6 item 4: "If this proxy wishes to remain on the path of future
            # requests in a dialog created by this request ..., it MUST insert a
            # Record-Route header field value" -- two when the transports of the
            # two sides differ (RFC 5658), the inbound side's first.
            values = [str(server.record_route(incoming.source.transport))]
            if destination.transport != incoming.source.transport:
                values.insert(0, str(server.record_route(destination.transport)))
            existing = copy.headers.get_all("Record-Route")
            if existing:
                _set_list(copy, "Record-Route", values + existing)
            else:
                for value in reversed(values):
                    copy.headers.add("Record-Route", value, first=True)
        # item 8: "The proxy MUST insert a Via header field value into the copy
        # before the existing Via header field values."  The branch starts with
        # the loop-detection hash of the request as received.
        via = endpoint.new_via(destination.transport).with_param(
            "branch", f"{MAGIC_COOKIE}{hashed}.{server.ids.tag()}"
        )
        copy.headers.add("Via", str(via), first=True)
        state = _Branch(loop=asyncio.get_running_loop())
        try:
            outgoing = await endpoint.send_request(
                copy, destination, on_provisional=lambda r: self._provisional(incoming, r, state),
                label=f"proxied to {target.description}" if target.description else None,
            )
        except (LocalProtocolError, TransportFailure) as exc:
            self._reject(incoming, Rejection(480, f"Temporarily Unavailable ({exc})"[:100]))
            return
        try:
            if request.method == "INVITE":
                response = await self._invite_final(incoming, outgoing, state)
            else:
                response = await outgoing
        except TransactionTimeout:
            # 16.7/16.8: a timeout counts as a 408 (Request Timeout) response.
            self._reject(incoming, Rejection(408, "Request Timeout"))
            return
        except TransportFailure:
            # 16.9: a transport error counts as a 503; 16.7 item 6 turns a
            # lone 503 into 500 upstream, see _final.
            self._reject(incoming, Rejection(480, "Temporarily Unavailable (unreachable)"))
            return
        if response is not None:
            await self._final(incoming, copy, response)

    def _provisional(self, incoming: IncomingRequest, response: Response, state: _Branch) -> None:
        state.last_provisional = state.loop.time()
        # 16.7 item 5: "Any provisional response other than 100 (Trying) MUST be
        # forwarded upstream immediately."
        if response.status == 100 or incoming.responded or incoming.cancelled.is_set():
            return
        self.server.require_endpoint().respond(incoming, _relayed(response))

    async def _invite_final(self, incoming: IncomingRequest, outgoing: OutgoingRequest,
                            state: _Branch) -> Response | None:
        """The INVITE's final response, with CANCEL (16.10) and Timer C (16.8)."""
        endpoint = self.server.require_endpoint()
        loop = state.loop
        response: asyncio.Future[Response | None] = asyncio.shield(outgoing.response)
        cancelled: asyncio.Future[Any] = asyncio.ensure_future(incoming.cancelled.wait())
        try:
            deadline = loop.time() + self.timer_c
            while True:
                done, _ = await asyncio.wait({response, cancelled}, timeout=max(0.0, deadline - loop.time()),
                                             return_when=asyncio.FIRST_COMPLETED)
                if response in done:
                    return response.result()
                if cancelled in done:
                    # 16.10: "the proxy ... MUST cancel any pending client transactions"
                    break
                if state.last_provisional is not None and state.last_provisional + self.timer_c > loop.time():
                    # 16.8: "If the client transaction receives a provisional
                    # response while Timer C is running, Timer C MUST be reset."
                    deadline = state.last_provisional + self.timer_c
                    continue
                # 16.8: "If timer C should fire, the proxy MUST either reset the
                # timer with any value it chooses, or terminate the client
                # transaction" (by CANCEL), and the client gets a 408.
                self._reject(incoming, Rejection(408, "Request Timeout (Timer C)"))
                break
        finally:
            cancelled.cancel()
        try:
            await endpoint.cancel(outgoing)
        except (TransactionTimeout, TransportFailure) as exc:
            _log.info("CANCEL of %s failed: %s", outgoing.request.uri, exc)
        try:
            return await asyncio.wait_for(response, CANCEL_WAIT)
        except (TimeoutError, TransactionTimeout, TransportFailure):
            return None

    async def _final(self, incoming: IncomingRequest, forwarded: Request, response: Response) -> None:
        relayed = _relayed(response)
        if incoming.responded:
            if forwarded.method == "INVITE" and relayed.is_success:
                # A 2xx that crossed our CANCEL or Timer C's 408: the callee is
                # in a session nobody upstream knows of.  End it.
                await self._end_orphan(forwarded, relayed)
            return
        if relayed.status == 503:
            # RFC 3261 16.7 item 6: "A proxy which receives a 503 (Service
            # Unavailable) response SHOULD NOT forward it upstream unless it can
            # determine that any subsequent requests it might proxy will also
            # generate a 503" -- it answers 500 instead.
            relayed.status, relayed.reason = 500, "Server Internal Error (503 downstream)"
        self.server.require_endpoint().respond(incoming, relayed)

    async def _end_orphan(self, forwarded: Request, response: Response) -> None:
        """ACK and BYE a 2xx nobody upstream will acknowledge (RFC 3261 13.2.2.4, 15)."""
        endpoint = self.server.require_endpoint()
        contact = response.contact
        to, from_, cseq = response.to, forwarded.from_, forwarded.cseq
        if not contact or to is None or from_ is None or cseq is None or forwarded.call_id is None:
            return
        # The callee's part of the route set: the Record-Route values above ours.
        downstream: list[NameAddr] = []
        for value in response.record_route:
            if self.server.is_own_route(value.uri):
                break
            downstream.append(value)
        route = list(reversed(downstream))
        for method, seq in (("ACK", cseq.seq), ("BYE", cseq.seq + 1)):
            request = new_request(
                method, contact[0].uri, from_addr=from_, to_addr=to, call_id=forwarded.call_id,
                cseq=seq, via=endpoint.new_via(), route=route,
                headers=[("User-Agent", self.server.config.server_header)],
            )
            try:
                if method == "ACK":
                    await endpoint.send_ack(request)
                else:
                    await endpoint.request(request)
            except (LocalProtocolError, TransactionTimeout, TransportFailure) as exc:
                _log.info("could not end the orphaned session %s: %s", forwarded.call_id, exc)
                return

    # -- ACK ---------------------------------------------------------------------
    async def forward_ack(self, incoming: IncomingRequest) -> None:
        """Forward an ACK for a 2xx along its Route (RFC 3261 16.4, 16.6; an
        ACK is never answered: one that cannot go on is dropped)."""
        request = incoming.request
        server = self.server
        try:
            routes = request.route
            max_forwards = request.max_forwards
        except ParseError:
            return
        own = self._own_routes(routes)
        remaining = routes[own:]
        if (max_forwards is not None and max_forwards <= 0) or (
                not remaining and server.is_own_route(request.uri)):
            _log.info("dropped an ACK that goes nowhere: %s", request.uri)
            return
        copy = self._copy(request, Target(request.uri), remaining, max_forwards)
        endpoint = server.require_endpoint()
        try:
            destination = await endpoint.resolve(endpoint.next_hop(copy))
        except (LocalProtocolError, TransportFailure) as exc:
            _log.info("dropped an ACK for %s: %s", request.uri, exc)
            return
        copy.headers.add("Via", str(endpoint.new_via(destination.transport)), first=True)
        await endpoint.send_ack(copy, destination)


@dataclass(eq=False)
class _Branch:
    """What the proxy remembers of one forwarded INVITE while it waits."""

    loop: asyncio.AbstractEventLoop
    last_provisional: float | None = None


def core_uri(text: str) -> SipURI:
    """A SIP/IP Core URI given as ``host:port`` or a SIP URI (``;lr`` added)."""
    uri = parse_uri(text if text.lower().startswith(("sip:", "sips:")) else f"sip:{text}")
    if not isinstance(uri, SipURI):
        raise LocalProtocolError(f"{text!r} is not a SIP URI")
    return uri if uri.param("lr") is not None else uri.with_param("lr")

