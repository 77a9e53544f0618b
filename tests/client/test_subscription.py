"""7.1.1.11 on real sockets: the subscription refreshes itself before the
expiry the server granted (RFC 6665 4.1.2.2), can be refreshed and
terminated on demand, and keeps the roster from full and partial NOTIFYs."""

from __future__ import annotations

import asyncio

from imkit.client import IMClient
from imkit.server import TestServer
from imkit.trace import Trace
from imkit.trace.record import Direction


async def test_subscription_refresh_timer_refresh_and_terminate() -> None:
    trace = Trace()
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace,
                            blocklist=["sip:carol@example.com"]) as alice:
            conference = await alice.start_adhoc_conference(["sip:bob@example.com", "sip:carol@example.com"])
            subscription = conference.subscription
            assert subscription is not None
            await subscription.wait_for(lambda state: len(state.roster) == 3)
            granted = [r.message.expires for r in trace
                       if r.direction is Direction.RECEIVED and getattr(r.message, "status", 0) == 200
                       and r.message.cseq.method == "SUBSCRIBE"][0]
            loop = asyncio.get_running_loop()
            timer = subscription._refresh_timer
            assert timer is not None and abs((timer.when() - loop.time()) - 0.8 * granted) < 5
            assert subscription.own_user is not None and subscription.own_user.entity == "sip:alice@example.com"
            assert subscription.blocked_joined == ["sip:carol@example.com"]
            response = await subscription.refresh()
            assert response.status == 200
            assert subscription.state is not None and len(subscription.state.roster) == 3
            await subscription.terminate()
            assert subscription.terminated and subscription._refresh_timer is None
            expires = [r.message.expires for r in trace
                       if r.direction is Direction.SENT and getattr(r.message, "method", "") == "SUBSCRIBE"]
            assert expires[-1] == 0
            await conference.leave()


async def test_own_user_rule_fails_when_the_client_picks_another_user(monkeypatch) -> None:
    from imkit import conformance
    from imkit.client.subscription import ConferenceSubscription
    from imkit.procedures.rules import Verdict

    def wrong_user(self):  # a client that ignores yourown and takes the first <user>
        return self.state.roster[-1] if self.state and self.state.roster else None

    trace = Trace()
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace) as alice:
            monkeypatch.setattr(ConferenceSubscription, "own_user", property(wrong_user))
            conference = await alice.start_adhoc_conference(["sip:bob@example.com"])
            await conference.subscription.wait_for(lambda state: len(state.roster) == 2)
            await conference.leave()
    assert conformance.check(trace, ["7.1.1.11"]).verdict("7.1.1.11/n3") is Verdict.FAIL


async def test_blocklist_rule_recomputes_the_blocked_users(monkeypatch) -> None:
    from imkit import conformance
    from imkit.client.subscription import ConferenceSubscription
    from imkit.procedures.rules import Verdict

    async def run(blind: bool) -> Verdict:
        trace = Trace()
        async with TestServer(domain="example.com") as server:
            host, port = server.address
            async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace,
                                blocklist=["sip:carol@example.com"]) as alice:
                if blind:  # a client that never finds anyone on the block list
                    monkeypatch.setattr(ConferenceSubscription, "blocked_joined", property(lambda self: []))
                conference = await alice.start_adhoc_conference(["sip:bob@example.com", "sip:carol@example.com"])
                await conference.subscription.wait_for(lambda state: len(state.roster) == 3)
                await conference.leave()
        return conformance.check(trace, ["7.1.1.11"]).verdict("7.1.1.11/n4")

    assert await run(blind=False) is Verdict.PASS
    assert await run(blind=True) is Verdict.FAIL
