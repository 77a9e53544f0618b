"""Sending what a procedure built, and doing what 7.1.1 says on the answers.

:func:`send` dispatches on the request: an initial INVITE starts an IM
Session (7.1.1.2-.4, .6, .9, .10), a re-INVITE modifies or refreshes one
(7.1.1.5, .8), REFER adds or removes users (7.1.1.7, .14), SUBSCRIBE
subscribes to the conference state (7.1.1.11), BYE leaves (7.1.1.12).
Responses are handled once, here: 7.1.1.1's "store Allow and Contact" for
every response, and on the 200 to an INVITE the stored IM Session Identity,
the session timer, the User Plane and, for a group, the subscription.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imkit.client.errors import ProcedureFailed
from imkit.procedures import general
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.state import SessionKind, SessionPhase, SessionState
from imkit.procedures.general_checks import sdp_body
from imkit.sip import Request, Response, SipURI
from imkit.sip.dialog import Dialog

if TYPE_CHECKING:
    from imkit.client.core import IMClient
    from imkit.client.session import IMSession, PendingInvite

KIND_OF_CLAUSE = {
    "7.1.1.2": SessionKind.ONE_TO_ONE,
    "7.1.1.3": SessionKind.ADHOC,
    "7.1.1.4": SessionKind.PREDEFINED,
    "7.1.1.6": SessionKind.EXTENDED,
    "7.1.1.9": SessionKind.REJOINED,
    "7.1.1.10": SessionKind.PUBLIC,
}
MAX_422_RETRIES = 2


async def send(client: "IMClient", out: OutgoingRequest) -> Any:
    request = out.request
    method = request.method
    in_dialog = request.to is not None and request.to.tag is not None
    if method == "INVITE" and not in_dialog:
        return await begin(client, out).session()
    if method == "INVITE":
        return await session_of(client, request).send_reinvite(out)
    if method == "BYE":
        return await session_of(client, request).send_bye(out)
    if method == "REFER":
        from imkit.client.referral import send_refer

        return await send_refer(client, out)
    if method == "SUBSCRIBE":
        from imkit.client.subscription import send_subscribe

        return await send_subscribe(client, out)
    response = await client.transact(out)
    store_response(client, response)
    return response


def session_of(client: "IMClient", request: Request) -> "IMSession":
    for session in client.sessions:
        dialog = session.state.dialog
        if dialog is not None and dialog.call_id == request.call_id:
            return session
    raise ValueError("the request belongs to no IM Session of this client")


def begin(client: "IMClient", out: OutgoingRequest) -> "PendingInvite":
    from imkit.client.session import IMSession, PendingInvite

    request = out.request
    kind = KIND_OF_CLAUSE.get(out.clause, SessionKind.ONE_TO_ONE)
    offer_sdp = sdp_body(request, multipart=True)
    if offer_sdp is None:
        raise ValueError("an IM Session INVITE needs an SDP offer")
    target = request.uri if isinstance(request.uri, SipURI) else client.profile.aor
    state = SessionState(kind, target, offer=offer_sdp)
    session = IMSession(client, state, invite=request, local_offer=client.offer_in(offer_sdp))
    client.remember(client.sessions, session)
    pending = PendingInvite(session)
    pending.task = client.spawn(_run_invite(client, out, session, pending))
    return pending


def store_response(client: "IMClient", response: Response, stored: general.StoredServerInfo | None = None) -> None:
    """7.1.1.1: "On receipt of a SIP final response or SIP provisional response"
    store Allow and Contact, and note each (rules 7.1.1.1/r1, /r2)."""
    target = stored if stored is not None else client.server_info
    for key, text in general.store_response_info(target, response):
        client.note(key, text, response)


async def _run_invite(client: "IMClient", out: OutgoingRequest, session: "IMSession", pending: "PendingInvite") -> "IMSession":
    state = session.state

    def provisional(response: Response) -> None:
        store_response(client, response, state.server)
        pending.ringing.set()

    for _ in range(MAX_422_RETRIES + 1):
        response = await client.transact(out, on_provisional=provisional, on_sent=pending.sent)
        session.invite = out.request
        store_response(client, response, state.server)
        if response.status == 422 and response.min_se:
            # RFC 4028 7.3: retry with Session-Expires and Min-SE raised to the Min-SE of the 422
            from imkit.client.core import _next_attempt

            retry = _next_attempt(out.request)
            out.request = retry
            out.set("Session-Expires", f"{response.min_se};refresher=uac", "RFC 4028", "7.3", "after 422")
            out.set("Min-SE", str(response.min_se), "RFC 4028", "7.3", "after 422")
            continue
        break
    pending.ringing.set()
    if not response.is_success:
        state.phase = SessionPhase.CANCELLED if response.status == 487 else SessionPhase.FAILED
        raise ProcedureFailed(out.clause, response)
    dialog = Dialog.from_uac(out.request, response, ids=client.ids)
    state.dialog = dialog
    ack = dialog.create_ack(response, via=client.endpoint.new_via(client.transport))
    await client.endpoint.send_ack(ack, label=out.clause)
    if pending.cancel_requested:
        # RFC 3261 15: a 2xx that crossed our CANCEL established the session anyway;
        # the caller wanted none, so it ends at once with BYE.
        state.phase = SessionPhase.ESTABLISHED
        await session.leave()
        return session
    await session.established(response, out.clause)
    return session
