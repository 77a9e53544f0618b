"""A hand-driven trace: what the IM Client sent and received, and its notes.

A :class:`Scene` plays both sides of an exchange on a :class:`~imkit.Trace`
without a network: it records what the procedure builders make (with their
provenance and clause label), the IM Server's answers made here by hand, and
the notes the real client writes when it acts off the wire
(:mod:`imkit.client`), with the same keys and values.

A :class:`Mutation` changes one exchange so that a rule fails: a message as
it went on the wire (``edit``), a message that never travelled (``skip``), a
note the client did not write (``drop_notes``) or wrote with another value
(``note_text``).  Messages are named by the clause that sent them
(``"7.1.1.3"``) and what they are (``"7.1.1.3/200"``, ``"7.1.1.11/notify"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import NameAddr, Request, Response, Via, parse, parse_uri
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import Dialog
from imkit.sip.message import Message
from imkit.trace import Direction, Note, Protocol, Trace, Transport
from tests.procedures.context import MSRP_URI, FixedContext

CLIENT = ("127.0.0.1", 5070)
SERVER = ("127.0.0.1", 5060)
MSRP_CLIENT = ("127.0.0.1", 7000)
MSRP_SERVER = ("127.0.0.1", 7001)
PEER_MSRP_URI = "msrp://127.0.0.1:7001/p33r;tcp"

Editor = Callable[[Message], None]


@dataclass(frozen=True)
class Mutation:
    """How one exchange departs from the conforming one."""

    edit: Mapping[str, Editor] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    drop_notes: frozenset[str] = frozenset()
    note_text: Mapping[str, str] = field(default_factory=dict)


def mutation(
    *,
    edit: Mapping[str, Editor] | None = None,
    skip: Iterable[str] = (),
    drop_notes: Iterable[str] = (),
    note_text: Mapping[str, str] | None = None,
) -> Mutation:
    return Mutation(dict(edit or {}), frozenset(skip), frozenset(drop_notes), dict(note_text or {}))


CONFORMING = Mutation()


# -- message editors ----------------------------------------------------------------
def drop(*names: str) -> Editor:
    """Remove header fields."""

    def run(message: Message) -> None:
        for name in names:
            message.headers.remove(name)

    return run


def put(name: str, value: str) -> Editor:
    """Set a header field (replacing its rows)."""

    def run(message: Message) -> None:
        message.headers.set(name, value)

    return run


def swap(old: bytes, new: bytes) -> Editor:
    """Replace bytes in the body (Content-Length follows)."""

    def run(message: Message) -> None:
        assert old in message.body, f"{old!r} not in the body"
        message.set_body(message.body.replace(old, new))

    return run


def replace_body(data: bytes, content_type: str | None) -> Editor:
    """Replace the whole body (and its Content-Type; ``None`` removes it)."""

    def run(message: Message) -> None:
        message.set_body(data, content_type)
        if content_type is None:
            message.headers.remove("Content-Type")

    return run


def request_uri(uri: str) -> Editor:
    def run(message: Message) -> None:
        assert isinstance(message, Request)
        message.uri = parse_uri(uri)

    return run


def rewrite(name: str, old: str, new: str) -> Editor:
    """Replace text inside a header field's value."""

    def run(message: Message) -> None:
        value = message.headers.get(name)
        assert value is not None and old in value, f"{old!r} not in {name}: {value!r}"
        message.headers.set(name, value.replace(old, new))

    return run


def status(code: int) -> Editor:
    """Change a response's status code."""

    def run(message: Message) -> None:
        assert isinstance(message, Response)
        message.status = code

    return run


