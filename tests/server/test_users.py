"""Simulated users through the server: each behaviour, Replaces, re-INVITE,
session timers, chat, and the requests a user agent refuses."""

from __future__ import annotations

import asyncio
import gc

import pytest

from imkit.msrp import MSRPSession, cpim
from imkit.msrp.session import Role as MSRPRole
from imkit.runtime.msrp_transport import MSRPListener
from imkit.server import Behaviour, Chat, TestServer
from imkit.server import users as users_module
from imkit.sip import SipURI
from imkit.sip.dialog import Dialog
from imkit.sip.sdp import SessionDescription, Setup, build_msrp_offer, msrp_media
from imkit.trace import Trace
from tests.server.sip_ua import WAIT, chat, next_text, sdp_offer

TRANSPORTS = ["udp", "tcp"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("behaviour", "status"), [("busy", 486), ("decline", 603)])
async def test_refusing_behaviours(make_ua, transport, behaviour, status) -> None:
    async with TestServer(users={"carol": behaviour}, focus=False) as server:
        alice = await make_ua("alice", transport)
        _, response, _ = await alice.call("carol", server.address)
        assert response.status == status
        assert response.to.tag  # the user's own final response, relayed
        assert response.headers.get("Server", "").startswith("IM-serv/OMA1.0")
        assert not server.users["carol"].sessions


async def test_delay_rings_then_answers(make_ua) -> None:
    async with TestServer(users={"carol": "delay:0.3"}, focus=False) as server:
        alice = await make_ua("alice")
        loop = asyncio.get_running_loop()
        ringing_at: list[float] = []
        invite = alice.invite("carol")
        started = loop.time()
        response = await alice.endpoint.request(
            invite, alice.server_uri(server.address),
            on_provisional=lambda r: r.status == 180 and ringing_at.append(loop.time()),
        )
        assert response.status == 200
        assert ringing_at and ringing_at[0] - started < 0.3
        assert loop.time() - started >= 0.3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_answer_until_cancel(make_ua, transport) -> None:
    trace = Trace()
    async with TestServer(users={"dave": "no-answer"}, trace=trace, focus=False) as server:
        alice = await make_ua("alice", transport)
        pending = await alice.endpoint.send_request(alice.invite("dave"), alice.server_uri(server.address))
        while not any(r.status == 180 for r in pending.provisional):
            await asyncio.sleep(0.01)
        assert (await alice.endpoint.cancel(pending)).status == 200
        assert (await asyncio.wait_for(pending.response, WAIT)).status == 487
        for _ in range(200):
            acks = [r for r in trace if r.title == "ACK"]
            if len(acks) >= 2:
                break
            await asyncio.sleep(0.02)
        # RFC 3261 17.1.1.3: alice ACKs the 487 (hop by hop, to the server) and
        # the server ACKs dave's 487 on its own client transaction
        assert any(r.destination == server.address for r in acks)
        assert any(r.destination in set(server.users["dave"].addresses) for r in acks)
        assert {r.title for r in trace if r.destination in set(server.users["dave"].addresses)} == {
            "INVITE", "CANCEL", "ACK"}


@pytest.mark.parametrize(("spec", "status"), [("no-answer:0.2", 480), ("no-answer:0.2:408", 408)])
async def test_no_answer_times_out(make_ua, spec, status) -> None:
    async with TestServer(users={"dave": spec}, focus=False) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("dave", server.address)
        assert response.status == status


async def test_reject_replaces(make_ua) -> None:
    async with TestServer(users={"erin": "reject-replaces:403"}, focus=False) as server:
        alice = await make_ua("alice")
        _, response, dialog = await alice.call("erin", server.address)
        assert response.status == 200  # without Replaces erin answers
        replaces = f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}"
        _, refused, _ = await alice.call("erin", server.address, headers=[("Replaces", replaces)])
        assert refused.status == 403
        assert len(server.users["erin"].sessions) == 1


