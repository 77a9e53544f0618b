"""7.1.1.11 on the wire: the conference state subscription and its NOTIFYs.

The SUBSCRIBE opens a new dialog; its 200 or 202 is answered by storing the
Contact (item ok1).  Each NOTIFY (RFC 6665, RFC 4575) is answered 200 and
applied: a full document replaces the state, a partial one is merged by
version (RFC 4575 4.6); a version gap makes the client re-SUBSCRIBE for a
full document.  After each NOTIFY the client can show the state (n2), knows
its own ``<user>`` (``yourown``, else its entity; n3) and which joined users
are on the IM User's block list (n4).  ``terminate()`` ends the subscription
with ``Expires: 0`` ("When needed the IM Client SHALL terminate the
subscription").
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from imkit.client.errors import ProcedureFailed
from imkit.payloads.conference_info import CONTENT_TYPE, ConferenceInfo, RosterDiff, User, VersionGap, diff
from imkit.payloads.xml import PayloadError
from imkit.procedures import conference_events
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import ParseError, Request, Response, parse_uri
from imkit.sip.dialog import Dialog

if TYPE_CHECKING:
    from imkit.client.core import IMClient

CLAUSE = conference_events.CLAUSE
MAX_CONFERENCE_INFO = 4 << 20


class ConferenceSubscription:
    """The client's view of one conference, kept up to date by NOTIFYs."""

    def __init__(self, client: "IMClient", subscribe: Request) -> None:
        self.client = client
        self.subscribe_request = subscribe
        self.dialog: Dialog | None = None
        self.state: ConferenceInfo | None = None
        self.last_change: RosterDiff | None = None
        self.notifications = 0
        self.terminated = False
        self.contact: list[str] = []
        self.changed = asyncio.Event()
        self._established = asyncio.Event()
        self._refresh_timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        users = len(self.state.roster) if self.state else 0
        return f"<ConferenceSubscription {self.subscribe_request.uri} users={users} terminated={self.terminated}>"

    @property
    def call_id(self) -> str | None:
        return self.subscribe_request.call_id

    @property
    def own_user(self) -> User | None:
        """7.1.1.11 n3: the ``<user>`` marked ``yourown``, else the one whose entity is our AOR."""
        if self.state is None:
            return None
        return self.state.own_user(str(self.client.aor))

    @property
    def blocked_joined(self) -> list[str]:
        """7.1.1.11 n4: joined users who are on the IM User's block list."""
        if self.state is None:
            return []
        blocked = [parse_uri(b) for b in self.client.profile.blocklist]
        return [u.entity for u in self.state.roster if _is_blocked(u.entity, blocked)]

    async def wait_for(self, predicate, timeout: float = 10.0) -> ConferenceInfo:
        """Until ``predicate(state)`` holds after some NOTIFY."""
        async def wait() -> ConferenceInfo:
            while self.state is None or not predicate(self.state):
                self.changed.clear()
                await self.changed.wait()
            return self.state

        return await asyncio.wait_for(wait(), timeout)

    # -- NOTIFY ----------------------------------------------------------------------------
    async def on_notify(self, notify: Request) -> int:
        """Apply a NOTIFY; the status to answer it with."""
        try:
            await asyncio.wait_for(self._established.wait(), 5.0)
        except asyncio.TimeoutError:
            return 481
        state = notify.subscription_state
        if state is not None and state.state == "terminated":
            self.terminated = True
        media = notify.content_type
        if media is None or not notify.body:
            self.changed.set()
            return 200
        if media.mime != CONTENT_TYPE:
            return 415
        try:
            document = ConferenceInfo.from_xml(notify.body, max_size=MAX_CONFERENCE_INFO)
        except PayloadError:
            return 400
        old = self.state
        try:
            self.state = document if old is None else old.apply(document)
        except VersionGap:
            self.client.spawn(self.refresh())
            return 200
        self.notifications += 1
        self.last_change = diff(old, self.state) if old is not None else None
        self._note_display(notify)
        self.changed.set()
        return 200

    def _note_display(self, notify: Request) -> None:
        client = self.client
        assert self.state is not None
        users = ", ".join(f"{u.entity} ({u.state.value if u.state else 'full'})" for u in self.state.roster)
        client.note(f"{CLAUSE}/n2", f"conference state: {users}", notify)
        own = self.own_user
        how = "yourown" if own is not None and own.yourown else "entity"
        client.note(f"{CLAUSE}/n3", f"own user {own.entity if own else 'not listed'} (by {how})", notify)
        blocked = sorted(self.blocked_joined)
        client.note(f"{CLAUSE}/n4", f"blocked users joined: {', '.join(blocked) or 'none'}", notify)
        if client.profile.blocklist:
            client.note(f"{CLAUSE}/n4-cache", f"cached block list of {len(client.profile.blocklist)}", notify)

    # -- refresh and end ------------------------------------------------------------------
    async def refresh(self, expires: int | None = None) -> Response:
        """Re-SUBSCRIBE in the dialog (refresh, or a full state after a gap)."""
        if self.dialog is None:
            raise RuntimeError("the subscription has no dialog")
        seconds = self.client.profile.subscription_expires if expires is None else expires
        out = conference_events.build_refresh(self.client, self.dialog, expires=seconds)
        response = await self.client.transact(out)
        self.dialog.receive_response(out.request, response)
        if not response.is_success:
            raise ProcedureFailed(CLAUSE, response)
        self.schedule_refresh(response, seconds)
        return response

    def stop(self) -> None:
        """Stop the refresh timer (the client is closing)."""
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None

    def schedule_refresh(self, response: Response, requested: int) -> None:
        """RFC 6665 4.1.2.2: refresh before the expiry the 2xx granted (at 80 %)."""
        self.stop()
        granted = response.expires if response.expires is not None else requested
        if granted and not self.terminated:
            self._refresh_timer = asyncio.get_running_loop().call_later(
                granted * 0.8, lambda: self.client.spawn(self._refresh_quietly()))

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception:  # noqa: BLE001 -- the server ended it; a NOTIFY says so
            self.terminated = True

    async def terminate(self) -> Response:
        """End the subscription: SUBSCRIBE with ``Expires: 0`` (RFC 6665 4.1.2.3)."""
        self.terminated = True
        self.stop()
        return await self.refresh(0)

    def session_ended(self) -> None:
        """The session is gone: the subscription has to end too (noted for the rule)."""
        if not self.terminated:
            self.client.note(f"{CLAUSE}/term-needed", "the IM Session ended")
            self.client.spawn(self._terminate_quietly())

    async def _terminate_quietly(self) -> None:
        try:
            await self.terminate()
        except Exception:  # the server may already have ended it
            self.terminated = True


