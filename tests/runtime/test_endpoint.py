"""imkit.runtime.endpoint: two imkit endpoints on 127.0.0.1 over real UDP, TCP
and TLS sockets: OPTIONS, INVITE/200/ACK/BYE with imkit.sip.dialog, CANCEL,
timeouts, handler errors, rport, next hop, and the trace."""

from __future__ import annotations

import asyncio
import itertools
import socket
from pathlib import Path

import pytest

from imkit.errors import LocalProtocolError
from imkit.runtime import (
    Endpoint,
    IncomingRequest,
    Limits,
    TransactionTimeout,
    TransportFailure,
)
from imkit.sip import Response, SipURI, parse
from imkit.sip.builders import make_response
from imkit.sip.dialog import Dialog
from imkit.sip.transaction import Destination, Timers
from imkit.trace import Direction, Trace
from tests.runtime.sip_peers import Recorder, out_of_dialog, target_uri, tls_contexts

TRANSPORTS = ["UDP", "TCP", "TLS"]
FAST = Timers(t1=0.02, t2=0.08, t4=0.1, d=0.2)


@pytest.fixture
def tls(tmp_path: Path):
    return tls_contexts(tmp_path)


def endpoint(tls, **kw) -> Endpoint:
    server, client = tls
    kw.setdefault("udp_port", 0)
    kw.setdefault("tcp_port", 0)
    kw.setdefault("tls_port", 0)
    return Endpoint(tls_server=server, tls_client=client, **kw)


async def within(awaitable, seconds: float = 5.0):
    return await asyncio.wait_for(awaitable, seconds)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options(tls, transport) -> None:
    trace = Trace()
    handler = Recorder()
    async with endpoint(tls, handler=handler, trace=trace) as bob, endpoint(tls, trace=trace) as alice:
        request = out_of_dialog(alice, "OPTIONS", target_uri(bob, transport), transport)
        response = await within(alice.request(request))
    assert response.status == 200
    assert response.call_id == request.call_id
    # the top Via is the endpoint's: transport, sent-by, rport
    via = request.top_via
    assert via.transport == transport and (via.host, via.port) == alice.local_address(transport)
    assert "rport" in via.params
    # the UAS saw it with rport filled in (RFC 3581) and answered there
    seen = handler.seen[0]
    assert seen.request.top_via.rport == seen.source.port
    assert seen.request.top_via.received == "127.0.0.1"
    assert response.top_via.rport == seen.source.port
    # four records: sent and received on each side, SIP bytes as they travelled
    records = trace.records
    assert [r.direction for r in records] == [Direction.SENT, Direction.RECEIVED, Direction.SENT, Direction.RECEIVED]
    assert records[0].raw == records[1].raw == bytes(request)
    assert records[2].raw == records[3].raw
    assert parse(records[3].raw).status == 200
    assert all(r.transport.value == transport for r in records)
    assert records[0].now <= records[1].now <= records[2].now <= records[3].now


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_invite_200_ack_bye(tls, transport) -> None:
    dialogs: dict[str, Dialog] = {}

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if request.method == "INVITE":
            bob.respond(incoming, make_response(request, 180, to_tag="bobtag"))
            ok = make_response(request, 200, to_tag="bobtag",
                               headers=[("Contact", f"<{bob.contact_uri('bob', transport)}>")])
            dialogs["bob"] = Dialog.from_uas(request, ok)
            bob.respond(incoming, ok)
            await within(incoming.ack)
            return None
        if request.method == "BYE":
            assert dialogs["bob"].receive_request(request).name == "ACCEPT"
            return make_response(request, 200)
        return None

    provisional: list[int] = []
    async with endpoint(tls, handler=bob_handler) as bob, endpoint(tls) as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, transport), transport)
        ok = await within(alice.request(invite, on_provisional=lambda r: provisional.append(r.status)))
        assert ok.status == 200 and provisional == [100, 180]
        dialog = Dialog.from_uac(invite, ok)
        ack = dialog.create_ack(ok)
        await alice.send_ack(ack)
        bye = dialog.create_request("BYE")
        bye_ok = await within(alice.request(bye))
        assert bye_ok.status == 200
        # the BYE went to the remote target, bob's Contact
        assert bye.uri == bob.contact_uri("bob", transport)
        # the ACK of the 2xx stopped bob's 2xx retransmissions
        server_txn = next(t for t in bob.layer.transactions if t.method == "INVITE")
        assert server_txn.acked


