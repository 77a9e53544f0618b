"""The server as a stateful proxy (RFC 3261 16): 1-1 sessions between two
imkit endpoints and to simulated users, over UDP and TCP, with the bytes
each hop saw."""

from __future__ import annotations

import asyncio

import pytest

from imkit.server import TestServer
from imkit.server.proxy import loop_hash
from imkit.sip import SipURI, parse
from imkit.sip.ids import MAGIC_COOKIE
from imkit.trace import Trace
from tests.server.sip_ua import (
    WAIT,
    chat,
    next_text,
    parse_reply,
    raw_request,
    udp_exchange,
)

TRANSPORTS = ["udp", "tcp"]


async def register(ua, server: TestServer) -> None:
    response = await ua.send(ua.request("REGISTER", SipURI(host="example.com"), to=ua.aor), server.address)
    assert response.status == 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_one_to_one_between_two_endpoints(server, make_ua, transport) -> None:
    alice = await make_ua("alice", transport)
    bob = await make_ua("bob", transport)
    await register(bob, server)
    invite, response, dialog = await alice.call("bob", server.address)
    assert response.status == 200 and dialog is not None
    host, port = server.address
    rr = f"<sip:{host}:{port};lr>" if transport == "udp" else f"<sip:{host}:{port};transport=tcp;lr>"
    # RFC 3261 16.6 item 4: the proxy recorded its route; the UAC's route set is it.
    assert response.headers.get_all("Record-Route") == [rr]
    assert [str(r) for r in dialog.route_set] == [rr]
    # what bob got: Request-URI = his contact, Max-Forwards decremented, our Via on top
    forwarded = bob.received[-1]
    assert forwarded.method == "INVITE"
    assert forwarded.uri == bob.contact().uri
    assert forwarded.max_forwards == 69
    vias = forwarded.via
    assert len(vias) == 2
    assert (vias[0].host, vias[0].port, vias[0].transport) == (host, port, transport.upper())
    assert vias[0].branch.startswith(f"{MAGIC_COOKIE}{loop_hash(invite)}.")
    assert vias[1].branch == invite.top_via.branch
    assert forwarded.headers.get_all("Record-Route") == [rr]
    raw = bytes(forwarded)
    assert raw.startswith(f"INVITE {bob.contact().uri} SIP/2.0\r\n".encode())
    assert b"Max-Forwards: 69\r\n" in raw
    # the 200 alice got carries one Via: the proxy popped its own
    assert len(response.via) == 1
    # the ACK comes through the proxy (Route), and goes to bob without the Route
    ack = await bob.next_request("ACK")
    assert ack.request.route == []
    assert ack.request.uri == bob.contact().uri
    assert len(ack.request.via) == 2
    # BYE from bob (the callee uses the Record-Route as is)
    bye = await bob.in_dialog(bob.uas_dialogs[-1], "BYE")
    assert bye.status == 200
    got = await alice.next_request("BYE")
    assert got.request.uri == alice.contact().uri
    assert got.request.route == []
    assert got.request.max_forwards == 69


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_session_to_simulated_user_with_chat(server, make_ua, transport) -> None:
    alice = await make_ua("alice", transport)
    _, response, dialog = await alice.call("carol", server.address)
    assert response.status == 200
    carol = server.users["carol"]
    assert carol.received[0].uri == carol.contact(transport)
    channel = await chat(response.body)
    await channel.send(b"hello carol")
    echoed = await next_text(channel)
    assert b"echo: hello carol" in echoed.body
    assert carol.messages[0].text == "hello carol" and carol.messages[0].incoming
    assert (await alice.in_dialog(dialog, "BYE")).status == 200
    await channel.close()
    assert not carol.sessions


async def test_caller_over_tcp_callee_over_udp_gets_double_record_route(server, make_ua) -> None:
    alice = await make_ua("alice", "tcp")
    bob = await make_ua("bob", "udp")
    await register(bob, server)
    _, response, dialog = await alice.call("bob", server.address)
    host, port = server.address
    # RFC 5658: one value per side, the callee's side (UDP) on top
    assert response.headers.get_all("Record-Route") == [
        f"<sip:{host}:{port};lr>", f"<sip:{host}:{port};transport=tcp;lr>",
    ]
    assert (await alice.in_dialog(dialog, "BYE")).status == 200
    bye = await bob.next_request("BYE")
    assert bye.request.route == []


