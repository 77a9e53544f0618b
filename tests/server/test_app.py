"""TestServer itself: addresses, services plugged in through the Service
interface, the server's own answers, locate(), its UAC requests, the trace."""

from __future__ import annotations

import asyncio

import pytest

from imkit.errors import LocalProtocolError
from imkit.runtime import IncomingRequest
from imkit.server import Service, TestServer
from imkit.sip import Request, Response, SipURI
from imkit.sip.builders import make_response
from imkit.sip.transaction import Destination
from imkit.trace import Trace


class EchoService:
    """A service that owns ``sip:svc-*@<domain>`` and answers with ``status``."""

    name = "echo"
    methods = ("INVITE", "MESSAGE")
    events = ("dummy",)

    def __init__(self, status: int = 200, *, fail: bool = False, silent: bool = False) -> None:
        self.status = status
        self.fail = fail
        self.silent = silent
        self.seen: list[Request] = []
        self.closed = False

    def owns(self, request: Request) -> bool:
        return isinstance(request.uri, SipURI) and (request.uri.user or "").startswith("svc-")

    async def handle(self, incoming: IncomingRequest) -> Response | None:
        self.seen.append(incoming.request)
        if incoming.request.method == "ACK" or self.silent:
            return None
        if self.fail:
            raise RuntimeError("broken service")
        return make_response(incoming.request, self.status, to_tag="svc",
                             headers=[("Contact", "<sip:svc@127.0.0.1>")] if self.status < 300 else ())

    async def close(self) -> None:
        self.closed = True


def test_service_protocol() -> None:
    assert isinstance(EchoService(), Service)
    assert not isinstance(object(), Service)


async def test_addresses_and_names() -> None:
    async with TestServer(domain="ims.test", aliases=("alias.test",), focus=False) as server:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        assert server.uri == SipURI(host=host, port=port)
        assert str(server.factory_uri) == "sip:conference-factory@ims.test"
        assert str(server.record_route("tcp")) == f"<sip:{host}:{port};transport=tcp;lr>"
        assert server.is_local_domain("sip:bob@ims.test")
        assert server.is_local_domain("sip:bob@ALIAS.test")
        assert server.is_local_domain(f"sip:bob@{host}:{port}")
        assert not server.is_local_domain(f"sip:bob@{host}:{port + 1}")
        assert not server.is_local_domain("sip:bob@example.com")
        assert not server.is_local_domain("tel:+1555")
        assert server.transports == ("udp", "tcp")
        assert repr(server) == f"<TestServer ims.test udp {host}:{port}, tcp {host}:{port}>"


async def test_not_started_and_bad_settings() -> None:
    server = TestServer(focus=False)
    with pytest.raises(LocalProtocolError):
        server.address  # noqa: B018
    with pytest.raises(LocalProtocolError):
        TestServer(require_auth=True)
    with pytest.raises(LocalProtocolError):
        TestServer(transports="udp,sctp")
    with pytest.raises(LocalProtocolError):
        server.add_service(object())  # type: ignore[arg-type]


async def test_default_server_has_the_focus() -> None:
    async with TestServer() as server:
        assert server.service("focus") is not None
        assert "conference" in server.events


async def test_services_are_asked_first_and_closed(make_ua) -> None:
    service = EchoService()
    async with TestServer(focus=False) as server:
        server.add_service(service)
        alice = await make_ua("alice")
        # owned: the service answers; the 100 Trying came from the core first
        invite = alice.invite("svc-1")
        response = await alice.endpoint.request(invite, alice.server_uri(server.address))
        assert response.status == 200 and response.to.tag == "svc"
        assert service.seen[0].uri == SipURI(host="example.com", user="svc-1")
        await asyncio.sleep(0.05)
        assert "svc-1" not in server.users  # never reached the proxy
        # methods and events of services join the server's own
        options = await alice.send(alice.request("OPTIONS", SipURI(host="example.com")), server.address)
        assert "MESSAGE" in options.headers.get("Allow", "")
        assert options.headers.get("Allow-Events") == "dummy"
        # a SUBSCRIBE for a served package at no service's URI: 404, not 489
        subscribe = alice.request("SUBSCRIBE", SipURI(host="example.com"), headers=[("Event", "dummy")])
        assert (await alice.send(subscribe, server.address)).status == 404
    assert service.closed


