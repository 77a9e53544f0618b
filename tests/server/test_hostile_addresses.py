"""Requests whose headers point at hosts that are not ours (Route, Via,
Contact, Refer-To, Record-Route, a foreign Request-URI): the server must
neither crash nor hang, must answer what it can, and must still answer
OPTIONS afterwards.  Some of these make the server try to send elsewhere,
so the module runs only inside a network namespace that has nothing but
loopback (``hostile`` marker; see tests/integration/test_hostile_in_netns.py):
any packet for a foreign address fails on the spot and reaches nobody.
"""

from __future__ import annotations

import asyncio

import pytest

from imkit.server import TestServer
from tests.server.sip_ua import parse_reply, raw_request, sdp_offer, tcp_exchange, udp_exchange

pytestmark = pytest.mark.hostile

FOREIGN = "93.184.216.34"  # documentation-style public address; unreachable in the netns
H = "{h}"

#: name -> (request, status expected or None when any answer (or none) is fine)
HOSTILE: dict[str, tuple[bytes, int | None]] = {
    # the server may forward to loopback addresses only: a foreign one is refused
    "foreign Request-URI": (raw_request("OPTIONS", f"sip:bob@{FOREIGN}"), 480),
    "foreign domain name": (raw_request("OPTIONS", "sip:bob@biloxi.example.org"), 404),
    "Route to a foreign host": (raw_request("OPTIONS", "sip:bob@example.com", extra=f"Route: <sip:{FOREIGN};lr>\r\n"), None),
    "Via sent-by foreign, no rport": (raw_request("OPTIONS", f"sip:{H}").replace(
        b"127.0.0.1:9;branch=z9hG4bKraw1;rport", f"{FOREIGN}:5060;branch=z9hG4bKraw2".encode()), None),
    "Contact foreign in INVITE": (raw_request(
        "INVITE", "sip:bob@example.com", body=sdp_offer(), extra="Content-Type: application/sdp\r\n",
        branch="z9hG4bKraw3").replace(b"<sip:mallory@127.0.0.1:9>", f"<sip:mallory@{FOREIGN}:5060>".encode()), None),
    "Record-Route foreign in INVITE": (raw_request(
        "INVITE", "sip:carol@example.com", body=sdp_offer(), branch="z9hG4bKraw4",
        extra=f"Record-Route: <sip:{FOREIGN};lr>\r\nContent-Type: application/sdp\r\n"), None),
    "SUBSCRIBE with a foreign Contact": (raw_request(
        "SUBSCRIBE", "sip:group-friends@example.com", branch="z9hG4bKraw5",
        extra="Event: conference\r\nExpires: 60\r\n").replace(
        b"<sip:mallory@127.0.0.1:9>", f"<sip:mallory@{FOREIGN}>".encode()), None),
    "REFER out of dialog to a foreign target": (raw_request(
        "REFER", "sip:conf-nosuch@example.com", branch="z9hG4bKraw6",
        extra=f"Refer-To: <sip:victim@{FOREIGN}>\r\n"), None),
}


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_foreign_addresses_do_not_break_the_server(transport: str) -> None:
    async with TestServer(domain="example.com") as server:
        host, port = server.address
        exchange = udp_exchange if transport == "UDP" else tcp_exchange
        loop = asyncio.get_running_loop()
        for index, (name, (template, status)) in enumerate(HOSTILE.items()):
            # each case is a transaction of its own: a branch and Call-ID of its own
            data = template.replace(b"{h}", f"{host}:{port}".encode()).replace(
                b"z9hG4bKraw", f"z9hG4bK{transport}{index}x".encode())
            if transport == "TCP":
                data = data.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
            reply = await loop.run_in_executor(None, exchange, (host, port), data, 3.0)
            if status is not None:
                answer = parse_reply(reply)
                assert answer.status == status, f"{name}: {answer.status} {answer.reason}"
        options = raw_request("OPTIONS", f"sip:{host}:{port}", branch="z9hG4bKafter").replace(
            b"SIP/2.0/UDP", f"SIP/2.0/{transport}".encode())
        reply = await loop.run_in_executor(None, exchange, (host, port), options, 3.0)
        assert parse_reply(reply).status == 200
