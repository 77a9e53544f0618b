"""Test helpers for the focus: a :class:`TestServer` with a configured
:class:`Focus`, and plain-Endpoint clients.

The server is the real core (registrar, proxy, simulated users); the focus
is added with the test's :class:`FocusConfig` and groups.  Clients REGISTER,
so the focus finds them with ``server.locate``; users nobody registered are
simulated users (silent ones, see :func:`start_server`).

:class:`Client` is an imkit :class:`~imkit.runtime.Endpoint` acting as an IM
Client: it sends INVITE / SUBSCRIBE / REFER / BYE built with the engine's
builders, answers the focus's INVITEs (MSRP answer), NOTIFYs and BYEs, and
keeps everything it received, so tests can check the bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from imkit.msrp import MSRPSession, cpim
from imkit.msrp.events import MessageReceived
from imkit.msrp.session import Role as MSRPRole
from imkit.payloads.resource_lists import CONTENT_TYPE as LIST_TYPE
from imkit.payloads.resource_lists import DISPOSITION, Entry, ResourceLists
from imkit.runtime import Endpoint, IncomingRequest
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener
from imkit.server import TestServer
from imkit.server.behaviour import Behaviour
from imkit.server.focus import Focus, FocusConfig
from imkit.server.groups import GroupDefinition
from imkit.sip import BodyPart, Multipart, NameAddr, Request, Response, SipURI
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog
from imkit.sip.sdp import (
    ActiveSide,
    SessionDescription,
    Setup,
    build_msrp_answer,
    build_msrp_offer,
    msrp_active_side,
    msrp_media,
)
from imkit.sip.transaction import Destination

DOMAIN = "example.com"
WAIT = 10.0


async def start_server(*, config: FocusConfig | None = None, groups: Iterable[GroupDefinition] = (),
                       users: dict[str, str] | None = None, **settings: Any) -> TestServer:
    """A :class:`TestServer` on 127.0.0.1 (UDP and TCP) with a :class:`Focus`
    configured by ``config`` and ``groups``; simulated users created on demand
    keep silent (an echoing user would answer every other participant's echo)."""
    settings.setdefault("max_users", 300)
    server = TestServer(DOMAIN, focus=False, users=users, **settings)
    server.users.default = Behaviour.of("answer+silent")
    await server.start()
    server.add_service(Focus(server, config=config, groups=groups))
    return server


def focus_of(server: TestServer) -> Focus:
    focus = server.service("focus")
    assert isinstance(focus, Focus)
    return focus


def server_destination(server: TestServer, transport: str) -> Destination:
    host, port = server.address
    return Destination(transport.upper(), host, port)


@dataclass(eq=False)
class Call:
    """A client's INVITE session with the focus."""

    client: Client
    dialog: Dialog
    request: Request
    response: Response
    channel: MSRPChannel | None = None
    listener: MSRPListener | None = None

    @property
    def identity(self) -> SipURI:
        """The IM Session Identity (the focus's Contact, without parameters)."""
        uri = self.dialog.remote_target
        assert isinstance(uri, SipURI)
        return uri.replace(params=())

    async def send(self, text: str, *, success_report: bool = False) -> str:
        assert self.channel is not None
        body = cpim.wrap(text.encode(), "text/plain;charset=UTF-8", from_=str(self.client.aor),
                         to=str(self.identity))
        if success_report:
            return await self.channel.send_and_wait(bytes(body), "message/cpim", success_report=True)
        return await self.channel.send(bytes(body), "message/cpim")

    async def receive(self, timeout: float = WAIT) -> tuple[MessageReceived, cpim.CPIMMessage]:
        assert self.channel is not None
        while True:
            event = await asyncio.wait_for(self.channel.receive(), timeout)
            if isinstance(event, MessageReceived) and event.body:
                return event, cpim.unwrap(event.body)

    async def in_dialog(self, method: str, rows: Sequence[tuple[str, str]] = (), body: bytes = b"",
                      content_type: str | None = None) -> tuple[Request, Response]:
        request = self.dialog.create_request(method, headers=list(rows), body=body, content_type=content_type,
                                             via=self.client.endpoint.new_via(self.client.transport))
        response = await self.client.endpoint.request(request)
        self.dialog.receive_response(request, response)
        return request, response

    async def bye(self) -> Response:
        _, response = await self.in_dialog("BYE")
        await self.close_msrp()
        return response

    async def close_msrp(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.listener is not None:
            await self.listener.close()


@dataclass(eq=False)
class ClientSubscription:
    """A client's conference subscription: its dialog and the NOTIFYs that came."""

    client: Client
    request: Request
    response: Response
    dialog: Dialog | None
    notifies: asyncio.Queue[Request] = field(default_factory=asyncio.Queue)

    async def next(self, timeout: float = WAIT) -> Request:
        return await asyncio.wait_for(self.notifies.get(), timeout)


class Client:
    """A plain imkit Endpoint acting as an IM Client towards the focus."""

    def __init__(self, name: str, server: TestServer, transport: str = "UDP", *,
                 answer: int = 200, register: bool = True, proxy: str | None = None) -> None:
        self.name = name
        #: an outbound proxy (Kamailio): every request goes there
        self.proxy = proxy
        self.server = server
        self.transport = transport.upper()
        self.aor = SipURI(host=DOMAIN, user=name)
        self.answer = answer
        self.register = register
        self.received: list[Request] = []
        self.invited: asyncio.Queue[Call] = asyncio.Queue()
        self.byes: asyncio.Queue[Request] = asyncio.Queue()
        self._notify_queues: dict[str, asyncio.Queue[Request]] = {}
        self._calls: dict[str, Call] = {}

    async def start(self) -> Client:
        self.endpoint = Endpoint(host="127.0.0.1", udp_port=0, tcp_port=0, handler=self._handle,
                                 outbound_proxy=self.proxy)
        await self.endpoint.start()
        if self.register:
            request = self._request("REGISTER", SipURI(host=DOMAIN), rows=[("Expires", "600")])
            request.headers.set("To", str(NameAddr(self.aor)))
            response = await self.send(request)
            assert response.status == 200, response
        return self

    @property
    def contact(self) -> SipURI:
        return self.endpoint.contact_uri(self.name, self.transport)

    async def close(self) -> None:
        for call in list(self._calls.values()):
            await call.close_msrp()
        await self.endpoint.close()

    # -- requests to the focus ----------------------------------------------------

    def _request(self, method: str, uri: SipURI, *, rows: Iterable[tuple[str, str]] = (), body: bytes = b"",
                 content_type: str | None = None, display: str | None = None) -> Request:
        return new_request(
            method, uri,
            from_addr=NameAddr(self.aor, display).with_tag(self.endpoint.ids.tag()),
            to_addr=NameAddr(uri.replace(params=())),
            call_id=self.endpoint.ids.call_id("127.0.0.1"), cseq=1,
            via=self.endpoint.new_via(self.transport),
            contact=NameAddr(self.contact), headers=list(rows), body=body, content_type=content_type,
        )

    async def send(self, request: Request, destination: Destination | None = None) -> Response:
        if destination is None and self.proxy is None:
            destination = server_destination(self.server, self.transport)
        return await self.endpoint.request(request, destination)

    async def invite(
        self,
        uri: SipURI,
        *,
        invitees: Sequence[str | Entry] = (),
        privacy: bool = False,
        timer: bool = True,
        rows: Iterable[tuple[str, str]] = (),
        display: str | None = None,
        setup: Setup = Setup.ACTPASS,
        destination: Destination | None = None,
    ) -> Call | Response:
        """INVITE ``uri``; a :class:`Call` on 2xx (MSRP up), else the response."""
        listener = await MSRPListener.start()
        path = str(listener.uri())
        offer = build_msrp_offer(path=path, session_id=7, accept_types=("message/cpim", "text/plain"),
                                 setup=setup)
        headers = list(rows)
        headers.append(("Accept-Contact", "*;+g.oma.sip-im"))
        if timer:
            headers += [("Supported", "timer"), ("Session-Expires", "1800;refresher=uac")]
        if privacy:
            headers.append(("Privacy", "id"))
        if invitees:
            headers.append(("Require", "recipient-list-invite"))
            listing = ResourceLists.from_uris(list(invitees)).to_xml()
            body = Multipart([BodyPart.build(bytes(offer), "application/sdp"),
                              BodyPart.build(listing, LIST_TYPE, disposition=DISPOSITION)])
            payload, content_type = bytes(body), body.content_type
        else:
            payload, content_type = bytes(offer), "application/sdp"
        request = self._request("INVITE", uri, rows=headers, body=payload, content_type=content_type,
                                display=display)
        response = await self.send(request, destination)
        if not response.is_success:
            await listener.close()
            return response
        dialog = Dialog.from_uac(request, response, ids=self.endpoint.ids)
        await self.endpoint.send_ack(dialog.create_ack(response, via=self.endpoint.new_via(self.transport)))
        answer = SessionDescription.parse(response.body)
        answered = msrp_media(answer)
        active = msrp_active_side(offer, answer) is ActiveSide.OFFERER
        session = MSRPSession([path], answered.path, MSRPRole.ACTIVE if active else MSRPRole.PASSIVE,
                              accept_types=("message/cpim", "text/plain"),
                              remote_accept_types=answered.accept_types)
        call = Call(self, dialog, request, response)
        if active:
            await listener.close()
            call.channel = await MSRPChannel.connect(session)
        else:
            call.listener = listener
            call.channel = listener.accept(session)
        self._calls[dialog.call_id] = call
        return call

    async def subscribe(self, uri: SipURI, *, expires: int | None = 600, event: str = "conference",
                        rows: Iterable[tuple[str, str]] = ()) -> ClientSubscription:
        headers = [("Event", event), *rows]
        if not any(name.lower() == "accept" for name, _ in headers):
            headers.append(("Accept", "application/conference-info+xml"))
        if expires is not None:
            headers.append(("Expires", str(expires)))
        request = self._request("SUBSCRIBE", uri, rows=headers)
        queue: asyncio.Queue[Request] = asyncio.Queue()
        self._notify_queues[request.call_id or ""] = queue
        response = await self.send(request, self._target(uri))
        dialog = Dialog.from_uac(request, response, ids=self.endpoint.ids) if response.is_success else None
        return ClientSubscription(self, request, response, dialog, queue)

    async def resubscribe(self, subscription: ClientSubscription, expires: int) -> Response:
        assert subscription.dialog is not None
        request = subscription.dialog.create_request(
            "SUBSCRIBE", headers=[("Event", "conference"), ("Expires", str(expires))],
            via=self.endpoint.new_via(self.transport))
        response = await self.endpoint.request(request)
        subscription.dialog.receive_response(request, response)
        return response

    async def refer(self, uri: SipURI, refer_to: str, *, rows: Iterable[tuple[str, str]] = (),
                    body: bytes = b"", content_type: str | None = None,
                    call: Call | None = None) -> tuple[Request, Response, asyncio.Queue[Request]]:
        """REFER out of dialog to ``uri`` (or inside ``call``'s dialog)."""
        headers = [("Refer-To", refer_to), *rows]
        if call is not None:
            request = call.dialog.create_request("REFER", headers=headers, body=body, content_type=content_type,
                                                 via=self.endpoint.new_via(self.transport))
            queue = self._notify_queues.setdefault(request.call_id or "", asyncio.Queue())
            response = await self.endpoint.request(request)
            call.dialog.receive_response(request, response)
            return request, response, queue
        request = self._request("REFER", uri, rows=headers, body=body, content_type=content_type)
        queue = asyncio.Queue()
        self._notify_queues[request.call_id or ""] = queue
        response = await self.send(request, self._target(uri))
        return request, response, queue

    def _target(self, uri: SipURI) -> Destination | None:
        if uri.port is not None or self.proxy is not None:
            return None
        return server_destination(self.server, self.transport)

    def identity_uri(self, call: Call) -> SipURI:
        """The identity as this client would send to it (transport kept)."""
        uri = call.response.contact[0].uri
        assert isinstance(uri, SipURI)
        return uri

    # -- requests from the focus ------------------------------------------------------

    async def _handle(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        self.received.append(request)
        method = request.method
        if method == "ACK":
            return None
        tag = self.endpoint.ids.tag()
        if method == "NOTIFY":
            queue = self._notify_queues.get(request.call_id or "")
            if queue is None:
                return make_response(request, 481, to_tag=tag)
            queue.put_nowait(request)
            return make_response(request, 200, to_tag=tag)
        if method == "BYE":
            self.byes.put_nowait(request)
            call = self._calls.pop(request.call_id or "", None)
            if call is not None:
                asyncio.ensure_future(call.close_msrp())
            return make_response(request, 200)
        if method == "INVITE" and not (request.to is not None and request.to.tag):
            return await self._invited(incoming)
        if method == "INVITE":
            call = self._calls.get(request.call_id or "")
            body = b"" if call is None else call.response.body
            return make_response(request, 200, headers=[("Contact", str(NameAddr(self.contact)))],
                                 body=body, content_type="application/sdp" if body else None)
        return make_response(request, 405, to_tag=tag)

    async def _invited(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if self.answer != 200:
            return make_response(request, self.answer, to_tag=self.endpoint.ids.tag())
        offer = SessionDescription.parse(request.body)
        offered = msrp_media(offer)
        listener = await MSRPListener.start()
        path = str(listener.uri())
        answer = build_msrp_answer(offer, path=path, session_id=9,
                                   accept_types=("message/cpim", "text/plain"), prefer=Setup.PASSIVE)
        active = msrp_active_side(offer, answer) is ActiveSide.ANSWERER
        session = MSRPSession([path], offered.path, MSRPRole.ACTIVE if active else MSRPRole.PASSIVE,
                              accept_types=("message/cpim", "text/plain"),
                              remote_accept_types=offered.accept_types)
        response = make_response(request, 200, to_tag=self.endpoint.ids.tag(),
                                 headers=[("Contact", str(NameAddr(self.contact)))],
                                 body=bytes(answer), content_type="application/sdp")
        dialog = Dialog.from_uas(request, response, local_via=self.endpoint.new_via(self.transport),
                                 ids=self.endpoint.ids)
        call = Call(self, dialog, request, response)
        if active:
            await listener.close()
        else:
            call.listener = listener
            call.channel = listener.accept(session)
        self._calls[dialog.call_id] = call
        self.endpoint.respond(incoming, response)
        if active:
            call.channel = await MSRPChannel.connect(session)
        self.invited.put_nowait(call)
        return None


async def eventually(predicate: Any, timeout: float = WAIT, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` is true (fail after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
