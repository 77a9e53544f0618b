"""The conference focus of the test IM Server (RFC 4579, RFC 5366; OMA SIMPLE IM
7.1.1.3, 7.1.1.4, 7.1.1.6, 7.1.1.7, 7.1.1.9-7.1.1.12, 7.1.1.14).

:class:`Focus` is a :class:`imkit.server.service.Service`.  It owns the
requests whose Request-URI, at the server's domain or host, has as user part

* the conference factory's (``conference-factory``, ``server.factory_uri``):
  an INVITE there creates an ad-hoc conference (7.1.1.3, 7.1.1.6);
* a pre-defined group's (:mod:`imkit.server.groups`): an INVITE creates or
  joins the group's session (7.1.1.4) or, for a public group, the public
  conference (7.1.1.10); a SUBSCRIBE there reaches the running session;
* ``conf-<id>``: an IM Session Identity, ``sip:conf-<id>@<host>:<port>``,
  routable back to this server directly and through Kamailio (its config
  relays the IM server's own host:port and users matching
  ``^(conference-factory|conf-|group-|chat-)``).  INVITE there rejoins
  (7.1.1.9), REFER adds or removes users (7.1.1.7, 7.1.1.14,
  :mod:`imkit.server.refer`), SUBSCRIBE subscribes to the conference state
  (7.1.1.11, :mod:`imkit.server.events`); an identity whose conference ended
  gets 404;

and every request inside one of its dialogs.

Creating and joining.  The INVITE's SDP offer (alone, or the
``application/sdp`` part of a ``multipart/mixed`` body whose
``application/resource-lists+xml`` part, ``Content-Disposition:
recipient-list``, lists whom to invite, RFC 5366) gets a 200 with

* ``Contact: <sip:conf-<id>@host:port>;isfocus`` (RFC 4579 section 3: "the
  focus MUST include the isfocus feature parameter"; ``;transport=tcp`` is
  added for a participant that came over TCP);
* an MSRP answer (``a=setup:passive`` unless the offer asked the focus to be
  active; the participant connects, :mod:`imkit.server.msrp_switch`);
* Allow, Supported, Server and, when the offer asked for session timers,
  ``Session-Expires`` with its refresher and ``Require: timer`` (RFC 4028,
  through :mod:`imkit.server.session_timer`; a too short interval gets 422).

RFC 5366: "the 200 (OK) response ... indicates that the conference was
created" and the invitations follow.  The focus dials out to every listed
user (once each; the creator is skipped) with an INVITE ``From`` the
conference URI, ``Contact`` with ``isfocus``, an MSRP offer, ``Supported:
timer`` and ``Session-Expires``.  The offer's ``a=setup`` is
:attr:`FocusConfig.dial_out_setup`, ``active`` by default: the focus opens
the connection once the answer named the user's path.  Were the focus
passive there, the user (active) would connect as soon as it sent its 200,
and its first SEND could reach the focus's listener before the 200 told the
focus which session it belongs to (the listener answers such a SEND 481,
RFC 4975 section 7.3).  ``passive`` and ``actpass`` work too (the focus then
registers the session before it ACKs) for exploring that race.  An entry carrying a
``?Replaces=`` URI header (7.1.1.6 item 8) is invited with that ``Replaces``
header (RFC 3891), so the invitee's user agent ends its old 1-1 dialog with
the creator by BYE.  Copy control (RFC 5364): a ``bcc`` invitee is not shown
to the others in the conference state; an ``anonymize="true"`` one is shown
anonymised.  ``count`` is read and not acted on: RFC 5364 has a URI-list
server write it in the list it *distributes* (collapsed anonymous
recipients), and the focus distributes the roster as conference-info, where
each anonymous participant is a ``<user>`` of its own.

Limits: an ad-hoc conference holds at most :attr:`FocusConfig.max_adhoc_size`
participants, the creator included; a group its ``max_size``.  A creation
whose list exceeds it, a join or REFER that would, gets **403 Forbidden**
with ``Warning: 399 <host:port> "group size exceeds the maximum of N
participants"`` (403: the request is understood and refused by policy;
486 Busy Here would wrongly say a user is busy).  ``Privacy: id`` to a group
that forbids anonymity gets 403 with a Warning too (7.1.1.1 item 5 NOTE).

Leaving: a participant's BYE removes it; the focus's BYE (REFER with
method=BYE, an unrefreshed session timer, a missing ACK) too.  The conference
ends when its last participant is gone and no dial-out is in progress:
subscriptions get ``terminated;reason=noresource``, MSRP connections close,
the identity is forgotten (nothing of it is left in the focus).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imkit.errors import LocalProtocolError, ProtocolError
from imkit.msrp import MSRPSession, cpim
from imkit.msrp.session import Role as MSRPRole
from imkit.payloads.conference_info import JoiningMethod
from imkit.payloads.resource_lists import CONTENT_TYPE as LIST_TYPE
from imkit.payloads.resource_lists import CopyControl, ResourceLists
from imkit.payloads.xml import PayloadError
from imkit.runtime import (
    Endpoint,
    IncomingRequest,
    OutgoingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.server.conference import (
    Conference,
    ConferenceKind,
    Invitation,
    Outcome,
    Refusal,
    Role,
)
from imkit.server.events import ConferenceEvents
from imkit.server.groups import GroupDefinition, aor_key
from imkit.server.msrp_switch import ANONYMOUS_URI, MSRPSwitch, Port
from imkit.server.refer import ReferHandler
from imkit.server.session_timer import (
    Negotiated,
    Refresher,
    SessionTimer,
    TimerPolicy,
    TooSmall,
    negotiate,
)
from imkit.server.validation import Rejection, error_response
from imkit.sip import Multipart, NameAddr, Request, Response, SipURI, parse_uri
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog, DialogId, DialogSet, RequestCheck, UsageKey
from imkit.sip.errors import ParseError
from imkit.sip.sdp import (
    ActiveSide,
    SessionDescription,
    Setup,
    build_msrp_answer,
    build_msrp_offer,
    msrp_active_side,
    msrp_media,
)
from imkit.sip.transaction import Destination
from imkit.sip.values import Via

__all__ = ["CONF_PREFIX", "Focus", "FocusConfig", "Leg", "LegState"]

_log = logging.getLogger("imkit.server.focus")

#: The user part prefix of IM Session Identities.
CONF_PREFIX = "conf-"
SDP = "application/sdp"
#: What the focus takes and sends on MSRP (7.1.1.3 item 5: accept-types message/cpim).
ACCEPT_TYPES = ("message/cpim", "text/plain")
ACCEPT_WRAPPED = ("*",)
METHODS = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "SUBSCRIBE", "NOTIFY", "UPDATE")
SUPPORTED = ("timer", "replaces", "norefersub", "multiple-refer", "recipient-list-invite")
ACCEPT = (SDP, "multipart/mixed", LIST_TYPE)


@dataclass(frozen=True)
class FocusConfig:
    """The focus's policy."""

    #: most participants of an ad-hoc conference, its creator included
    max_adhoc_size: int = 32
    #: most participants of a group session whose group names no max_size
    max_group_size: int = 64
    adhoc_anonymity_allowed: bool = True
    max_conferences: int = 256
    max_subscriptions_per_conference: int = 256
    #: seconds a dial-out may ring before the focus CANCELs it
    ring_timeout: float = 60.0
    #: a=setup of the focus's own offers (dial-outs); see the module docstring
    dial_out_setup: Setup = Setup.ACTIVE
    subscription_expires: int = 3600
    min_subscription_expires: int = 60
    max_subscription_expires: int = 86400
    refer_subscription_expires: int = 300
    #: seconds :meth:`Focus.close` waits for the BYEs and final NOTIFYs
    close_timeout: float = 2.0


