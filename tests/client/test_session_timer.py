"""7.1.1.1 ok1 and 7.1.1.8 on real sockets: the session timer the 200 starts,
the automatic refresh before it expires (RFC 4028), and the 422 / Min-SE
retry."""

from __future__ import annotations

import asyncio

from imkit import conformance
from imkit.client import IMClient
from imkit.procedures.rules import Verdict
from imkit.server import TestServer
from imkit.trace import Trace
from imkit.trace.record import Direction


def sent(trace: Trace, label: str, method: str) -> list:
    return [r for r in trace if r.direction is Direction.SENT and r.label == label and r.message.method == method]


async def test_refresh_happens_by_itself_before_expiry() -> None:
    trace = Trace()
    async with TestServer(domain="example.com", min_se=1, session_expires=2) as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace, session_expires=2) as alice:
            session = await alice.start_session("sip:bob@example.com")
            assert session.state.timer is not None and session.state.timer.interval == 2
            await asyncio.sleep(1.6)  # the refresher re-INVITEs at half the interval (RFC 4028 10)
            refreshes = sent(trace, "7.1.1.8", "INVITE")
            assert refreshes, trace.ladder_text()
            assert refreshes[0].message.session_expires.refresher == "uac"
            assert refreshes[0].message.body == session.state.offer
            await session.leave()
    report = conformance.check(trace, ["7.1.1.8"])
    assert report.ok and report.verdict("7.1.1.8/0") is Verdict.PASS, report.to_text()


async def test_422_raises_the_interval_to_min_se_and_retries() -> None:
    trace = Trace()
    async with TestServer(domain="example.com", min_se=300) as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace, session_expires=120) as alice:
            session = await alice.start_session("sip:bob@example.com")
            invites = sent(trace, "7.1.1.2", "INVITE")
            assert [i.message.session_expires.delta for i in invites] == [120, 300]
            assert invites[1].message.min_se == 300
            assert invites[1].message.cseq.seq == invites[0].message.cseq.seq + 1
            answers = [r.message.status for r in trace if r.direction is Direction.RECEIVED and hasattr(r.message, "status")]
            assert 422 in answers
            assert session.state.timer is not None and session.state.timer.interval >= 300
            await session.leave()
