"""``IMClient``: the OMA IM Client of 7.1.1 on real sockets.

It owns a SIP :class:`~imkit.runtime.Endpoint`, an MSRP listener
(:class:`~imkit.client.media.MediaEndpoint`) and, optionally, a
:class:`~imkit.trace.Trace`.  It is the :class:`~imkit.procedures.context.BuildContext`
the procedure builders read, sends what they build (label = clause,
provenance kept), keeps what 7.1.1 says to keep, writes a trace note for
every such act (so the conformance rules can check it), and answers the
requests an IM Server sends (INVITE from a focus, BYE, NOTIFY, re-INVITE).

Every procedure has an awaitable method (``start_session``,
``start_adhoc_conference``, ...) and a build-only twin on ``client.prepare``
that returns the request for a person to edit, then ``await client.send(out)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Sequence

from imkit.client.incoming import IncomingHandler
from imkit.errors import ProtocolError
from imkit.client.media import MediaEndpoint, MediaOffer
from imkit.client.prepare import Prepare
from imkit.procedures.general import StoredServerInfo
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import ClientProfile
from imkit.runtime import Endpoint, IncomingRequest
from imkit.sip import NameAddr, Request, Response, SipURI, parse
from imkit.sip.auth import DigestClient
from imkit.sip.builders import new_request
from imkit.sip.dialog import Dialog
from imkit.sip.errors import ParseError
from imkit.sip.ids import IdGenerator
from imkit.sip.sdp import SessionDescription, msrp_media
from imkit.sip.transaction_layer import default_port
from imkit.sip.uri import URI
from imkit.trace import Address, Direction, Protocol, Trace
from imkit.trace import Transport as TraceTransport
from imkit.trace.notes import Note

_log = logging.getLogger("imkit.client")

#: SDP offers remembered for matching answers (a composer may build many).
MAX_OFFERS = 256
#: finished sessions, subscriptions, referrals and kept identities remembered
MAX_KEPT = 64

#: Provenance of the RFC 3261 headers every request has.
_BASE_REASONS = {
    "Via": "8.1.1.7", "Max-Forwards": "8.1.1.6", "From": "8.1.1.3", "To": "8.1.1.2",
    "Call-ID": "8.1.1.4", "CSeq": "8.1.1.5", "Content-Length": "20.14",
}


class _OwnLane:
    """What the client's endpoint records into: the client's trace, with the
    lanes of TCP connections named.  A connection comes from a port of its
    own (the client's over TCP, or a request over 1300 bytes switched from
    UDP to TCP: RFC 3261 18.1.1; the server's NOTIFY likewise): each local
    address recorded is the client's, and a peer's connection takes the name
    of the sent-by in the top Via of the first request it brings, so the
    ladder keeps one lane per party.  The endpoint's notes go to the trace."""

    def __init__(self, trace: Trace, name: str) -> None:
        self.trace = trace
        self.name = name

    def record(self, now: float, direction: Direction, protocol: Protocol, transport: TraceTransport,
               local: Address, remote: Address, raw: bytes, provenance: Any = None, label: str | None = None) -> None:
        names = self.trace.names
        names.setdefault(local, self.name)
        if transport is not TraceTransport.UDP and direction is Direction.RECEIVED and remote not in names:
            peer = _sent_by(raw)
            name = names.get(peer) if peer is not None else None
            if name is not None:
                names[remote] = name
        self.trace.record(now, direction, protocol, transport, local, remote, raw, provenance=provenance, label=label)

    def note(self, note: Note) -> None:
        self.trace.note(note)


def _sent_by(raw: bytes) -> Address | None:
    """The sent-by of a request's top Via (``None`` for a response or bytes
    that do not parse)."""
    try:
        message = parse(raw)
    except ParseError:
        return None
    via = message.top_via if isinstance(message, Request) else None
    if via is None:
        return None
    return via.host.strip("[]"), via.port or default_port(via.transport)


class IMClient:
    """One IM User's client.

    ``server`` is where requests go first ("host:port", the test IM Server or
    a SIP/IP Core); ``proxy`` is an outbound proxy URI (a SIP/IP Core such as
    Kamailio) that takes precedence.  ``transport`` is ``udp`` or ``tcp``.

    Over UDP the client also listens on TCP on the same port (RFC 3261
    18.2.1), and a request of more than 1300 bytes (a URI-list INVITE, a
    REFER to many) goes over TCP to the same server address (18.1.1; see
    :mod:`imkit.runtime.endpoint`); the Contact stays a UDP one.
    """

    def __init__(
        self,
        aor: str,
        *,
        display_name: str | None = None,
        server: str | None = None,
        proxy: str | None = None,
        transport: str = "udp",
        username: str | None = None,
        password: str | None = None,
        conference_factory: str | None = None,
        max_adhoc_group_size: int = 10,
        blocklist: Sequence[str] = (),
        user_agent: str | None = None,
        session_expires: int = 1800,
        rejoin_window: float = 300.0,
        auto_subscribe: bool = True,
        auto_refresh: bool = True,
        trace: Trace | None = None,
        host: str = "127.0.0.1",
        ids: IdGenerator | None = None,
    ) -> None:
        settings: dict[str, Any] = dict(
            display_name=display_name, max_adhoc_group_size=max_adhoc_group_size,
            blocklist=set(blocklist), session_expires=session_expires, rejoin_window=rejoin_window,
        )
        if conference_factory is not None:
            settings["conference_factory"] = conference_factory
        if user_agent is not None:
            settings["user_agent"] = user_agent
        self.profile = ClientProfile.for_user(aor, **settings)
        self.transport = transport.upper()
        self.trace = trace
        self.ids = ids or IdGenerator()
        self.auto_subscribe = auto_subscribe
        self.auto_refresh = auto_refresh
        self.server = server
        outbound = proxy if proxy is not None else (f"sip:{server};transport={transport.lower()}" if server else None)
        self.endpoint = Endpoint(
            host=host,
            udp_port=0 if self.transport == "UDP" else None,
            tcp_port=0 if self.transport == "TCP" else None,
            outbound_proxy=outbound, handler=self._handle, ids=self.ids,
            trace=_OwnLane(trace, self.profile.aor.user or str(self.profile.aor)) if trace is not None else None,
        )
        self.media = MediaEndpoint(trace, self.ids, host, name=self.profile.aor.user or str(self.profile.aor))
        self.auth = DigestClient(username or (self.profile.aor.user or ""), password, ids=self.ids) if password else None
        self.sessions: list["IMSession"] = []
        self.incoming: asyncio.Queue["IMSession"] = asyncio.Queue(maxsize=64)
        self.subscriptions: list["ConferenceSubscription"] = []
        self.referrals: list["Referral"] = []
        #: IM Session Identities kept after leaving, for 7.1.1.9 (identity -> time left)
        self.recent_identities: dict[str, float] = {}
        #: 7.1.1.1: the Allow list and Contact of the IM Server's last answer to a
        #: request outside any session (REFER, SUBSCRIBE); sessions keep their own
        self.server_info = StoredServerInfo()
        self.prepare = Prepare(self)
        #: offers this client made, by our MSRP URI (the oldest forgotten past MAX_OFFERS)
        self._offers: OrderedDict[str, MediaOffer] = OrderedDict()
        self._incoming = IncomingHandler(self)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle --------------------------------------------------------------
    async def start(self) -> "IMClient":
        await self.endpoint.start()
        await self.media.start()
        if self.trace is not None:
            name = self.profile.aor.user or str(self.profile.aor)
            self.trace.names[self.endpoint.local_address(self.transport)] = name
            assert self.media.listener is not None
            self.trace.names[(self.media.listener.host, self.media.listener.port)] = name
            if self.server is not None:
                host, _, port = self.server.rpartition(":")
                if port.isdigit():
                    self.trace.names.setdefault((host.strip("[]"), int(port)), "IM Server")
        return self

    async def close(self, grace: float = 2.0) -> None:
        """Finish what is under way (a subscription being terminated after a
        BYE, say) for up to ``grace`` seconds, end the subscriptions still
        active ("When needed the IM Client SHALL terminate the subscription"),
        then close the sockets."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for subscription in self.subscriptions:
            subscription.stop()
            if not subscription.terminated and subscription.dialog is not None:
                try:
                    await asyncio.wait_for(subscription.terminate(), grace)
                except (ProtocolError, asyncio.TimeoutError, OSError):
                    pass  # the server may have ended it already
        for task in list(self._tasks):
            task.cancel()
        for session in list(self.sessions):
            await session.release_media()
        await self.media.close()
        await self.endpoint.close()

    async def __aenter__(self) -> "IMClient":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def aor(self) -> SipURI:
        return self.profile.aor

    # -- BuildContext ----------------------------------------------------------------
    @property
    def contact(self) -> SipURI:
        return self.endpoint.contact_uri(self.profile.aor.user, self.transport)

    def initial_request(self, method: str, request_uri: URI, to: NameAddr, clause: str, purpose: str) -> OutgoingRequest:
        sender = NameAddr(self.profile.aor, self.profile.display_name).with_tag(self.ids.tag())
        request = new_request(
            method, request_uri, from_addr=sender, to_addr=to,
            call_id=self.ids.call_id(self.endpoint.host), cseq=self.ids.cseq(),
            via=self.endpoint.new_via(self.transport),
        )
        out = OutgoingRequest(request, clause, purpose)
        for name, section in _BASE_REASONS.items():
            out.cite(name, "RFC 3261", section)
        return out

    def in_dialog_request(self, dialog: Dialog, method: str, clause: str, purpose: str) -> OutgoingRequest:
        request = dialog.create_request(method, via=self.endpoint.new_via(self.transport))
        out = OutgoingRequest(request, clause, purpose)
        for name in ("To", "From", "Call-ID", "CSeq", "Route"):
            out.cite(name, "RFC 3261", "12.2.1.1", "from the dialog state")
        return out

    def sdp_offer(self, accept_types: Sequence[str]) -> bytes:
        offer = self.media.offer(accept_types)
        self._offers[str(offer.uri)] = offer
        while len(self._offers) > MAX_OFFERS:
            self._offers.popitem(last=False)
        return offer.sdp

    def offer_in(self, sdp: bytes) -> MediaOffer:
        """The offer we made that ``sdp`` (perhaps edited by a person) carries."""
        media = msrp_media(SessionDescription.parse(sdp))
        offer = self._offers.get(media.uri)
        if offer is None:
            raise ValueError(f"the SDP offers an MSRP path {media.uri} this client did not make")
        return MediaOffer(offer.uri, sdp)

    # -- sending ------------------------------------------------------------------------
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def note(self, key: str, text: str, message: Request | Response | None = None) -> None:
        """Write what the client did to the trace (see :mod:`imkit.trace.notes`)."""
        if self.trace is not None:
            self.trace.note(Note.about(self.now(), key, text, message))

    async def transact(self, out: OutgoingRequest, *, on_provisional: Any = None, on_sent: Any = None) -> Response:
        """Send ``out`` and return its final response, answering a digest
        challenge once when credentials are configured.  ``on_sent`` gets the
        runtime's in-flight request (what a CANCEL needs)."""
        request = out.request
        pending = await self.endpoint.send_request(
            request, on_provisional=on_provisional, provenance=out.provenance, label=out.clause,
        )
        if on_sent is not None:
            on_sent(pending)
        response = await pending
        assert response is not None
        if response.status in (401, 407) and self.auth is not None and self.auth.handle_challenge(response):
            retry = self.auth.authorize(_next_attempt(request))
            out.request = retry
            out.cite("Authorization" if response.status == 401 else "Proxy-Authorization", "RFC 3261", "22.2")
            pending = await self.endpoint.send_request(
                retry, on_provisional=on_provisional, provenance=out.provenance, label=out.clause,
            )
            if on_sent is not None:
                on_sent(pending)
            response = await pending
            assert response is not None
        return response

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, incoming: IncomingRequest) -> Response | None:
        return await self._incoming.handle(incoming)

    # -- procedures (build + send) -------------------------------------------------------
    async def register(self, expires: int = 3600) -> Response:
        """REGISTER the contact with the SIP/IP Core (RFC 3261 10)."""
        registrar = SipURI(host=self.profile.aor.host)
        out = self.initial_request("REGISTER", registrar, NameAddr(self.profile.aor), "RFC 3261", "registration")
        out.request.headers.set("From", str(NameAddr(self.profile.aor, self.profile.display_name).with_tag(self.ids.tag())))
        out.set("Contact", str(NameAddr(self.contact)), "RFC 3261", "10.2.1")
        out.set("Expires", str(expires), "RFC 3261", "10.2.1.1")
        return await self.transact(out)

    async def send(self, out: OutgoingRequest) -> Any:
        """Send a request ``client.prepare`` built (perhaps edited since)."""
        from imkit.client import flows

        return await flows.send(self, out)

    async def start_session(self, recipient: str, *, anonymous: bool = False) -> "IMSession":
        """7.1.1.2: a One-to-One IM session with ``recipient``."""
        return await self.send(self.prepare.start_session(recipient, anonymous=anonymous))

    async def start_adhoc_conference(self, invited: Sequence[str], *, anonymous: bool = False) -> "IMSession":
        """7.1.1.3: an Ad-hoc IM Conference with the invited IM Users."""
        return await self.send(self.prepare.start_adhoc_conference(invited, anonymous=anonymous))

    async def join_group(self, group: str, *, anonymous: bool = False) -> "IMSession":
        """7.1.1.4: the Pre-Defined IM Conference of ``group``."""
        return await self.send(self.prepare.join_group(group, anonymous=anonymous))

    async def join_public_conference(self, conference: str, *, anonymous: bool = False) -> "IMSession":
        """7.1.1.10: join the Public Conference ``conference``."""
        return await self.send(self.prepare.join_public_conference(conference, anonymous=anonymous))

    async def rejoin(self, identity: str | None = None, *, anonymous: bool = False) -> "IMSession":
        """7.1.1.9: rejoin the conference whose IM Session Identity is stored."""
        return await self.send(self.prepare.rejoin(identity, anonymous=anonymous))

    async def subscribe_conference(self, target: str | SipURI) -> "ConferenceSubscription":
        """7.1.1.11: subscribe to the conference state of an IM Session or Group."""
        return await self.send(self.prepare.subscribe_conference(target))

    def begin(self, out: OutgoingRequest) -> "PendingInvite":
        """Send a conference INVITE without waiting: the result can be cancelled (7.1.1.13)."""
        from imkit.client import flows

        return flows.begin(self, out)

    def stored_identity(self) -> str | None:
        """The IM Session Identity most recently kept for rejoining (7.1.1.12
        NOTE), while its time lasts; ``None`` when none is kept (7.1.1.9 item 1)."""
        now = self.now()
        self.recent_identities = {k: t for k, t in self.recent_identities.items() if t > now}
        return next(reversed(self.recent_identities), None)

    def keep_identity(self, identity: str) -> None:
        """Keep an IM Session Identity for ``rejoin_window`` seconds (newest last)."""
        self.recent_identities.pop(identity, None)
        self.recent_identities[identity] = self.now() + self.profile.rejoin_window
        while len(self.recent_identities) > MAX_KEPT:
            del self.recent_identities[next(iter(self.recent_identities))]

    def remember(self, items: list[Any], item: Any) -> None:
        """Append to one of the client's lists (sessions, subscriptions,
        referrals), forgetting the oldest finished entries past MAX_KEPT."""
        items.append(item)
        if len(items) > MAX_KEPT:
            finished = [old for old in items if _finished(old)]
            for old in finished[: len(items) - MAX_KEPT]:
                items.remove(old)


def _finished(item: Any) -> bool:
    from imkit.procedures.state import SessionPhase

    state = getattr(item, "state", None)
    if hasattr(state, "phase"):
        return state.phase in (SessionPhase.ENDED, SessionPhase.FAILED, SessionPhase.CANCELLED)
    if hasattr(item, "terminated"):
        return bool(item.terminated)
    return getattr(item, "response", None) is not None


def _next_attempt(request: Request) -> Request:
    """The same request with CSeq + 1, for a retry (RFC 3261 22.2, 8.1.3.5)."""
    from imkit.sip import parse

    retry = parse(bytes(request))
    cseq = retry.cseq
    assert cseq is not None
    retry.headers.set("CSeq", f"{cseq.seq + 1} {cseq.method}")
    return retry


# imported at the end: they refer back to IMClient
from imkit.client.referral import Referral  # noqa: E402
from imkit.client.session import IMSession, PendingInvite  # noqa: E402
from imkit.client.subscription import ConferenceSubscription  # noqa: E402
