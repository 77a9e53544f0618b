"""Ten conferences with several participants each, all at once: chat and rosters
stay within their conference."""

from __future__ import annotations

import asyncio

import pytest

from imkit.payloads.conference_info import ConferenceInfo
from tests.server.focus_harness import (
    Call,
    Client,
    ClientSubscription,
    eventually,
    focus_of,
    start_server,
)

CONFERENCES = 10
SIZE = 3


async def run_conference(index: int, server: object) -> tuple[list[Client], list[Call], ClientSubscription]:
    transport = "TCP" if index % 2 else "UDP"
    members = [await Client(f"c{index}m{j}", server, transport).start() for j in range(SIZE)]  # type: ignore[arg-type]
    creator, *others = members
    call = await creator.invite(server.factory_uri, invitees=[str(m.aor) for m in others])  # type: ignore[attr-defined]
    assert isinstance(call, Call)
    calls = [call] + [await asyncio.wait_for(m.invited.get(), 20) for m in others]
    subscription = await creator.subscribe(creator.identity_uri(call))
    assert subscription.response.status == 200
    return members, calls, subscription


async def test_ten_conferences_without_cross_talk() -> None:
    server = await start_server()
    clients: list[Client] = []
    try:
        runs = await asyncio.gather(*(run_conference(i, server) for i in range(CONFERENCES)))
        for members, _, _ in runs:
            clients += members
        focus = focus_of(server)
        assert len(focus.conferences) == CONFERENCES
        identities = {str(calls[0].identity) for _, calls, _ in runs}
        assert len(identities) == CONFERENCES
        for _, calls, _ in runs:
            room = focus.switch.rooms[str(calls[0].identity)]
            await eventually(lambda room=room: len(room.ports) == SIZE)  # type: ignore[misc]
        # everyone says something, at once
        await asyncio.gather(*(call.send(f"{call.client.name} says hi") for _, calls, _ in runs for call in calls))
        for index, (members, calls, _) in enumerate(runs):
            for call in calls:
                heard = sorted([(await call.receive())[1].body.decode() for _ in range(SIZE - 1)])
                expected = sorted(f"{m.name} says hi" for m in members if m is not call.client)
                assert heard == expected, (index, call.client.name, heard)
                assert all(m.name.startswith(f"c{index}m") for m in members)
        await asyncio.sleep(0.3)
        for _, calls, _ in runs:
            for call in calls:
                with pytest.raises(asyncio.TimeoutError):
                    await call.receive(timeout=0.01)
        # each roster names its own members only
        for index, (members, calls, subscription) in enumerate(runs):
            state = ConferenceInfo.from_xml((await subscription.next()).body)
            while subscription.notifies.qsize():
                state = state.apply(ConferenceInfo.from_xml((await subscription.next()).body))
            assert state.entity == str(calls[0].identity)
            assert {u.entity for u in state.roster} == {str(m.aor) for m in members}
        assert focus.switch.stats.failed == 0
        assert focus.switch.stats.forwarded == CONFERENCES * SIZE * (SIZE - 1)
        # everybody leaves: nothing of the ten conferences remains
        await asyncio.gather(*(call.bye() for _, calls, _ in runs for call in calls))
        await eventually(lambda: not focus.conferences and len(focus.dialogs) == 0 and not focus.switch.rooms)
    finally:
        await server.close()
        for client in clients:
            await client.close()
