"""Benchmark: the test IM Server's conference focus with many simulated users.

For each roster size N (``--sizes``, default 10, 100, 200) an embedded
:class:`imkit.server.TestServer` runs; one imkit endpoint, alice, INVITEs the
conference factory with a URI list of N-1 simulated users (RFC 5366, all
answering at once and staying silent) and subscribes to the conference event
package.  Measured:

``200 OK``
    seconds from sending the INVITE to its 200 (the conference exists);
``fully joined``
    seconds from sending the INVITE until all N participants are in the
    roster (every dial-out answered, ACKed and joined);
``full NOTIFY``
    bytes of the first NOTIFY (``state="full"``) once everyone is in;
``join NOTIFY``
    bytes of the NOTIFY one more participant's join causes (a
    ``state="partial"`` document holding that user only): it must not grow
    with the roster;
``leave NOTIFY``
    bytes of the NOTIFY that participant's BYE causes.

Sizes count the whole NOTIFY (start line, headers, body).  One sample per
size: a wall-clock measurement on loopback, not a micro-benchmark.  Prints a
table (``--markdown`` for BENCHMARKS.md).

Run::

    .venv/bin/python bench/bench_conference.py [--sizes 10,100,200] [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from dataclasses import dataclass

from imkit.msrp import MSRPSession
from imkit.msrp.session import Role as MSRPRole
from imkit.payloads.conference_info import ConferenceInfo, State
from imkit.payloads.resource_lists import CONTENT_TYPE as LIST_TYPE
from imkit.payloads.resource_lists import DISPOSITION, ResourceLists
from imkit.runtime import Endpoint, IncomingRequest
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener
from imkit.server import TestServer
from imkit.server.behaviour import Behaviour
from imkit.server.focus import Focus, FocusConfig
from imkit.sip import BodyPart, Multipart, NameAddr, Request, Response, SipURI
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog
from imkit.sip.sdp import (
    ActiveSide,
    SessionDescription,
    build_msrp_offer,
    msrp_active_side,
    msrp_media,
)
from imkit.sip.transaction import Destination

DOMAIN = "example.com"
TIMEOUT = 60.0


@dataclass
class Row:
    size: int
    ok_seconds: float
    joined_seconds: float
    full_notify: int
    join_notify: int
    leave_notify: int


class Member:
    """A bare imkit endpoint acting as one IM Client."""

    def __init__(self, name: str, server: TestServer) -> None:
        self.name = name
        self.server = server
        self.aor = SipURI(host=DOMAIN, user=name)
        self.notifies: asyncio.Queue[Request] = asyncio.Queue()
        self.channels: list[MSRPChannel] = []

    async def start(self) -> Member:
        self.endpoint = Endpoint(host="127.0.0.1", udp_port=0, tcp_port=None, handler=self._handle)
        await self.endpoint.start()
        return self

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.endpoint.close()

    async def _handle(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if request.method == "NOTIFY":
            self.notifies.put_nowait(request)
        if request.method == "ACK":
            return None
        return make_response(request, 200, to_tag=self.endpoint.ids.tag())

    def request(self, method: str, uri: SipURI, rows: list[tuple[str, str]], body: bytes = b"",
                content_type: str | None = None) -> Request:
        return new_request(
            method, uri, from_addr=NameAddr(self.aor).with_tag(self.endpoint.ids.tag()),
            to_addr=NameAddr(uri), call_id=self.endpoint.ids.call_id("127.0.0.1"), cseq=1,
            via=self.endpoint.new_via("UDP"), contact=NameAddr(self.endpoint.contact_uri(self.name)),
            headers=rows, body=body, content_type=content_type,
        )

    async def invite(self, uri: SipURI, invitees: list[str]) -> tuple[Dialog, SipURI]:
        listener = await MSRPListener.start()
        path = str(listener.uri())
        offer = build_msrp_offer(path=path, session_id=1, accept_types=("message/cpim",))
        rows = [("Supported", "timer")]
        if invitees:
            rows.append(("Require", "recipient-list-invite"))
            body = Multipart([BodyPart.build(bytes(offer), "application/sdp"),
                              BodyPart.build(ResourceLists.from_uris(invitees).to_xml(), LIST_TYPE,
                                             disposition=DISPOSITION)])
            payload, content_type = bytes(body), body.content_type
        else:
            payload, content_type = bytes(offer), "application/sdp"
        request = self.request("INVITE", uri, rows, payload, content_type)
        response = await self.endpoint.request(request, Destination("UDP", *self.server.address))
        if not response.is_success:
            raise RuntimeError(f"{self.name}: INVITE answered {response.status}")
        dialog = Dialog.from_uac(request, response, ids=self.endpoint.ids)
        await self.endpoint.send_ack(dialog.create_ack(response, via=self.endpoint.new_via("UDP")))
        answer = SessionDescription.parse(response.body)
        active = msrp_active_side(offer, answer) is ActiveSide.OFFERER
        session = MSRPSession([path], msrp_media(answer).path, MSRPRole.ACTIVE if active else MSRPRole.PASSIVE)
        if active:
            await listener.close()
            self.channels.append(await MSRPChannel.connect(session))
        else:
            self.channels.append(listener.accept(session))
        identity = response.contact[0].uri
        assert isinstance(identity, SipURI)
        return dialog, identity.replace(params=())

    async def subscribe(self, identity: SipURI) -> None:
        request = self.request("SUBSCRIBE", identity, [("Event", "conference"), ("Expires", "3600")])
        response = await self.endpoint.request(request)
        if response.status != 200:
            raise RuntimeError(f"SUBSCRIBE answered {response.status}")

    async def bye(self, dialog: Dialog) -> None:
        request = dialog.create_request("BYE", via=self.endpoint.new_via("UDP"))
        await self.endpoint.request(request)

    async def next_notify(self) -> Request:
        return await asyncio.wait_for(self.notifies.get(), TIMEOUT)


async def wait_until(predicate: object, timeout: float = TIMEOUT) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():  # type: ignore[operator]
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)


async def measure(size: int) -> Row:
    server = TestServer(DOMAIN, focus=False, max_users=size + 8)
    server.users.default = Behaviour.of("answer+silent")
    await server.start()
    focus = Focus(server, config=FocusConfig(max_adhoc_size=size + 8, max_group_size=size + 8))
    server.add_service(focus)
    alice = await Member("alice", server).start()
    joiner = await Member("joiner", server).start()
    try:
        invitees = [f"sip:sim{i:04d}@{DOMAIN}" for i in range(size - 1)]
        started = time.perf_counter()
        _, identity = await alice.invite(server.factory_uri, invitees)
        ok = time.perf_counter() - started
        conference = focus.conferences[identity.user or ""]
        await wait_until(lambda: len(conference.participants) == size and not conference.pending)
        joined = time.perf_counter() - started
        await alice.subscribe(identity)
        full = await alice.next_notify()
        if ConferenceInfo.from_xml(full.body).state is not State.FULL:
            raise RuntimeError("the first NOTIFY is not full state")
        while not alice.notifies.empty():
            alice.notifies.get_nowait()
        dialog, _ = await joiner.invite(identity, [])
        join = await alice.next_notify()
        await joiner.bye(dialog)
        leave = await alice.next_notify()
        return Row(size, ok, joined, len(bytes(full)), len(bytes(join)), len(bytes(leave)))
    finally:
        await alice.close()
        await joiner.close()
        await server.close()


def table(rows: list[Row], markdown: bool) -> str:
    head = ["participants", "200 OK (s)", "fully joined (s)", "full NOTIFY (B)", "join NOTIFY (B)",
            "leave NOTIFY (B)"]
    body = [[str(r.size), f"{r.ok_seconds:.3f}", f"{r.joined_seconds:.3f}", str(r.full_notify),
             str(r.join_notify), str(r.leave_notify)] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(head[i]), *(len(cells[i]) for cells in body)) for i in range(len(head))]
    out = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in body]
    return "\n".join(out)


async def main(sizes: list[int], markdown: bool) -> None:
    rows = []
    for size in sizes:
        rows.append(await measure(size))
        print(f"measured {size} participants", file=sys.stderr)
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print(table(rows, markdown))
    joins = [r.join_notify for r in rows]
    print(f"join NOTIFY spread: {max(joins) - min(joins)} bytes over {min(sizes)}-{max(sizes)} participants")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,200", help="roster sizes, comma-separated")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.markdown))