async def test_cancel_is_forwarded_and_the_caller_gets_487(make_ua) -> None:
    trace = Trace()
    async with TestServer(trace=trace, users={"dave": "no-answer"}, focus=False) as server:
        alice = await make_ua("alice")
        pending = await alice.endpoint.send_request(alice.invite("dave"), alice.server_uri(server.address))
        while not any(r.status == 180 for r in pending.provisional):
            await asyncio.sleep(0.01)
        cancel = await alice.endpoint.cancel(pending)
        assert cancel is not None and cancel.status == 200
        final = await asyncio.wait_for(pending.response, WAIT)
        assert final.status == 487
        dave = server.users["dave"]
        dave_sip = set(dave.addresses)
        for _ in range(100):
            if any(r.source in dave_sip and r.title.startswith("487") for r in trace):
                break
            await asyncio.sleep(0.02)
        # the proxy's CANCEL went to dave (RFC 3261 16.10), dave answered the INVITE 487
        to_dave = [r.title for r in trace if r.destination in dave_sip]
        from_dave = [r.title for r in trace if r.source in dave_sip]
        assert to_dave[:2] == ["INVITE", "CANCEL"] or to_dave[:3] == ["INVITE", "CANCEL", "ACK"]
        assert any(t.startswith("487") for t in from_dave)
        # and alice saw one final response: the 487 of the proxy's own transaction
        assert not dave.sessions


async def test_max_forwards_zero_gets_483(server, make_ua) -> None:
    alice = await make_ua("alice")
    invite = alice.invite("carol")
    invite.headers.set("Max-Forwards", "0")
    response = await alice.send(invite, server.address)
    assert response.status == 483
    assert "carol" not in server.users  # nothing was created for it


def _with_server_via(server: TestServer, branch_hash: str | None) -> bytes:
    """An OPTIONS for carol whose second Via says this server forwarded it
    before, with the loop hash of this very request (or another one)."""
    host, port = server.address
    first = raw_request("OPTIONS", "sip:carol@example.com")
    wanted = branch_hash or loop_hash(parse(first))
    return first.replace(
        b"Max-Forwards:", f"Via: SIP/2.0/UDP {host}:{port};branch={MAGIC_COOKIE}{wanted}.x1\r\nMax-Forwards:".encode(), 1,
    )


async def test_loop_is_detected(server) -> None:
    reply = parse_reply(await asyncio.to_thread(udp_exchange, server.address, _with_server_via(server, None)))
    # RFC 3261 16.3 item 4: same hash in our own Via: a loop
    assert reply.status == 482
    assert "carol" not in server.users


async def test_spiral_is_not_a_loop(server) -> None:
    data = _with_server_via(server, "0123456789abcdef")
    reply = parse_reply(await asyncio.to_thread(udp_exchange, server.address, data))
    assert reply.status == 200
    # carol answered; the proxy popped its Via and kept both of the request's
    assert len(reply.via) == 2


async def test_unknown_proxy_require_gets_420(server, make_ua) -> None:
    alice = await make_ua("alice")
    invite = alice.invite("carol", headers=[("Proxy-Require", "foo, timer")])
    response = await alice.send(invite, server.address)
    assert response.status == 420
    assert response.headers.get_all("Unsupported") == ["foo"]


async def test_foreign_domain_gets_404(server, make_ua) -> None:
    alice = await make_ua("alice")
    response = await alice.send(alice.invite(SipURI(host="elsewhere.example.org", user="bob")), server.address)
    assert response.status == 404


async def test_registered_client_gone_gets_480(server, make_ua) -> None:
    alice = await make_ua("alice", "tcp")
    bob = await make_ua("bob", "tcp")
    await register(bob, server)
    await bob.close()
    response = await alice.send(alice.invite("bob"), server.address)
    assert response.status == 480


async def test_callee_failure_is_relayed(server, make_ua) -> None:
    alice = await make_ua("alice")
    bob = await make_ua("bob", answer=606)
    await register(bob, server)
    _, response, _ = await alice.call("bob", server.address)
    assert response.status == 606
    assert len(response.via) == 1


async def test_503_downstream_becomes_500(server, make_ua) -> None:
    alice = await make_ua("alice")
    bob = await make_ua("bob", answer=503)
    await register(bob, server)
    _, response, _ = await alice.call("bob", server.address)
    # RFC 3261 16.7 item 6: a proxy does not forward a lone 503
    assert response.status == 500


async def test_core_routes_unknown_users_there(make_ua) -> None:
    """With a SIP/IP Core, a user with no binding here goes to the core,
    Request-URI unchanged."""
    core = await make_ua("core")
    host, port = core.endpoint.local_address("UDP")
    async with TestServer(core=f"{host}:{port}", transports="udp") as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("zoe", server.address)
        assert response.status == 200
        got = core.received[0]
        assert got.uri == SipURI(host="example.com", user="zoe")
        assert await server.locate("sip:zoe@example.com") == (await core.endpoint.resolve(f"{host}:{port}"))


async def test_non_invite_is_proxied(server, make_ua) -> None:
    alice = await make_ua("alice")
    bob = await make_ua("bob")
    await register(bob, server)
    response = await alice.send(alice.request("OPTIONS", "bob"), server.address)
    assert response.status == 200
    assert bob.received[-1].method == "OPTIONS"
    assert len(bob.received[-1].via) == 2
