"""imkit.client.media: a passive MSRP set-up that times out gives its place
on the client's listener back (RFC 4975 section 7.3: one listener, sessions
told apart by the session-id of the To-Path)."""

from __future__ import annotations

import asyncio

import pytest

from imkit.client.media import MediaEndpoint
from imkit.sip.ids import IdGenerator


async def test_a_passive_open_that_times_out_leaves_no_waiting_channel() -> None:
    alice, bob = MediaEndpoint(None, IdGenerator()), MediaEndpoint(None, IdGenerator())
    await alice.start()
    await bob.start()
    try:
        offer = alice.offer(["text/plain"])
        answer = bob.answer(offer.sdp)  # bob prefers passive: he waits for alice
        assert bob.listener is not None
        with pytest.raises(asyncio.TimeoutError):
            await bob.open(answer, offer.sdp, answer.sdp, we_offered=False, local_aor="sip:bob@example.com",
                           peer="sip:alice@example.com", timeout=0.2)
        assert bob.listener.waiting == 0
    finally:
        await alice.close()
        await bob.close()
