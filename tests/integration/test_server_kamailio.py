"""The test IM Server behind a real SIP/IP Core (Kamailio, proxy.cfg):

* two imkit endpoints register through Kamailio (digest, 401 then 200);
* a 1-1 INVITE goes client -> Kamailio -> test server -> simulated user,
  authenticated at the proxy (407), with both proxies' Record-Route honoured
  by the ACK, the MSRP chat going peer to peer, and the BYE following the
  route set; over UDP and over TCP to Kamailio (which Record-Routes twice);
* the simulated user hangs up: its BYE goes back server -> Kamailio -> caller;
* a request the server originates is relayed by Kamailio without a
  challenge: Kamailio knows the server by source IP and top Via sent-by,
  which must be the server's listening address.
"""

from __future__ import annotations

import asyncio

import pytest

from imkit.runtime import Endpoint
from imkit.server import TestServer
from imkit.sip import NameAddr, Request, Response, SipURI, parse
from imkit.sip.auth import DigestClient
from imkit.sip.dialog import Dialog
from tests.server.sip_ua import UA, WAIT, chat, next_text
from tests.support.kamailio import DEFAULT_USERS

pytestmark = pytest.mark.integration


async def start_ua(name: str, transport: str, proxy_uri: str) -> UA:
    ua = UA(name, transport)
    udp = 0 if transport == "udp" else None
    tcp = 0 if transport == "tcp" else None
    ua.endpoint = Endpoint(host="127.0.0.1", udp_port=udp, tcp_port=tcp, handler=ua._handle,
                           outbound_proxy=proxy_uri)
    await ua.endpoint.start()
    return ua


async def authenticated(ua: UA, request: Request) -> tuple[Request, Response]:
    """Send; answer a 401/407 challenge once (same Call-ID and tags, next CSeq)."""
    response = await asyncio.wait_for(ua.endpoint.request(request), WAIT)
    digest = DigestClient(ua.name, DEFAULT_USERS[ua.name])
    if not digest.handle_challenge(response):
        return request, response
    retry = parse(bytes(request))
    assert isinstance(retry, Request)
    cseq = request.cseq
    assert cseq is not None
    retry.headers.set("CSeq", f"{cseq.seq + 1} {request.method}")
    digest.authorize(retry)
    return retry, await asyncio.wait_for(ua.endpoint.request(retry), WAIT)


async def register(ua: UA) -> None:
    request = ua.request("REGISTER", SipURI(host="example.com"), to=ua.aor, headers=[("Expires", "300")])
    _, response = await authenticated(ua, request)
    assert response.status == 200, response


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_one_to_one_through_kamailio(kamailio, free_udp_tcp_port, transport) -> None:
    port = free_udp_tcp_port
    proxy = kamailio.proxy(f"127.0.0.1:{port}:udp", proxy_auth=True, unregistered_to_im_server=True)
    async with TestServer(port=port, focus=False) as server:
        alice = await start_ua("alice", transport, proxy.uri(transport))
        bob = await start_ua("bob", transport, proxy.uri(transport))
        try:
            await register(alice)
            await register(bob)
            # -- alice -> Kamailio -> server -> simulated user chat-echo (a "chat-" user: relayed by Kamailio)
            invite, response = await authenticated(alice, alice.invite("chat-echo"))
            assert response.status == 200, response
            host = "127.0.0.1"
            server_rr = f"<sip:{host}:{port};lr>"
            record_route = response.headers.get_all("Record-Route")
            # the server's value is topmost (nearest the callee), Kamailio's below it
            assert record_route[0] == server_rr
            assert len(record_route) == (2 if transport == "udp" else 3)
            assert all(f"127.0.0.1:{proxy.port}" in value for value in record_route[1:])
            user = server.users["chat-echo"]
            received = user.received[0]
            vias = received.via
            # Via: the server's (its listening address), Kamailio's, alice's
            assert [(v.host, v.port) for v in vias[:2]] == [(host, port), (host, proxy.port)]
            assert len(vias) == 3 and vias[2].branch == invite.top_via.branch
            assert received.uri == user.contact("udp")
            assert received.headers.get_all("Record-Route") == record_route
            dialog = Dialog.from_uac(invite, response)
            # RFC 3261 12.1.2: the route set is the Record-Route reversed: Kamailio first
            assert str(dialog.route_set[-1]) == server_rr
            await alice.endpoint.send_ack(dialog.create_ack(response))
            channel = await chat(response.body)
            await channel.send(b"through kamailio")
            assert b"echo: through kamailio" in (await next_text(channel)).body
            # the ACK reached the user along the route set, which every hop consumed
            for _ in range(200):
                if any(r.method == "ACK" for r in user.received):
                    break
                await asyncio.sleep(0.02)
            ack = next(r for r in user.received if r.method == "ACK")
            assert ack.route == [] and len(ack.via) == 3
            bye = await alice.in_dialog(dialog, "BYE")
            assert bye.status == 200
            got_bye = next(r for r in user.received if r.method == "BYE")
            assert got_bye.route == [] and [(v.host, v.port) for v in got_bye.via[:2]] == [
                (host, port), (host, proxy.port)]
            await channel.close()

            # -- bob -> dave (not registered: Kamailio relays to the server); dave hangs up
            invite, response = await authenticated(bob, bob.invite("dave"))
            assert response.status == 200, response
            dialog = Dialog.from_uac(invite, response)
            await bob.endpoint.send_ack(dialog.create_ack(response))
            dave = server.users["dave"]
            for _ in range(200):
                if all(s.acked.is_set() for s in dave.sessions.values()) and dave.sessions:
                    break
                await asyncio.sleep(0.02)
            await dave.hangup()
            hangup = await bob.next_request("BYE")
            assert hangup.request.call_id == dialog.call_id
            assert hangup.request.route == []
            # dave's BYE: Kamailio's Via on top, then the server's (listening address), then dave's
            assert [(v.host, v.port) for v in hangup.request.via[:2]] == [(host, proxy.port), (host, port)]
            assert not dave.sessions

            # -- a request the server originates goes through Kamailio unchallenged
            request = server.new_request("OPTIONS", "sip:bob@example.com", to="<sip:bob@example.com>",
                                         from_=NameAddr(server.factory_uri))
            answer = await asyncio.wait_for(
                server.require_endpoint().request(request, SipURI(host=host, port=proxy.port)), WAIT)
            assert answer.status == 200, answer
            options = next(r for r in reversed(bob.received) if r.method == "OPTIONS")
            assert (options.via[1].host, options.via[1].port) == (host, port)
        finally:
            await alice.close()
            await bob.close()
    assert "imkit-proxy" in proxy.log()
