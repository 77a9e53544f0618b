"""The focus behind a real SIP/IP Core (Kamailio, proxy.cfg): the factory URI and
the IM Session Identity (the IM server's own host:port) are both routed to the
IM server, and the focus's in-dialog requests follow Kamailio's Record-Route."""

from __future__ import annotations

import asyncio

import pytest

from imkit.payloads.conference_info import ConferenceInfo, State
from tests.server.focus_harness import Call, Client, eventually, focus_of, start_server

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_conference_through_kamailio(kamailio, free_udp_tcp_port, transport: str) -> None:  # type: ignore[no-untyped-def]
    port = free_udp_tcp_port
    proxy = kamailio.proxy(f"127.0.0.1:{port}:udp", unregistered_to_im_server=True)
    server = await start_server(port=port)
    alice = Client("alice", server, transport.upper(), register=False, proxy=proxy.uri(transport))
    await alice.start()
    try:
        call = await alice.invite(server.factory_uri, invitees=["sip:bob@example.com", "sip:carol@example.com"])
        assert isinstance(call, Call), call
        record_route = call.response.headers.get_all("Record-Route")
        assert record_route and all(f":{proxy.port}" in value for value in record_route)
        assert call.identity.user is not None and call.identity.user.startswith("conf-")
        assert (call.identity.host, call.identity.port) == server.address
        conference = focus_of(server).conferences[call.identity.user]
        await eventually(lambda: len(conference.participants) == 3)
        # SUBSCRIBE to the identity goes through Kamailio (its host:port is the IM server's)
        subscription = await alice.subscribe(alice.identity_uri(call))
        assert subscription.response.status == 200
        notify = await subscription.next()
        assert ConferenceInfo.from_xml(notify.body).state is State.FULL
        # the focus's NOTIFY came back along the route set, through Kamailio
        assert notify.via[0].port == proxy.port
        await call.send("via the core")
        bob = server.users["bob"]
        await eventually(lambda: any(line.text == "via the core" for line in bob.messages))
        bye = await call.bye()
        assert bye.status == 200
        partial = await subscription.next()
        assert b'state="deleted"' in partial.body and b"sip:alice@example.com" in partial.body
        await asyncio.sleep(0)
    finally:
        await server.close()
        await alice.close()
    assert "imkit-proxy" in proxy.log()