async def test_settled_transactions_hold_no_endpoint_state(tls) -> None:
    """Once a transaction only absorbs retransmissions (32 s over UDP) the
    endpoint keeps nothing for it: the pending request is gone with its final
    response, the incoming INVITE with its ACK.  ``Limits`` reach the layer:
    live and settled transactions are bounded apart, the oldest settled one
    evicted (its Terminated handled like any other)."""

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if request.method == "INVITE":
            bob.respond(incoming, make_response(request, 200, to_tag="bobtag",
                                                headers=[("Contact", f"<{bob.contact_uri('bob')}>")]))
            await within(incoming.ack)
            return None
        return make_response(request, 200)

    limits = Limits(max_transactions=4, max_settled=2)
    async with endpoint(tls, handler=bob_handler, limits=limits) as bob, endpoint(tls, limits=limits) as alice:
        for _ in range(3):
            invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP")
            ok = await within(alice.request(invite))
            dialog = Dialog.from_uac(invite, ok)
            await alice.send_ack(dialog.create_ack(ok))
            bye_ok = await within(alice.request(dialog.create_request("BYE")))
            assert bye_ok.status == 200
        await asyncio.sleep(0.05)  # bob's last handler task ends
        assert (alice.layer.max_transactions, alice.layer.max_settled) == (4, 2)
        # three calls, two settled transactions each side per call
        for layer in (alice.layer, bob.layer):
            assert (layer.live_count, layer.settled_count, layer.evicted) == (0, 2, 4)
        assert not alice._outgoing and not bob._incoming and not bob._tasks


async def test_cancel_over_udp(tls) -> None:
    rang = asyncio.Event()
    seen: list[IncomingRequest] = []

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        if incoming.request.method == "INVITE":
            seen.append(incoming)
            bob.respond(incoming, make_response(incoming.request, 180, to_tag="b1"))
            rang.set()
            await within(incoming.cancelled.wait())
            return make_response(incoming.request, 200, to_tag="b1")  # too late: not sent
        return None

    async with endpoint(tls, handler=bob_handler) as bob, endpoint(tls) as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP")
        pending = await alice.send_request(invite)
        await within(rang.wait())
        cancel_ok = await within(alice.cancel(invite))
        final = await within(pending)
        assert cancel_ok.status == 200 and cancel_ok.cseq.method == "CANCEL"
        assert final.status == 487
        assert final.to.tag == cancel_ok.to.tag == "b1"
        assert await alice.cancel(invite) is cancel_ok  # the same CANCEL, not a new one
        await asyncio.sleep(0.05)
        assert seen[0].responded and seen[0].transaction.final_status == 487


async def test_cancel_before_any_provisional_is_held(tls) -> None:
    """9.1: the CANCEL waits for a provisional response; with send_trying off
    and a handler that answers late, it leaves only once 180 arrived."""
    release = asyncio.Event()

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        await release.wait()
        bob.respond(incoming, make_response(incoming.request, 180, to_tag="b2"))
        await within(incoming.cancelled.wait())
        return None

    trace = Trace()
    async with endpoint(tls, handler=bob_handler, send_trying=False) as bob, endpoint(tls, trace=trace) as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "TCP"), "TCP")
        pending = await alice.send_request(invite)
        cancelling = asyncio.ensure_future(alice.cancel(pending))
        await asyncio.sleep(0.1)
        sent = [r.title for r in trace if r.direction is Direction.SENT]
        assert sent == ["INVITE"]
        release.set()
        assert (await within(cancelling)).status == 200
        assert (await within(pending)).status == 487