async def test_replaces_ends_the_old_session_with_bye(server, make_ua) -> None:
    alice = await make_ua("alice")
    bob = await make_ua("bob")
    _, first, old = await alice.call("carol", server.address)
    assert first.status == 200
    # bob takes over alice's session (RFC 3891): the Replaces names carol's dialog
    replaces = f"{old.call_id};to-tag={old.remote_tag};from-tag={old.local_tag}"
    _, second, new = await bob.call("carol", server.address, headers=[("Replaces", replaces)])
    assert second.status == 200
    bye = await alice.next_request("BYE")
    assert bye.request.call_id == old.call_id
    assert bye.request.route == []  # it came through the server, which popped its Route
    carol = server.users["carol"]
    for _ in range(100):
        if len(carol.sessions) == 1:
            break
        await asyncio.sleep(0.02)
    assert [s.call_id for s in carol.sessions.values()] == [new.call_id]


async def test_replaces_for_no_dialog_gets_481(server, make_ua) -> None:
    alice = await make_ua("alice")
    _, response, _ = await alice.call("carol", server.address,
                                      headers=[("Replaces", "nothing@here;to-tag=1;from-tag=2")])
    assert response.status == 481


async def test_reinvite_modifies_the_session(server, make_ua) -> None:
    alice = await make_ua("alice")
    _, _, dialog = await alice.call("carol", server.address)
    offer = build_msrp_offer(path="msrp://127.0.0.1:9/s2;tcp", session_id=1, session_version=2)
    response = await alice.in_dialog(
        dialog, "INVITE", body=bytes(offer), content_type="application/sdp",
        headers=[("Supported", "timer"), ("Session-Expires", "30;refresher=uac")],
    )
    assert response.status == 200
    assert response.headers.get("Session-Expires") == "30;refresher=uac"
    assert "timer" in response.require
    answer = msrp_media(SessionDescription.parse(response.body))
    assert answer.path[0].startswith("msrp://127.0.0.1:")
    assert b"o=- " in response.body


async def test_session_interval_too_small_gets_422(server, make_ua) -> None:
    alice = await make_ua("alice")
    _, response, _ = await alice.call("carol", server.address, headers=[("Session-Expires", "1;refresher=uac")])
    # RFC 4028 section 6: "The 422 response MUST contain a Min-SE header field"
    assert response.status == 422
    assert response.headers.get("Min-SE") == "2"


async def test_unrefreshed_session_ends_with_bye(server, make_ua) -> None:
    alice = await make_ua("alice")
    loop = asyncio.get_running_loop()
    _, response, dialog = await alice.call("carol", server.address,
                                           headers=[("Session-Expires", "3;refresher=uac")])
    assert response.headers.get("Session-Expires") == "3;refresher=uac"
    answered = loop.time()
    bye = await alice.next_request("BYE", timeout=WAIT)
    # RFC 4028 section 10: BYE "slightly before the session expiration"
    # (interval - min(32, interval/3) = 2 s)
    assert 1.8 <= loop.time() - answered < 3.0
    assert bye.request.call_id == dialog.call_id
    for _ in range(100):
        if not server.users["carol"].sessions:
            break
        await asyncio.sleep(0.02)
    assert not server.users["carol"].sessions


async def test_uas_refresher_sends_reinvite(server, make_ua) -> None:
    alice = await make_ua("alice")
    _, response, dialog = await alice.call("carol", server.address,
                                           headers=[("Session-Expires", "2;refresher=uas")])
    assert response.headers.get("Session-Expires") == "2;refresher=uas"
    for _ in range(2):  # it keeps refreshing: every half interval
        refresh = await alice.next_request("INVITE", timeout=WAIT)
        assert refresh.request.call_id == dialog.call_id
        # RFC 4028: "uac" in carol's re-INVITE names carol, its UAC
        assert refresh.request.headers.get("Session-Expires") == "2;refresher=uac"
        assert "timer" in refresh.request.supported
        await alice.next_request("ACK")
    assert len(server.users["carol"].sessions) == 1


