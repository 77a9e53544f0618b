"""A small SIP user agent for the server tests: an imkit Endpoint that sends
what a test builds and answers what it receives (INVITE 200 with an MSRP
answer, BYE 200), keeping every request it got so tests can check bytes.

Also raw-socket helpers (``udp_exchange`` / ``tcp_exchange``) for the
malformed-input battery.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from imkit.msrp import MSRPSession
from imkit.msrp.events import MessageReceived
from imkit.msrp.session import Role as MSRPRole
from imkit.runtime import Endpoint, IncomingRequest
from imkit.runtime.msrp_transport import MSRPChannel
from imkit.sip import NameAddr, Request, Response, SipURI, parse
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog
from imkit.sip.sdp import (
    SessionDescription,
    build_msrp_answer,
    build_msrp_offer,
    msrp_media,
)

DOMAIN = "example.com"
WAIT = 10.0


def sdp_offer(port: int = 9, session: str = "s1") -> bytes:
    return bytes(build_msrp_offer(path=f"msrp://127.0.0.1:{port}/{session};tcp", session_id=1))


@dataclass(eq=False)
class UA:
    """One user agent: ``sip:<name>@example.com`` on an Endpoint."""

    name: str
    transport: str = "udp"
    answer: int = 200
    endpoint: Endpoint = field(init=False)
    received: list[Request] = field(default_factory=list)
    incoming: asyncio.Queue[IncomingRequest] = field(default_factory=asyncio.Queue)
    dialogs: list[Dialog] = field(default_factory=list)
    uas_dialogs: list[Dialog] = field(default_factory=list)

    async def start(self) -> UA:
        udp = 0 if self.transport == "udp" else None
        tcp = 0 if self.transport == "tcp" else None
        self.endpoint = Endpoint(host="127.0.0.1", udp_port=udp, tcp_port=tcp, handler=self._handle)
        await self.endpoint.start()
        return self

    async def close(self) -> None:
        await self.endpoint.close()

    @property
    def aor(self) -> SipURI:
        return SipURI(host=DOMAIN, user=self.name)

    def contact(self) -> NameAddr:
        return NameAddr(self.endpoint.contact_uri(self.name, self.transport.upper()))

    def server_uri(self, address: tuple[str, int], user: str | None = None) -> SipURI:
        host, port = address
        params = () if self.transport == "udp" else (("transport", "tcp"),)
        return SipURI(host=host, port=port, user=user, params=params)

    def request(self, method: str, uri: SipURI | str, *, to: SipURI | None = None,
                headers: Sequence[tuple[str, str]] = (), body: bytes = b"",
                content_type: str | None = None, contact: bool = True, cseq: int = 1) -> Request:
        target = uri if isinstance(uri, SipURI) else SipURI(host=DOMAIN, user=uri)
        ids = self.endpoint.ids
        return new_request(
            method, target, from_addr=NameAddr(self.aor).with_tag(ids.tag()),
            to_addr=NameAddr(to or target), call_id=ids.call_id("127.0.0.1"), cseq=cseq,
            via=self.endpoint.new_via(self.transport.upper()),
            contact=self.contact() if contact else None, headers=headers, body=body,
            content_type=content_type,
        )

    def invite(self, uri: SipURI | str, *, headers: Sequence[tuple[str, str]] = (),
               body: bytes | None = None) -> Request:
        return self.request("INVITE", uri, headers=[("Supported", "timer"), *headers],
                            body=sdp_offer() if body is None else body, content_type="application/sdp")

    async def send(self, request: Request, server: tuple[str, int]) -> Response:
        return await self.endpoint.request(request, self.server_uri(server))

    async def call(self, uri: SipURI | str, server: tuple[str, int], **kw: object) -> tuple[Request, Response, Dialog | None]:
        """INVITE; ACK a 2xx.  Returns the INVITE, its final response and the dialog."""
        invite = self.invite(uri, **kw)  # type: ignore[arg-type]
        response = await asyncio.wait_for(self.send(invite, server), WAIT)
        if not response.is_success:
            return invite, response, None
        dialog = Dialog.from_uac(invite, response, ids=self.endpoint.ids)
        await self.endpoint.send_ack(dialog.create_ack(response))
        self.dialogs.append(dialog)
        return invite, response, dialog

    async def in_dialog(self, dialog: Dialog, method: str, **kw: object) -> Response:
        request = dialog.create_request(method, **kw)  # type: ignore[arg-type]
        response = await asyncio.wait_for(self.endpoint.request(request), WAIT)
        dialog.receive_response(request, response)
        if method == "INVITE" and response.is_success:
            await self.endpoint.send_ack(dialog.create_ack(response))
        return response

    async def next_request(self, method: str | None = None, timeout: float = WAIT) -> IncomingRequest:
        while True:
            incoming = await asyncio.wait_for(self.incoming.get(), timeout)
            if method is None or incoming.request.method == method:
                return incoming

    async def _handle(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        self.received.append(request)
        self.incoming.put_nowait(incoming)
        if request.method == "ACK":
            return None
        tag = self.endpoint.ids.tag()
        if request.method == "INVITE" and not (request.to and request.to.tag):
            if self.answer != 200:
                return make_response(request, self.answer, to_tag=tag)
            offer = SessionDescription.parse(request.body)
            answer = build_msrp_answer(offer, path=f"msrp://127.0.0.1:9/{self.name};tcp", session_id=2)
            response = make_response(request, 200, to_tag=tag, headers=[("Contact", str(self.contact()))],
                                     body=bytes(answer), content_type="application/sdp")
            self.uas_dialogs.append(Dialog.from_uas(
                request, response, local_via=self.endpoint.new_via(self.transport.upper()),
                ids=self.endpoint.ids))
            return response
        if request.method == "INVITE" and request.body:
            # a re-INVITE (a refresh): answer its offer
            answer = build_msrp_answer(SessionDescription.parse(request.body),
                                       path=f"msrp://127.0.0.1:9/{self.name};tcp", session_id=2)
            rows = [("Contact", str(self.contact()))]
            if "Session-Expires" in request.headers:
                # RFC 4028 section 9: the 2xx to a refresh echoes the interval and refresher
                rows.append(("Session-Expires", request.headers.get("Session-Expires", "")))
            return make_response(request, 200, to_tag=tag, headers=rows,
                                 body=bytes(answer), content_type="application/sdp")
        return make_response(request, 200, to_tag=tag,
                             headers=[("Contact", str(self.contact()))] if request.method == "INVITE" else ())


async def chat(answer_sdp: bytes, local_port: int = 9) -> MSRPChannel:
    """Connect to the MSRP path of an answer (we offered, the answerer is passive)."""
    answered = msrp_media(SessionDescription.parse(answer_sdp))
    session = MSRPSession([f"msrp://127.0.0.1:{local_port}/s1;tcp"], list(answered.path), MSRPRole.ACTIVE,
                          remote_accept_types=answered.accept_types)
    channel = await MSRPChannel.connect(session)
    await channel.wait_bound(WAIT)
    return channel


async def next_text(channel: MSRPChannel) -> MessageReceived:
    while True:
        event = await asyncio.wait_for(channel.receive(), WAIT)
        if isinstance(event, MessageReceived) and event.body:
            return event


# ---------------------------------------------------------------- raw sockets

def udp_exchange(address: tuple[str, int], data: bytes, timeout: float = 2.0) -> bytes | None:
    """Send one datagram; the first datagram back (skipping 100 Trying), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        sock.sendto(data, address)
        while True:
            try:
                reply = sock.recv(65535)
            except TimeoutError:
                return None
            if b" 100 " not in reply.split(b"\r\n", 1)[0]:
                return reply


