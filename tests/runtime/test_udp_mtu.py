"""imkit.runtime.endpoint over real sockets on 127.0.0.1: TCP on the UDP port
(RFC 3261 18.2.1) and the switch of big requests from UDP to TCP (18.1.1:
"If a request is within 200 bytes of the path MTU, or if it is larger than
1300 bytes and the path MTU is unknown, the request MUST be sent using an
RFC 2914 congestion controlled transport protocol, such as TCP.  If this
causes a change in the transport protocol from the one indicated in the top
Via, the value in the top Via MUST be changed.")."""

from __future__ import annotations

import asyncio
import socket

import pytest

from imkit.errors import LocalProtocolError
from imkit.runtime import Endpoint, IncomingRequest, UdpTransport
from imkit.runtime import endpoint as endpoint_module
from imkit.runtime.endpoint import NOTE_UDP_MTU, UDP_MTU
from imkit.sip import Response, parse
from imkit.sip.builders import make_response
from imkit.sip.dialog import Dialog
from imkit.sip.message import Request
from imkit.sip.transaction import Destination
from imkit.sip.uri import SipURI
from imkit.trace import Direction, Protocol, Trace
from imkit.trace import Transport as TraceTransport
from imkit.trace.ladder import arrows
from tests.runtime.sip_peers import Recorder, out_of_dialog, target_uri

BIG = b"x" * 5000


async def within(awaitable, seconds: float = 5.0):
    return await asyncio.wait_for(awaitable, seconds)


def message(sender: Endpoint, target: Endpoint, body: bytes) -> Request:
    """A MESSAGE to ``target``'s UDP address (the URI names no transport)."""
    return out_of_dialog(sender, "MESSAGE", target_uri(target, "UDP"), "UDP", body=body, content_type="text/plain")


def first_via_line(raw: bytes) -> bytes:
    return next(line for line in raw.split(b"\r\n") if line.lower().startswith((b"via:", b"v:")))


def records(trace: Trace, direction: Direction) -> list:
    return [r for r in trace if r.direction is direction]


# -- 18.2.1: TCP on the UDP port ------------------------------------------------------

async def test_udp_and_tcp_share_one_port() -> None:
    async with Endpoint() as default, Endpoint(udp_port=0, tcp_port=0) as both:
        for endpoint in (default, both):
            assert endpoint.transports == ["UDP", "TCP"]
            assert endpoint.local_address("UDP") == endpoint.local_address("TCP")
        assert default.local_address("UDP") != both.local_address("UDP")


async def test_explicit_port_pairs_on_that_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Endpoint(udp_port=port) as endpoint:
        assert endpoint.local_address("UDP") == endpoint.local_address("TCP") == ("127.0.0.1", port)


async def test_explicit_port_taken_for_tcp_fails() -> None:
    """An explicit UDP port is bound with TCP on it, once: TCP taken there is an error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        endpoint = Endpoint(udp_port=port)
        with pytest.raises(OSError):
            await endpoint.start()
        await endpoint.close()
        await asyncio.sleep(0.01)  # asyncio closes a datagram socket on the next loop turn
        # the UDP socket of the failed pair was closed: the port is free again for UDP
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", port))


async def test_free_port_pair_is_tried_again_when_tcp_is_taken(monkeypatch) -> None:
    """With port 0, UDP first, then TCP on the port UDP got; when TCP finds it
    taken the pair is tried again.  The first UDP bind is steered to a port
    whose TCP side is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        original = UdpTransport.open.__func__  # type: ignore[attr-defined]
        ports: list[int] = []

        async def steered(cls, host, port, receiver, limits):
            transport = await original(cls, host, busy if not ports else port, receiver, limits)
            ports.append(transport.local[1])
            return transport

        monkeypatch.setattr(endpoint_module.UdpTransport, "open", classmethod(steered))
        async with Endpoint() as endpoint:
            assert ports[0] == busy and len(ports) == 2
            assert endpoint.local_address("UDP") == endpoint.local_address("TCP") == ("127.0.0.1", ports[1])


async def test_pair_tcp_false_is_udp_alone() -> None:
    async with Endpoint(pair_tcp=False) as endpoint:
        assert endpoint.transports == ["UDP"]
        with pytest.raises(LocalProtocolError):
            endpoint.local_address("TCP")
    async with Endpoint(pair_tcp=False, tcp_port=0) as endpoint:
        # tcp_port=0 then means a port of its own, as it did before the pairing
        assert endpoint.transports == ["UDP", "TCP"]


def test_udp_mtu_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError):
        Endpoint(udp_mtu=0)


# -- 18.1.1: the switch --------------------------------------------------------------