async def test_timeout_when_nobody_answers(tls) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    trace = Trace()
    try:
        async with endpoint(tls, timers=FAST, trace=trace) as alice:
            uri = SipURI(host="127.0.0.1", port=silent.getsockname()[1], user="nobody")
            request = out_of_dialog(alice, "OPTIONS", uri, "UDP")
            with pytest.raises(TransactionTimeout, match="Timer F"):
                await within(alice.request(request))
    finally:
        silent.close()
    # E doubles to T2: 0.02, 0.04, 0.08, 0.08 ... until F = 64*T1 = 1.28 s.  A
    # timer never fires early (the record's now is the deadline or later); the
    # loop may run it late, so the upper bounds leave room for a busy machine.
    times = [r.now for r in trace]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    expected = [0.02, 0.04] + [0.08] * (len(gaps) - 2)
    assert len(gaps) >= 8
    assert all(want - 1e-9 <= got < want + 0.05 for got, want in zip(gaps, expected, strict=True))
    assert [r.label for r in trace][1:] == ["retransmission"] * (len(times) - 1)
    assert 1.28 - 0.08 - 0.05 <= times[-1] - times[0] <= 1.28


async def test_transport_failure_when_tcp_connect_is_refused(tls) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    async with endpoint(tls) as alice:
        uri = SipURI(host="127.0.0.1", port=port, params=(("transport", "tcp"),))
        with pytest.raises(TransportFailure):
            await within(alice.request(out_of_dialog(alice, "OPTIONS", uri, "TCP")))
        assert len(alice.layer) == 0


@pytest.mark.parametrize("handler, status", [(None, 501), ("raise", 500)])
async def test_unhandled_requests(tls, handler, status) -> None:
    async def broken(incoming: IncomingRequest) -> Response | None:
        raise RuntimeError("bug in the handler")

    async with endpoint(tls, handler=broken if handler else None) as bob, endpoint(tls) as alice:
        response = await within(alice.request(out_of_dialog(alice, "MESSAGE", target_uri(bob, "UDP"), "UDP")))
    assert response.status == status


async def test_next_hop_is_the_first_route_then_outbound_proxy(tls) -> None:
    handler = Recorder()
    async with endpoint(tls, handler=handler) as proxy, endpoint(tls) as alice:
        request = out_of_dialog(alice, "OPTIONS", SipURI(host="example.com", user="bob"), "UDP")
        request.headers.add("Route", f"<sip:{proxy.local_address('UDP')[0]}:{proxy.local_address('UDP')[1]};lr>")
        assert (await within(alice.request(request))).status == 200
        assert handler.seen[-1].request.uri == SipURI(host="example.com", user="bob")
    async with endpoint(tls, handler=handler) as proxy:
        host, port = proxy.local_address("TCP")
        async with endpoint(tls, outbound_proxy=f"sip:{host}:{port};transport=tcp;lr") as alice:
            request = out_of_dialog(alice, "OPTIONS", SipURI(host="example.com", user="carol"), "UDP")
            assert (await within(alice.request(request))).status == 200
            assert request.top_via.transport == "TCP"
            assert handler.seen[-1].source.transport == "TCP"


async def test_resolve(tls) -> None:
    async with endpoint(tls) as alice:
        assert await alice.resolve("sip:bob@127.0.0.1") == Destination("UDP", "127.0.0.1", 5060)
        assert await alice.resolve("sips:bob@localhost") == Destination("TLS", "127.0.0.1", 5061)
        assert await alice.resolve("127.0.0.1:5070;transport=TCP") == Destination("TCP", "127.0.0.1", 5070)
        assert await alice.resolve("sip:127.0.0.1;maddr=127.0.0.2") == Destination("UDP", "127.0.0.2", 5060)
        with pytest.raises(LocalProtocolError):
            await alice.resolve("tel:+123")
    async with Endpoint(udp_port=None, tcp_port=0) as tcp_only:
        assert (await tcp_only.resolve("sip:127.0.0.1")).transport == "TCP"
        with pytest.raises(LocalProtocolError):
            await tcp_only.resolve("sip:127.0.0.1;transport=udp")


