"""The User Plane of a 1-1 session (7.1.1.2 "SHALL interact with the User
Plane"): SDP offer/answer sets MSRP up between two IMClients through the test
server, and a 1 MB message crosses in 2 KB chunks, acknowledged and reported
(RFC 4975), byte for byte."""

from __future__ import annotations

import asyncio

from imkit.client import IMClient
from imkit.server import TestServer
from imkit.trace import Trace
from imkit.trace.record import Protocol


async def test_one_megabyte_between_two_clients() -> None:
    trace = Trace()
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        async with IMClient("sip:bob@example.com", server=f"{host}:{port}") as bob:
            await bob.register()
            async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace) as alice:
                session = await alice.start_session("sip:bob@example.com")
                bobs = await asyncio.wait_for(bob.incoming.get(), 10)
                text = "".join(chr(ord("a") + i % 26) for i in range(1 << 20))
                await session.send(text)
                received = await bobs.receive(timeout=30)
                assert received.text == text
                await session.leave()
    sends = [r for r in trace if r.protocol is Protocol.MSRP and r.first_line.endswith("SEND")]
    assert len(sends) >= (1 << 20) // 2048
    assert any(r.first_line.endswith("REPORT") for r in trace if r.protocol is Protocol.MSRP)
