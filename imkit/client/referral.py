"""7.1.1.7 and 7.1.1.14 on the wire: a REFER and the NOTIFYs it may bring.

The REFER goes to the IM Session Identity outside the INVITE dialog.  With
``Refer-Sub: false`` honoured (RFC 4488: the 2xx echoes ``Refer-Sub:
false``) no NOTIFY follows; otherwise the REFER's implicit subscription
delivers ``message/sipfrag`` progress (RFC 3515 2.4.5), which the client
answers 200 (item n1: "SHALL handle the request according to ... [RFC3515]")
and keeps as ``progress`` (n2: "MAY display information to the IM User").
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from imkit.client.errors import ProcedureFailed
from imkit.payloads.sipfrag import SipFrag
from imkit.payloads.xml import PayloadError
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import Request, Response

if TYPE_CHECKING:
    from imkit.client.core import IMClient


class Referral:
    """One REFER: its final response and the progress NOTIFYs reported."""

    def __init__(self, client: "IMClient", out: OutgoingRequest) -> None:
        self.client = client
        self.clause = out.clause
        self.request = out.request
        self.response: Response | None = None
        self.progress: list[str] = []
        self.subscription_terminated = False
        self.updated = asyncio.Event()
        self._answered = asyncio.Event()

    def __repr__(self) -> str:
        status = self.response.status if self.response else "pending"
        return f"<Referral {self.clause} {status} progress={self.progress}>"

    @property
    def call_id(self) -> str | None:
        return self.request.call_id

    @property
    def subscription_refused(self) -> bool:
        """The server honoured ``Refer-Sub: false`` (echoed in its 2xx, RFC 4488)."""
        return self.response is not None and self.response.refer_sub is False

    async def on_notify(self, notify: Request) -> int:
        try:
            await asyncio.wait_for(self._answered.wait(), 5.0)
        except asyncio.TimeoutError:
            return 481
        state = notify.subscription_state
        if state is not None and state.state == "terminated":
            self.subscription_terminated = True
        if notify.body:
            try:
                fragment = SipFrag.parse(notify.body)
            except PayloadError:
                return 400
            self.progress.append(f"{fragment.status_code} {fragment.reason}".strip())
            # "MAY display information to the IM User based on the information in the SIP NOTIFY body"
            self.client.note(f"{self.clause}/display", self.progress[-1], notify)
        self.updated.set()
        return 200

    async def wait_final(self, timeout: float = 10.0) -> str:
        """Until a NOTIFY reports a final status of the referred request."""
        async def wait() -> str:
            while not any(p[:1] in "23456" for p in self.progress):
                self.updated.clear()
                await self.updated.wait()
            return self.progress[-1]

        return await asyncio.wait_for(wait(), timeout)


async def send_refer(client: "IMClient", out: OutgoingRequest) -> Referral:
    from imkit.client.flows import store_response

    referral = Referral(client, out)
    client.remember(client.referrals, referral)
    response = await client.transact(out, on_provisional=lambda provisional: store_response(client, provisional))
    referral.request = out.request
    referral.response = response
    referral._answered.set()
    store_response(client, response)
    if not response.is_success:
        raise ProcedureFailed(out.clause, response)
    return referral
