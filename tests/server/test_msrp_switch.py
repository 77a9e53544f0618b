"""The focus's MSRP switch: every participant's chat to every other one, in CPIM."""

from __future__ import annotations

import asyncio

import pytest

from imkit.msrp import MSRPSession, cpim
from imkit.msrp.events import MessageReceived
from imkit.msrp.session import Role as MSRPRole
from imkit.server.focus import FocusConfig
from imkit.server.msrp_switch import ANONYMOUS_URI, MSRPSwitch, Port, PortState, Room
from imkit.sip.sdp import Setup
from tests.server.focus_harness import Call, Client, eventually, focus_of, start_server


async def three_party(server: object, transport: str = "UDP", **alice_options: object) -> tuple[
        list[Client], Call, Call, Call]:
    alice = await Client("alice", server, transport).start()  # type: ignore[arg-type]
    bob = await Client("bob", server, transport).start()  # type: ignore[arg-type]
    carol = await Client("carol", server, transport).start()  # type: ignore[arg-type]
    call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com", "sip:carol@example.com"],  # type: ignore[attr-defined]
                              **alice_options)  # type: ignore[arg-type]
    assert isinstance(call, Call)
    bob_call = await asyncio.wait_for(bob.invited.get(), 10)
    carol_call = await asyncio.wait_for(carol.invited.get(), 10)
    room = focus_of(server).switch.rooms[str(call.identity)]  # type: ignore[arg-type]
    await eventually(lambda: len(room.ports) == 3 and all(p.state is PortState.OPEN for p in room.ports.values()))
    return [alice, bob, carol], call, bob_call, carol_call


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_chat_reaches_every_other_participant_wrapped_in_cpim(transport: str) -> None:
    server = await start_server()
    clients, alice, bob, carol = [], None, None, None
    try:
        clients, alice, bob, carol = await three_party(server, transport, display="Alice")
        await alice.send("hello all")
        for receiver in (bob, carol):
            event, message = await receiver.receive()
            assert event.content_type == "message/cpim"
            assert event.body.startswith(
                f"From: Alice <sip:alice@example.com>\r\nTo: <{alice.identity}>\r\n".encode())
            assert message.body == b"hello all" and message.content_type == "text/plain;charset=UTF-8"
        # nothing comes back to the sender
        with pytest.raises(asyncio.TimeoutError):
            await alice.receive(timeout=0.3)
        await bob.send("hi alice")
        for receiver in (alice, carol):
            _, message = await receiver.receive()
            assert message.from_ == cpim.NameAddr("sip:bob@example.com") and message.body == b"hi alice"
    finally:
        await server.close()
        for client in clients:
            await client.close()


async def test_the_focus_asserts_the_sender_and_wraps_plain_text() -> None:
    server = await start_server()
    clients: list[Client] = []
    try:
        clients, alice, bob, carol = await three_party(server)
        assert alice.channel is not None and bob.channel is not None
        spoofed = cpim.wrap(b"trust me", "text/plain", from_="sip:ceo@example.com", to=str(alice.identity),
                            subjects=["urgent"])
        await alice.channel.send(bytes(spoofed), "message/cpim")
        _, message = await bob.receive()
        assert message.from_ == cpim.NameAddr("sip:alice@example.com")
        assert message.to == [cpim.NameAddr(str(alice.identity))] and message.subjects == [("urgent", None)]
        await carol.receive()
        await bob.channel.send(b"plain words", "text/plain")
        event, message = await alice.receive()
        assert event.content_type == "message/cpim"
        assert message.from_ == cpim.NameAddr("sip:bob@example.com") and message.datetime is not None
        assert message.content_type == "text/plain" and message.body == b"plain words"
        assert b"\r\nContent-Type: text/plain\r\n\r\nplain words" in event.body
    finally:
        await server.close()
        for client in clients:
            await client.close()


async def test_anonymous_sender_and_success_report() -> None:
    server = await start_server()
    clients: list[Client] = []
    try:
        clients, alice, bob, carol = await three_party(server, privacy=True)
        # RFC 4975 7.1.3: the focus sends the success report a sender asks for
        message_id = await alice.send("who am I?", success_report=True)
        assert message_id
        for receiver in (bob, carol):
            event, message = await receiver.receive()
            assert message.from_ == cpim.NameAddr(ANONYMOUS_URI)
            assert b"alice" not in event.body
        assert focus_of(server).switch.stats.failed == 0
        assert focus_of(server).switch.stats.forwarded >= 2
    finally:
        await server.close()
        for client in clients:
            await client.close()


def session(remote_types: tuple[str, ...] = ("message/cpim",)) -> MSRPSession:
    return MSRPSession(["msrp://127.0.0.1:2855/abc;tcp"], ["msrp://127.0.0.1:2856/def;tcp"], MSRPRole.PASSIVE,
                       remote_accept_types=remote_types)


