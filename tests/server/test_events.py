"""The conference event package (7.1.1.11, RFC 4575 over RFC 6665) on the wire."""

from __future__ import annotations

import asyncio

import pytest

from imkit.payloads.conference_info import ConferenceInfo, State
from imkit.server.focus import FocusConfig
from imkit.sip import Request, SipURI
from tests.server.focus_harness import (
    Call,
    Client,
    ClientSubscription,
    eventually,
    focus_of,
    start_server,
)


def document(notify: Request) -> ConferenceInfo:
    assert notify.headers.get("Content-Type") == "application/conference-info+xml"
    return ConferenceInfo.from_xml(notify.body)


async def conference_with(server: object, creator: Client, *others: Client) -> Call:
    call = await creator.invite(server.factory_uri, invitees=[str(c.aor) for c in others])  # type: ignore[attr-defined]
    assert isinstance(call, Call)
    conference = focus_of(server).conferences[call.identity.user or ""]  # type: ignore[arg-type]
    await eventually(lambda: len(conference.participants) == 1 + len(others))
    return call


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_full_then_partial_notifications(transport: str) -> None:
    server = await start_server()
    alice = await Client("alice", server, transport).start()
    bob = await Client("bob", server, transport).start()
    carol = await Client("carol", server, transport).start()
    try:
        call = await conference_with(server, alice, bob)
        bob_call = await bob.invited.get()
        identity = alice.identity_uri(call)
        subscription = await alice.subscribe(identity)
        wire = bytes(subscription.response)
        # RFC 6665 4.2.1.1: 200, not 202
        assert wire.startswith(b"SIP/2.0 200 OK\r\n") and b"\r\nExpires: 600\r\n" in wire
        assert b";isfocus\r\n" in wire
        first = await subscription.next()
        raw = bytes(first)
        assert b"\r\nEvent: conference\r\n" in raw
        assert b"\r\nSubscription-State: active;expires=" in raw
        full = document(first)
        assert full.state is State.FULL and full.version == 1 and full.entity == str(call.identity)
        assert b'oma:yourown="true"' in first.body and first.body.count(b'yourown="') == 1
        own = full.own_user()
        assert own is not None and own.entity == "sip:alice@example.com"
        assert {u.entity for u in full.roster} == {"sip:alice@example.com", "sip:bob@example.com"}
        # a join: a partial document with the newcomer only
        carol_call = await carol.invite(identity)
        assert isinstance(carol_call, Call)
        joined_notify = await subscription.next()
        joined = document(joined_notify)
        assert joined.state is State.PARTIAL and joined.version == 2
        assert [u.entity for u in joined.roster] == ["sip:carol@example.com"]
        assert b"bob@" not in joined_notify.body and b"yourown" not in joined_notify.body
        # a leave: the user with state="deleted"
        assert (await bob_call.bye()).status == 200
        left = document(await subscription.next())
        assert left.version == 3 and [(u.entity, u.state) for u in left.roster] == [
            ("sip:bob@example.com", State.DELETED)]
        state = full.apply(joined).apply(left)
        assert {u.entity for u in state.roster} == {"sip:alice@example.com", "sip:carol@example.com"}
        assert state.conference_state is not None and state.conference_state.user_count == 2
    finally:
        await server.close()
        for client in (alice, bob, carol):
            await client.close()


async def test_anonymous_and_bcc_participants_as_others_see_them() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    dave = await Client("dave", server).start()
    try:
        call = await conference_with(server, alice)
        subscription = await alice.subscribe(alice.identity_uri(call))
        await subscription.next()
        dave_call = await dave.invite(alice.identity_uri(call), privacy=True, display="Dave")
        assert isinstance(dave_call, Call)
        notify = await subscription.next()
        assert b"dave" not in notify.body.lower()
        (user,) = document(notify).roster
        assert user.entity.endswith("@anonymous.invalid") and user.display_text is None
        # dave's own view: himself, with yourown
        own = await dave.subscribe(dave.identity_uri(dave_call))
        mine = document(await own.next()).own_user()
        assert mine is not None and mine.entity == "sip:dave@example.com" and mine.display_text == "Dave"
    finally:
        await server.close()
        await alice.close()
        await dave.close()


async def test_subscribe_errors() -> None:
    server = await start_server(config=FocusConfig(min_subscription_expires=60))
    alice = await Client("alice", server).start()
    try:
        call = await conference_with(server, alice)
        identity = alice.identity_uri(call)
        bad_event = await alice.subscribe(identity, event="presence")
        assert bad_event.response.status == 489 and bad_event.response.headers.get("Allow-Events") == "conference"
        brief = await alice.subscribe(identity, expires=5)
        assert brief.response.status == 423 and brief.response.headers.get("Min-Expires") == "60"
        wrong_type = await alice.subscribe(identity, rows=[("Accept", "text/plain")])
        assert wrong_type.response.status == 406
        stale = alice._request("SUBSCRIBE", identity, rows=[("Event", "conference")])
        stale.headers.set("To", f"<{identity}>;tag=nosuchtag")
        response = await alice.send(stale, None)
        assert response.status == 481
        unknown = await alice.subscribe(SipURI(host="example.com", user="conf-gone"))
        assert unknown.response.status == 404
    finally:
        await server.close()
        await alice.close()


