"""Requests an IM Server sends to the client, and how the client answers.

An IM Client is also a UAS: the focus invites it into conferences (with
Replaces when a 1-1 session is being extended, RFC 3891), ends sessions with
BYE (7.1.1.6 NOTE: "The BYE request received as a result of the Replace
header is handled as described in 7.1.2.3"), refreshes them with re-INVITE
(RFC 4028), and sends NOTIFYs for the conference state (7.1.1.11) and for
REFERs (7.1.1.7, 7.1.1.14).  Anything else gets a sensible final response.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from imkit.procedures.state import SessionKind, SessionPhase, SessionState
from imkit.runtime import IncomingRequest
from imkit.sip import NameAddr, Request, Response, SipURI
from imkit.sip.builders import make_response
from imkit.msrp import Role as MSRPRole
from imkit.sip.dialog import Dialog, RequestCheck
from imkit.sip.sdp import SessionDescription, Setup, build_msrp_answer, msrp_media

if TYPE_CHECKING:
    from imkit.client.core import IMClient
    from imkit.client.session import IMSession

SDP = "application/sdp"


class IncomingHandler:
    def __init__(self, client: "IMClient") -> None:
        self.client = client

    def _answer(self, request: Request, status: int, *, to_tag: str | None = None,
                headers: tuple[tuple[str, str], ...] = (), body: bytes = b"", content_type: str | None = None) -> Response:
        tag = to_tag or (None if request.to and request.to.tag else self.client.ids.tag())
        return make_response(request, status, to_tag=tag, headers=headers, body=body, content_type=content_type)

    async def handle(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        method = request.method
        if method == "ACK":
            return None
        if method == "NOTIFY":
            return await self._notify(request)
        session = self._session_of(request)
        if method == "INVITE" and session is None:
            return await self._new_invite(incoming)
        if method == "INVITE":
            return self._reinvite(session, request)
        if method == "BYE":
            if session is None:
                return self._answer(request, 481)
            response = self._answer(request, 200)
            self.client.spawn(session.remote_ended())
            return response
        if method == "OPTIONS":
            return self._answer(request, 200, headers=(("Allow", ", ".join(self.client.profile.allow)),
                                                       ("Accept", SDP), ("Supported", "timer, replaces")))
        if method == "CANCEL":
            return None
        return self._answer(request, 405, headers=(("Allow", ", ".join(self.client.profile.allow)),))

    def _session_of(self, request: Request) -> "IMSession | None":
        to_tag = request.to.tag if request.to else None
        for session in self.client.sessions:
            dialog = session.state.dialog
            if dialog is not None and dialog.call_id == request.call_id and dialog.local_tag == to_tag:
                return session
        return None

    # -- NOTIFY: conference state and REFER progress ------------------------------------------
    async def _notify(self, request: Request) -> Response:
        event = request.event
        package = event.value.lower() if event else ""
        from_tag_of_ours = request.to.tag if request.to else None
        if package == "conference":
            for subscription in self.client.subscriptions:
                if subscription.call_id == request.call_id and subscription.subscribe_request.from_.tag == from_tag_of_ours:
                    status = await subscription.on_notify(request)
                    if subscription.dialog is not None and status == 200:
                        subscription.dialog.receive_request(request)
                    return self._answer(request, status)
        elif package == "refer":
            for referral in self.client.referrals:
                if referral.call_id == request.call_id:
                    return self._answer(request, await referral.on_notify(request))
        elif not package:
            return self._answer(request, 400, headers=(("Warning", '399 imkit "NOTIFY without Event"'),))
        else:
            return self._answer(request, 489)
        return self._answer(request, 481)

    # -- INVITE ---------------------------------------------------------------------------------
    async def _new_invite(self, incoming: IncomingRequest) -> Response:
        """Accept a session (auto-answer): an SDP answer, a dialog, the chat."""
        from imkit.client.session import IMSession

        client = self.client
        request = incoming.request
        content_type = request.content_type
        if content_type is None or content_type.mime != SDP or not request.body:
            return self._answer(request, 488 if request.body else 400)
        replaced = self._replaced(request)
        if request.replaces is not None and replaced is None:
            # RFC 3891 3: "If no match is found, the UAS rejects the INVITE and returns a 481"
            return self._answer(request, 481)
        local = client.media.answer(request.body)
        tag = client.ids.tag()
        contact = NameAddr(client.contact)
        headers = [("Contact", str(contact)), ("Allow", ", ".join(client.profile.allow)), ("Supported", "timer, replaces")]
        se = request.session_expires
        if se is not None:
            refresher = se.refresher or "uac"
            headers += [("Require", "timer"), ("Session-Expires", f"{se.delta};refresher={refresher}")]
        response = self._answer(request, 200, to_tag=tag, headers=tuple(headers), body=local.sdp, content_type=SDP)
        is_focus = any("isfocus" in c.params for c in request.contact)
        kind = SessionKind.ADHOC if is_focus else SessionKind.ONE_TO_ONE
        remote = request.from_.uri if request.from_ and isinstance(request.from_.uri, SipURI) else client.aor
        state = SessionState(kind, remote, phase=SessionPhase.ESTABLISHED, offer=request.body, answer=local.sdp)
        state.dialog = Dialog.from_uas(request, response, local_via=client.endpoint.new_via(client.transport), ids=client.ids)
        if is_focus and request.contact and isinstance(request.contact[0].uri, SipURI):
            state.identity = request.contact[0].uri
        session = IMSession(client, state, incoming=True)
        client.remember(client.sessions, session)
        client.spawn(self._after_answer(session, incoming, local, replaced, response))
        return response

    def _replaced(self, request: Request) -> "IMSession | None":
        replaces = request.replaces
        if replaces is None:
            return None
        for session in self.client.sessions:
            dialog = session.state.dialog
            # RFC 3891 3: the to-tag names our side of the dialog, the from-tag the other side.
            if (dialog is not None and dialog.call_id == replaces.call_id
                    and dialog.local_tag == replaces.to_tag and dialog.remote_tag == replaces.from_tag):
                return session
        return None

    async def _after_answer(self, session: "IMSession", incoming: IncomingRequest, local, replaced, response: Response) -> None:
        client = self.client
        try:
            await asyncio.wait_for(incoming.ack, 32.0)
        except asyncio.TimeoutError:
            await session._ended()
            return
        session.start_timer(response, we_are_uac=False)
        if replaced is not None:
            # RFC 3891 3: the UAS "MUST ... terminate the replaced dialog by sending a BYE"
            await replaced.leave()
        try:
            session.chat = await client.media.open(local, session.state.offer, local.sdp, we_offered=False,
                                                   local_aor=str(client.aor), peer=str(session.state.target),
                                                   peer_lane="IM Server" if session.is_group else (session.state.target.user or "peer"))
        except (OSError, asyncio.TimeoutError, ConnectionError):
            return
        if client.incoming.full():
            client.incoming.get_nowait()
        client.incoming.put_nowait(session)

    def _reinvite(self, session: "IMSession", request: Request) -> Response:
        """A re-INVITE (session refresh or modification by the other side)."""
        dialog = session.state.dialog
        assert dialog is not None
        verdict = dialog.receive_request(request)
        if verdict is not RequestCheck.ACCEPT:
            return self._answer(request, verdict.status or 500)
        answer = self._reanswer(session, request)
        headers = [("Contact", str(NameAddr(self.client.contact))), ("Supported", "timer")]
        se = request.session_expires
        if se is not None:
            headers += [("Require", "timer"), ("Session-Expires", f"{se.delta};refresher={se.refresher or 'uac'}")]
        response = self._answer(request, 200, headers=tuple(headers), body=answer, content_type=SDP)
        dialog.send_response(request, response)
        session.start_timer(response, we_are_uac=False)
        return response

    def _reanswer(self, session: "IMSession", request: Request) -> bytes:
        """The answer to a re-INVITE's offer (RFC 3264 section 8): same MSRP
        path, the next o= version, and the role the connection already has
        (RFC 6135: a=setup active or passive, never actpass, in an answer)."""
        ours = session.state.answer if session.incoming else session.state.offer
        if not request.body:
            return ours
        local = SessionDescription.parse(ours)
        media = msrp_media(local)
        role = session.chat.channel.session.role if session.chat is not None else None
        answer = build_msrp_answer(
            SessionDescription.parse(request.body), path=list(media.path),
            session_id=int(local.origin.session_id), session_version=int(local.origin.session_version) + 1,
            prefer=Setup.ACTIVE if role is MSRPRole.ACTIVE else Setup.PASSIVE,
            address=self.client.endpoint.host,
        )
        # keep it as "our SDP in use" (7.1.1.8 item 4 re-sends it)
        if session.incoming:
            session.state.answer = bytes(answer)
        else:
            session.state.offer = bytes(answer)
        return bytes(answer)