async def test_failures_are_recorded_not_dropped_silently() -> None:
    switch = MSRPSwitch(queue_size=1)
    room = Room("sip:conf-1@127.0.0.1:5060")
    sender = Port(room, "sip:a@x", session(), cpim.NameAddr("sip:a@x"), False, state=PortState.OPEN)
    plain_only = Port(room, "sip:b@x", session(("text/plain",)), cpim.NameAddr("sip:b@x"), False,
                      state=PortState.OPEN)
    closed = Port(room, "sip:c@x", session(), cpim.NameAddr("sip:c@x"), False, state=PortState.CLOSED)
    slow = Port(room, "sip:d@x", session(), cpim.NameAddr("sip:d@x"), False, state=PortState.OPEN,
                queue=asyncio.Queue(1))
    for port in (sender, plain_only, closed, slow):
        room.ports[port.key] = port
    message = MessageReceived("m1", "text/plain", b"hi")
    assert switch.forward(sender, message) == 1
    assert switch.forward(sender, message) == 0          # slow's queue is full now
    assert switch.forward(sender, MessageReceived("m2", "message/cpim", b"not cpim")) == 0
    reasons = [(f.recipient, f.reason) for f in switch.failures]
    assert ("sip:b@x", "the recipient does not accept message/cpim") in reasons
    assert ("sip:c@x", "the recipient's connection is closed") in reasons
    assert ("sip:d@x", "the recipient's queue is full") in reasons
    assert any(r is None and reason.startswith("unreadable message/cpim") for r, reason in reasons)
    assert switch.stats.failed == len(switch.failures) == 6
    queued_sender, queued = slow.queue.get_nowait()
    assert queued_sender == "sip:a@x"
    wrapped = cpim.unwrap(queued)
    assert wrapped.from_ == cpim.NameAddr("sip:a@x") and wrapped.to == [cpim.NameAddr(room.identity)]


def test_rewrap_keeps_everything_but_from() -> None:
    switch = MSRPSwitch()
    room = Room("sip:conf-1@127.0.0.1:5060")
    port = Port(room, "sip:a@x", session(), cpim.NameAddr("sip:a@x", "A"), False)
    original = cpim.wrap(b"body", "text/plain", from_="sip:z@x", to="sip:conf-1@127.0.0.1:5060",
                         namespaces=[("Ext", "urn:example")], headers=[("Ext.Prio", "high")])
    again = switch.rewrap(port, MessageReceived("m", "message/cpim", bytes(original)))
    assert again == bytes(original).replace(b"From: <sip:z@x>", b"From: A <sip:a@x>")


@pytest.mark.parametrize("setup", [Setup.ACTIVE, Setup.ACTPASS, Setup.PASSIVE])
async def test_dial_out_setups_all_carry_the_chat(setup: Setup) -> None:
    """FocusConfig.dial_out_setup: whoever ends up active, the chat flows both ways,
    with an imkit client and with a simulated user (which picks passive on actpass)."""
    server = await start_server(config=FocusConfig(dial_out_setup=setup))
    alice = await Client("alice", server).start()
    bob = await Client("bob", server).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com", "sip:dave@example.com"])
        assert isinstance(call, Call)
        bob_call = await asyncio.wait_for(bob.invited.get(), 10)
        assert f"\r\na=setup:{setup.value}\r\n".encode() in bytes(bob_call.request)
        room = focus_of(server).switch.rooms[str(call.identity)]
        await eventually(lambda: len(room.ports) == 3)
        await call.send("setup check")
        assert (await bob_call.receive())[1].body == b"setup check"
        dave = server.users["dave"]
        await eventually(lambda: any(line.text == "setup check" for line in dave.messages))
        await bob_call.send("back")
        assert (await call.receive())[1].body == b"back"
        assert focus_of(server).switch.stats.failed == 0
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_a_port_detached_before_its_connection_leaves_the_listener() -> None:
    """A participant that leaves before opening its MSRP connection must not
    keep a place on the switch's listener (max_sessions of them in all)."""
    switch = MSRPSwitch(max_sessions=2)
    listener = await switch.start()
    try:
        room = switch.room("sip:conf-1@127.0.0.1:5060")
        for round_ in range(3):
            local = listener.uri()
            port = switch.attach(room, f"sip:a{round_}@x",
                                 MSRPSession([local], ["msrp://127.0.0.1:9/peer;tcp"], MSRPRole.PASSIVE),
                                 cpim_from=cpim.NameAddr("sip:a@x"), active=False)
            assert listener.waiting == 1
            await switch.detach(port)
            assert listener.waiting == 0
    finally:
        await switch.close()