async def test_big_request_goes_over_tcp_with_tcp_via_and_same_branch() -> None:
    trace = Trace()
    handler = Recorder()
    async with Endpoint(handler=handler, trace=trace) as bob, Endpoint(trace=trace) as alice:
        request = message(alice, bob, BIG)
        branch = request.top_via.branch
        pending = await alice.send_request(request)
        response = await within(pending)
        assert response.status == 200
        # the client transaction and its destination say TCP, to bob's UDP host:port
        assert pending.destination == Destination("TCP", *bob.local_address("UDP"))
        assert pending.transaction.request.top_via.transport == "TCP"
        seen = handler.seen[0]
        assert seen.source.transport == "TCP" and seen.local == bob.local_address("TCP")
        host, port = alice.local_address("TCP")
        assert port == alice.local_address("UDP")[1]
        sent = records(trace, Direction.SENT)
        assert [(r.transport, r.title) for r in sent] == [(TraceTransport.TCP, "MESSAGE"), (TraceTransport.TCP, "200 OK")]
        raw = sent[0].raw
        assert len(raw) > UDP_MTU and raw == bytes(request)
        # 18.1.1: "the value in the top Via MUST be changed"; sent-by is our TCP listener, branch kept
        assert first_via_line(raw) == f"Via: SIP/2.0/TCP {host}:{port};branch={branch};rport".encode()
        # bob got the same bytes; the 200 came back over the connection and reached alice
        received = records(trace, Direction.RECEIVED)
        assert received[0].raw == raw and received[0].transport is TraceTransport.TCP
        assert received[1].transport is TraceTransport.TCP and parse(received[1].raw).status == 200
        assert parse(received[1].raw).top_via.branch == branch
        assert not trace.notes


async def test_small_request_stays_on_udp() -> None:
    trace = Trace()
    async with Endpoint(handler=Recorder(), trace=trace) as bob, Endpoint(trace=trace) as alice:
        request = message(alice, bob, b"hello")
        response = await within(alice.request(request))
        assert response.status == 200
        assert {r.transport for r in trace} == {TraceTransport.UDP}
        host, port = alice.local_address("UDP")
        assert first_via_line(trace[0].raw).startswith(f"Via: SIP/2.0/UDP {host}:{port};".encode())


async def test_threshold_is_more_than_udp_mtu_bytes() -> None:
    """A request of exactly ``udp_mtu`` bytes stays on UDP; one byte more goes over TCP."""
    trace = Trace()
    async with Endpoint(handler=Recorder(), trace=trace) as bob, Endpoint(trace=trace) as alice:
        probe = message(alice, bob, b"y" * 1500)
        size = len(bytes(probe))  # the Via is alice's already: its length will not change
        for mtu, expected in ((size, TraceTransport.UDP), (size - 1, TraceTransport.TCP)):
            alice.udp_mtu = mtu
            request = message(alice, bob, b"y" * 1500)
            await within(alice.request(request))
            last = [r for r in trace if r.direction is Direction.SENT and not r.is_response][-1]
            assert len(last.raw) == size and last.transport is expected, mtu


async def test_udp_mtu_none_keeps_udp() -> None:
    trace = Trace()
    async with Endpoint(handler=Recorder(), trace=trace) as bob, Endpoint(trace=trace, udp_mtu=None) as alice:
        request = message(alice, bob, BIG)
        assert (await within(alice.request(request))).status == 200
        assert {r.transport for r in trace} == {TraceTransport.UDP}
        assert first_via_line(trace[0].raw).startswith(b"Via: SIP/2.0/UDP ")
        assert len(trace[0].raw) > UDP_MTU and not trace.notes


async def test_big_request_to_udp_only_peer_falls_back_to_udp_with_a_note() -> None:
    """The peer is a bare UDP socket: TCP to its port is refused, so the
    request goes over UDP, Via unchanged, and the trace says why."""
    trace = Trace()
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        host, port = peer.getsockname()
        async with Endpoint(trace=trace) as alice:
            request = out_of_dialog(alice, "MESSAGE", SipURI(host=host, user="bob", port=port), "UDP",
                                    body=BIG, content_type="text/plain")
            branch = request.top_via.branch
            pending = await alice.send_request(request)
            data, source = await within(loop.sock_recvfrom(peer, 65535))
            assert source == alice.local_address("UDP")
            got = parse(data)
            assert got.top_via.transport == "UDP" and got.top_via.branch == branch
            assert data == trace[0].raw and trace[0].transport is TraceTransport.UDP
            await loop.sock_sendto(peer, bytes(make_response(got, 200, to_tag="peer")), source)
            response = await within(pending)
            assert response.status == 200
            assert pending.destination.transport == "UDP"
            [note] = trace.notes
            assert note.key == NOTE_UDP_MTU and note.is_about(request)
            assert f"sent over UDP to {host}:{port} after all: cannot connect to TCP {host}:{port}" in note.text