class LegState(enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(eq=False)
class Leg:
    """One participant's INVITE dialog with the focus, and its MSRP port."""

    conference: Conference
    aor: str
    dialog: Dialog
    dialed_out: bool
    local_sdp: bytes
    port: Port | None
    state: LegState = LegState.ACTIVE
    timer: SessionTimer = field(init=False)


@dataclass(eq=False)
class _Parts:
    """What an INVITE to the focus carries: the SDP offer and the URI list."""

    offer: bytes
    uri_list: bytes | None = None


class Focus:
    """The conference focus service (see the module docstring).

    ``server`` is the :class:`imkit.server.app.TestServer` (or anything with
    ``endpoint``, ``domain``, ``factory_uri``, ``ids``, ``trace``,
    ``locate(aor)`` and, optionally, ``config``).
    """

    name = "focus"
    methods = METHODS
    events = ("conference",)

    def __init__(self, server: Any, *, config: FocusConfig | None = None,
                 groups: Iterable[GroupDefinition] = ()) -> None:
        self.server = server
        self.config = config or FocusConfig()
        self.groups: dict[str, GroupDefinition] = {}
        for group in groups:
            user = group.user.lower()
            if user in self.groups or user.startswith(CONF_PREFIX) or user == self.factory_user:
                # the focus routes on the user part: it must name one thing
                raise LocalProtocolError(f"group {group.uri}: its user part is taken")
            self.groups[user] = group
        #: live conferences by identity user part (``conf-...``)
        self.conferences: dict[str, Conference] = {}
        #: the running session of each group, by group user part
        self.group_sessions: dict[str, Conference] = {}
        self.dialogs = DialogSet(max_dialogs=16384)
        self.legs: dict[DialogId, Leg] = {}
        self._current: dict[tuple[str, str], Leg] = {}
        self._dialing: dict[tuple[str, str], OutgoingRequest] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        server_config = getattr(server, "config", None)
        self.server_header: str = getattr(server_config, "server_header", "IM-serv/OMA1.0 imkit-focus")
        self.timer_policy = TimerPolicy(
            min_se=getattr(server_config, "min_se", 90),
            interval=getattr(server_config, "session_expires", 1800),
        )
        self.switch = MSRPSwitch(host=self.endpoint.host, trace=getattr(server, "trace", None),
                                 on_closed=self._msrp_closed)
        self.notifier = ConferenceEvents(
            self.endpoint, adopt=self._adopt, release=self._release, headers=self._common_headers,
            request_headers=self._request_headers, local_via=self._via,
            default_expires=self.config.subscription_expires,
            min_expires=self.config.min_subscription_expires,
            max_expires=self.config.max_subscription_expires,
            max_per_conference=self.config.max_subscriptions_per_conference,
        )
        self.refers = ReferHandler(
            self.endpoint, invite=self.dial_out, remove=self.remove_participant, adopt=self._adopt,
            release=self._release, headers=self._common_headers, request_headers=self._request_headers,
            local_via=self._via,
            subscription_expires=self.config.refer_subscription_expires,
            warn_agent=lambda: self.warn_agent,
        )

    # -- what the server gives -------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        return self.server.endpoint  # type: ignore[no-any-return]

    @property
    def hostport(self) -> tuple[str, int]:
        """The host and port IM Session Identities name (the server's SIP socket)."""
        host, port = self.endpoint.local_address(self.endpoint.transports[0])
        return (f"[{host}]" if ":" in host else host), port

    @property
    def warn_agent(self) -> str:
        host, port = self.hostport
        return f"{host}:{port}"

    def _local_hosts(self) -> set[str]:
        hosts = {str(getattr(self.server, "domain", "")).lower(), self.hostport[0].lower()}
        uri = getattr(self.server, "uri", None)
        if isinstance(uri, SipURI):
            hosts.add(uri.host.lower())
        for alias in getattr(getattr(self.server, "config", None), "aliases", ()):
            hosts.add(str(alias).lower())
        hosts.discard("")
        return hosts

    @property
    def factory_user(self) -> str:
        factory = getattr(self.server, "factory_uri", None)
        if isinstance(factory, str):
            factory = parse_uri(factory)
        user = factory.user if isinstance(factory, SipURI) else None
        return (user or "conference-factory").lower()

    def _common_headers(self) -> list[tuple[str, str]]:
        """Rows of every response the focus sends (Appendix F: ``Server: IM-serv/OMA1.0 ...``)."""
        return [("Server", self.server_header)]

    def _request_headers(self) -> list[tuple[str, str]]:
        """Rows of every request the focus sends."""
        return [("User-Agent", self.server_header)]

    def _via(self) -> Via:
        return self.endpoint.new_via(self.endpoint.transports[0])

    # -- Service ---------------------------------------------------------------------

    def owns(self, request: Request) -> bool:
        uri = request.uri
        if isinstance(uri, SipURI) and uri.user is not None:
            user = uri.user.lower()
            if ((user in self.groups or user.startswith(CONF_PREFIX) or user == self.factory_user)
                    and uri.host.lower() in self._local_hosts()):
                return True
        try:
            return self.dialogs.match_request(request) is not None
        except ParseError:
            return False

    async def handle(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if request.method == "ACK":
            return None
        if self._closed:
            self._reply(incoming, 503)
            return None
        try:
            to, from_ = request.to, request.from_
            if to is None or from_ is None:
                raise ParseError("no To or From", 0)
        except ParseError as exc:
            # the rows are answered as written (RFC 3261 8.2.6.2), even unreadable ones
            rejection = Rejection(400, f"Bad Request ({exc.what})")
            self.endpoint.respond(incoming, error_response(request, rejection, self.endpoint.ids.tag(),
                                                           self.server_header))
            return None
        if to.tag:
            dialog = self.dialogs.match_request(request)
            if dialog is None:
                # RFC 3261 12.2.2: "If the UAS wishes to reject the request because
                # it does not wish to recreate the dialog, it MUST respond ... 481"
                self._reply(incoming, 481)
                return None
            await self._in_dialog(incoming, dialog)
            return None
        uri = request.uri
        user = uri.user if isinstance(uri, SipURI) and uri.user else ""
        if user.lower() == self.factory_user:
            await self._factory(incoming)
        elif user.lower() in self.groups:
            await self._group(incoming, self.groups[user.lower()])
        else:
            await self._identity(incoming, self.conferences.get(user))
        return None

    async def close(self) -> None:
        """End every conference (BYE to every participant), then stop."""
        self._closed = True
        ending = [self._spawn(self.end_conference(c)) for c in list(self.conferences.values())]
        if ending:
            # BYEs to participants that are gone would take Timer F (32 s) each.
            await asyncio.wait(ending, timeout=self.config.close_timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.refers.close()
        await self.notifier.close()
        await self.switch.close()

    # -- responses and dialogs ---------------------------------------------------------

    def _reply(
        self,
        incoming: IncomingRequest,
        status: int,
        reason: str | None = None,
        rows: Iterable[tuple[str, str]] = (),
        *,
        dialog: Dialog | None = None,
        to_tag: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        request = incoming.request
        if to_tag is None and not (request.to is not None and request.to.tag):
            to_tag = self.endpoint.ids.tag()
        extra = list(rows)
        options = request.method == "OPTIONS" and status == 200
        if status == 405 or options:
            # RFC 3261 21.4.6: "The response MUST include an Allow header field"
            extra.append(("Allow", ", ".join(METHODS)))
        if options:
            extra += [("Accept", ", ".join(ACCEPT)), ("Supported", ", ".join(SUPPORTED))]
        response = make_response(request, status, reason, to_tag=to_tag,
                                 headers=[*extra, *self._common_headers()],
                                 body=body, content_type=content_type)
        if not incoming.responded:
            self.endpoint.respond(incoming, response)
        if dialog is not None:
            dialog.send_response(request, response)
            self._release(dialog)
        return response

    def _refuse(self, incoming: IncomingRequest, refusal: Refusal) -> None:
        self._reply(incoming, refusal.status, None, [refusal.warning(self.warn_agent)])

    def _adopt(self, dialog: Dialog) -> None:
        self.dialogs.add(dialog)

    def _release(self, dialog: Dialog) -> None:
        """Forget a dialog once its last usage ended."""
        if dialog.is_terminated:
            self.dialogs.remove(dialog)
            self.legs.pop(dialog.id, None)

    def _contact(self, conference: Conference, transport: str) -> NameAddr:
        """``<identity[;transport=tcp]>;isfocus`` (RFC 4579 section 3)."""
        uri = conference.identity
        if transport.upper() != "UDP":
            uri = uri.with_param("transport", transport.lower())
        return NameAddr(uri).with_param("isfocus")

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- out-of-dialog requests ---------------------------------------------------------

    async def _factory(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if request.method == "OPTIONS":
            self._reply(incoming, 200)
            return
        if request.method != "INVITE":
            self._reply(incoming, 405)
            return
        parts = self._invite_parts(incoming)
        if parts is None:
            return
        invitations: list[Invitation] = []
        if parts.uri_list is not None:
            try:
                invitations = self._invitations(ResourceLists.from_xml(parts.uri_list))
            except PayloadError as exc:
                self._reply(incoming, 400, f"Bad Request (URI list: {exc.what})")
                return
        creator = _from_aor(request)
        invitations = [i for i in invitations if i.aor != creator]
        if len(self.conferences) >= self.config.max_conferences:
            self._reply(incoming, 503, "Service Unavailable (too many conferences)", [("Retry-After", "60")])
            return
        conference = self._new_conference(ConferenceKind.ADHOC, self.config.max_adhoc_size,
                                          self.config.adhoc_anonymity_allowed)
        refusal = conference.check_admission(creator, anonymous="id" in request.privacy,
                                             adding=1 + len(invitations))
        if refusal is not None:
            self._refuse(incoming, refusal)
            return
        self._register(conference)
        leg = await self._accept(incoming, conference, parts.offer, roles=(Role.CREATOR,))
        if leg is None:
            await self._maybe_end(conference)
            return
        for invitation in invitations:
            self._spawn(self.dial_out(conference, invitation))

    async def _group(self, incoming: IncomingRequest, group: GroupDefinition) -> None:
        request = incoming.request
        conference = self.group_sessions.get(group.user.lower())
        if conference is not None and conference.ended:
            conference = None
        if request.method == "OPTIONS":
            self._reply(incoming, 200)
        elif request.method == "SUBSCRIBE":
            if conference is None:
                self._reply(incoming, 404, "Not Found (no session of this group is running)")
            else:
                await self.notifier.subscribe(incoming, conference, self._contact(conference, incoming.source.transport),
                                            to_tag=self.endpoint.ids.tag())
        elif request.method != "INVITE":
            self._reply(incoming, 405)
        else:
            await self._join_group(incoming, group, conference)

    async def _join_group(self, incoming: IncomingRequest, group: GroupDefinition,
                          conference: Conference | None) -> None:
        request = incoming.request
        parts = self._invite_parts(incoming)
        if parts is None:
            return
        requester = _from_aor(request)
        created = conference is None
        if conference is None:
            if len(self.conferences) >= self.config.max_conferences:
                self._reply(incoming, 503, "Service Unavailable (too many conferences)", [("Retry-After", "60")])
                return
            kind = ConferenceKind.PUBLIC if group.public else ConferenceKind.GROUP
            conference = self._new_conference(kind, group.max_size or self.config.max_group_size,
                                              group.anonymity_allowed, group)
        refusal = conference.check_admission(requester, anonymous="id" in request.privacy)
        if refusal is not None:
            self._refuse(incoming, refusal)
            return
        if created:
            self._register(conference)
            self.group_sessions[group.user.lower()] = conference
        roles = (Role.CREATOR,) if created and not group.public else ()
        leg = await self._accept(incoming, conference, parts.offer, roles=roles)
        if leg is None:
            await self._maybe_end(conference)
            return
        if created and not group.public:
            # 7.1.1.4: the session of a pre-defined group invites its other members.
            for member in group.members:
                if member != requester:
                    self._spawn(self.dial_out(conference, Invitation(uri=_sip(member))))

    async def _identity(self, incoming: IncomingRequest, conference: Conference | None) -> None:
        request = incoming.request
        method = request.method
        if conference is None or conference.ended:
            if method in ("BYE", "UPDATE", "NOTIFY"):
                self._reply(incoming, 481)
            else:
                self._reply(incoming, 404, "Not Found (no such conference)")
            return
        contact = self._contact(conference, incoming.source.transport)
        requester = _from_aor(request)
        if method == "INVITE":
            # 7.1.1.9: rejoin by IM Session Identity while the conference lives.
            parts = self._invite_parts(incoming)
            if parts is None:
                return
            refusal = conference.check_admission(requester, anonymous="id" in request.privacy)
            if refusal is not None:
                self._refuse(incoming, refusal)
                return
            await self._accept(incoming, conference, parts.offer, roles=())
        elif method == "REFER":
            await self.refers.handle(incoming, conference, requester=requester,
                                     anonymous="id" in request.privacy, contact=contact,
                                     to_tag=self.endpoint.ids.tag())
        elif method == "SUBSCRIBE":
            await self.notifier.subscribe(incoming, conference, contact, to_tag=self.endpoint.ids.tag())
        elif method == "OPTIONS":
            self._reply(incoming, 200)
        elif method in ("BYE", "UPDATE", "NOTIFY"):
            self._reply(incoming, 481)
        else:
            self._reply(incoming, 405)

    # -- in-dialog requests -----------------------------------------------------------------

    async def _in_dialog(self, incoming: IncomingRequest, dialog: Dialog) -> None:
        request = incoming.request
        check = dialog.receive_request(request)
        if check is not RequestCheck.ACCEPT:
            self._reply(incoming, check.value)
            return
        leg = self.legs.get(dialog.id)
        if leg is not None and leg.state is LegState.ENDED:
            leg = None
        method = request.method
        if method == "BYE":
            if leg is None:
                self._reply(incoming, 481, dialog=dialog)
                return
            # RFC 3261 15.1.2: "the UAS MUST ... respond with 200" and end the session.
            self._reply(incoming, 200, dialog=dialog)
            await self._end_leg(leg, send_bye=False)
        elif method in ("INVITE", "UPDATE"):
            if leg is None:
                self._reply(incoming, 481, dialog=dialog)
                return
            self._refreshed(incoming, leg)
        elif method == "SUBSCRIBE":
            await self.notifier.refresh(incoming, dialog, leg.conference if leg is not None else None)
        elif method == "REFER":
            if leg is None:
                self._reply(incoming, 403, "Forbidden (REFER outside an IM Session's dialog)", dialog=dialog)
                return
            await self.refers.handle(incoming, leg.conference, requester=leg.aor,
                                     anonymous="id" in request.privacy,
                                     contact=self._contact(leg.conference, incoming.source.transport),
                                     dialog=dialog)
        elif method == "OPTIONS":
            self._reply(incoming, 200, dialog=dialog)
        else:
            self._reply(incoming, 405, dialog=dialog)

    def _refreshed(self, incoming: IncomingRequest, leg: Leg) -> None:
        """A re-INVITE or UPDATE of a leg: the session refresh (RFC 4028 section 9)
        or a modification (7.1.1.5); the MSRP stream stays as it is."""
        request = incoming.request
        timer = negotiate(request, self.timer_policy)
        if isinstance(timer, TooSmall):
            self._reply(incoming, 422, None, timer.response_headers(), dialog=leg.dialog)
            return
        rows = [("Contact", str(leg.dialog.local_contact)), ("Allow", ", ".join(METHODS)),
                ("Supported", ", ".join(SUPPORTED))]
        if timer is not None:
            rows += timer.response_headers()
        if request.method == "INVITE":
            self._reply(incoming, 200, None, rows, dialog=leg.dialog, body=leg.local_sdp, content_type=SDP)
        else:
            self._reply(incoming, 200, None, rows, dialog=leg.dialog)
        leg.timer.start(timer)

    # -- joining ------------------------------------------------------------------------------

    def _invite_parts(self, incoming: IncomingRequest) -> _Parts | None:
        """The SDP offer and URI list of an INVITE, or ``None`` after an error response."""
        request = incoming.request
        try:
            content_type = request.content_type
        except ParseError as exc:
            self._reply(incoming, 400, f"Bad Request (Content-Type: {exc.what})")
            return None
        if content_type is None or not request.body:
            # The focus does not send offers in 200s to offerless INVITEs.
            self._reply(incoming, 488, "Not Acceptable Here (an SDP offer is needed)")
            return None
        if content_type.mime == SDP:
            return _Parts(request.body)
        if content_type.mime == "multipart/mixed":
            try:
                body = Multipart.parse(request.body, content_type)
            except ParseError as exc:
                self._reply(incoming, 400, f"Bad Request (multipart: {exc.what})")
                return None
            sdp = body.part_by_type(SDP)
            if sdp is None:
                self._reply(incoming, 488, "Not Acceptable Here (no SDP part)")
                return None
            listing = body.part_by_type(LIST_TYPE)
            return _Parts(sdp.body, listing.body if listing is not None else None)
        self._reply(incoming, 415, None, [("Accept", ", ".join(ACCEPT))])
        return None

    @staticmethod
    def _invitations(document: ResourceLists) -> list[Invitation]:
        """The users a URI list names, each once (RFC 5366 section 5: "the URI-list
        server ... MUST remove duplicates"), with copy control (RFC 5364)."""
        out: dict[str, Invitation] = {}
        for entry in document.entries():
            try:
                uri = parse_uri(entry.uri)
                replaces = entry.replaces
            except (ParseError, PayloadError) as exc:
                raise PayloadError(f"entry {entry.uri!r}: {exc}", 0) from None
            if not isinstance(uri, SipURI):
                _log.warning("URI list entry %s is not a SIP URI: not invited", entry.uri)
                continue
            invitation = Invitation(
                uri=uri.without_headers(), display_name=entry.display_name, replaces=replaces,
                hidden=entry.copy_control is CopyControl.BCC, anonymize=bool(entry.anonymize),
            )
            out.setdefault(invitation.aor, invitation)
        return list(out.values())

    def _new_conference(self, kind: ConferenceKind, max_size: int, anonymity_allowed: bool,
                        group: GroupDefinition | None = None) -> Conference:
        host, port = self.hostport
        identity = SipURI(host=host, port=port, user=f"{CONF_PREFIX}{self.endpoint.ids.tag()}")
        return Conference(identity, kind, max_size, anonymity_allowed,
                          subject=group.subject if group is not None else None, group=group)

    def _register(self, conference: Conference) -> None:
        self.conferences[conference.id] = conference
        self.notifier.watch(conference)

    async def _accept(self, incoming: IncomingRequest, conference: Conference, offer_bytes: bytes,
                      *, roles: Iterable[Role]) -> Leg | None:
        """Answer a participant's INVITE with 200 and put it in the conference."""
        request = incoming.request
        from_ = request.from_
        assert from_ is not None
        timer = negotiate(request, self.timer_policy)
        if isinstance(timer, TooSmall):
            # RFC 4028 section 6: "The 422 response MUST contain a Min-SE header field"
            self._reply(incoming, 422, None, timer.response_headers())
            return None
        if not request.contact:
            self._reply(incoming, 400, "Bad Request (no Contact)")
            return None
        local_uri = await self.switch.local_uri()
        try:
            offer = SessionDescription.parse(offer_bytes)
            offered = msrp_media(offer)
            answer = build_msrp_answer(
                offer, path=str(local_uri), session_id=_sdp_id(), accept_types=ACCEPT_TYPES,
                accept_wrapped_types=ACCEPT_WRAPPED, prefer=Setup.PASSIVE, address=self.switch.host,
            )
            answered = msrp_media(answer)
            active = msrp_active_side(offer, answer) is ActiveSide.ANSWERER
        except (ProtocolError, ValueError) as exc:
            self._reply(incoming, 488, None, [("Warning", f'399 {self.warn_agent} "no usable MSRP stream: {_quote(exc)}"')])
            return None
        if answered.rejected:
            self._reply(incoming, 488, None, [("Warning", f'399 {self.warn_agent} "no common MSRP accept-types"')])
            return None
        if incoming.cancelled.is_set() or incoming.responded:
            return None
        anonymous = "id" in request.privacy
        aor = aor_key(from_.uri)
        session = MSRPSession([local_uri], offered.path, MSRPRole.ACTIVE if active else MSRPRole.PASSIVE,
                              accept_types=answered.accept_types, remote_accept_types=offered.accept_types,
                              remote_max_size=offered.max_size)
        contact = self._contact(conference, incoming.source.transport)
        rows = [("Contact", str(contact)), ("Allow", ", ".join(METHODS)), ("Supported", ", ".join(SUPPORTED))]
        if timer is not None:
            rows += timer.response_headers()
        response = make_response(request, 200, to_tag=self.endpoint.ids.tag(),
                                 headers=[*rows, *self._common_headers()],
                                 body=bytes(answer), content_type=SDP)
        dialog = Dialog.from_uas(request, response, local_via=self._via(), ids=self.endpoint.ids)
        room = self.switch.room(str(conference.identity))
        try:
            port = self.switch.attach(room, aor, session, cpim_from=_cpim_from(aor, from_.display_name, anonymous),
                                      active=active)
        except LocalProtocolError as exc:
            self._reply(incoming, 503, f"Service Unavailable ({exc})", [("Retry-After", "30")])
            return None
        leg = self._new_leg(conference, aor, dialog, False, bytes(answer), port)
        self.endpoint.respond(incoming, response)
        conference.join(
            aor, display_name=from_.display_name, anonymous=anonymous,
            joining_method=JoiningMethod.DIALED_IN, joined_at=_now(),
            contact=str(request.contact[0].uri), roles=tuple(roles),
        )
        leg.timer.start(timer)
        self._spawn(self._await_ack(incoming, leg))
        return leg

    def _new_leg(self, conference: Conference, aor: str, dialog: Dialog, dialed_out: bool,
                 local_sdp: bytes, port: Port | None) -> Leg:
        leg = Leg(conference, aor, dialog, dialed_out, local_sdp, port)
        leg.timer = SessionTimer(lambda: self._expired(leg), lambda: self._refresh(leg))
        self._adopt(dialog)
        self.legs[dialog.id] = leg
        previous = self._current.get((conference.id, aor))
        self._current[(conference.id, aor)] = leg
        if previous is not None and previous.state is LegState.ACTIVE:
            # A participant that rejoins while its old session lives: the new one replaces it.
            self._spawn(self._end_leg(previous, send_bye=True, leave=False))
        return leg

    async def _await_ack(self, incoming: IncomingRequest, leg: Leg) -> None:
        try:
            await incoming.ack
        except (TransactionTimeout, asyncio.CancelledError, ProtocolError):
            # RFC 3261 13.3.1.4: no ACK -- "the session SHOULD be terminated ... with a BYE"
            if leg.state is LegState.ACTIVE:
                _log.info("no ACK from %s: ending its session", leg.aor)
                await self._end_leg(leg, send_bye=True)

    # -- dialling out ------------------------------------------------------------------------

    async def dial_out(self, conference: Conference, invitation: Invitation) -> Outcome:
        """Invite ``invitation`` to ``conference`` (RFC 4579 5.5); the INVITE's final status."""
        aor = invitation.aor
        if conference.ended:
            return Outcome(404, "Not Found")
        if aor in conference.participants:
            return Outcome(200, "OK")
        if aor in conference.pending:
            return Outcome(491, "Request Pending")
        refusal = conference.check_admission(aor, anonymous=invitation.anonymize, dialled=True)
        if refusal is not None:
            return Outcome(refusal.status, refusal.text)
        conference.pending.add(aor)
        try:
            return await self._dial(conference, invitation)
        except (ProtocolError, OSError) as exc:
            _log.warning("dial-out to %s failed: %s", aor, exc)
            return Outcome(500, "Server Internal Error")
        finally:
            conference.pending.discard(aor)
            await self._maybe_end(conference)

    async def _dial(self, conference: Conference, invitation: Invitation) -> Outcome:
        target = await self.server.locate(str(invitation.uri))
        if target is None:
            return Outcome(404, "Not Found")
        if isinstance(target, SipURI):
            request_uri, destination = target, None
            transport = (await self.endpoint.resolve(target)).transport
        elif isinstance(target, Destination):
            request_uri, destination, transport = invitation.uri, target, target.transport
        else:
            request_uri, destination = invitation.uri, None
            transport = (await self.endpoint.resolve(invitation.uri)).transport
        local_uri = await self.switch.local_uri()
        offer = build_msrp_offer(path=str(local_uri), session_id=_sdp_id(), accept_types=ACCEPT_TYPES,
                                 accept_wrapped_types=ACCEPT_WRAPPED, setup=self.config.dial_out_setup,
                                 address=self.switch.host)
        host = self.hostport[0]
        rows = [
            ("Allow", ", ".join(METHODS)),
            ("Supported", ", ".join(SUPPORTED)),
            ("Session-Expires", f"{self.timer_policy.interval};refresher=uac"),
            ("Min-SE", str(self.timer_policy.min_se)),
            *self._request_headers(),
        ]
        if invitation.replaces is not None:
            # 7.1.1.6 item 8 / RFC 3891: the invitee's UA replaces (and BYEs) its old dialog.
            rows.append(("Replaces", str(invitation.replaces)))
        if invitation.referred_by is not None:
            rows.append(("Referred-By", invitation.referred_by))
        invite = new_request(
            "INVITE", request_uri,
            from_addr=NameAddr(conference.identity, conference.subject).with_tag(self.endpoint.ids.tag()),
            to_addr=NameAddr(invitation.uri, invitation.display_name),
            call_id=self.endpoint.ids.call_id(host), cseq=1, via=self._via(),
            contact=self._contact(conference, transport), headers=rows,
            body=bytes(offer), content_type=SDP,
        )
        key = (conference.id, invitation.aor)
        pending = await self.endpoint.send_request(invite, destination)
        self._dialing[key] = pending
        try:
            response = await self._final(pending)
        except (TransactionTimeout, TransportFailure) as exc:
            return Outcome(408 if isinstance(exc, TransactionTimeout) else 503, str(exc)[:60] or "Timeout")
        finally:
            self._dialing.pop(key, None)
        if response is None:
            return Outcome(408, "Request Timeout")
        if not response.is_success:
            return Outcome(response.status, response.reason)
        return await self._answered(conference, invitation, invite, bytes(offer), response, local_uri)

    async def _final(self, pending: OutgoingRequest) -> Response | None:
        """The INVITE's final response; CANCEL after :attr:`FocusConfig.ring_timeout`."""
        try:
            return await asyncio.wait_for(asyncio.shield(pending.response), self.config.ring_timeout)
        except TimeoutError:
            await self.endpoint.cancel(pending)
            return await pending

    async def _answered(self, conference: Conference, invitation: Invitation, invite: Request,
                        offer_bytes: bytes, response: Response, local_uri: Any) -> Outcome:
        """A 2xx to a dial-out: the MSRP port first (a passive one must be on the
        listener before the answerer, active, can connect), then the ACK."""
        dialog = Dialog.from_uac(invite, response, ids=self.endpoint.ids)
        ack = dialog.create_ack(response, via=self._via())
        port: Port | None = None
        failure: Outcome | None = None
        try:
            offer = SessionDescription.parse(offer_bytes)
            answer = SessionDescription.parse(response.body)
            answered = msrp_media(answer)
            if answered.rejected:
                raise LocalProtocolError("the MSRP stream was rejected")
            active = msrp_active_side(offer, answer) is ActiveSide.OFFERER
            session = MSRPSession([local_uri], answered.path, MSRPRole.ACTIVE if active else MSRPRole.PASSIVE,
                                  accept_types=ACCEPT_TYPES, remote_accept_types=answered.accept_types,
                                  remote_max_size=answered.max_size)
        except (ProtocolError, ValueError) as exc:
            _log.warning("answer from %s unusable (%s): BYE", invitation.aor, exc)
            failure = Outcome(488, "Not Acceptable Here")
        else:
            if conference.ended:
                failure = Outcome(404, "Not Found")
            else:
                cpim_from = _cpim_from(invitation.aor, invitation.display_name, invitation.anonymize)
                try:
                    port = self.switch.attach(self.switch.room(str(conference.identity)), invitation.aor,
                                              session, cpim_from=cpim_from, active=active)
                except LocalProtocolError as exc:
                    _log.warning("no MSRP for %s (%s): BYE", invitation.aor, exc)
                    failure = Outcome(503, "Service Unavailable")
        await self.endpoint.send_ack(ack)
        if failure is not None or port is None:
            await self._bye(dialog)
            return failure or Outcome(500, "Server Internal Error")
        leg = self._new_leg(conference, invitation.aor, dialog, True, offer_bytes, port)
        contact = response.contact
        conference.join(
            invitation.aor, display_name=invitation.display_name, anonymous=invitation.anonymize,
            hidden=invitation.hidden, joining_method=JoiningMethod.DIALED_OUT, joined_at=_now(),
            contact=str(contact[0].uri) if contact else None, referred_by=invitation.referred_by,
        )
        leg.timer.start(_uac_timer(response))
        return Outcome(response.status, response.reason)

    # -- session timers (the focus's side, RFC 4028 section 10) ---------------------------------

    async def _expired(self, leg: Leg) -> None:
        """No refresh came: "it SHOULD send a BYE to terminate the session"."""
        if leg.state is LegState.ACTIVE:
            _log.info("session of %s expired", leg.aor)
            await self._end_leg(leg, send_bye=True)

    async def _refresh(self, leg: Leg) -> None:
        """The focus is the refresher: a re-INVITE with the same SDP."""
        if leg.state is not LegState.ACTIVE or leg.dialog.is_terminated:
            return
        interval = leg.timer.params.interval if leg.timer.params is not None else self.timer_policy.interval
        rows = [("Session-Expires", f"{interval};refresher=uac"), ("Supported", ", ".join(SUPPORTED)),
                *self._request_headers()]
        try:
            invite = leg.dialog.create_request("INVITE", headers=rows, body=leg.local_sdp, content_type=SDP,
                                               via=self._via())
            response = await self.endpoint.request(invite)
        except (TransactionTimeout, TransportFailure, ProtocolError) as exc:
            _log.info("session refresh to %s failed: %s", leg.aor, exc)
            await self._end_leg(leg, send_bye=False)
            return
        leg.dialog.receive_response(invite, response)
        if response.is_success:
            await self.endpoint.send_ack(leg.dialog.create_ack(response, via=self._via()))
            leg.timer.start(_uac_timer(response))
        elif response.status in (408, 481):
            # RFC 4028 section 10 / RFC 3261 12.2.1.2: the session is gone.
            await self._end_leg(leg, send_bye=False)
        else:
            leg.timer.start(leg.timer.params)

    # -- leaving and ending ----------------------------------------------------------------------

    async def remove_participant(self, conference: Conference, aor: str) -> Outcome:
        """7.1.1.14: the focus sends BYE to ``aor`` (RFC 4579 section 5.6)."""
        leg = self._current.get((conference.id, aor_key(aor)))
        if leg is None or leg.state is LegState.ENDED:
            return Outcome(404, "Not Found")
        return await self._end_leg(leg, send_bye=True)

    async def _end_leg(self, leg: Leg, *, send_bye: bool, leave: bool = True) -> Outcome:
        if leg.state is LegState.ENDED:
            return Outcome(481, "Call/Transaction Does Not Exist")
        leg.state = LegState.ENDED
        conference = leg.conference
        leg.timer.release()
        if self._current.get((conference.id, leg.aor)) is leg:
            del self._current[(conference.id, leg.aor)]
            if leave:
                conference.leave(leg.aor)
        if leg.port is not None:
            await self.switch.detach(leg.port)
        outcome = Outcome(200, "OK")
        if send_bye:
            outcome = await self._bye(leg.dialog)
        else:
            if UsageKey.invite() in leg.dialog.usages:
                leg.dialog.end_usage(UsageKey.invite())
            self._release(leg.dialog)
        self.legs.pop(leg.dialog.id, None)
        await self._maybe_end(conference)
        return outcome

    async def _bye(self, dialog: Dialog) -> Outcome:
        if dialog.is_terminated or UsageKey.invite() not in dialog.usages:
            return Outcome(481, "Call/Transaction Does Not Exist")
        try:
            bye = dialog.create_request("BYE", headers=self._request_headers(), via=self._via())
            response = await self.endpoint.request(bye)
        except (TransactionTimeout, TransportFailure, ProtocolError) as exc:
            _log.info("BYE failed: %s", exc)
            dialog.terminate()
            self._release(dialog)
            return Outcome(408, "Request Timeout")
        dialog.receive_response(bye, response)
        if UsageKey.invite() in dialog.usages:
            # RFC 5057 5.2: whatever the BYE's response, the invite usage is over.
            dialog.end_usage(UsageKey.invite())
        self._release(dialog)
        return Outcome(response.status, response.reason)

    def _msrp_closed(self, port: Port) -> None:
        _log.info("MSRP connection of %s in %s closed", port.key, port.room.identity)

    async def _maybe_end(self, conference: Conference) -> None:
        if not conference.ended and conference.is_empty and conference.id in self.conferences:
            await self.end_conference(conference)

    async def end_conference(self, conference: Conference) -> None:
        """End ``conference``: CANCEL its dial-outs, BYE its participants, end its
        subscriptions (``noresource``), close its MSRP, forget its identity."""
        if conference.id not in self.conferences:
            return
        del self.conferences[conference.id]
        group = conference.group
        if group is not None and self.group_sessions.get(group.user.lower()) is conference:
            del self.group_sessions[group.user.lower()]
        for (conf_id, _), pending in list(self._dialing.items()):
            if conf_id == conference.id:
                self._spawn(self.endpoint.cancel(pending))
        legs = [leg for (conf_id, _), leg in list(self._current.items()) if conf_id == conference.id]
        await asyncio.gather(*(self._end_leg(leg, send_bye=True) for leg in legs), return_exceptions=True)
        conference.end()
        await self.notifier.end_conference(conference)
        room = self.switch.rooms.get(str(conference.identity))
        if room is not None:
            await self.switch.remove_room(room)


def _from_aor(request: Request) -> str:
    """The requester's address of record (:meth:`Focus.handle` checked From parses)."""
    from_ = request.from_
    assert from_ is not None
    return aor_key(from_.uri)


def _sip(uri: str) -> SipURI:
    parsed = parse_uri(uri)
    if not isinstance(parsed, SipURI):
        raise LocalProtocolError(f"{uri} is not a SIP URI")
    return parsed


def _cpim_from(aor: str, display_name: str | None, anonymous: bool) -> cpim.NameAddr:
    if anonymous:
        return cpim.NameAddr(ANONYMOUS_URI)
    return cpim.NameAddr(aor, display_name or None)


def _uac_timer(response: Response) -> Negotiated | None:
    """The session timer of a session the focus is the UAC of (its dial-outs, its
    refreshes), from the 2xx: RFC 4028 section 7.2 "If the 2xx response did not
    contain a Session-Expires header field, there is no session expiration".
    :class:`SessionTimer` reads ``Refresher.UAS`` as "this side refreshes", so a
    2xx naming ``refresher=uac`` (the focus) maps to it."""
    try:
        expires = response.session_expires
    except ParseError:
        return None
    if expires is None:
        return None
    we_refresh = (expires.refresher or "uac") == "uac"
    return Negotiated(expires.delta, Refresher.UAS if we_refresh else Refresher.UAC, True)


def _sdp_id() -> int:
    return int(datetime.now(UTC).timestamp() * 1000) % 10**12


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _quote(exc: BaseException) -> str:
    return str(exc).replace("\\", "").replace('"', "'")[:80]
