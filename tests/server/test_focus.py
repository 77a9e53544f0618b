"""The focus over real sockets: the conference factory (7.1.1.3, 7.1.1.6), dial-out,
limits, rejoin (7.1.1.9), leaving (7.1.1.12), session timers, clean-up."""

from __future__ import annotations

import asyncio

import pytest

from imkit.payloads.resource_lists import CopyControl, Entry, replaces_uri
from imkit.server.focus import FocusConfig
from imkit.sip import Request, Response, SipURI
from imkit.trace import Direction, Trace
from tests.server.focus_harness import Call, Client, eventually, focus_of, start_server

TRANSPORTS = ["UDP", "TCP"]


def assert_no_leak(server: object) -> None:
    focus = focus_of(server)  # type: ignore[arg-type]
    assert focus.conferences == {} and focus.group_sessions == {}
    assert focus.legs == {} and focus._current == {} and focus._dialing == {}
    assert len(focus.dialogs) == 0 and focus.switch.rooms == {}
    assert focus.notifier.subscriptions() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_factory_answers_as_focus_and_dials_out(transport: str) -> None:
    server = await start_server()
    alice = await Client("alice", server, transport).start()
    bob = await Client("bob", server, transport).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com", "sip:carol@example.com"])
        assert isinstance(call, Call)
        wire = bytes(call.response)
        host, port = server.address
        identity = call.identity
        assert identity.user is not None and identity.user.startswith("conf-")
        assert (identity.host, identity.port) == (host, port)
        suffix = ";transport=tcp" if transport == "TCP" else ""
        # RFC 4579: the focus's Contact carries isfocus; 7.1.1.3: it is the IM Session Identity
        assert f"\r\nContact: <{identity}{suffix}>;isfocus\r\n".encode() in wire
        assert b"\r\na=setup:passive\r\n" in wire and b"m=message " in wire
        assert b"\r\nRequire: timer\r\n" in wire and b"\r\nSession-Expires: 1800;refresher=uac\r\n" in wire
        for method in (b"INVITE", b"BYE", b"REFER", b"SUBSCRIBE"):
            assert method in call.response.headers.get("Allow", "").encode()
        assert "recipient-list-invite" in call.response.supported
        # the dial-out INVITE: From the conference, Contact isfocus, an MSRP offer
        invited = await asyncio.wait_for(bob.invited.get(), 10)
        offer = bytes(invited.request)
        assert offer.startswith(b"INVITE sip:bob@127.0.0.1:")
        assert f"\r\nFrom: <{identity}>;tag=".encode() in offer
        assert f"\r\nContact: <{identity}{suffix}>;isfocus\r\n".encode() in offer
        assert b"\r\nTo: <sip:bob@example.com>\r\n" in offer
        assert b"\r\na=setup:active\r\n" in offer and b"a=accept-types:message/cpim" in offer
        assert b"\r\nSession-Expires: " in offer and b"timer" in offer
        focus = focus_of(server)
        conference = focus.conferences[identity.user]
        await eventually(lambda: set(conference.participants) == {
            "sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com"})
        assert conference.creator == "sip:alice@example.com"
        carol = server.users["carol"]
        assert len(carol.sessions) == 1
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_group_size_is_enforced_with_403_and_warning() -> None:
    server = await start_server(config=FocusConfig(max_adhoc_size=3))
    alice = await Client("alice", server).start()
    try:
        response = await alice.invite(server.factory_uri, invitees=[f"sip:u{i}@example.com" for i in range(3)])
        assert isinstance(response, Response) and response.status == 403
        host, port = server.address
        assert response.headers.get("Warning") == (
            f'399 {host}:{port} "group size exceeds the maximum of 3 participants"')
        assert_no_leak(server)
        call = await alice.invite(server.factory_uri, invitees=["sip:u1@example.com", "sip:u2@example.com"])
        assert isinstance(call, Call)
    finally:
        await server.close()
        await alice.close()


async def test_copy_control_and_duplicates() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        entries = [
            Entry("sip:bob@example.com", copy_control=CopyControl.TO),
            Entry("sip:carol@example.com", copy_control=CopyControl.BCC),
            Entry("sip:dave@example.com", anonymize=True, count=2),
            Entry("sip:bob@example.com", copy_control=CopyControl.CC),
            Entry("sip:alice@example.com"),
        ]
        call = await alice.invite(server.factory_uri, invitees=entries)
        assert isinstance(call, Call)
        conference = focus_of(server).conferences[call.identity.user or ""]
        await eventually(lambda: len(conference.participants) == 4)
        carol = conference.participant("sip:carol@example.com")
        dave = conference.participant("sip:dave@example.com")
        assert carol is not None and carol.hidden and not carol.anonymous
        assert dave is not None and dave.anonymous
        # each user once: the duplicate bob and the creator herself are not dialled
        assert sum(len(server.users[name].sessions) for name in ("bob", "carol", "dave")) == 3
        shown = conference.full_document("sip:alice@example.com", 1).to_xml()
        assert b"carol" not in shown and b"dave" not in shown and b"sip:bob@example.com" in shown
    finally:
        await server.close()
        await alice.close()