async def test_no_tcp_transport_keeps_udp_with_a_note() -> None:
    trace = Trace()
    async with Endpoint(handler=Recorder()) as bob, Endpoint(trace=trace, pair_tcp=False) as alice:
        request = message(alice, bob, BIG)
        assert (await within(alice.request(request))).status == 200
        assert {r.transport for r in trace} == {TraceTransport.UDP}
        [note] = trace.notes
        assert note.key == NOTE_UDP_MTU and note.text.endswith("TCP is not enabled on this endpoint")


async def test_other_tcp_port_is_named_in_the_via() -> None:
    """An explicit tcp_port of its own is honoured: the switched request's
    Via names it (where this endpoint takes TCP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        tcp_port = probe.getsockname()[1]
    trace = Trace()
    async with Endpoint(handler=Recorder(), trace=trace) as bob, Endpoint(tcp_port=tcp_port) as alice:
        assert alice.local_address("TCP") == ("127.0.0.1", tcp_port) != alice.local_address("UDP")
        request = message(alice, bob, BIG)
        assert (await within(alice.request(request))).status == 200
        [got] = [r for r in trace if r.direction is Direction.RECEIVED and not r.is_response]
        assert got.transport is TraceTransport.TCP
        assert first_via_line(got.raw).startswith(f"Via: SIP/2.0/TCP 127.0.0.1:{tcp_port};".encode())


async def test_cancel_and_non_2xx_ack_follow_a_switched_invite() -> None:
    """RFC 3261 9.1: "The destination address, port, and transport for the
    CANCEL MUST be identical to those used to send the original request";
    17.1.1.3: the ACK of a non-2xx goes "to the same address, port, and
    transport".  Both are small: they follow the INVITE, not their size."""
    trace = Trace()

    async def ringing(incoming: IncomingRequest) -> Response | None:
        if incoming.request.method == "INVITE":
            bob.respond(incoming, make_response(incoming.request, 180, to_tag="bobtag"))
            await incoming.cancelled.wait()
        return None

    async with Endpoint(handler=ringing, trace=trace) as bob, Endpoint() as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP", body=BIG, content_type="text/plain")
        ringing_seen = asyncio.Event()
        pending = await alice.send_request(invite, on_provisional=lambda r: ringing_seen.set())
        await within(ringing_seen.wait())
        cancelled = await within(alice.cancel(pending))
        assert cancelled is not None and cancelled.status == 200
        assert (await within(pending)).status == 487
        await asyncio.sleep(0.05)
        got = [r for r in trace if r.direction is Direction.RECEIVED]
        assert [(r.message.method, r.transport) for r in got] == [
            ("INVITE", TraceTransport.TCP), ("CANCEL", TraceTransport.TCP), ("ACK", TraceTransport.TCP)]
        branch = invite.top_via.branch
        for record in got:
            assert len(record.message.via) == 1
            assert first_via_line(record.raw).startswith(b"Via: SIP/2.0/TCP ")
            assert record.message.top_via.branch == branch
        assert len(got[1].raw) < UDP_MTU and len(got[2].raw) < UDP_MTU


async def test_2xx_ack_is_sized_on_its_own() -> None:
    """RFC 3261 13.2.2.4: the ACK of a 2xx is a request of its own whose
    destination and transport are worked out afresh: a small one goes over
    UDP after an INVITE that went over TCP, a big one over TCP after an
    INVITE that went over UDP."""
    trace = Trace()

    async def answer(incoming: IncomingRequest) -> Response | None:
        if incoming.request.method == "INVITE":
            return make_response(incoming.request, 200, to_tag="bobtag",
                                 headers=[("Contact", f"<{bob.contact_uri('bob', 'UDP')}>")])
        return None

    async with Endpoint(handler=answer, trace=trace) as bob, Endpoint() as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP", body=BIG, content_type="text/plain")
        ok = await within(alice.request(invite))
        ack = Dialog.from_uac(invite, ok).create_ack(ok)
        await alice.send_ack(ack)
        await asyncio.sleep(0.05)
        got = [r for r in trace if r.direction is Direction.RECEIVED]
        assert [(r.message.method, r.transport) for r in got] == [
            ("INVITE", TraceTransport.TCP), ("ACK", TraceTransport.UDP)]
        assert first_via_line(got[1].raw).startswith(b"Via: SIP/2.0/UDP ")
        # and a big ACK (a late answer in it, say) switches like any request
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP", cseq=2)
        ok = await within(alice.request(invite))
        ack = Dialog.from_uac(invite, ok).create_ack(ok)
        ack.set_body(BIG, "text/plain")
        await alice.send_ack(ack)
        await asyncio.sleep(0.05)
        got = [r for r in trace if r.direction is Direction.RECEIVED][2:]
        assert [(r.message.method, r.transport) for r in got] == [
            ("INVITE", TraceTransport.UDP), ("ACK", TraceTransport.TCP)]
        assert first_via_line(got[1].raw).startswith(b"Via: SIP/2.0/TCP ")
        assert got[1].message.top_via.branch == ack.top_via.branch


