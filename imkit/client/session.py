"""``IMSession``: an established (or establishing) IM Session, and its methods.

The session keeps what 7.1.1 says to keep (the IM Session Identity from the
200's Contact, the Allow list, the session timer), runs the session timer
(RFC 4028: the refresher re-INVITEs at half the interval, 7.1.1.8; the other
side sends BYE if no refresh came before expiry), holds the chat (the User
Plane) and offers the procedures that act on a session: add or remove
participants, extend to a conference, modify, refresh, subscribe, leave.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Sequence

from imkit.client.errors import ProcedureFailed
from imkit.client.media import Chat, ChatMessage, MediaOffer
from imkit.procedures import general
from imkit.procedures.cancel_session import CANCELLABLE
from imkit.procedures.state import SessionPhase, SessionState
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import Request, Response, SipURI
from imkit.sip.sdp import SessionDescription, build_msrp_offer, msrp_media

if TYPE_CHECKING:
    from imkit.client.core import IMClient
    from imkit.client.referral import Referral
    from imkit.client.subscription import ConferenceSubscription


class IMSession:
    """One IM Session of an :class:`~imkit.client.IMClient`."""

    def __init__(
        self,
        client: "IMClient",
        state: SessionState,
        *,
        invite: Request | None = None,
        local_offer: MediaOffer | None = None,
        incoming: bool = False,
    ) -> None:
        self.client = client
        self.state = state
        self.invite = invite
        self.local_offer = local_offer
        self.incoming = incoming
        self.chat: Chat | None = None
        self.subscription: "ConferenceSubscription | None" = None
        self.expires_at: float | None = None
        self.ended = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._sdp_version = 1

    def __repr__(self) -> str:
        return f"<IMSession {self.state.kind.value} {self.state.target} {self.state.phase.value} identity={self.identity}>"

    # -- what is stored ----------------------------------------------------------------
    @property
    def identity(self) -> SipURI | None:
        """The IM Session Identity stored from the 200's Contact."""
        return self.state.identity

    @property
    def allow(self) -> list[str] | None:
        return self.state.server.allow

    @property
    def accept_types(self) -> tuple[str, ...]:
        return tuple(msrp_media(SessionDescription.parse(self.state.offer)).accept_types)

    @property
    def is_group(self) -> bool:
        return self.state.is_group

    # -- the 200 ---------------------------------------------------------------------------
    async def established(self, response: Response, clause: str) -> None:
        """What 7.1.1.1 and the session clauses ask on the 200 to the INVITE."""
        client = self.client
        self.state.phase = SessionPhase.ESTABLISHED
        self._store_identity(response)
        self.start_timer(response)
        answer = response.body
        await self._open_media(answer, response)
        if self.is_group:
            client.note("group-session", str(self.identity or self.state.target), response)
            if client.auto_subscribe:
                # 7.1.1.1: "In the case of IM group session, the IM Client SHALL subscribe to the
                # Conference State Event Package as specified in section 7.1.1.11"
                await self.subscribe()

    def _store_identity(self, response: Response) -> None:
        contact = response.contact
        if contact and isinstance(contact[0].uri, SipURI):
            # "SHALL store the IM Session Identity if received in the Contact header"
            self.state.identity = contact[0].uri
            self.client.note("session-identity", str(contact[0].uri), response)

    def start_timer(self, response: Response, *, we_are_uac: bool = True) -> None:
        """Run the session timer the 2xx negotiated; ``we_are_uac`` says which
        side of that transaction we were (``refresher`` is relative to it)."""
        timer = general.session_timer_from_ok(response)
        self.state.timer = timer
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if timer is None:
            self.expires_at = None
            return
        client = self.client
        # 7.1.1.1: "SHALL start the SIP Session timer using the value received in the Session-Expires header"
        client.note("7.1.1.1/ok1", str(timer.interval), response)
        now = client.now()
        self.expires_at = now + timer.interval
        loop = asyncio.get_running_loop()
        if (timer.refresher == "uac") == we_are_uac:
            if client.auto_refresh:
                self._timer = loop.call_later(timer.refresh_after(), self._refresh_due)
        else:
            self._timer = loop.call_later(timer.expire_after(), self._expired)

    def _refresh_due(self) -> None:
        self.client.spawn(self.refresh())

    def _expired(self) -> None:
        # RFC 4028 10: "If the side not performing refreshes does not receive a session refresh
        # request before the session expiration, it SHOULD send a BYE to terminate the session"
        if self.state.phase is SessionPhase.ESTABLISHED:
            self.client.spawn(self.leave())

    async def _open_media(self, answer: bytes, response: Response) -> None:
        if self.local_offer is None:
            return
        self.chat = await self.client.media.open(
            self.local_offer, self.state.offer, answer, we_offered=True, local_aor=str(self.client.aor),
            peer=str(self.identity if self.is_group and self.identity else self.state.target),
            peer_lane="IM Server" if self.is_group else (self.state.target.user or str(self.state.target)),
        )
        self.state.answer = answer
        self.client.note("user-plane", f"MSRP {self.local_offer.uri} connected", response)

    # -- the User Plane -------------------------------------------------------------------
    async def send(self, text: str, *, to: str | None = None) -> str:
        """Send a chat message; returns its MSRP Message-ID once delivered."""
        if self.chat is None:
            raise RuntimeError("the session has no User Plane yet")
        return await self.chat.send(text, to=to)

    async def receive(self, timeout: float | None = 10.0) -> ChatMessage:
        if self.chat is None:
            raise RuntimeError("the session has no User Plane yet")
        return await self.chat.receive(timeout)

    async def release_media(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.chat is not None:
            await self.chat.close()
            self.chat = None

    def reoffer(self, accept_types: Sequence[str] | None = None) -> bytes:
        """The SDP offer of a modification: same path, next o= version."""
        current = msrp_media(SessionDescription.parse(self.state.offer))
        self._sdp_version += 1
        origin = SessionDescription.parse(self.state.offer).origin
        return bytes(build_msrp_offer(
            path=list(current.path), session_id=int(origin.session_id),
            session_version=int(origin.session_version) + 1,
            accept_types=list(accept_types or current.accept_types), setup=current.setup,
            address=self.client.endpoint.host,
        ))

    # -- procedures on the session ----------------------------------------------------------
    async def send_reinvite(self, out: OutgoingRequest) -> "IMSession":
        """7.1.1.5 / 7.1.1.8: the re-INVITE, its 200 handled as 7.1.1.1 says."""
        from imkit.client.flows import store_response

        dialog = self.state.dialog
        assert dialog is not None
        response = await self.client.transact(out)
        store_response(self.client, response, self.state.server)
        dialog.receive_response(out.request, response)
        if not response.is_success:
            raise ProcedureFailed(out.clause, response)
        ack = dialog.create_ack(response, via=self.client.endpoint.new_via(self.client.transport))
        await self.client.endpoint.send_ack(ack, label=out.clause)
        self.state.offer = out.request.body
        self.state.answer = response.body
        self._store_identity(response)
        self.start_timer(response)
        if self.chat is not None and out.clause == "7.1.1.5":
            self.client.note("user-plane", "MSRP session kept on the same path", response)
        return self

    async def modify(self, accept_types: Sequence[str] | None = None, *, anonymous: bool = False) -> "IMSession":
        """7.1.1.5: re-INVITE with a modified offer."""
        return await self.send_reinvite(self.client.prepare.modify(self, accept_types, anonymous=anonymous))

    async def refresh(self, *, min_se: int | None = None) -> "IMSession":
        """7.1.1.8: refresh the session (re-INVITE); one retry after a 422 with its Min-SE."""
        try:
            return await self.send_reinvite(self.client.prepare.refresh(self, min_se=min_se))
        except ProcedureFailed as failure:
            if failure.status == 422 and failure.response.min_se and min_se is None:
                return await self.send_reinvite(self.client.prepare.refresh(self, min_se=failure.response.min_se))
            raise

    async def send_bye(self, out: OutgoingRequest) -> Response:
        """7.1.1.12: BYE; on its 200 release the User Plane, keep the identity a while."""
        from imkit.client.flows import store_response

        response = await self.client.transact(out)
        store_response(self.client, response, self.state.server)
        if response.is_success or response.status in (408, 481):
            await self._ended()
            if response.is_success:
                self.client.note(f"{out.clause}/ok", "MSRP session released", response)
                if self.identity is not None and self.is_group:
                    self.client.keep_identity(str(self.identity))
                    self.client.note(f"{out.clause}/note", f"kept {self.identity} for {self.client.profile.rejoin_window:.0f}s", response)
        if not response.is_success:
            raise ProcedureFailed(out.clause, response)
        return response

    async def leave(self, *, anonymous: bool = False) -> Response:
        return await self.send_bye(self.client.prepare.leave(self, anonymous=anonymous))

    async def _ended(self) -> None:
        self.state.phase = SessionPhase.ENDED
        self.state.ended_at = self.client.now()
        if self.state.dialog is not None:
            self.state.dialog.terminate()
        await self.release_media()
        if self.subscription is not None:
            self.subscription.session_ended()
        self.ended.set()

    async def remote_ended(self) -> None:
        """The other side sent BYE (answered by the client already)."""
        if self.identity is not None and self.is_group:
            self.client.keep_identity(str(self.identity))
        await self._ended()

    async def subscribe(self) -> "ConferenceSubscription":
        """7.1.1.11: SUBSCRIBE to this session's conference state."""
        target = self.identity or self.state.target
        self.subscription = await self.client.subscribe_conference(target)
        return self.subscription

    async def add_participants(self, invited: Sequence[str], *, anonymous: bool = False) -> "Referral":
        """7.1.1.7: REFER to the IM Session Identity (multiple-refer for several)."""
        return await self.client.send(self.client.prepare.add_participants(self, invited, anonymous=anonymous))

    async def remove_participant(self, removed: str, *, anonymous: bool = False) -> "Referral":
        """7.1.1.14: REFER with Refer-To ``<removed;method=BYE>``."""
        return await self.client.send(self.client.prepare.remove_participant(self, removed, anonymous=anonymous))

    async def extend_to_conference(self, invited: Sequence[str], *, anonymous: bool = False) -> "IMSession":
        """7.1.1.6: a new ad-hoc conference replacing this 1-1 session."""
        return await self.client.send(self.client.prepare.extend_to_conference(self, invited, anonymous=anonymous))

    @property
    def roster(self) -> list[str]:
        """Entities of the users in the conference (from the subscription)."""
        if self.subscription is None or self.subscription.state is None:
            return []
        return [u.entity for u in self.subscription.state.roster]


class PendingInvite:
    """A session INVITE in flight: ``await pending.session()`` or ``await pending.cancel()``."""

    def __init__(self, session: IMSession) -> None:
        self.session_state = session
        self.ringing = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None
        self.outgoing: Any = None
        self.cancel_requested = False
        self._sent = asyncio.Event()

    def sent(self, outgoing: Any) -> None:
        self.outgoing = outgoing
        self._sent.set()

    async def session(self) -> IMSession:
        assert self.task is not None
        return await self.task

    async def cancel(self, timeout: float = 10.0) -> Response | None:
        """CANCEL the INVITE (7.1.1.13 for an ad-hoc or pre-defined conference,
        RFC 3261 9.1 for any other session); the runtime holds the CANCEL until
        a provisional response has come ("If no provisional response has been
        received, the CANCEL request MUST NOT be sent").  ``None`` when a final
        response came first: then there is nothing to cancel."""
        await asyncio.wait_for(self._sent.wait(), timeout)
        session = self.session_state
        self.cancel_requested = True
        if session.state.phase is not SessionPhase.INVITING:
            return None
        client = session.client
        if session.state.kind in CANCELLABLE:
            out = client.prepare.cancel(session)
            return await client.endpoint.cancel(self.outgoing, provenance=out.provenance, label=out.clause)
        return await client.endpoint.cancel(self.outgoing, label="RFC 3261 9.1")