async def test_extending_a_one_to_one_session_replaces_it() -> None:
    """7.1.1.6: the listed user with a Replaces URI header is invited with Replaces
    and its user agent ends the old 1-1 dialog with BYE (RFC 3891)."""
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        one_to_one = await alice.invite(SipURI(host="example.com", user="dave"))
        assert isinstance(one_to_one, Call)
        old = one_to_one.dialog
        dave_uri = replaces_uri("sip:dave@example.com", old.call_id, to_tag=old.remote_tag, from_tag=old.local_tag)
        assert "?Replaces=" in dave_uri and "%3Bto-tag%3D" in dave_uri
        call = await alice.invite(server.factory_uri, invitees=[dave_uri, "sip:erin@example.com"])
        assert isinstance(call, Call)
        bye = await asyncio.wait_for(alice.byes.get(), 10)
        assert bye.call_id == old.call_id
        dave = server.users["dave"]
        replacing = [r for r in dave.received if r.method == "INVITE" and r.headers.get("Replaces")]
        assert len(replacing) == 1
        assert bytes(replacing[0]).count(
            f"\r\nReplaces: {old.call_id};to-tag={old.remote_tag};from-tag={old.local_tag}\r\n".encode()) == 1
        assert b";isfocus" in bytes(replacing[0])
        conference = focus_of(server).conferences[call.identity.user or ""]
        await eventually(lambda: "sip:dave@example.com" in conference.participants)
    finally:
        await server.close()
        await alice.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rejoin_by_identity_then_end_and_404(transport: str) -> None:
    server = await start_server()
    alice = await Client("alice", server, transport).start()
    bob = await Client("bob", server, transport).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com"])
        assert isinstance(call, Call)
        bob_call = await asyncio.wait_for(bob.invited.get(), 10)
        identity = alice.identity_uri(call)
        conference = focus_of(server).conferences[call.identity.user or ""]
        await eventually(lambda: len(conference.participants) == 2)
        assert (await call.bye()).status == 200
        await eventually(lambda: "sip:alice@example.com" not in conference.participants)
        # 7.1.1.9: INVITE to the IM Session Identity while the conference lives
        again = await alice.invite(identity, destination=None)
        assert isinstance(again, Call) and again.identity == call.identity
        assert b";isfocus" in bytes(again.response)
        await eventually(lambda: "sip:alice@example.com" in conference.participants)
        # the creator keeps its role across a rejoin
        assert conference.may_remove("sip:alice@example.com")
        assert (await again.bye()).status == 200
        assert (await bob_call.bye()).status == 200
        await eventually(lambda: not focus_of(server).conferences)
        assert_no_leak(server)
        late = await alice.invite(identity, destination=None)
        assert isinstance(late, Response) and late.status == 404
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_focus_bye_when_participant_is_removed_on_close() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com"])
        assert isinstance(call, Call)
        await eventually(lambda: len(focus_of(server).conferences[call.identity.user or ""].participants) == 2)
        await focus_of(server).end_conference(focus_of(server).conferences[call.identity.user or ""])
        bye = await asyncio.wait_for(alice.byes.get(), 10)
        assert bye.call_id == call.dialog.call_id
        assert_no_leak(server)
        assert not server.users["bob"].sessions
    finally:
        await server.close()
        await alice.close()


async def test_failed_dial_outs_leave_the_roster_alone() -> None:
    trace = Trace()
    server = await start_server(config=FocusConfig(ring_timeout=0.5), trace=trace,
                                users={"erin": "busy", "frank": "no-answer", "gina": "decline"})
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=[
            "sip:erin@example.com", "sip:frank@example.com", "sip:gina@example.com", "sip:hank@example.com"])
        assert isinstance(call, Call)
        conference = focus_of(server).conferences[call.identity.user or ""]
        await eventually(lambda: not conference.pending, timeout=10)
        assert set(conference.participants) == {"sip:alice@example.com", "sip:hank@example.com"}
        frank = server.users["frank"]
        invite = next(r for r in frank.received if r.method == "INVITE")
        # the focus CANCELled the unanswered dial-out after ring_timeout (RFC 3261 9.1)
        cancels = [r.raw for r in trace if r.direction is Direction.SENT and r.raw.startswith(b"CANCEL ")]
        assert len(cancels) == 1 and f"\r\nCall-ID: {invite.call_id}\r\n".encode() in cancels[0]
        assert (await call.bye()).status == 200
        assert focus_of(server).conferences  # hank is still there
        await server.users["hank"].hangup()
        await eventually(lambda: focus_of(server).conferences == {})
        assert_no_leak(server)
    finally:
        await server.close()
        await alice.close()