# -- the IM server's conference NOTIFY to a UDP subscriber --------------------------------

async def test_full_conference_notify_reaches_a_udp_client_over_tcp() -> None:
    from imkit.client import IMClient
    from imkit.server import TestServer

    trace = Trace()
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", transport="udp", trace=trace) as alice:
            invited = ["sip:bob@example.com", "sip:carol@example.com", "sip:dave@example.com"]
            conference = await alice.start_adhoc_conference(invited)
            assert conference.subscription is not None
            await conference.subscription.wait_for(lambda state: len(state.roster) == 4)
            await conference.leave()
    notifies = [r for r in trace if r.direction is Direction.RECEIVED
                and r.protocol is Protocol.SIP and r.title == "NOTIFY"]
    full = [r for r in notifies if b'state="full"' in r.raw and len(r.raw) > UDP_MTU]
    assert full, [len(r.raw) for r in notifies]
    for record in notifies:
        big = len(record.raw) > UDP_MTU
        # RFC 3261 18.1.1: a NOTIFY over 1300 bytes to alice's UDP Contact travels over TCP
        assert record.transport is (TraceTransport.TCP if big else TraceTransport.UDP)
        assert record.local == alice.endpoint.local_address("UDP")  # her TCP listener is her UDP port
        via = first_via_line(record.raw)
        assert via.startswith(f"Via: SIP/2.0/{'TCP' if big else 'UDP'} {host}:{port};".encode()), via
    # alice's URI-list INVITE to three (over 1300 bytes) went over TCP too, and was answered there
    [invite] = [r for r in trace if r.direction is Direction.SENT and r.protocol is Protocol.SIP
                and r.title == "INVITE"]
    assert len(invite.raw) > UDP_MTU and invite.transport is TraceTransport.TCP
    assert invite.remote == (host, port)
    alice_port = alice.endpoint.local_address("UDP")[1]
    assert first_via_line(invite.raw).startswith(f"Via: SIP/2.0/TCP {host}:{alice_port};".encode())
    answers = [r for r in trace if r.direction is Direction.RECEIVED and r.protocol is Protocol.SIP
               and r.is_response and r.message.cseq.method == "INVITE"]
    assert [(r.title, r.transport, r.local) for r in answers] == [
        ("100 Trying", TraceTransport.TCP, invite.local), ("200 OK", TraceTransport.TCP, invite.local)]
    # the ladder keeps one lane per party: alice's TCP connection is hers, the
    # server's connection bringing the NOTIFYs is the server's (its Via sent-by)
    assert trace.names[invite.local] == "alice"
    assert arrows(trace.records, trace.names, {})[0] == ["alice", "IM Server"]


async def test_server_proxies_a_big_request_to_a_udp_only_ua_with_a_note() -> None:
    """The IM server forwards a big MESSAGE to a registered UA that listens
    on UDP alone: TCP to it is refused, so the server sends it over UDP, and
    the server's trace gets the note; alice's hop to the server went over TCP."""
    from imkit.server import TestServer
    from tests.server.sip_ua import UA

    trace = Trace()
    async with TestServer(domain="example.com", trace=trace) as server:
        bob = UA("bob")
        bob.endpoint = Endpoint(udp_port=0, pair_tcp=False, handler=bob._handle)
        await bob.endpoint.start()
        alice = await UA("alice").start()
        try:
            register = bob.request("REGISTER", SipURI(host="example.com"), to=bob.aor)
            assert (await within(bob.send(register, server.address))).status == 200
            request = alice.request("MESSAGE", "bob", body=BIG, content_type="text/plain")
            assert (await within(alice.send(request, server.address))).status == 200
        finally:
            await alice.close()
            await bob.close()
        messages = [r for r in trace if r.protocol is Protocol.SIP and r.title == "MESSAGE"]
        assert [(r.direction, r.transport) for r in messages] == [
            (Direction.RECEIVED, TraceTransport.TCP), (Direction.SENT, TraceTransport.UDP)]
        forwarded = messages[1]
        assert forwarded.remote == bob.endpoint.local_address("UDP")
        # the server's own Via on top, UDP (the fallback leaves it as it was), alice's TCP one below
        assert first_via_line(forwarded.raw).startswith(f"Via: SIP/2.0/UDP {server.uri.host}:{server.uri.port};".encode())
        assert [v.transport for v in forwarded.message.via] == ["UDP", "TCP"]
        [note] = [n for n in trace.notes if n.key == NOTE_UDP_MTU]
        assert note.is_about(forwarded.message) and "after all: cannot connect to TCP" in note.text
