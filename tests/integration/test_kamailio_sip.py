"""imkit endpoints through a real Kamailio (imkit/data/kamailio/proxy.cfg):
REGISTER with Digest authentication (401, then 200 with imkit.sip.auth), and
an INVITE from one registered endpoint to another through the proxy, with
the Record-Route it adds honoured by the ACK and the in-dialog BYE
(imkit.sip.dialog, RFC 3261 12.2.1.1 loose routing)."""

from __future__ import annotations

import asyncio

import pytest

from imkit.runtime import Endpoint, IncomingRequest
from imkit.sip import NameAddr, Request, Response, SipURI
from imkit.sip.auth import DigestClient
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog, DialogSet
from imkit.sip.ids import new_call_id, new_tag
from imkit.trace import Direction, Trace
from tests.support.kamailio import DEFAULT_DOMAIN, DEFAULT_USERS

pytestmark = pytest.mark.integration

WAIT = 10.0


def aor(user: str) -> NameAddr:
    return NameAddr(SipURI(host=DEFAULT_DOMAIN, user=user))


def register_request(endpoint: Endpoint, user: str, transport: str, call_id: str, tag: str, cseq: int) -> Request:
    return new_request(
        "REGISTER", SipURI(host=DEFAULT_DOMAIN),
        from_addr=aor(user).with_tag(tag), to_addr=aor(user),
        call_id=call_id, cseq=cseq, via=endpoint.new_via(transport),
        contact=NameAddr(endpoint.contact_uri(user, transport)),
        headers=[("Expires", "300")],
    )


async def register(endpoint: Endpoint, user: str, transport: str) -> tuple[Response, Response]:
    """REGISTER, answer the 401's challenge, REGISTER again: both final responses."""
    call_id, tag = new_call_id("127.0.0.1"), new_tag()
    first = await asyncio.wait_for(
        endpoint.request(register_request(endpoint, user, transport, call_id, tag, 1)), WAIT
    )
    digest = DigestClient(user, DEFAULT_USERS[user])
    if not digest.handle_challenge(first):
        return first, first
    retry = digest.authorize(register_request(endpoint, user, transport, call_id, tag, 2))
    second = await asyncio.wait_for(endpoint.request(retry), WAIT)
    return first, second


async def test_register_with_digest(kamailio_proxy) -> None:
    trace = Trace()
    async with Endpoint(udp_port=0, outbound_proxy=kamailio_proxy.uri("udp"), trace=trace) as alice:
        challenge, ok = await register(alice, "alice", "UDP")
    assert challenge.status == 401
    assert challenge.www_authenticate[0].param("realm") == DEFAULT_DOMAIN
    assert ok.status == 200, kamailio_proxy.log()[-2000:]
    contact = ok.contact[0].uri
    assert (contact.host, contact.port) == alice.local_address("UDP")
    sent = [r for r in trace if r.direction is Direction.SENT]
    assert [r.remote for r in sent] == [("127.0.0.1", kamailio_proxy.udp_port)] * 2
    assert b"Authorization: Digest " in sent[1].raw and b"Authorization" not in sent[0].raw


async def test_register_with_wrong_password_is_refused(kamailio_proxy) -> None:
    async with Endpoint(udp_port=0, outbound_proxy=kamailio_proxy.uri("udp")) as mallory:
        call_id, tag = new_call_id("127.0.0.1"), new_tag()
        first = await mallory.request(register_request(mallory, "alice", "UDP", call_id, tag, 1))
        digest = DigestClient("alice", "not-the-password")
        assert digest.handle_challenge(first)
        retry = digest.authorize(register_request(mallory, "alice", "UDP", call_id, tag, 2))
        refused = await asyncio.wait_for(mallory.request(retry), WAIT)
    assert refused.status == 401
    assert not digest.handle_challenge(refused)  # challenged again without stale=true


