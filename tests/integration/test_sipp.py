"""imkit's endpoint against sipp (Debian sip-tester), a SIP implementation
that is not ours, over UDP and TCP on 127.0.0.1.

* sipp as UAS (tests/integration/sipp/uas_msrp.xml): imkit sends an INVITE
  with an MSRP offer, sipp checks the offer's m=message and a=path lines and
  answers 180, 200 with an MSRP answer; imkit ACKs and sends BYE in the dialog.
* sipp as UAC (built-in ``-sn uac``): it calls an imkit endpoint that answers;
  sipp ACKs and hangs up.  Its exit code says whether every message it
  expected came.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from imkit.runtime import Endpoint
from imkit.sip import NameAddr, SipURI
from imkit.sip.builders import new_request
from imkit.sip.dialog import Dialog
from imkit.sip.ids import new_call_id, new_tag
from imkit.sip.sdp import SessionDescription, build_msrp_offer, msrp_media
from imkit.trace import Direction, Trace
from tests.runtime.sip_peers import Recorder
from tests.support.ports import free_tcp_port, free_udp_port

pytestmark = pytest.mark.integration

UAS_SCENARIO = Path(__file__).parent / "sipp" / "uas_msrp.xml"
SIPP_TRANSPORT = {"UDP": "u1", "TCP": "t1"}


async def wait_exit(proc, timeout: float = 15.0) -> int:
    return await asyncio.to_thread(proc.wait, timeout)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_imkit_invites_sipp_uas_with_msrp_offer(sipp, transport) -> None:
    port = free_udp_port() if transport == "UDP" else free_tcp_port()
    proc = sipp.start(UAS_SCENARIO, port, transport=SIPP_TRANSPORT[transport])
    trace = Trace()
    provisional: list[int] = []
    async with Endpoint(udp_port=0, tcp_port=0, trace=trace) as alice:
        msrp_port = 7394
        offer = build_msrp_offer(path=f"msrp://127.0.0.1:{msrp_port}/imkit1;tcp", session_id=1)
        params = () if transport == "UDP" else (("transport", "tcp"),)
        invite = new_request(
            "INVITE", SipURI(host="127.0.0.1", port=port, user="sipp", params=params),
            from_addr=NameAddr(SipURI(host="example.com", user="alice")).with_tag(new_tag()),
            to_addr=NameAddr(SipURI(host="example.com", user="sipp")),
            call_id=new_call_id("127.0.0.1"), cseq=1,
            via=alice.new_via(transport),
            contact=NameAddr(alice.contact_uri("alice", transport)),
            headers=[("Accept-Contact", "*;+g.oma.sip-im")],
            body=bytes(offer), content_type="application/sdp",
        )
        ok = await asyncio.wait_for(
            alice.request(invite, on_provisional=lambda r: provisional.append(r.status)), 10
        )
        assert ok.status == 200, proc.describe()
        assert 180 in provisional
        answer = msrp_media(SessionDescription.parse(ok.body))
        assert answer.uri.startswith("msrp://127.0.0.1:2855/sipp")
        dialog = Dialog.from_uac(invite, ok)
        await alice.send_ack(dialog.create_ack(ok))
        bye_ok = await asyncio.wait_for(alice.request(dialog.create_request("BYE")), 10)
        assert bye_ok.status == 200
        assert await wait_exit(proc) == 0, proc.describe()
    titles = [(r.direction, r.title) for r in trace]
    assert titles[0] == (Direction.SENT, "INVITE")
    assert (Direction.SENT, "ACK") in titles and (Direction.SENT, "BYE") in titles
    assert all(r.transport.value == transport for r in trace)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_sipp_uac_calls_imkit(sipp, transport) -> None:
    handler = Recorder(transport=transport)
    trace = Trace()
    async with Endpoint(udp_port=0, tcp_port=0, handler=handler, trace=trace) as bob:
        handler.endpoint = bob
        host, port = bob.local_address(transport)
        sipp_port = free_udp_port() if transport == "UDP" else free_tcp_port()
        proc = sipp.start(
            "uac", sipp_port, wait_bound=False, remote=f"{host}:{port}",
            transport=SIPP_TRANSPORT[transport], extra=["-s", "bob"],
        )
        assert await wait_exit(proc) == 0, proc.describe()
        await asyncio.sleep(0.05)
    assert handler.methods() == ["INVITE", "ACK", "BYE"]
    invite = handler.seen[0]
    # the ACK reached the INVITE's server transaction, stopping the 2xx retransmissions
    assert invite.ack.done() and invite.ack.result().method == "ACK"
    sent = [r.title for r in trace if r.direction is Direction.SENT]
    assert sent[:2] == ["100 Trying", "200 OK"]
    assert sent.count("200 OK") >= 2  # the INVITE's and the BYE's