def tcp_exchange(address: tuple[str, int], data: bytes, timeout: float = 2.0) -> bytes | None:
    """Send on a new connection; the first complete message back (skipping
    100 Trying), or None when the server closed or said nothing."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65535)
            except TimeoutError:
                return None
            if not chunk:
                return None
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip() or 0)
                if len(rest) < length:
                    break
                message, buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
                if b" 100 " not in message.split(b"\r\n", 1)[0]:
                    return message


def raw_request(method: str, uri: str, *, transport: str = "UDP", port: int = 9, extra: str = "",
                body: bytes = b"", drop: Sequence[str] = (), version: str = "SIP/2.0",
                max_forwards: str = "70", branch: str = "z9hG4bKraw1") -> bytes:
    """A request written by hand (``drop`` leaves header rows out)."""
    rows = [
        ("Via", f"SIP/2.0/{transport} 127.0.0.1:{port};branch={branch};rport"),
        ("Max-Forwards", max_forwards),
        ("From", "<sip:mallory@example.com>;tag=m1"),
        ("To", f"<{uri}>"),
        ("Call-ID", f"raw-{branch}@127.0.0.1"),
        ("CSeq", f"1 {method}"),
        ("Contact", f"<sip:mallory@127.0.0.1:{port}>"),
    ]
    text = f"{method} {uri} {version}\r\n"
    text += "".join(f"{name}: {value}\r\n" for name, value in rows if name not in drop)
    text += extra
    text += f"Content-Length: {len(body)}\r\n\r\n"
    return text.encode() + body


def parse_reply(data: bytes | None) -> Response:
    assert data is not None, "no answer"
    message = parse(data)
    assert isinstance(message, Response)
    return message