async def test_require_is_checked_before_the_service(make_ua) -> None:
    service = EchoService()
    async with TestServer(focus=False) as server:
        server.add_service(service)
        alice = await make_ua("alice")
        response = await alice.send(alice.invite("svc-2", headers=[("Require", "100rel")]), server.address)
        assert response.status == 420
        assert not service.seen


@pytest.mark.parametrize(("kind", "reason"), [("fail", "Server Internal Error"),
                                              ("silent", "Server Internal Error (not answered)")])
async def test_a_broken_service_gives_500(make_ua, kind, reason) -> None:
    async with TestServer(focus=False) as server:
        server.add_service(EchoService(fail=kind == "fail", silent=kind == "silent"))
        alice = await make_ua("alice")
        response = await alice.send(alice.request("MESSAGE", "svc-3"), server.address)
        assert (response.status, response.reason) == (500, reason)


async def test_locate(make_ua) -> None:
    async with TestServer(users={"carol": "answer"}, focus=False) as server:
        bob = await make_ua("bob")
        register = bob.request("REGISTER", SipURI(host="example.com"), to=bob.aor)
        assert (await bob.send(register, server.address)).status == 200
        assert await server.locate("sip:bob@example.com") == bob.contact().uri
        assert await server.locate(SipURI(host="example.com", user="carol")) == server.users["carol"].contact()
        created = await server.locate("sip:newbie@example.com")
        assert created == server.users["newbie"].contact()
        assert await server.locate("sip:x@elsewhere.org") is None
        direct = SipURI(host="127.0.0.1", port=5099, user="x")
        assert await server.locate(direct) == direct
    async with TestServer(core="127.0.0.1:5999", focus=False) as server:
        assert await server.locate("sip:zed@example.com") == Destination("UDP", "127.0.0.1", 5999)


async def test_new_request_is_from_the_server(make_ua) -> None:
    async with TestServer(focus=False) as server:
        bob = await make_ua("bob", "tcp")
        request = server.new_request("OPTIONS", bob.contact().uri, to="<sip:bob@example.com>", transport="tcp")
        host, port = server.address
        text = bytes(request)
        assert text.startswith(f"OPTIONS {bob.contact().uri} SIP/2.0\r\nVia: SIP/2.0/TCP {host}:{port};".encode())
        assert f"Contact: <sip:{host}:{port};transport=tcp>\r\n".encode() in text
        assert b"User-Agent: IM-serv/OMA1.0 " in text
        assert request.from_.tag and request.to.uri == SipURI(host="example.com", user="bob")
        response = await server.require_endpoint().request(request)
        assert response.status == 200
        got = bob.received[-1]
        assert got.top_via.host == host and got.top_via.port == port  # sent from the listening port's identity


async def test_trace_names_the_lanes(make_ua) -> None:
    trace = Trace()
    async with TestServer(trace=trace, focus=False) as server:
        alice = await make_ua("alice")
        await alice.call("carol", server.address)
        assert trace.names[server.address] == "IM server"
        carol = server.users["carol"]
        assert trace.names[carol.endpoint.local_address("UDP")] == "carol"
        titles = [r.title for r in trace]
        assert titles[:2] == ["INVITE", "100 Trying"]
        # each SIP message once: the server's records, none from carol's side
        received_by_carol = [r for r in trace if r.destination == carol.endpoint.local_address("UDP")]
        assert [r.direction.value for r in received_by_carol] == ["sent"] * len(received_by_carol)


async def test_start_and_close_are_idempotent() -> None:
    server = TestServer(focus=False)
    await server.start()
    assert await server.start() is server
    await server.close()
    await server.close()