async def test_invite_errors() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        request = alice._request("INVITE", server.factory_uri, body=b"hello", content_type="text/plain")
        response = await alice.send(request)
        assert response.status == 415 and "application/sdp" in (response.headers.get("Accept") or "")
        audio = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                 b"m=audio 4000 RTP/AVP 0\r\n")
        response = await alice.send(alice._request("INVITE", server.factory_uri, body=audio,
                                                   content_type="application/sdp"))
        assert response.status == 488 and (response.headers.get("Warning") or "").startswith("399 ")
        short = await alice.invite(server.factory_uri, timer=False,
                                   rows=[("Supported", "timer"), ("Session-Expires", "30")])
        assert isinstance(short, Response) and short.status == 422
        assert short.headers.get("Min-SE") == "90"
        unknown = await alice.invite(SipURI(host="example.com", user="conf-doesnotexist"))
        assert isinstance(unknown, Response) and unknown.status == 404
        options = await alice.send(alice._request("OPTIONS", server.factory_uri))
        assert options.status == 200 and "REFER" in (options.headers.get("Allow") or "")
        message = await alice.send(alice._request("MESSAGE", server.factory_uri, body=b"x",
                                                  content_type="text/plain"))
        assert message.status == 405 and "INVITE" in (message.headers.get("Allow") or "")
        assert_no_leak(server)
    finally:
        await server.close()
        await alice.close()


async def test_owns_identities_factory_and_groups_only_at_home() -> None:
    server = await start_server()
    try:
        focus = focus_of(server)
        host, port = server.address

        def req(uri: str) -> Request:
            return Request("INVITE", uri)

        assert focus.owns(req("sip:conference-factory@example.com"))
        assert focus.owns(req(f"sip:conf-abc@{host}:{port}"))
        assert focus.owns(req("sip:conf-abc@example.com;transport=tcp"))
        assert not focus.owns(req("sip:conf-abc@elsewhere.org"))
        assert not focus.owns(req("sip:bob@example.com"))
    finally:
        await server.close()


async def test_anonymous_creator_is_anonymous_in_the_roster() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com"], privacy=True)
        assert isinstance(call, Call)
        conference = focus_of(server).conferences[call.identity.user or ""]
        creator = conference.participant("sip:alice@example.com")
        assert creator is not None and creator.anonymous
        shown = conference.full_document("sip:bob@example.com", 1).to_xml()
        assert b"alice" not in shown and b"anonymous.invalid" in shown
    finally:
        await server.close()
        await alice.close()


async def test_focus_refreshes_when_it_is_the_refresher() -> None:
    """RFC 4028: refresher=uas in the client's INVITE makes the focus re-INVITE at half time."""
    server = await start_server(min_se=2, session_expires=4)
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, timer=False,
                                  rows=[("Supported", "timer"), ("Session-Expires", "4;refresher=uas")])
        assert isinstance(call, Call)
        assert call.response.headers.get("Session-Expires") == "4;refresher=uas"
        await eventually(lambda: any(r.method == "INVITE" and r.to is not None and r.to.tag
                                     for r in alice.received), timeout=6)
        refresh = next(r for r in alice.received if r.method == "INVITE")
        assert refresh.call_id == call.dialog.call_id
        assert (refresh.headers.get("Session-Expires") or "").endswith(";refresher=uac")
        (leg,) = focus_of(server).legs.values()
        assert refresh.body == leg.local_sdp
    finally:
        await server.close()
        await alice.close()


async def test_focus_ends_an_unrefreshed_session() -> None:
    server = await start_server(min_se=2, session_expires=3)
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, timer=False,
                                  rows=[("Supported", "timer"), ("Session-Expires", "3;refresher=uac")])
        assert isinstance(call, Call)
        bye = await asyncio.wait_for(alice.byes.get(), 6)
        assert bye.call_id == call.dialog.call_id
        await eventually(lambda: focus_of(server).conferences == {})
        assert_no_leak(server)
    finally:
        await server.close()
        await alice.close()


async def test_client_refresh_keeps_the_session() -> None:
    server = await start_server(min_se=2, session_expires=3)
    alice = await Client("alice", server).start()
    try:
        call = await alice.invite(server.factory_uri, timer=False,
                                  rows=[("Supported", "timer"), ("Session-Expires", "3;refresher=uac")])
        assert isinstance(call, Call)
        for _ in range(3):
            await asyncio.sleep(1.0)
            _, response = await call.in_dialog(
                "INVITE", [("Supported", "timer"), ("Session-Expires", "3;refresher=uac")],
                body=call.request.body, content_type="application/sdp")
            assert response.status == 200 and response.headers.get("Session-Expires") == "3;refresher=uac"
            assert b";isfocus" in bytes(response)
            await alice.endpoint.send_ack(call.dialog.create_ack(response, via=alice.endpoint.new_via("UDP")))
        assert alice.byes.empty()
        assert focus_of(server).conferences
    finally:
        await server.close()
        await alice.close()
