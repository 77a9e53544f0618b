"""Simulated users: real SIP/MSRP user agents inside the test IM Server.

Each :class:`SimulatedUser` has its own :class:`imkit.runtime.Endpoint` on
127.0.0.1 (UDP and TCP, ephemeral ports) and one MSRP listener, opened on
first use, on which every session it answers passively waits for its
connection (told apart by the session-id of its ``a=path`` URI, RFC 4975
section 5.4).  It answers an INVITE as its :class:`~imkit.server.behaviour.Behaviour`
says, with an MSRP SDP answer (RFC 4975 section 8; ``a=setup`` per RFC 6135:
passive by default, waiting for the offerer's connection), runs the session
timer as UAS (RFC 4028, :mod:`imkit.server.session_timer`), takes re-INVITEs
and BYE, honours Replaces (RFC 3891: the replaced session ends with a BYE)
and chats back over MSRP (``message/cpim`` when negotiated, RFC 3862).

:class:`SimulatedUsers` is the registry ``server.users``: users declared up
front (``users={"carol": "busy"}``, ``server.users.add("dave", ...)``) and
users created on demand for unknown users of the domain.  Sockets open on
first use (:meth:`SimulatedUsers.obtain`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from imkit.errors import LocalProtocolError, ProtocolError
from imkit.msrp import cpim
from imkit.msrp.events import MessageReceived
from imkit.msrp.session import MSRPSession, accepts
from imkit.msrp.session import Role as MsrpRole
from imkit.runtime import (
    Endpoint,
    IncomingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.runtime.endpoint import send_policy
from imkit.runtime.msrp_transport import ChannelClosed, MSRPChannel, MSRPListener
from imkit.server.behaviour import ECHO_PREFIX, Answer, Behaviour
from imkit.server.config import ALLOW, KNOWN_METHODS, SERVER_HEADER
from imkit.server.session_timer import (
    Negotiated,
    Refresher,
    SessionTimer,
    TimerPolicy,
    TooSmall,
    negotiate,
)
from imkit.server.validation import (
    Rejection,
    check_body,
    check_method,
    check_request,
    check_require,
)
from imkit.server.wirelog import WireLog
from imkit.sip import Multipart, NameAddr, Request, Response, SipURI, parse_uri
from imkit.sip.builders import make_response
from imkit.sip.dialog import Dialog, DialogSet, RequestCheck
from imkit.sip.errors import ParseError
from imkit.sip.ids import IdGenerator
from imkit.sip.sdp import (
    MsrpMedia,
    SessionDescription,
    Setup,
    SetupNegotiationError,
    build_msrp_answer,
    build_msrp_offer,
    msrp_media,
)
from imkit.trace import Protocol, Trace

__all__ = ["USER_NAME_RE", "ChatLine", "SimSession", "SimulatedUser", "SimulatedUsers"]

_log = logging.getLogger("imkit.server.users")

#: User parts a simulated user may have (a conservative subset of RFC 3261 "user").
USER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-]{0,63}")

#: What a simulated user takes in Require, and its Allow (no REGISTER: it is a UA).
SIM_SUPPORTED = frozenset({"timer", "replaces"})
SIM_ALLOW = tuple(m for m in ALLOW if m != "REGISTER")
SIM_ACCEPT = ("application/sdp", "multipart/mixed")
MSRP_ACCEPT = ("message/cpim", "text/plain")
MSRP_WRAPPED = ("text/plain",)
MAX_SESSIONS = 64
MAX_CHAT_LINES = 256
#: RFC 3261 13.3.1.4: 64*T1 for the ACK of a 2xx
ACK_WAIT = 32.0
#: How long after the ACK the MSRP connection may take to open and bind
#: before the session is ended with a BYE (``ServerConfig.msrp_wait``).
MSRP_WAIT = 32.0
#: How long closing a user waits for the answers to its BYEs.
CLOSE_WAIT = 0.5
#: RFC 3261 17.2.1: the server transaction "MUST generate a 100 (Trying)
#: response unless it knows that the TU will generate a provisional or final
#: response within 200 ms"
TRYING_AFTER = 0.2


@dataclass(frozen=True)
class ChatLine:
    """One chat message a simulated user sent or received."""

    incoming: bool
    content_type: str
    text: str
    peer: str


def _refreshed(response: Response, uac_supports: bool) -> Negotiated | None:
    """The session timer after our own refresh (RFC 4028 section 7.4): the 2xx's
    Session-Expires, whose ``uac`` is us (the UAC of the re-INVITE, the UAS of
    the session: Refresher.UAS); none in the 2xx, no timer any more."""
    try:
        expires = response.session_expires
    except ParseError:
        return None
    if expires is None:
        return None
    we_refresh = (expires.refresher or "uac") == "uac"
    return Negotiated(expires.delta, Refresher.UAS if we_refresh else Refresher.UAC, uac_supports)


def _sdp_offer(request: Request) -> SessionDescription | None:
    """The SDP of a request (plain, or the application/sdp part of a multipart/mixed)."""
    if not request.body:
        return None
    media = request.content_type
    if media is None:
        return None
    if media.mime == "application/sdp":
        return SessionDescription.parse(request.body)
    if media.type == "multipart":
        part = Multipart.parse(request.body, media).part_by_type("application/sdp")
        return None if part is None else SessionDescription.parse(part.body)
    return None


@dataclass(eq=False)
class SimSession:
    """One INVITE session of a simulated user."""

    user: SimulatedUser
    dialog: Dialog
    transport: str
    local_sdp: SessionDescription
    sdp_session_id: int
    msrp_path: str
    msrp_setup: Setup
    peer: str
    channel: MSRPChannel | None = None
    timer: SessionTimer | None = None
    messages: deque[ChatLine] = field(default_factory=lambda: deque(maxlen=MAX_CHAT_LINES))
    sdp_version: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    #: the ACK of the 2xx came: the offerer knows our answer
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _reinviting: bool = False
    _ending: bool = False

    @property
    def call_id(self) -> str:
        return self.dialog.call_id

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, text: str) -> None:
        """Say ``text`` in the session (``message/cpim`` if the peer takes it)."""
        if self.channel is None or self.channel.closed:
            raise LocalProtocolError("the MSRP connection is not open")
        remote = self.channel.session.remote_accept_types
        body = text.encode("utf-8")
        if accepts(remote, "message/cpim"):
            wrapped = cpim.wrap(
                body, "text/plain;charset=UTF-8", from_=str(self.user.aor), to=self.peer,
                datetime=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
            )
            await self.channel.send(bytes(wrapped), "message/cpim")
            content_type = "message/cpim"
        else:
            await self.channel.send(body, "text/plain")
            content_type = "text/plain"
        self._note(ChatLine(False, content_type, text, self.peer))

    def _note(self, line: ChatLine) -> None:
        self.messages.append(line)
        self.user.messages.append(line)

    async def bye(self) -> Response | None:
        """End the session with a BYE (RFC 3261 15.1.1); its response, if any."""
        if self.ended.is_set() or self.dialog.is_terminated:
            await self.end()
            return None
        if self._ending:
            # one BYE per session: a second caller (the ACK wait, the MSRP
            # wait, the timer) waits for the first to finish
            await self.ended.wait()
            return None
        self._ending = True
        request = self.dialog.create_request("BYE", headers=[("User-Agent", self.user.server_header)])
        response: Response | None = None
        try:
            response = await self.user.endpoint_or_fail.request(request)
            self.dialog.receive_response(request, response)
        except (TransactionTimeout, TransportFailure, LocalProtocolError) as exc:
            _log.info("%s: BYE failed: %s", self.user.name, exc)
        await self.end()
        return response

    async def expire(self) -> None:
        """The session timer ran out unrefreshed: RFC 4028 section 10, BYE."""
        _log.info("%s: session %s expired unrefreshed", self.user.name, self.call_id)
        await self.bye()

    async def refresh(self) -> None:
        """Refresh the session with a re-INVITE (we are the refresher, RFC 4028 section 10)."""
        params = self.timer.params if self.timer is not None else None
        if params is None or self.ended.is_set():
            return
        self.sdp_version += 1
        offer = build_msrp_offer(path=self.msrp_path, session_id=self.sdp_session_id,
                                 session_version=self.sdp_session_id + self.sdp_version,
                                 accept_types=MSRP_ACCEPT, setup=self.msrp_setup)
        # RFC 4028 section 7.4 / 4: the refresher parameter names a side of *this*
        # transaction, of which we are the UAC: refresher=uac keeps us refreshing.
        request = self.dialog.create_request(
            "INVITE", body=bytes(offer), content_type="application/sdp",
            headers=[("Session-Expires", f"{params.interval};refresher=uac"), ("Supported", "timer"),
                     ("User-Agent", self.user.server_header)],
        )
        self._reinviting = True
        try:
            response = await self.user.endpoint_or_fail.request(request)
        except (TransactionTimeout, TransportFailure) as exc:
            _log.info("%s: session refresh failed: %s", self.user.name, exc)
            await self.bye()
            return
        finally:
            self._reinviting = False
        self.dialog.receive_response(request, response)
        if not response.is_success:
            # RFC 3261 12.2.1.2: 481 and 408 end the dialog; anything else leaves it up.
            if self.dialog.is_terminated:
                await self.end()
            elif self.timer is not None:
                self.timer.start(params)
            return
        await self.user.endpoint_or_fail.send_ack(self.dialog.create_ack(response))
        if self.timer is not None:
            self.timer.start(_refreshed(response, params.uac_supports))

    async def end(self) -> None:
        """Release what the session holds (no signalling)."""
        if self.ended.is_set():
            return
        self.ended.set()
        if self.timer is not None:
            timer, self.timer = self.timer, None
            # the timer holds this session's bound methods: dropping it breaks
            # the cycle, so reference counting frees the session at once
            # instead of the cyclic collector, whose pauses stall the server
            await timer.close()
        self.dialog.terminate()
        self.user._forget(self)
        if self.channel is not None:
            # a passive channel still waiting for its connection leaves the
            # user's listener: a late connection for it gets 481
            await self.channel.close()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()


class SimulatedUser:
    """A user agent for ``sip:<name>@<domain>`` with a chosen behaviour."""

    def __init__(
        self,
        name: str,
        domain: str,
        behaviour: Behaviour | Answer | str = Answer.ANSWER,
        *,
        host: str = "127.0.0.1",
        trace: Trace | None = None,
        policy: TimerPolicy | None = None,
        server_header: str = SERVER_HEADER,
        ids: IdGenerator | None = None,
        msrp_wait: float = MSRP_WAIT,
        max_sessions: int | None = None,
    ) -> None:
        if not USER_NAME_RE.fullmatch(name):
            raise LocalProtocolError(f"{name!r} is not a user name for a simulated user")
        self.name = name
        self.domain = domain
        self.aor = SipURI(host=domain, user=name)
        self.behaviour = Behaviour.of(behaviour)
        self.host = host
        self.policy = policy or TimerPolicy()
        self.server_header = server_header
        self.ids = ids or IdGenerator()
        self.msrp_wait = msrp_wait
        #: sessions at once; an INVITE past them gets 486 (Busy Here)
        self.max_sessions = MAX_SESSIONS if max_sessions is None else max_sessions
        if self.max_sessions < 1:
            raise LocalProtocolError("a simulated user takes at least one session")
        self.endpoint: Endpoint | None = None
        self.dialogs = DialogSet(max_dialogs=self.max_sessions)
        self.sessions: dict[int, SimSession] = {}
        #: INVITEs being answered (ringing, opening the MSRP listener): each
        #: holds one of the max_sessions places until its session exists or it failed
        self._answering = 0
        self.messages: deque[ChatLine] = deque(maxlen=MAX_CHAT_LINES)
        #: the requests this user received, newest last (bounded)
        self.received: deque[Request] = deque(maxlen=MAX_CHAT_LINES)
        #: whether a URI is another simulated user's (set by the registry)
        self.is_simulated: Callable[[str], bool] | None = None
        self._log = WireLog(_log, trace, prefix=f"[{name}] ", protocols=(Protocol.MSRP,), lane=name)
        self.trace = trace
        self._started: asyncio.Future[None] | None = None
        self._listener: MSRPListener | None = None
        self._listening: asyncio.Lock | None = None
        #: contact URIs by transport, while the sockets are open
        self._contacts: dict[str, SipURI] = {}

    def __repr__(self) -> str:
        return f"<SimulatedUser {self.aor} {self.behaviour}>"

    # -- life cycle --------------------------------------------------------------
    async def start(self) -> SimulatedUser:
        """Open the sockets (once; concurrent callers wait for the same start)."""
        if self.endpoint is not None:
            return self
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                # A simulated user answers or rings at once, so its INVITE
                # transactions send no 100 of their own (RFC 3261 17.2.1: then
                # the 100 is a "MAY"); _invite sends one should an answer be late.
                # UDP and TCP share one port (RFC 3261 18.2.1: "For any port and
                # interface that a server listens on for UDP, it MUST listen on
                # that same port and interface for TCP"), the endpoint's default.
                endpoint = Endpoint(host=self.host, udp_port=0, handler=self.handle,
                                    trace=self._log, ids=self.ids, may_send_to=send_policy(self.host),
                                    send_trying=False)
                await endpoint.start()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
            self.endpoint = endpoint
            if self.trace is not None:
                # the server records this user's SIP; its lane is the user's name
                for address in self.addresses:
                    self.trace.names.setdefault(address, self.name)
            self._started.set_result(None)
        await asyncio.shield(self._started)
        return self

    @property
    def started(self) -> bool:
        return self.endpoint is not None

    @property
    def endpoint_or_fail(self) -> Endpoint:
        if self.endpoint is None:
            raise LocalProtocolError(f"simulated user {self.name} is not started")
        return self.endpoint

    async def close(self) -> None:
        """End every session (BYE, waiting at most :data:`CLOSE_WAIT` for the
        answers) and close the sockets."""
        await self.hangup(CLOSE_WAIT)
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self.endpoint is not None:
            await self.endpoint.close()
            self.endpoint = None
        self._contacts.clear()
        self._started = None

    def contact(self, transport: str = "udp") -> SipURI:
        """``sip:name@127.0.0.1:port[;transport=tcp]``: where this user is reached."""
        key = transport.upper()
        uri = self._contacts.get(key)
        if uri is None:
            uri = self._contacts[key] = self.endpoint_or_fail.contact_uri(self.name, key)
        return uri

    @property
    def addresses(self) -> list[tuple[str, int]]:
        if self.endpoint is None:
            return []
        return [self.endpoint.local_address(t) for t in self.endpoint.transports]

    async def hangup(self, timeout: float | None = None) -> None:
        """End every session of this user with a BYE (giving up on the answers
        after ``timeout`` seconds)."""
        sessions = list(self.sessions.values())
        if not sessions:
            return
        _, pending = await asyncio.wait([asyncio.ensure_future(s.bye()) for s in sessions], timeout=timeout)
        for task in pending:
            task.cancel()
        for session in sessions:
            await session.end()

    async def msrp_listener(self) -> MSRPListener:
        """The MSRP listener of this user's passive sessions (opened once, on
        first use; concurrent callers wait for the same one)."""
        if self._listener is None:
            if self._listening is None:
                self._listening = asyncio.Lock()
            async with self._listening:
                if self._listener is None:
                    self._listener = await MSRPListener.start(
                        self.host, 0, on_message=self._log.msrp_hook(),
                        max_waiting=self.max_sessions, max_connections=self.max_sessions,
                    )
        return self._listener

    def _forget(self, session: SimSession) -> None:
        self.sessions.pop(id(session), None)
        self.dialogs.remove(session.dialog)

    def _session_of(self, dialog: Dialog) -> SimSession | None:
        return next((s for s in self.sessions.values() if s.dialog is dialog), None)

    # -- requests --------------------------------------------------------------
    def _response(self, request: Request, status: int, reason: str | None = None, *,
                  to_tag: str | None = None, headers: list[tuple[str, str]] | None = None,
                  body: bytes = b"", content_type: str | None = None) -> Response:
        rows = list(headers or [])
        rows.append(("Server", self.server_header))
        return make_response(request, status, reason, to_tag=to_tag or self.ids.tag(), headers=rows,
                             body=body, content_type=content_type)

    def _reject(self, request: Request, rejection: Rejection) -> Response:
        return self._response(request, rejection.status, rejection.reason, headers=list(rejection.headers))

    async def handle(self, incoming: IncomingRequest) -> Response | None:
        """The endpoint's handler: every request this user receives."""
        request = incoming.request
        self.received.append(request)
        if request.method == "ACK":
            return None
        rejection = check_request(request) or check_method(request.method, SIM_ALLOW, KNOWN_METHODS) or check_require(request, SIM_SUPPORTED)
        if rejection is not None:
            return self._reject(request, rejection)
        to = request.to
        if to is not None and to.tag:
            return await self._in_dialog(incoming)
        if request.method == "INVITE":
            return await self._invite(incoming)
        if request.method == "OPTIONS":
            return self._response(request, 200, headers=self._capabilities())
        if request.method == "SUBSCRIBE":
            # RFC 6665 8.3.2 / 7.2.2: a package the notifier does not support gets 489.
            return self._response(request, 489, "Bad Event")
        if request.method == "REFER":
            # RFC 3515 2.4.2: the recipient may decline a REFER; a simulated user refers nobody.
            return self._response(request, 603, "Decline (a simulated user does not act on REFER)")
        # BYE, NOTIFY ... outside a dialog: RFC 3261 12.2.2 / RFC 6665 4.1.3
        return self._response(request, 481)

    def _capabilities(self) -> list[tuple[str, str]]:
        return [("Allow", ", ".join(SIM_ALLOW)), ("Accept", ", ".join(SIM_ACCEPT)),
                ("Supported", ", ".join(sorted(SIM_SUPPORTED)))]

    async def _in_dialog(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        dialog = self.dialogs.match_request(request)
        if dialog is None:
            # RFC 3261 12.2.2: "If the UAS wishes to reject the request because it
            # does not wish to recreate the dialog, it MUST respond to the request
            # with a 481 (Call/Transaction Does Not Exist) status code"
            return self._response(request, 481)
        check = dialog.receive_request(request)
        if check is not RequestCheck.ACCEPT:
            return self._response(request, check.value)
        session = self._session_of(dialog)
        if request.method == "BYE":
            response = self._response(request, 200)
            dialog.send_response(request, response)
            self.endpoint_or_fail.respond(incoming, response)
            if session is not None:
                await session.end()
            return None
        if request.method == "INVITE" and session is not None:
            return self._reinvite(incoming, session)
        if request.method == "OPTIONS":
            return self._response(request, 200, headers=self._capabilities())
        if request.method == "REFER":
            return self._response(request, 603, "Decline (a simulated user does not act on REFER)")
        if request.method == "SUBSCRIBE":
            return self._response(request, 489, "Bad Event")
        return self._response(request, 481)

    # -- INVITE ------------------------------------------------------------------
    async def _invite(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        behaviour = self.behaviour
        rejection = check_body(request, SIM_ACCEPT)
        if rejection is not None:
            return self._reject(request, rejection)
        replaced: SimSession | None = None
        if request.replaces is not None:
            if behaviour.answer is Answer.REJECT_REPLACES:
                return self._response(request, behaviour.replaces_status)
            replaced = self._replaced(request)
            if replaced is None:
                # RFC 3891 3: "If no match is found, the UAS rejects the INVITE and
                # returns a 481 Call/Transaction Does Not Exist response."
                return self._response(request, 481)
        if behaviour.answer is Answer.BUSY or len(self.sessions) + self._answering >= self.max_sessions:
            return self._response(request, 486)
        if behaviour.answer is Answer.DECLINE:
            return self._response(request, 603)
        timer = negotiate(request, self.policy)
        if isinstance(timer, TooSmall):
            return self._response(request, 422, headers=timer.response_headers())
        try:
            offer = _sdp_offer(request)
            offered = msrp_media(offer) if offer is not None else None
        except ParseError as exc:
            return self._response(request, 488, f"Not Acceptable Here ({exc.what})")
        if offer is None or offered is None:
            return self._response(request, 488, "Not Acceptable Here (no SDP offer with MSRP)")
        # The place is taken before the first await and kept until the session
        # is in self.sessions: INVITEs answered concurrently cannot all pass the
        # check above and then overfill self.dialogs.
        self._answering += 1
        trying = asyncio.get_running_loop().call_later(TRYING_AFTER, self._trying, incoming)
        try:
            return await self._ring_and_answer(incoming, offer, offered, timer, replaced)
        finally:
            trying.cancel()
            self._answering -= 1

    def _trying(self, incoming: IncomingRequest) -> None:
        """RFC 3261 17.2.1: no provisional or final response within 200 ms of
        the INVITE: send the 100 (Trying) the transaction did not."""
        transaction = incoming.transaction
        if (self.endpoint is None or transaction is None or incoming.responded
                or transaction.last_provisional is not None):
            return
        self.endpoint.respond(incoming, make_response(incoming.request, 100))

    async def _ring_and_answer(self, incoming: IncomingRequest, offer: SessionDescription,
                               offered: MsrpMedia, timer: Negotiated | None,
                               replaced: SimSession | None) -> Response | None:
        request = incoming.request
        endpoint = self.endpoint_or_fail
        behaviour = self.behaviour
        tag = self.ids.tag()
        transport = incoming.source.transport
        contact = NameAddr(self.contact(transport))
        if behaviour.answer in (Answer.NO_ANSWER, Answer.DELAY):
            ringing = self._response(request, 180, to_tag=tag, headers=[("Contact", str(contact))])
            endpoint.respond(incoming, ringing)
            wait = behaviour.delay if behaviour.answer is Answer.DELAY else behaviour.timeout
            try:
                await asyncio.wait_for(incoming.cancelled.wait(), wait)
                return None  # the transaction layer answered 487 (RFC 3261 9.2)
            except TimeoutError:
                pass
            if behaviour.answer is Answer.NO_ANSWER:
                return self._response(request, behaviour.timeout_status, to_tag=tag)
        if incoming.cancelled.is_set() or incoming.responded:
            return None
        return await self._answer(incoming, offer, offered, tag, contact, timer, replaced)

    def _replaced(self, request: Request) -> SimSession | None:
        replaces = request.replaces
        assert replaces is not None
        for session in self.sessions.values():
            dialog = session.dialog
            # RFC 3891 3: the Call-ID, to-tag and from-tag are compared with the
            # dialog's Call-ID, local tag and remote tag.
            if (dialog.call_id == replaces.call_id and dialog.local_tag == replaces.to_tag
                    and dialog.remote_tag == replaces.from_tag and not session.ended.is_set()):
                return session
        return None

    async def _answer(self, incoming: IncomingRequest, offer: SessionDescription, offered: MsrpMedia,
                      tag: str, contact: NameAddr, timer: Negotiated | None,
                      replaced: SimSession | None) -> Response | None:
        request = incoming.request
        endpoint = self.endpoint_or_fail
        listener = await self.msrp_listener()
        sdp_session_id = self.ids.cseq()
        path = str(listener.uri())
        try:
            answer = build_msrp_answer(
                offer, path=path, session_id=sdp_session_id, accept_types=MSRP_ACCEPT,
                accept_wrapped_types=MSRP_WRAPPED, prefer=self.behaviour.msrp_setup,
            )
            answered = msrp_media(answer)
            if answered.rejected:
                raise LocalProtocolError("no media type in common")
            active = _answerer_is_active(offered, answered)
        except ProtocolError as exc:
            return self._response(request, 488, f"Not Acceptable Here ({exc})")
        rows = [("Contact", str(contact)), *self._capabilities()]
        if timer is not None:
            rows += timer.response_headers()
        response = self._response(request, 200, to_tag=tag, headers=rows, body=bytes(answer),
                                  content_type="application/sdp")
        dialog = Dialog.from_uas(request, response, local_via=endpoint.new_via(incoming.source.transport),
                                 ids=self.ids)
        from_ = request.from_
        session = SimSession(
            user=self, dialog=dialog, transport=incoming.source.transport, local_sdp=answer,
            sdp_session_id=sdp_session_id, msrp_path=path,
            msrp_setup=Setup.ACTIVE if active else Setup.PASSIVE,
            peer=str(from_.uri) if from_ is not None else "",
        )
        msrp = MSRPSession(
            [path], list(offered.path), MsrpRole.ACTIVE if active else MsrpRole.PASSIVE,
            accept_types=answered.accept_types, remote_accept_types=offered.accept_types,
            remote_max_size=offered.max_size,
        )
        if not active:
            session.channel = listener.accept(msrp, on_message=self._log.msrp_hook())
        session.timer = SessionTimer(session.expire, session.refresh)
        self.dialogs.add(dialog)
        self.sessions[id(session)] = session
        endpoint.respond(incoming, response)
        session.timer.start(timer)
        session.spawn(self._chat(session, msrp if active else None))
        session.spawn(self._await_ack(incoming, session, replaced))
        return None

    async def _await_ack(self, incoming: IncomingRequest, session: SimSession,
                         replaced: SimSession | None) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(incoming.ack), ACK_WAIT)
        except (TimeoutError, TransactionTimeout):
            # RFC 3261 13.3.1.4: "If the server retransmits the 2xx response for
            # 64*T1 seconds without receiving an ACK, the dialog is confirmed, but
            # the session SHOULD be terminated."
            _log.info("%s: no ACK for the 2xx; ending the session", self.name)
            await session.bye()
            return
        session.acked.set()
        if replaced is not None:
            # RFC 3891 3: the replaced dialog is terminated "as if a BYE request had
            # been received" ... the UA "sends a BYE request" on it.
            await replaced.bye()

    def _reinvite(self, incoming: IncomingRequest, session: SimSession) -> Response:
        """A re-INVITE (7.1.1.5 session modification, 7.1.1.8 refresh)."""
        request = incoming.request
        if session._reinviting:
            # RFC 3261 14.2: "A UAS that receives a second INVITE before it sends
            # the final response to a first INVITE with a lower CSeq sequence number
            # on the same dialog MUST return a 500"; with one of ours pending, 491.
            return self._response(request, 491)
        timer = negotiate(request, self.policy)
        if isinstance(timer, TooSmall):
            return self._response(request, 422, headers=timer.response_headers())
        try:
            offer = _sdp_offer(request)
            if offer is not None:
                msrp_media(offer)
        except ParseError as exc:
            return self._response(request, 488, f"Not Acceptable Here ({exc.what})")
        session.sdp_version += 1
        version = session.sdp_session_id + session.sdp_version
        if offer is not None:
            sdp = build_msrp_answer(offer, path=session.msrp_path, session_id=session.sdp_session_id,
                                    session_version=version, accept_types=MSRP_ACCEPT,
                                    accept_wrapped_types=MSRP_WRAPPED, prefer=session.msrp_setup)
        else:
            # RFC 3264 / RFC 3261 14.2: an INVITE without an offer gets one in the 2xx.
            sdp = build_msrp_offer(path=session.msrp_path, session_id=session.sdp_session_id,
                                   session_version=version, accept_types=MSRP_ACCEPT,
                                   setup=session.msrp_setup)
        session.local_sdp = sdp
        rows = [("Contact", str(NameAddr(self.contact(session.transport)))), *self._capabilities()]
        if timer is not None:
            rows += timer.response_headers()
        response = self._response(request, 200, headers=rows, body=bytes(sdp),
                                  content_type="application/sdp")
        session.dialog.send_response(request, response)
        if session.timer is not None:
            session.timer.start(timer)
        return response

    # -- chat --------------------------------------------------------------------
    def _from_a_machine(self, text: str, sender: str | None) -> bool:
        """Whether a message came from a simulated user (in a conference the
        focus relays everyone's messages): answering it would start two
        machines talking to each other forever."""
        if text.startswith(ECHO_PREFIX):
            return True
        return sender is not None and self.is_simulated is not None and self.is_simulated(sender)

    async def _connect(self, session: SimSession, active: MSRPSession | None) -> MSRPChannel:
        """The session's MSRP connection, open and bound (RFC 4975 section
        5.4), or an exception when it is not within :attr:`msrp_wait` of the ACK."""
        # Wait for the ACK first: before it, an active answerer's offerer does
        # not know our path and cannot take the SEND.  A 2xx never ACKed is
        # _await_ack's to end.
        await asyncio.wait_for(session.acked.wait(), ACK_WAIT)
        if active is not None:
            session.channel = await asyncio.wait_for(
                MSRPChannel.connect(active, on_message=self._log.msrp_hook()), self.msrp_wait)
        assert session.channel is not None
        await session.channel.wait_bound(self.msrp_wait)
        return session.channel

    async def _chat(self, session: SimSession, active: MSRPSession | None) -> None:
        """Open or await the MSRP connection, greet, then answer every message."""
        try:
            await self._connect(session, active)
        except (ChannelClosed, TimeoutError, OSError, ProtocolError) as exc:
            if session.acked.is_set() and not session.ended.is_set():
                # A session whose media never came up holds one of
                # max_sessions places for nothing: end it (RFC 3261 15).
                _log.info("%s: no MSRP connection in session %s (%s); ending it",
                          self.name, session.call_id, exc or type(exc).__name__)
                await session.bye()
            return
        assert session.channel is not None
        try:
            if self.behaviour.greeting:
                await session.send(self.behaviour.greeting)
            index = 0
            while True:
                event = await session.channel.receive()
                if not isinstance(event, MessageReceived) or not event.body:
                    continue
                read = _text_of(event)
                if read is None:
                    continue
                text, sender = read
                session._note(ChatLine(True, event.content_type or "", text, sender or session.peer))
                if self._from_a_machine(text, sender):
                    continue
                reply = self.behaviour.reply(text, index)
                index += 1
                if reply is not None:
                    await session.send(reply)
        except (ChannelClosed, TimeoutError, OSError, ProtocolError) as exc:
            _log.info("%s: MSRP session over: %s", self.name, exc)


def _answerer_is_active(offered: MsrpMedia, answered: MsrpMedia) -> bool:
    """Whether we (the answerer) open the MSRP connection, from the offer and
    the answer :func:`build_msrp_answer` made for it (so the pair is one RFC
    4145 allows, except holdconn): RFC 4145 section 4.1, "'holdconn': The
    endpoint does not want the connection to be established for the time
    being" -- refused here, a simulated user chats at once."""
    if Setup.HOLDCONN in (offered.setup, answered.setup):
        raise SetupNegotiationError("a=setup:holdconn: no connection is to be opened yet")
    return answered.setup is Setup.ACTIVE


def _text_of(event: MessageReceived) -> tuple[str, str | None] | None:
    """The text of an incoming chat message (unwrapped from CPIM) and, for
    CPIM, its sender's URI; ``None`` when it is not text."""
    body, content_type = event.body, (event.content_type or "").lower()
    sender: str | None = None
    if content_type.startswith("message/cpim"):
        try:
            message = cpim.unwrap(body)
        except ProtocolError:
            return None
        body, content_type = message.body, (message.content_type or "").lower()
        sender = message.from_.uri if message.from_ is not None else None
    if not content_type.startswith("text/"):
        return None
    return body.decode("utf-8", "replace"), sender


class SimulatedUsers:
    """The registry of simulated users (``server.users``)."""

    def __init__(
        self,
        domain: str,
        *,
        host: str = "127.0.0.1",
        trace: Trace | None = None,
        policy: TimerPolicy | None = None,
        auto_create: bool = True,
        max_users: int = 64,
        default: Behaviour | Answer | str = Answer.ANSWER,
        server_header: str = SERVER_HEADER,
        ids: IdGenerator | None = None,
        msrp_wait: float = MSRP_WAIT,
        max_sessions: int | None = None,
    ) -> None:
        self.domain = domain
        self.host = host
        self.trace = trace
        self.policy = policy or TimerPolicy()
        #: create a user on demand for an unknown user of the domain
        self.auto_create = auto_create
        self.max_users = max_users
        self.default = Behaviour.of(default)
        self.server_header = server_header
        self.ids = ids or IdGenerator()
        self.msrp_wait = msrp_wait
        #: sessions at once per user (None: MAX_SESSIONS)
        self.max_sessions = max_sessions
        self._users: dict[str, SimulatedUser] = {}

    def add(self, name: str, behaviour: Behaviour | Answer | str | None = None) -> SimulatedUser:
        """Declare ``name`` (or change its behaviour); sockets open on first use."""
        existing = self._users.get(name)
        if existing is not None:
            if behaviour is not None:
                existing.behaviour = Behaviour.of(behaviour)
            return existing
        if len(self._users) >= self.max_users:
            raise LocalProtocolError(f"at most {self.max_users} simulated users")
        user = SimulatedUser(
            name, self.domain, self.default if behaviour is None else behaviour, host=self.host,
            trace=self.trace, policy=self.policy,
            server_header=self.server_header, ids=self.ids, msrp_wait=self.msrp_wait,
            max_sessions=self.max_sessions,
        )
        user.is_simulated = self.is_simulated
        self._users[name] = user
        return user

    def get(self, name: str) -> SimulatedUser | None:
        return self._users.get(name)

    async def obtain(self, name: str, *, create: bool | None = None) -> SimulatedUser | None:
        """The started user ``name``; created with the default behaviour when
        unknown and ``create`` (default: :attr:`auto_create`) allows.  ``None``
        when it does not exist and may not be created (or the name is not one
        a simulated user can have).  Raises :class:`LocalProtocolError` when
        the registry is full."""
        user = self._users.get(name)
        if user is None:
            if not (self.auto_create if create is None else create) or not USER_NAME_RE.fullmatch(name):
                return None
            user = self.add(name)
        return await user.start()

    async def remove(self, name: str) -> None:
        user = self._users.pop(name, None)
        if user is not None:
            await user.close()

    async def close(self) -> None:
        users = list(self._users.values())
        self._users.clear()
        await asyncio.gather(*(u.close() for u in users), return_exceptions=True)

    def is_simulated(self, uri: str) -> bool:
        """Whether ``uri`` (``sip:name@domain``) is one of these users."""
        try:
            parsed = parse_uri(uri.strip("<>"))
        except ParseError:
            return False
        return (isinstance(parsed, SipURI) and parsed.user in self._users
                and parsed.host.lower() == self.domain.lower())

    def find_by_address(self, host: str, port: int) -> SimulatedUser | None:
        """The user whose SIP socket is ``host:port``."""
        for user in self._users.values():
            if (host, port) in user.addresses:
                return user
        return None

    def __getitem__(self, name: str) -> SimulatedUser:
        return self._users[name]

    def __contains__(self, name: object) -> bool:
        return name in self._users

    def __iter__(self) -> Iterator[SimulatedUser]:
        return iter(list(self._users.values()))

    def __len__(self) -> int:
        return len(self._users)

    def __repr__(self) -> str:
        return f"SimulatedUsers({', '.join(f'{u.name}={u.behaviour}' for u in self._users.values())})"