async def test_uac_without_timer_support_gets_no_timer(server, make_ua) -> None:
    alice = await make_ua("alice")
    invite = alice.request("INVITE", "carol", body=sdp_offer(),
                           content_type="application/sdp")
    response = await alice.send(invite, server.address)
    assert response.status == 200
    assert "Session-Expires" not in response.headers and "timer" not in response.require


async def test_scripted_chat_and_greeting(make_ua) -> None:
    behaviour = Behaviour(chat=Chat.SCRIPT, replies=("hi alice", "bye now"), greeting="welcome")
    async with TestServer(users={"erin": behaviour}, focus=False) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("erin", server.address)
        channel = await chat(response.body)
        assert b"welcome" in (await next_text(channel)).body
        for text, reply in ((b"one", b"hi alice"), (b"two", b"bye now")):
            await channel.send(text)
            assert reply in (await next_text(channel)).body
        await channel.send(b"three")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(channel.receive(), 0.3)
        assert [line.text for line in server.users["erin"].messages] == [
            "welcome", "one", "hi alice", "two", "bye now", "three",
        ]
        await channel.close()


async def test_active_user_connects_to_the_offerer(make_ua) -> None:
    async with TestServer(users={"carol": "answer+active"}, focus=False) as server:
        alice = await make_ua("alice")
        listener = await MSRPListener.start()
        try:
            uri = listener.uri()
            offer = build_msrp_offer(path=str(uri), session_id=1, setup=Setup.ACTPASS)
            invite = alice.invite("carol", body=bytes(offer))
            response = await alice.send(invite, server.address)
            answered = msrp_media(SessionDescription.parse(response.body))
            # RFC 6135: the answer to actpass chose active; carol connects to us
            assert answered.setup is Setup.ACTIVE
            channel = listener.accept(MSRPSession([uri], list(answered.path), MSRPRole.PASSIVE))
            dialog = Dialog.from_uac(invite, response)
            await alice.endpoint.send_ack(dialog.create_ack(response))
            await channel.wait_bound(WAIT)
            await channel.send(b"are you there")
            assert b"echo: are you there" in (await next_text(channel)).body
        finally:
            await listener.close()


async def test_what_a_user_agent_refuses(server, make_ua) -> None:
    alice = await make_ua("alice")
    await alice.call("carol", server.address)
    carol_uri = SipURI(host="example.com", user="carol")
    cases = [
        (alice.request("OPTIONS", carol_uri), 200),
        (alice.request("SUBSCRIBE", carol_uri, headers=[("Event", "presence")]), 489),
        (alice.request("REFER", carol_uri, headers=[("Refer-To", "<sip:bob@example.com>")]), 603),
        (alice.request("MESSAGE", carol_uri, body=b"hi", content_type="text/plain"), 405),
        (alice.request("FOO", carol_uri), 501),
        (alice.request("BYE", carol_uri), 481),
        (alice.invite(carol_uri, headers=[("Require", "100rel")]), 420),
        (alice.request("INVITE", carol_uri, body=b"<x/>", content_type="application/x-foo"), 415),
        (alice.request("INVITE", carol_uri), 488),
    ]
    for request, status in cases:
        response = await alice.send(request, server.address)
        assert response.status == status, request.method
        if status in (405, 501):
            assert "REGISTER" not in response.headers.get("Allow", "")
            assert "INVITE" in response.headers.get("Allow", "")
        if status == 420:
            assert response.headers.get("Unsupported") == "100rel"
        if status == 415:
            assert response.headers.get("Accept") == "application/sdp, multipart/mixed"


async def test_in_dialog_request_for_an_ended_dialog_gets_481(server, make_ua) -> None:
    alice = await make_ua("alice")
    _, _, dialog = await alice.call("carol", server.address)
    assert (await alice.in_dialog(dialog, "BYE")).status == 200
    dialog.state = type(dialog.state).CONFIRMED  # pretend it still exists on our side
    response = await alice.in_dialog(dialog, "INVITE", body=sdp_offer(),
                                     content_type="application/sdp")
    assert response.status == 481


