"""Fault injection (issue 5 item 8): the model, its text form, and faults
hitting live requests (respond, drop with retransmissions, delay)."""

from __future__ import annotations

import asyncio

import pytest

from imkit.errors import LocalProtocolError
from imkit.runtime import Endpoint, TransactionTimeout
from imkit.server import Fault, FaultAction, Faults, TestServer, parse_fault
from imkit.sip import parse
from imkit.sip.transaction import Timers
from imkit.trace import Trace
from tests.server.sip_ua import UA, raw_request


def request(method: str = "INVITE", uri: str = "sip:bob@example.com"):
    message = parse(raw_request(method, uri))
    return message


@pytest.mark.parametrize(("spec", "expected"), [
    ("INVITE:503", Fault("INVITE", None, FaultAction.RESPOND, 503, count=1)),
    ("invite:486:2", Fault("INVITE", None, FaultAction.RESPOND, 486, count=2)),
    ("REGISTER:drop:*", Fault("REGISTER", None, FaultAction.DROP, count=None)),
    ("*:delay=2.5@conference-factory", Fault(None, "conference-factory", FaultAction.DELAY, delay=2.5)),
    ("INVITE:480@sip:bob@*", Fault("INVITE", "sip:bob@*", FaultAction.RESPOND, 480)),
])
def test_parse_fault(spec: str, expected: Fault) -> None:
    fault = parse_fault(spec)
    assert (fault.method, fault.to, fault.action, fault.status, fault.delay, fault.count) == (
        expected.method, expected.to, expected.action, expected.status, expected.delay, expected.count)
    # the text form reads back the same
    again = parse_fault(str(fault))
    assert (again.method, again.to, again.action, again.status, again.delay, again.count) == (
        fault.method, fault.to, fault.action, fault.status, fault.delay, fault.count)


@pytest.mark.parametrize("spec", ["INVITE", "INVITE:200", "INVITE:abc", "INVITE:503:x", "ACK:503",
                                  "CANCEL:503", "INVITE:delay=-1", "INVITE:503:0", ":503"])
def test_bad_fault_specs(spec: str) -> None:
    with pytest.raises(LocalProtocolError):
        parse_fault(spec)


def test_matching_and_counting() -> None:
    faults = Faults()
    to_bob = faults.add(method="INVITE", to="bob", status=486, count=2)
    anything = faults.add(status=500, count=None)
    assert faults.take(request("ACK")) is None  # never an ACK
    assert faults.take(request("INVITE", "sip:carol@example.com")) is anything
    assert faults.take(request()) is to_bob
    assert faults.take(request()) is to_bob
    assert to_bob not in list(faults)  # used up
    assert faults.take(request()) is anything
    assert anything.hits == 2
    glob = Faults()
    exact = glob.add(to="sip:bob@example.com", status=503)
    assert glob.take(request("INVITE", "sip:bobby@example.com")) is None
    assert glob.take(request("INVITE", "sip:bob@example.com;transport=tcp")) is exact  # AoR form matches


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_respond_fault_then_normal_service(make_ua, transport) -> None:
    async with TestServer(focus=False) as server:
        server.faults.add(method="INVITE", to="carol", status=503, reason="Overloaded Today")
        alice = await make_ua("alice", transport)
        _, refused, _ = await alice.call("carol", server.address)
        assert (refused.status, refused.reason) == (503, "Overloaded Today")
        assert "carol" not in server.users  # faults apply before anything else
        _, answered, _ = await alice.call("carol", server.address)
        assert answered.status == 200


async def test_drop_fault_drops_retransmissions_too() -> None:
    trace = Trace()
    async with TestServer(trace=trace, focus=False, transports="udp") as server:
        server.faults.add_spec("OPTIONS:drop")
        alice = UA("alice")
        # a short T1: Timer F (64*T1) fires after 1.28 s
        alice.endpoint = Endpoint(host="127.0.0.1", udp_port=0, handler=alice._handle, timers=Timers(t1=0.02, t2=0.08))
        await alice.endpoint.start()
        try:
            with pytest.raises(TransactionTimeout):
                await alice.send(alice.request("OPTIONS", "carol"), server.address)
            dropped = [r for r in trace if (r.label or "").startswith("dropped by fault OPTIONS:drop")]
            assert len(dropped) >= 2  # the request and its retransmissions
            assert not [r for r in trace if r.direction.value == "sent"]  # never a word back
            response = await alice.send(alice.request("OPTIONS", "carol"), server.address)
            assert response.status == 200
        finally:
            await alice.close()


async def test_delay_fault(make_ua) -> None:
    async with TestServer(focus=False) as server:
        server.faults.add(method="INVITE", action="delay", delay=0.3)
        alice = await make_ua("alice")
        loop = asyncio.get_running_loop()
        started = loop.time()
        _, response, _ = await alice.call("carol", server.address)
        assert response.status == 200
        assert loop.time() - started >= 0.3


async def test_a_held_invite_rings_and_can_be_cancelled(make_ua) -> None:
    async with TestServer(focus=False) as server:
        server.faults.add(method="INVITE", action="delay", delay=2.0)
        alice = await make_ua("alice", "tcp")
        pending = await alice.endpoint.send_request(alice.invite("carol"), alice.server_uri(server.address))
        while not pending.provisional:
            await asyncio.sleep(0.01)
        assert pending.provisional[0].status == 100  # held, but the caller may CANCEL (RFC 3261 9.1)
        assert (await alice.endpoint.cancel(pending)).status == 200
        assert (await asyncio.wait_for(pending.response, 5)).status == 487
        assert "carol" not in server.users  # the held INVITE never went on


async def test_respond_after_a_delay(make_ua) -> None:
    async with TestServer(focus=False) as server:
        server.faults.add(method="OPTIONS", status=486, delay=0.3)
        alice = await make_ua("alice")
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await alice.send(alice.request("OPTIONS", "carol"), server.address)
        assert response.status == 486
        assert loop.time() - started >= 0.3
