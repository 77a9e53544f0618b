"""The Privacy rules judge the request against the user's wish, not against
the header itself: an anonymous REFER whose Privacy was edited out before
sending fails 7.1.1.7/6 and 7.1.1.1/5 (found by review: before, the rules
took the header as the sign of the wish and could never fail)."""

from __future__ import annotations

from imkit import conformance
from imkit.client import IMClient
from imkit.procedures.rules import Verdict
from imkit.server import TestServer
from imkit.trace import Trace


async def run_refer(*, strip_privacy: bool) -> conformance.Report:
    trace = Trace()
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace) as alice:
            conference = await alice.start_adhoc_conference(["sip:bob@example.com"])
            out = alice.prepare.add_participants(conference, ["sip:carol@example.com"], anonymous=True)
            assert out.request.privacy == ["id"]
            if strip_privacy:
                out.request.headers.remove("Privacy")
            await alice.send(out)
            await conference.leave()
    return conformance.check(trace, ["7.1.1.1", "7.1.1.7"])


async def test_privacy_present_passes() -> None:
    report = await run_refer(strip_privacy=False)
    assert report.verdict("7.1.1.7/6") is Verdict.PASS
    assert report.verdict("7.1.1.1/5") is Verdict.PASS


async def test_privacy_removed_by_hand_fails() -> None:
    report = await run_refer(strip_privacy=True)
    assert report.verdict("7.1.1.7/6") is Verdict.FAIL
    assert report.verdict("7.1.1.1/5") is Verdict.FAIL