async def test_refresh_sends_full_state_and_expires_zero_ends() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call = await conference_with(server, alice)
        subscription = await alice.subscribe(alice.identity_uri(call))
        assert document(await subscription.next()).version == 1
        refreshed = await alice.resubscribe(subscription, 300)
        assert refreshed.status == 200 and refreshed.headers.get("Expires") == "300"
        again = await subscription.next()
        assert document(again).state is State.FULL and document(again).version == 2
        assert (again.headers.get("Subscription-State") or "").startswith("active;expires=")
        ended = await alice.resubscribe(subscription, 0)
        assert ended.status == 200
        last = await subscription.next()
        assert last.headers.get("Subscription-State") == "terminated;reason=timeout"
        assert document(last).version == 3
        await eventually(lambda: focus_of(server).notifier.subscriptions() == [])
        # the subscription is gone: a refresh of it is 481
        assert (await alice.resubscribe(subscription, 300)).status == 481
    finally:
        await server.close()
        await alice.close()


async def test_fetch_with_expires_zero() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call = await conference_with(server, alice)
        fetch = await alice.subscribe(alice.identity_uri(call), expires=0)
        assert fetch.response.status == 200
        notify = await fetch.next()
        assert notify.headers.get("Subscription-State") == "terminated;reason=timeout"
        assert document(notify).state is State.FULL
    finally:
        await server.close()
        await alice.close()


async def test_expiry_and_conference_end() -> None:
    server = await start_server(config=FocusConfig(min_subscription_expires=1))
    alice = await Client("alice", server).start()
    bob = await Client("bob", server).start()
    try:
        call = await conference_with(server, alice)
        short = await alice.subscribe(alice.identity_uri(call), expires=1)
        await short.next()
        expired = await short.next(timeout=5)
        assert expired.headers.get("Subscription-State") == "terminated;reason=timeout"
        watcher = await bob.subscribe(alice.identity_uri(call))
        assert watcher.response.status == 200
        await watcher.next()
        assert (await call.bye()).status == 200
        # the last participant left: the partial with alice deleted, then noresource
        notifies: list[Request] = []
        while not notifies or notifies[-1].headers.get("Subscription-State", "").startswith("active"):
            notifies.append(await watcher.next())
        assert notifies[-1].headers.get("Subscription-State") == "terminated;reason=noresource"
        deleted = [u for n in notifies if n.body for u in document(n).roster if u.state is State.DELETED]
        assert [u.entity for u in deleted] == ["sip:alice@example.com"]
        await eventually(lambda: not focus_of(server).conferences)
        assert len(focus_of(server).dialogs) == 0
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_subscriptions_per_conference_are_bounded() -> None:
    server = await start_server(config=FocusConfig(max_subscriptions_per_conference=1))
    alice = await Client("alice", server).start()
    try:
        call = await conference_with(server, alice)
        first = await alice.subscribe(alice.identity_uri(call))
        assert first.response.status == 200
        second = await alice.subscribe(alice.identity_uri(call))
        assert second.response.status == 503 and second.response.headers.get("Retry-After") == "60"
    finally:
        await server.close()
        await alice.close()


async def test_partial_notify_size_does_not_grow_with_the_roster() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    joiners = [await Client(f"j{i:02d}", server).start() for i in range(12)]
    try:
        call = await conference_with(server, alice)
        subscription = await alice.subscribe(alice.identity_uri(call))
        await subscription.next()
        sizes: list[int] = []
        for joiner in joiners:
            assert isinstance(await joiner.invite(alice.identity_uri(call)), Call)
            notify = await subscription.next()
            info = document(notify)
            assert info.state is State.PARTIAL and [u.entity for u in info.roster] == [str(joiner.aor)]
            sizes.append(len(bytes(notify)))
        # 2 users or 13: the same size, but for user-count's digits and the CSeq
        assert max(sizes) - min(sizes) <= 4, sizes
    finally:
        await server.close()
        await alice.close()
        for joiner in joiners:
            await joiner.close()


async def test_subscription_inside_the_invite_dialog() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call = await conference_with(server, alice)
        queue = alice._notify_queues.setdefault(call.dialog.call_id, asyncio.Queue())
        _, response = await call.in_dialog("SUBSCRIBE", [("Event", "conference"), ("Expires", "60")])
        assert response.status == 200
        notify = await asyncio.wait_for(queue.get(), 5)
        assert notify.call_id == call.dialog.call_id and document(notify).version == 1
        subscription = ClientSubscription(alice, notify, response, call.dialog, queue)
        assert subscription.dialog is call.dialog
    finally:
        await server.close()
        await alice.close()


async def test_a_full_state_too_large_for_a_notify_is_sent_without_endpoints() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    others = [await Client(f"u{i}", server).start() for i in range(3)]
    try:
        call = await conference_with(server, alice, *others)
        focus_of(server).notifier.max_document = 2000
        subscription = await alice.subscribe(alice.identity_uri(call))
        notify = await subscription.next()
        info = document(notify)
        assert len(info.roster) == 4 and all(not u.endpoints for u in info.roster)
        assert b"<endpoint" not in notify.body and len(notify.body) <= 2000
        focus_of(server).notifier.max_document = 60000
        await alice.resubscribe(subscription, 600)
        assert all(u.endpoints for u in document(await subscription.next()).roster)
    finally:
        await server.close()
        for client in (alice, *others):
            await client.close()