async def test_branch_is_fresh_when_a_request_is_sent_again(tls) -> None:
    async with endpoint(tls, handler=Recorder()) as bob, endpoint(tls) as alice:
        request = out_of_dialog(alice, "OPTIONS", target_uri(bob, "UDP"), "UDP")
        first_branch = request.top_via.branch
        await within(alice.request(request))
        assert request.top_via.branch == first_branch  # the caller's unused branch is kept
        request.headers.set("CSeq", "2 OPTIONS")
        await within(alice.request(request))
        assert request.top_via.branch != first_branch
        assert request.top_via.branch.startswith("z9hG4bK")


async def test_2xx_retransmitted_until_the_ack_arrives(tls) -> None:
    """13.3.1.4 over real UDP: the UAS resends the 200 until the ACK; the UAC's
    layer re-sends the TU's ACK for each retransmitted 200."""
    trace = Trace()
    async with endpoint(tls, handler=Recorder(status=200), timers=FAST, trace=trace) as bob, \
            endpoint(tls, timers=FAST) as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "UDP"), "UDP")
        ok = await within(alice.request(invite))
        await asyncio.sleep(0.1)  # ~3 retransmissions of the 200 (0.02, 0.06, 0.14 ...)
        await alice.send_ack(Dialog.from_uac(invite, ok).create_ack(ok))
        await asyncio.sleep(0.2)
    sent_ok = [r for r in trace if r.direction is Direction.SENT and r.title == "200 OK"]
    assert len(sent_ok) >= 3
    assert all(r.raw == sent_ok[0].raw for r in sent_ok)
    got_ack = [r for r in trace if r.direction is Direction.RECEIVED and r.title == "ACK"]
    assert len(got_ack) >= 1
    # no 200 after the first ACK arrived
    assert max(r.now for r in sent_ok) < got_ack[0].now


async def test_respond_by_request_and_errors(tls) -> None:
    got = asyncio.Queue()

    async def bob_handler(incoming: IncomingRequest) -> None:
        await got.put(incoming)

    async with endpoint(tls, handler=bob_handler) as bob, endpoint(tls) as alice:
        pending = await alice.send_request(out_of_dialog(alice, "MESSAGE", target_uri(bob, "UDP"), "UDP"))
        incoming = await within(got.get())
        bob.respond(incoming.request, make_response(incoming.request, 202, to_tag="x"))
        assert (await within(pending)).status == 202
        with pytest.raises(LocalProtocolError):
            bob.respond(incoming, make_response(incoming.request, 200, to_tag="x"))


async def test_missing_ack_reported_to_the_handler(tls) -> None:
    """13.3.1.4: no ACK within 64*T1 -> ``incoming.ack`` raises (a TimeoutError)."""
    outcome: list[object] = []

    async def bob_handler(incoming: IncomingRequest) -> Response | None:
        if incoming.request.method == "INVITE":
            bob.respond(incoming, make_response(incoming.request, 200, to_tag="b"))
            try:
                outcome.append(await within(incoming.ack))
            except TimeoutError as exc:
                outcome.append(exc)
        return None

    async with endpoint(tls, handler=bob_handler, timers=FAST) as bob, endpoint(tls, timers=FAST) as alice:
        invite = out_of_dialog(alice, "INVITE", target_uri(bob, "TCP"), "TCP")
        assert (await within(alice.request(invite))).status == 200  # and no ACK is sent
        await asyncio.sleep(64 * FAST.t1 + 0.2)
    assert len(outcome) == 1 and isinstance(outcome[0], TransactionTimeout)