def _is_blocked(entity: str, blocked: list) -> bool:
    """RFC 3261 19.1.4 comparison of a roster entity with the block list."""
    try:
        uri = parse_uri(entity)
    except ParseError:
        return False
    return any(uri.equivalent(b) for b in blocked)


async def send_subscribe(client: "IMClient", out: OutgoingRequest) -> ConferenceSubscription:
    from imkit.client.flows import store_response

    subscription = ConferenceSubscription(client, out.request)
    client.remember(client.subscriptions, subscription)
    response = await client.transact(out, on_provisional=lambda provisional: store_response(client, provisional))
    store_response(client, response)
    if response.status not in (200, 202):
        client.subscriptions.remove(subscription)
        raise ProcedureFailed(CLAUSE, response)
    # "Upon receiving a SIP 200 "OK" or a SIP 202 "Accepted" ... SHALL store the contents of the Contact header field."
    if client.profile.blocklist:
        # the IM User's block list as cached from the IM XDMS, for rule 7.1.1.11/n4
        client.note("blocklist", ", ".join(sorted(client.profile.blocklist)), response)
    subscription.contact = [str(c) for c in response.contact]
    client.note(f"{CLAUSE}/ok1", ", ".join(subscription.contact), response)
    subscription.dialog = Dialog.from_uac(out.request, response, ids=client.ids)
    subscription.subscribe_request = out.request
    subscription._established.set()
    subscription.schedule_refresh(response, out.request.expires or client.profile.subscription_expires)
    return subscription