async def test_registry(make_ua) -> None:
    async with TestServer(auto_users=False, max_users=2, focus=False) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("nobody", server.address)
        assert response.status == 404
        dave = server.users.add("dave", "busy")
        assert not dave.started
        _, response, _ = await alice.call("dave", server.address)
        assert response.status == 486 and dave.started
        dave.behaviour = Behaviour.of("answer")
        _, response, _ = await alice.call("dave", server.address)
        assert response.status == 200
        server.users.add("erin")
        with pytest.raises(Exception, match="at most 2"):
            server.users.add("frank")
        located = await server.locate("sip:dave@example.com")
        assert located == dave.contact("udp")
        assert await server.locate("sip:nobody@example.com") is None


async def test_users_created_on_demand_take_the_default_behaviour(make_ua) -> None:
    async with TestServer(default_behaviour="decline", users={"carol": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        assert (await alice.call("anyone", server.address))[1].status == 603
        assert (await alice.call("carol", server.address))[1].status == 200


async def test_no_machine_to_machine_chat(make_ua) -> None:
    """In a conference the focus relays every participant's messages: a
    simulated user answering another (or an echo) would never stop."""
    async with TestServer(users={"carol": "answer", "dave": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("carol", server.address)
        channel = await chat(response.body)
        from_dave = cpim.wrap(b"hi all", from_="sip:dave@example.com", to="sip:carol@example.com")
        await channel.send(bytes(from_dave), "message/cpim")
        await channel.send(b"echo: something", "text/plain")
        await channel.send(b"hello", "text/plain")
        reply = await next_text(channel)
        assert b"echo: hello" in reply.body  # the first two got no answer
        assert [(line.text, line.peer) for line in server.users["carol"].messages][:2] == [
            ("hi all", "sip:dave@example.com"), ("echo: something", "sip:alice@example.com")]
        await channel.close()


async def test_concurrent_invites_past_the_session_limit_get_486(make_ua, monkeypatch) -> None:
    """INVITEs that arrive together while the user opens its MSRP listener
    all see room at first: the places must be taken before the first await,
    so the ones over the limit get 486 (Busy Here), never a 500."""
    real_start = MSRPListener.start

    async def slow_start(*args: object, **options: object) -> MSRPListener:
        await asyncio.sleep(0.1)  # every INVITE is past the check before any session exists
        return await real_start(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(users_module.MSRPListener, "start", slow_start)
    async with TestServer(users={"carol": "answer"}, focus=False, max_user_sessions=3) as server:
        alice = await make_ua("alice")
        calls = await asyncio.gather(*(alice.call("carol", server.address) for _ in range(7)))
        statuses = sorted(response.status for _, response, _ in calls)
        assert statuses == [200, 200, 200, 486, 486, 486, 486]
        carol = server.users["carol"]
        assert len(carol.sessions) == 3 and carol._answering == 0
        # the places come back when the sessions end
        for dialog in alice.dialogs:
            assert (await alice.in_dialog(dialog, "BYE")).status == 200
        assert not carol.sessions
        assert (await alice.call("carol", server.address))[1].status == 200


def _msrp_port(answer: bytes) -> int:
    path = msrp_media(SessionDescription.parse(answer)).path[-1]
    return int(path.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def _msrp_path(answer: bytes) -> str:
    return msrp_media(SessionDescription.parse(answer)).path[-1]


async def _first_send_status(path: str) -> bytes:
    """Connect to ``path``'s listener, send a first SEND to it and return the
    status line of the response."""
    host_port = path.split("://", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"MSRP t1 SEND\r\nTo-Path: {path}\r\nFrom-Path: msrp://127.0.0.1:9/late;tcp\r\n"
            "Message-ID: m1\r\nByte-Range: 1-2/2\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "-------t1$\r\n".encode()
        )
        return (await asyncio.wait_for(reader.readline(), WAIT)).rstrip(b"\r\n")
    finally:
        writer.close()


async def test_session_without_msrp_connection_ends_with_bye(make_ua) -> None:
    """A caller that ACKs but never opens the MSRP connection: after
    msrp_wait the simulated user sends BYE and withdraws the session from its
    listener: a connection that comes later gets 481 (RFC 4975 section 7.3)."""
    async with TestServer(users={"carol": "answer"}, focus=False, msrp_wait=0.5) as server:
        alice = await make_ua("alice")
        loop = asyncio.get_running_loop()
        _, response, dialog = await alice.call("carol", server.address)
        acked = loop.time()
        path = _msrp_path(response.body)
        carol = server.users["carol"]
        assert (await carol.msrp_listener()).waiting == 1  # carol waits for alice's connection
        bye = await alice.next_request("BYE", timeout=WAIT)
        assert 0.4 <= loop.time() - acked < 3.0
        assert bye.request.call_id == dialog.call_id
        assert bye.request.from_.tag == response.to.tag  # carol's side of the dialog
        for _ in range(100):
            if not server.users["carol"].sessions:
                break
            await asyncio.sleep(0.02)
        assert not carol.sessions
        assert (await carol.msrp_listener()).waiting == 0
        assert (await _first_send_status(path)).startswith(b"MSRP t1 481 ")


async def test_session_with_msrp_connection_stays(make_ua) -> None:
    async with TestServer(users={"carol": "answer"}, focus=False, msrp_wait=0.3) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("carol", server.address)
        channel = await chat(response.body)
        await asyncio.sleep(0.8)
        assert not [r for r in alice.received if r.method == "BYE"]
        assert len(server.users["carol"].sessions) == 1
        await channel.send(b"still here")
        assert b"echo: still here" in (await next_text(channel)).body
        await channel.close()


async def test_sessions_of_one_user_share_its_listener(make_ua) -> None:
    """Two sessions with one simulated user wait on the same MSRP listener,
    told apart by the session-id of their paths (RFC 4975 section 5.4): each
    caller gets its own chat, and both leave the listener when they end."""
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        alice, bob = await make_ua("alice"), await make_ua("bob")
        _, to_alice, alice_dialog = await alice.call("carol", server.address)
        _, to_bob, bob_dialog = await bob.call("carol", server.address)
        carol = server.users["carol"]
        listener = await carol.msrp_listener()
        assert _msrp_port(to_alice.body) == _msrp_port(to_bob.body) == listener.port
        assert _msrp_path(to_alice.body) != _msrp_path(to_bob.body)
        assert listener.waiting == 2
        # bob connects first: the listener binds each connection to its own session
        bob_channel = await chat(to_bob.body)
        alice_channel = await chat(to_alice.body)
        assert listener.waiting == 0
        await alice_channel.send(b"from alice")
        await bob_channel.send(b"from bob")
        assert (await next_text(alice_channel)).body.endswith(b"echo: from alice")
        assert (await next_text(bob_channel)).body.endswith(b"echo: from bob")
        assert {line.peer for line in carol.messages if line.incoming} == {
            "sip:alice@example.com", "sip:bob@example.com"}
        assert (await alice.in_dialog(alice_dialog, "BYE")).status == 200
        assert (await bob.in_dialog(bob_dialog, "BYE")).status == 200
        for channel in (alice_channel, bob_channel):
            await asyncio.wait_for(channel.wait_closed(), WAIT)  # carol closed its end
        assert not carol.sessions and len(carol.dialogs) == 0 and listener.waiting == 0


async def test_the_session_bound_is_a_server_setting(make_ua) -> None:
    """ServerConfig.max_user_sessions (`imkit server --max-user-sessions`):
    past it a simulated user is busy (486), and a place freed by BYE is
    taken again."""
    async with TestServer(users={"carol": "answer"}, focus=False, max_user_sessions=2) as server:
        alice = await make_ua("alice")
        dialogs = []
        for expected in (200, 200, 486):
            _, response, dialog = await alice.call("carol", server.address)
            assert response.status == expected
            dialogs.append(dialog)
        assert (await alice.in_dialog(dialogs[0], "BYE")).status == 200
        _, response, _ = await alice.call("carol", server.address)
        assert response.status == 200
        assert server.users["carol"].max_sessions == 2


async def test_an_ended_session_is_freed_without_the_cycle_collector(make_ua) -> None:
    """A finished call leaves no reference cycle behind: with the cyclic
    collector off, reference counting alone frees every session (under load
    the collector's pauses stalled the server past sipp's retransmissions)."""
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        gc.collect()
        gc.disable()
        try:
            for _ in range(3):
                _, response, dialog = await alice.call("carol", server.address)
                assert response.status == 200
                assert (await alice.in_dialog(dialog, "BYE")).status == 200
            await asyncio.sleep(0.05)  # the sessions' cancelled tasks finish
            assert not server.users["carol"].sessions
            assert [o for o in gc.get_objects() if isinstance(o, users_module.SimSession)] == []
        finally:
            gc.enable()


async def test_a_session_that_ends_unconnected_leaves_the_listener(make_ua) -> None:
    """Calls that end before their MSRP connection (a load test's) leave
    nothing waiting on the listener, however many there were."""
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        for _ in range(users_module.MAX_SESSIONS + 2):
            _, response, dialog = await alice.call("carol", server.address)
            assert response.status == 200
            assert (await alice.in_dialog(dialog, "BYE")).status == 200
        carol = server.users["carol"]
        assert not carol.sessions and len(carol.dialogs) == 0
        assert (await carol.msrp_listener()).waiting == 0


async def _invite_user_directly(alice, carol) -> tuple[list[tuple[float, int]], float, int]:
    """INVITE ``carol`` at its own contact (not through the proxy): the
    provisional responses (time, status), the time of the final one and its status."""
    loop = asyncio.get_running_loop()
    provisional: list[tuple[float, int]] = []
    invite = alice.invite(carol.contact("udp"))
    started = loop.time()
    response = await asyncio.wait_for(alice.endpoint.request(
        invite, carol.contact("udp"), on_provisional=lambda r: provisional.append((loop.time() - started, r.status)),
    ), WAIT)
    if response.is_success:
        await alice.endpoint.send_ack(Dialog.from_uac(invite, response).create_ack(response))
    return provisional, loop.time() - started, response.status


async def test_a_user_answering_at_once_sends_no_trying(make_ua) -> None:
    """RFC 3261 17.2.1: a 100 (Trying) is needed only when the TU will not
    answer within 200 ms; a simulated user answers at once."""
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        carol = await server.users.obtain("carol")
        await carol.msrp_listener()
        provisional, _, status = await _invite_user_directly(alice, carol)
        assert status == 200
        assert provisional == []


async def test_a_late_answer_is_preceded_by_trying(make_ua, monkeypatch) -> None:
    """RFC 3261 17.2.1: the server transaction "MUST generate a 100 (Trying)
    response unless it knows that the TU will generate a provisional or final
    response within 200 ms": an answer held up sends one after 200 ms."""
    real_start = MSRPListener.start

    async def slow_start(*args: object, **options: object) -> MSRPListener:
        await asyncio.sleep(0.5)
        return await real_start(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(users_module.MSRPListener, "start", slow_start)
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        alice = await make_ua("alice")
        carol = await server.users.obtain("carol")
        provisional, final_at, status = await _invite_user_directly(alice, carol)
        assert status == 200
        assert [code for _, code in provisional] == [100]
        assert users_module.TRYING_AFTER <= provisional[0][0] < final_at
        assert final_at >= 0.5


async def test_a_ringing_user_sends_180_not_trying(make_ua) -> None:
    async with TestServer(users={"dave": "no-answer:0.5"}, focus=False) as server:
        alice = await make_ua("alice")
        dave = await server.users.obtain("dave")
        provisional, final_at, status = await _invite_user_directly(alice, dave)
        assert status == 480 and final_at >= 0.5
        assert [code for _, code in provisional] == [180]