@pytest.mark.parametrize("bob_transport", ["UDP", "TCP"])
async def test_invite_through_kamailio_with_record_route(kamailio_proxy, bob_transport) -> None:
    proxy = kamailio_proxy
    trace = Trace()
    bob_dialogs = DialogSet()
    bob_seen: list[IncomingRequest] = []

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        bob_seen.append(incoming)
        if request.method == "INVITE":
            bob.respond(incoming, make_response(request, 180, to_tag="bob-tag"))
            ok = make_response(request, 200, to_tag="bob-tag",
                               headers=[("Contact", f"<{bob.contact_uri('bob', bob_transport)}>")])
            bob_dialogs.add(Dialog.from_uas(request, ok))
            return ok
        if request.method == "BYE":
            dialog = bob_dialogs.match_request(request)
            if dialog is None:
                return make_response(request, 481)
            dialog.receive_request(request)
            return make_response(request, 200)
        return None

    async with Endpoint(udp_port=0, tcp_port=0, outbound_proxy=proxy.uri(bob_transport.lower()),
                        handler=bob_handler, trace=trace) as bob, \
            Endpoint(udp_port=0, outbound_proxy=proxy.uri("udp"), trace=trace) as alice:
        assert (await register(bob, "bob", bob_transport))[1].status == 200
        assert (await register(alice, "alice", "UDP"))[1].status == 200

        invite = new_request(
            "INVITE", SipURI(host=DEFAULT_DOMAIN, user="bob"),
            from_addr=aor("alice").with_tag(new_tag()), to_addr=aor("bob"),
            call_id=new_call_id("127.0.0.1"), cseq=1, via=alice.new_via("UDP"),
            contact=NameAddr(alice.contact_uri("alice", "UDP")),
        )
        provisional: list[int] = []
        ok = await asyncio.wait_for(alice.request(invite, on_provisional=lambda r: provisional.append(r.status)), WAIT)
        assert ok.status == 200, proxy.log()[-3000:]
        assert 180 in provisional

        # The proxy record-routed the INVITE: bob saw it and echoed it in the 2xx
        proxy_hosts = {("127.0.0.1", proxy.udp_port), ("127.0.0.1", proxy.tcp_port)}
        record_route = ok.record_route
        assert record_route and all((r.uri.host, r.uri.port or 5060) in proxy_hosts for r in record_route)
        assert all(r.uri.param("lr") is not None for r in record_route)
        assert bob_seen[0].request.record_route == record_route

        dialog = Dialog.from_uac(invite, ok)
        assert [str(r) for r in dialog.route_set] == [str(r) for r in reversed(record_route)]
        # (the endpoint's outbound proxy is the first route anyway; make it come from the dialog)
        alice.outbound_proxy = None
        await alice.send_ack(dialog.create_ack(ok))
        # bob's INVITE transaction absorbs the ACK of its 2xx (RFC 6026 "Accepted");
        # wait for it, as the proxy's workers may otherwise pass the BYE first
        ack = await asyncio.wait_for(bob_seen[0].ack, WAIT)
        assert ack.cseq.seq == 1 and ack.cseq.method == "ACK"
        bye = dialog.create_request("BYE")
        # RFC 3261 12.2.1.1: loose routing: Request-URI = remote target, Route = route set
        assert bye.uri == bob.contact_uri("bob", bob_transport)
        assert bye.route == list(dialog.route_set)
        bye_ok = await asyncio.wait_for(alice.request(bye), WAIT)
        assert bye_ok.status == 200, proxy.log()[-3000:]
        await asyncio.sleep(0.05)

    alice_udp = alice.local_address("UDP")
    bye_sent = [r for r in trace if r.direction is Direction.SENT and r.title == "BYE"]
    assert len(bye_sent) == 1
    assert bye_sent[0].local == alice_udp
    assert bye_sent[0].remote == ("127.0.0.1", proxy.udp_port)  # the first Route: the proxy
    bob_got = [i.request for i in bob_seen]
    assert [r.method for r in bob_got] == ["INVITE", "ACK", "BYE"]
    # the ACK and the BYE reached bob through the proxy, which consumed its Route entries
    proxy_hosts = {("127.0.0.1", proxy.udp_port), ("127.0.0.1", proxy.tcp_port)}
    for request in bob_got[1:]:
        assert request.via[-1].sent_by == (alice_udp[0], alice_udp[1])
        assert request.via[0].sent_by in proxy_hosts
        assert request.via[0].transport == bob_transport
        assert request.route == []
