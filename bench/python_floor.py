"""The floor for a CPython callee in ``bench_sipp_load.py``: the least work any
asyncio program can do to answer sipp's 1-1 calls, so that imkit's rate can be
read against what CPython itself allows on the same machine in the same run.

It is a peer for the benchmark, not a SIP implementation.  It parses nothing
beyond splitting header rows, keeps no transaction or dialog state, never
retransmits and checks nothing.  Two modes:

* ``uas``: one UDP socket answering like sipp's UAS scenario
  (``bench/sipp/uas_msrp.xml``): INVITE -> 100, 200 with an MSRP SDP answer
  (RFC 4975 section 8, ``a=setup:passive``); BYE -> 200; ACK ignored.  Three
  datagrams in and three out per call.
* ``proxy``: the topology of ``imkit server`` with a simulated user: a
  record-routing forwarder (RFC 3261 section 16: a Via of its own on the way
  out, ``Record-Route`` on the INVITE, its ``Route`` row removed from ACK and
  BYE, the top Via removed from responses, which go to the next Via) in front
  of the same UAS on a second socket of the same process.  Nine datagrams in
  and nine out per call, as for imkit.

Both listen on 127.0.0.1 only and print ``listening`` once ready.

    python bench/python_floor.py --mode proxy --port 5070
"""

from __future__ import annotations

import argparse
import asyncio
import itertools

HOST = "127.0.0.1"
CRLF = b"\r\n"
#: rows a response copies from its request (RFC 3261 8.2.6.2)
COPIED = (b"via:", b"from:", b"to:", b"call-id:", b"cseq:", b"record-route:")


def _rows(message: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = message.partition(CRLF + CRLF)
    return head.split(CRLF), body


def _name(row: bytes) -> bytes:
    return row[: row.find(b":") + 1].lower().replace(b" ", b"")


def answer(request: bytes, status: bytes, contact: bytes, body: bytes = b"") -> bytes:
    """A response to ``request``: its Via, From, To (plus a tag), Call-ID, CSeq
    and Record-Route rows, then Contact and the body."""
    rows, _ = _rows(request)
    out = [b"SIP/2.0 " + status]
    for row in rows[1:]:
        name = _name(row)
        if name == b"to:" and b"tag=" not in row:
            row += b";tag=floor" + str(abs(hash(request[:200])) % 10**8).encode()
        if name in COPIED:
            out.append(row)
    out.append(b"Contact: " + contact)
    if body:
        out.append(b"Content-Type: application/sdp")
    out.append(b"Content-Length: " + str(len(body)).encode())
    return CRLF.join(out) + CRLF + CRLF + body


def sdp_answer(port: int, call: int) -> bytes:
    return CRLF.join([
        b"v=0", b"o=bob 1 1 IN IP4 " + HOST.encode(), b"s=-", b"c=IN IP4 " + HOST.encode(), b"t=0 0",
        b"m=message 2856 TCP/MSRP *", b"a=accept-types:message/cpim text/plain",
        f"a=path:msrp://{HOST}:2856/floor{call};tcp".encode(), b"a=setup:passive", b"",
    ])


class FloorUAS(asyncio.DatagramProtocol):
    """Answers INVITE with 100 (when ``trying``) and 200, BYE with 200."""

    def __init__(self, trying: bool) -> None:
        self.trying = trying
        self.calls = itertools.count()
        self.transport: asyncio.DatagramTransport | None = None
        self.contact = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        port = transport.get_extra_info("sockname")[1]
        self.contact = f"<sip:bob@{HOST}:{port}>".encode()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if data.startswith(b"INVITE "):
            if self.trying:
                self.transport.sendto(answer(data, b"100 Trying", self.contact), addr)
            port = self.transport.get_extra_info("sockname")[1]
            self.transport.sendto(answer(data, b"200 OK", self.contact, sdp_answer(port, next(self.calls))), addr)
        elif data.startswith(b"BYE "):
            self.transport.sendto(answer(data, b"200 OK", self.contact), addr)


def _sent_by(via_row: bytes) -> tuple[str, int]:
    """host and port of a ``Via: SIP/2.0/UDP host:port;...`` row."""
    sent_by = via_row.split(b" ", 2)[-1].split(b";", 1)[0].strip()
    host, _, port = sent_by.partition(b":")
    return host.decode(), int(port or 5060)


class FloorProxy(asyncio.DatagramProtocol):
    """Record-routes every request to one UAS and sends responses back along Via."""

    def __init__(self, uas: tuple[str, int]) -> None:
        self.uas = uas
        self.transport: asyncio.DatagramTransport | None = None
        self.own = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.own = f"{HOST}:{transport.get_extra_info('sockname')[1]}".encode()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        rows, body = _rows(data)
        if data.startswith(b"SIP/2.0 "):
            vias = [i for i, row in enumerate(rows) if _name(row) == b"via:"]
            if len(vias) < 2:
                return
            del rows[vias[0]]
            self.transport.sendto(CRLF.join(rows) + CRLF + CRLF + body, _sent_by(rows[vias[1] - 1]))
            return
        top_via = next((row for row in rows if _name(row) == b"via:"), b"")
        branch = top_via.rpartition(b"branch=")[2].split(b";")[0]
        head = [rows[0], b"Via: SIP/2.0/UDP " + self.own + b";branch=z9hG4bKfloor" + branch]
        if data.startswith(b"INVITE "):
            self.transport.sendto(answer(data, b"100 Trying", b"<sip:" + self.own + b">"), addr)
            head.append(b"Record-Route: <sip:" + self.own + b";lr>")
        head += [row for row in rows[1:] if _name(row) != b"route:"]
        self.transport.sendto(CRLF.join(head) + CRLF + CRLF + body, self.uas)


async def serve(mode: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    if mode == "uas":
        await loop.create_datagram_endpoint(lambda: FloorUAS(trying=True), local_addr=(HOST, port))
    else:
        uas, _ = await loop.create_datagram_endpoint(lambda: FloorUAS(trying=False), local_addr=(HOST, 0))
        await loop.create_datagram_endpoint(lambda: FloorProxy(uas.get_extra_info("sockname")),
                                            local_addr=(HOST, port))
    print(f"{mode} listening on {HOST}:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("uas", "proxy"), required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.mode, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