# -- the scene ------------------------------------------------------------------------
class Scene:
    """One IM Client (``ctx``), the IM Server in front of it, and a trace."""

    def __init__(self, change: Mutation = CONFORMING, ctx: FixedContext | None = None) -> None:
        self.change = change
        self.ctx = ctx or FixedContext()
        self.trace = Trace()
        self.clock = 0.0
        self.server_tags = 0
        #: the conference subscription dialog, once a flow has subscribed
        self.subscription: Dialog | None = None

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def skipped(self, name: str) -> bool:
        return name in self.change.skip

    def _record(self, direction: Direction, message: Message, out: OutgoingRequest | None, label: str | None) -> None:
        self.trace.record(
            self.tick(), direction, Protocol.SIP, Transport.UDP, CLIENT, SERVER, bytes(message),
            provenance=out.provenance if out is not None else None, label=label,
        )

    # -- the client's side -----------------------------------------------------------
    def send(self, name: str, sent: OutgoingRequest | Message, label: str | None = None) -> Message:
        """Record what the client sent.  The edit touches the wire copy only:
        the exchange goes on from the message as built."""
        out = sent if isinstance(sent, OutgoingRequest) else None
        message = out.request if out is not None else sent
        if not self.skipped(name):
            wire = parse(bytes(message))
            editor = self.change.edit.get(name)
            if editor is not None:
                editor(wire)
            self._record(Direction.SENT, wire, out, label or (out.clause if out is not None else None))
        return message

    def answer(self, name: str, request: Request, code: int) -> Response:
        """The client's response to a request it received."""
        response = make_response(request, code, to_tag=None if request.to and request.to.tag else "c1ient")
        return self.send(name, response)

    def note(self, key: str, text: str, message: Message | None = None) -> None:
        """A note the client writes (``drop_notes`` / ``note_text`` apply)."""
        if key in self.change.drop_notes:
            return
        self.trace.note(Note.about(self.clock, key, self.change.note_text.get(key, text), message))

    # -- the server's side -----------------------------------------------------------
    def receive(self, name: str, message: Message) -> Message:
        """Record what reached the client; the edit applies before the client
        acts on it, as the client would read it."""
        editor = self.change.edit.get(name)
        if editor is not None:
            editor(message)
        if not self.skipped(name):
            self._record(Direction.RECEIVED, message, None, None)
        return message

    def respond(self, name: str, request: Request, code: int, *, headers: Iterable[tuple[str, str]] = (),
                body: bytes = b"", content_type: str | None = None, store: bool = True) -> Response:
        """The server's response and, with ``store``, 7.1.1.1's "store Allow and
        Contact" notes the client writes for it (``imkit.client.flows.store_response``)."""
        self.server_tags += 1
        response = make_response(request, code, to_tag=f"srv{self.server_tags}", headers=tuple(headers),
                                 body=body, content_type=content_type)
        self.receive(name, response)
        if store and not self.skipped(name):
            if "Allow" in response.headers:
                self.note("7.1.1.1/r1", ", ".join(response.allow), response)
            if "Contact" in response.headers:
                self.note("7.1.1.1/r2", ", ".join(str(c) for c in response.contact), response)
        return response

    def incoming(self, name: str, dialog: Dialog, method: str, *, headers: Iterable[tuple[str, str]] = (),
                 body: bytes = b"", content_type: str | None = None) -> Request:
        """A request the server sends inside ``dialog`` (a NOTIFY, a BYE)."""
        self.server_tags += 1
        request = new_request(
            method, self.ctx.contact,
            from_addr=dialog.remote_uri.with_tag(dialog.remote_tag), to_addr=dialog.local_uri.with_tag(dialog.local_tag),
            call_id=dialog.call_id, cseq=self.server_tags, headers=tuple(headers), body=body, content_type=content_type,
            via=Via("UDP", *SERVER).with_param("branch", f"z9hG4bKsrv{self.server_tags}"),
            contact=NameAddr(dialog.remote_target),
        )
        return self.receive(name, request)

    def msrp(self, name: str) -> None:
        """A chat message on the User Plane: an MSRP SEND and its 200."""
        if self.skipped(name):
            return
        tid = f"t{int(self.clock)}"
        paths = f"To-Path: {PEER_MSRP_URI}\r\nFrom-Path: {MSRP_URI}\r\n"
        send = (f"MSRP {tid} SEND\r\n{paths}Message-ID: m{tid}\r\nByte-Range: 1-5/5\r\n"
                f"Content-Type: text/plain\r\n\r\nhello\r\n-------{tid}$\r\n")
        ok = f"MSRP {tid} 200 OK\r\nTo-Path: {MSRP_URI}\r\nFrom-Path: {PEER_MSRP_URI}\r\n-------{tid}$\r\n"
        self.trace.record(self.tick(), Direction.SENT, Protocol.MSRP, Transport.TCP, MSRP_CLIENT, MSRP_SERVER, send.encode())
        self.trace.record(self.tick(), Direction.RECEIVED, Protocol.MSRP, Transport.TCP, MSRP_CLIENT, MSRP_SERVER, ok.encode())
