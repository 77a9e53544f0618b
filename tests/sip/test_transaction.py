"""imkit.sip.transaction: the four RFC 3261 section 17 machines (with RFC 6026's
"Accepted" state) driven by a fake clock, over unreliable and reliable
transports.

The first tests are a table, as in h11's: each row brings a transaction to a
state by a path of events, applies one more event and states the new state
and what came out.  Then the retransmission schedules of every timer, the
bytes of the ACK built for a non-2xx, and the diagrams made from the tables.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from imkit.errors import LocalProtocolError
from imkit.sip import NameAddr, Request, Response, SipURI, Via, parse
from imkit.sip.builders import make_response, new_request
from imkit.sip.params import Params
from imkit.sip.transaction import (
    MACHINES,
    SETTLED,
    AckNotReceived,
    Arm,
    ClientTransaction,
    Destination,
    Do,
    Event,
    Kind,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    ServerTransaction,
    State,
    Terminated,
    TimedOut,
    Timer,
    Timers,
    TransportFailed,
    state_diagram,
    state_digraph,
)

UDP = Destination("UDP", "192.0.2.4", 5060)
TCP = Destination("TCP", "192.0.2.4", 5060, connection=7)
T = Timers()


def request(method: str = "INVITE", *, branch: str = "z9hG4bKtest1", route: bool = False) -> Request:
    return new_request(
        method, "sip:bob@example.com",
        from_addr=NameAddr(SipURI(host="example.com", user="alice")).with_tag("ftag"),
        to_addr=NameAddr(SipURI(host="example.com", user="bob")),
        call_id="call-1@192.0.2.1", cseq=7,
        via=Via("UDP", "192.0.2.1", 5062, Params((("branch", branch), ("rport", None)))),
        route=[NameAddr.parse("<sip:proxy.example.com;lr>")] if route else (),
    )


def response(req: Request, status: int, tag: str = "ttag") -> Response:
    return make_response(req, status, to_tag=tag)


def summary(outputs: list) -> list[tuple[object, ...]]:
    """What came out, in short: ("send", what, retransmission?), ("tu", what), ..."""
    out: list[tuple[object, ...]] = []
    for o in outputs:
        if isinstance(o, SendMessage):
            what = o.message.method if isinstance(o.message, Request) else o.message.status
            out.append(("send", what, "re") if o.retransmission else ("send", what))
        elif isinstance(o, ResponseReceived):
            out.append(("tu", o.response.status))
        elif isinstance(o, RequestReceived):
            out.append(("tu", o.request.method))
        elif isinstance(o, TimedOut):
            out.append(("timeout", o.timer.value))
        elif isinstance(o, TransportFailed):
            out.append(("transport error",))
        elif isinstance(o, AckNotReceived):
            out.append(("no ACK",))
        elif isinstance(o, Terminated):
            out.append(("terminated",))
        else:
            raise TypeError(f"unexpected output {o!r}")
    return out


class Driver:
    """One transaction and a fake clock; ``step(name)`` applies one event."""

    def __init__(self, kind: Kind, reliable: bool, timers: Timers = T) -> None:
        self.kind = kind
        self.now = 0.0
        method = "INVITE" if kind in (Kind.INVITE_CLIENT, Kind.INVITE_SERVER) else "OPTIONS"
        self.request = request(method)
        where = TCP if reliable else UDP
        if kind in (Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT):
            self.txn: ClientTransaction | ServerTransaction = ClientTransaction(self.request, where, timers)
        else:
            self.txn = ServerTransaction(self.request, where, where, timers)

    def step(self, name: str) -> list:
        txn = self.txn
        if name == "start":
            return txn.start(self.now)
        if name.startswith("timer "):
            timer = Timer(name.split(" ", 1)[1])
            self.now = txn.deadlines()[timer]
            return txn.expire(timer, self.now)
        if name == "transport error":
            return txn.transport_error(self.now)
        if isinstance(txn, ClientTransaction):
            if name == "cancel sent":
                return txn.cancel_sent(self.now)
            if name == "discard":
                return txn.discard(self.now)
            return txn.receive(response(self.request, int(name)), self.now)
        if name == "request":
            return txn.receive(self.request, self.now)
        if name in ("ACK", "ACK 2xx"):
            ack = request("ACK", branch="z9hG4bKtest1" if name == "ACK" else "z9hG4bKother")
            return txn.receive(ack, self.now, ack_for_2xx=name == "ACK 2xx")
        return txn.respond(response(self.request, int(name.split()[1])), self.now)


IC, NIC, IS, NIS = Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT, Kind.INVITE_SERVER, Kind.NON_INVITE_SERVER
S = State

#: (machine, reliable, path, event, new state, outputs)
TABLE: list[tuple[Kind, bool, tuple[str, ...], str, State, list[tuple[object, ...]]]] = [
    # INVITE client, 17.1.1
    (IC, False, (), "start", S.CALLING, [("send", "INVITE")]),
    (IC, False, ("start",), "timer A", S.CALLING, [("send", "INVITE", "re")]),
    (IC, False, ("start",), "timer B", S.TERMINATED, [("timeout", "B"), ("terminated",)]),
    (IC, True, ("start",), "timer B", S.TERMINATED, [("timeout", "B"), ("terminated",)]),
    (IC, False, ("start",), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (IC, False, ("start",), "180", S.PROCEEDING, [("tu", 180)]),
    (IC, False, ("start", "180"), "183", S.PROCEEDING, [("tu", 183)]),
    (IC, False, ("start",), "486", S.COMPLETED, [("tu", 486), ("send", "ACK")]),
    (IC, True, ("start",), "486", S.TERMINATED, [("tu", 486), ("send", "ACK"), ("terminated",)]),
    (IC, False, ("start", "180"), "603", S.COMPLETED, [("tu", 603), ("send", "ACK")]),
    (IC, False, ("start", "486"), "486", S.COMPLETED, [("send", "ACK", "re")]),
    (IC, False, ("start", "486"), "180", S.COMPLETED, []),
    (IC, False, ("start", "486"), "timer D", S.TERMINATED, [("terminated",)]),
    (IC, False, ("start", "486"), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (IC, False, ("start",), "200", S.ACCEPTED, [("tu", 200)]),
    (IC, False, ("start", "180"), "200", S.ACCEPTED, [("tu", 200)]),
    (IC, True, ("start", "180"), "200", S.ACCEPTED, [("tu", 200)]),
    (IC, False, ("start", "200"), "200", S.ACCEPTED, [("tu", 200)]),
    (IC, False, ("start", "200"), "486", S.ACCEPTED, []),
    (IC, False, ("start", "200"), "timer M", S.TERMINATED, [("terminated",)]),
    # RFC 3261 9.1: 64*T1 after a CANCEL without final response, the INVITE is given up
    (IC, False, ("start", "180"), "cancel sent", S.PROCEEDING, []),
    (IC, False, ("start", "180", "cancel sent"), "timer CANCEL wait", S.TERMINATED,
     [("timeout", "CANCEL wait"), ("terminated",)]),
    # non-INVITE client, 17.1.2
    (NIC, False, (), "start", S.TRYING, [("send", "OPTIONS")]),
    (NIC, False, ("start",), "timer E", S.TRYING, [("send", "OPTIONS", "re")]),
    (NIC, False, ("start",), "timer F", S.TERMINATED, [("timeout", "F"), ("terminated",)]),
    (NIC, True, ("start",), "timer F", S.TERMINATED, [("timeout", "F"), ("terminated",)]),
    (NIC, False, ("start",), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (NIC, False, ("start",), "100", S.PROCEEDING, [("tu", 100)]),
    (NIC, False, ("start", "100"), "timer E", S.PROCEEDING, [("send", "OPTIONS", "re")]),
    (NIC, False, ("start", "100"), "timer F", S.TERMINATED, [("timeout", "F"), ("terminated",)]),
    (NIC, False, ("start", "100"), "180", S.PROCEEDING, [("tu", 180)]),
    (NIC, False, ("start", "100"), "486", S.COMPLETED, [("tu", 486)]),
    (NIC, False, ("start", "100"), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (NIC, False, ("start",), "200", S.COMPLETED, [("tu", 200)]),
    (NIC, False, ("start",), "404", S.COMPLETED, [("tu", 404)]),
    (NIC, False, ("start", "100"), "200", S.COMPLETED, [("tu", 200)]),
    (NIC, True, ("start",), "200", S.TERMINATED, [("tu", 200), ("terminated",)]),
    (NIC, False, ("start", "200"), "200", S.COMPLETED, []),
    (NIC, False, ("start", "200"), "180", S.COMPLETED, []),
    (NIC, False, ("start", "404"), "404", S.COMPLETED, []),
    # a CANCEL whose INVITE got a final response before any provisional one (9.1)
    (NIC, False, (), "discard", S.TERMINATED, [("terminated",)]),
    (NIC, False, ("start", "200"), "timer K", S.TERMINATED, [("terminated",)]),
    # INVITE server, 17.2.1
    (IS, False, (), "request", S.PROCEEDING, [("tu", "INVITE"), ("send", 100)]),
    (IS, False, ("request",), "request", S.PROCEEDING, [("send", 100, "re")]),
    (IS, False, ("request",), "tu 180", S.PROCEEDING, [("send", 180)]),
    (IS, False, ("request", "tu 180"), "request", S.PROCEEDING, [("send", 180, "re")]),
    (IS, False, ("request",), "tu 486", S.COMPLETED, [("send", 486)]),
    (IS, False, ("request",), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (IS, False, ("request", "tu 486"), "timer G", S.COMPLETED, [("send", 486, "re")]),
    (IS, False, ("request", "tu 486"), "request", S.COMPLETED, [("send", 486, "re")]),
    (IS, False, ("request", "tu 486"), "timer H", S.TERMINATED, [("timeout", "H"), ("terminated",)]),
    (IS, True, ("request", "tu 486"), "timer H", S.TERMINATED, [("timeout", "H"), ("terminated",)]),
    (IS, False, ("request", "tu 486"), "ACK", S.CONFIRMED, []),
    (IS, False, ("request", "tu 486"), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (IS, True, ("request", "tu 486"), "ACK", S.TERMINATED, [("terminated",)]),
    (IS, False, ("request", "tu 486", "ACK"), "ACK", S.CONFIRMED, []),
    (IS, False, ("request", "tu 486", "ACK"), "timer I", S.TERMINATED, [("terminated",)]),
    (IS, False, ("request",), "tu 200", S.ACCEPTED, [("send", 200)]),
    (IS, True, ("request",), "tu 200", S.ACCEPTED, [("send", 200)]),
    (IS, False, ("request", "tu 200"), "request", S.ACCEPTED, []),
    (IS, False, ("request", "tu 200"), "tu 200", S.ACCEPTED, [("send", 200)]),
    (IS, False, ("request", "tu 200"), "timer 2xx", S.ACCEPTED, [("send", 200, "re")]),
    (IS, True, ("request", "tu 200"), "timer 2xx", S.ACCEPTED, [("send", 200, "re")]),
    (IS, False, ("request", "tu 200"), "ACK 2xx", S.ACCEPTED, [("tu", "ACK")]),
    (IS, False, ("request", "tu 200"), "ACK", S.ACCEPTED, [("tu", "ACK")]),
    (IS, False, ("request", "tu 200", "ACK 2xx"), "timer L", S.TERMINATED, [("terminated",)]),
    (IS, False, ("request", "tu 200"), "timer L", S.TERMINATED, [("no ACK",), ("terminated",)]),
    # non-INVITE server, 17.2.2
    (NIS, False, (), "request", S.TRYING, [("tu", "OPTIONS")]),
    (NIS, False, ("request",), "request", S.TRYING, []),
    (NIS, False, ("request",), "tu 100", S.PROCEEDING, [("send", 100)]),
    (NIS, False, ("request", "tu 100"), "request", S.PROCEEDING, [("send", 100, "re")]),
    (NIS, False, ("request", "tu 100"), "tu 180", S.PROCEEDING, [("send", 180)]),
    (NIS, False, ("request", "tu 100"), "tu 200", S.COMPLETED, [("send", 200)]),
    (NIS, False, ("request", "tu 100"), "tu 486", S.COMPLETED, [("send", 486)]),
    (NIS, False, ("request", "tu 100"), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (NIS, False, ("request",), "tu 200", S.COMPLETED, [("send", 200)]),
    (NIS, False, ("request",), "tu 404", S.COMPLETED, [("send", 404)]),
    (NIS, True, ("request",), "tu 200", S.TERMINATED, [("send", 200), ("terminated",)]),
    (NIS, False, ("request", "tu 200"), "request", S.COMPLETED, [("send", 200, "re")]),
    (NIS, False, ("request", "tu 200"), "transport error", S.TERMINATED, [("transport error",), ("terminated",)]),
    (NIS, False, ("request", "tu 200"), "timer J", S.TERMINATED, [("terminated",)]),
]


@pytest.mark.parametrize(
    "kind, reliable, path, event, state, outputs",
    TABLE,
    ids=[f"{k.name}-{'rel' if r else 'unrel'}-{'/'.join(p) or 'init'}-{e}" for k, r, p, e, *_ in TABLE],
)
def test_transition_table(kind, reliable, path, event, state, outputs) -> None:
    driver = Driver(kind, reliable)
    for name in path:
        driver.step(name)
    assert summary(driver.step(event)) == outputs
    assert driver.txn.state is state


def _event_of(kind: Kind, name: str) -> Event:
    client = kind in (Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT)
    if name == "start":
        return Event.TU_REQUEST if client else Event.REQUEST
    if name.startswith("timer "):
        return Event[f"TIMER_{Timer(name[6:]).name}"]
    named = {"transport error": Event.TRANSPORT_ERROR, "request": Event.REQUEST,
             "ACK": Event.ACK, "ACK 2xx": Event.ACK_2XX, "cancel sent": Event.CANCEL_SENT,
             "discard": Event.TU_DISCARD}
    if name in named:
        return named[name]
    status = int(name.split()[-1])
    group = "1XX" if status < 200 else "2XX" if status < 300 else "300_699"
    return Event[f"TU_{group}" if name.startswith("tu ") else f"RESPONSE_{group}"]


def test_every_table_entry_is_exercised() -> None:
    """The rows above take every (state, event) entry of every table."""
    reached: set[tuple[Kind, State, Event]] = set()
    for kind, reliable, path, event, *_ in TABLE:
        driver = Driver(kind, reliable)
        for name in path:
            driver.step(name)
        reached.add((kind, driver.txn.state, _event_of(kind, event)))
    missing = {
        (kind, state, event)
        for kind, machine in MACHINES.items()
        for (state, event) in machine.table
    } - reached
    assert missing == set()


@pytest.mark.parametrize(
    "kind, path, event",
    [
        (NIS, ("request", "tu 200"), "tu 404"),  # 17.2.2: other finals in Completed are not sent
        (IS, ("request", "tu 486"), "tu 200"),
        (IS, ("request", "tu 200"), "tu 180"),
        (NIS, (), "tu 200"),
    ],
)
def test_tu_response_not_allowed_raises(kind, path, event) -> None:
    driver = Driver(kind, False)
    for name in path:
        driver.step(name)
    state = driver.txn.state
    with pytest.raises(LocalProtocolError):
        driver.step(event)
    assert driver.txn.state is state


def test_start_twice_raises() -> None:
    driver = Driver(IC, False)
    driver.step("start")
    with pytest.raises(LocalProtocolError):
        driver.step("start")


# ---------------------------------------------------------------- schedules


def run_until_quiet(txn, limit: float = 1000.0) -> list[tuple[float, tuple[object, ...]]]:
    """Fire every deadline in turn; (time, output) pairs."""
    events: list[tuple[float, tuple[object, ...]]] = []
    while (when := txn.next_deadline()) is not None and when < limit:
        for item in summary(txn.handle_timer(when)):
            events.append((round(when, 6), item))
    return events


def test_timer_a_doubles_without_cap_until_timer_b() -> None:
    txn = ClientTransaction(request(), UDP, T)
    txn.start(0.0)
    # 17.1.1.2: A fires at T1, 2*T1, 4*T1 ... intervals; B at 64*T1 = 32 s.
    assert run_until_quiet(txn) == [
        (0.5, ("send", "INVITE", "re")),
        (1.5, ("send", "INVITE", "re")),
        (3.5, ("send", "INVITE", "re")),
        (7.5, ("send", "INVITE", "re")),
        (15.5, ("send", "INVITE", "re")),
        (31.5, ("send", "INVITE", "re")),
        (32.0, ("timeout", "B")),
        (32.0, ("terminated",)),
    ]


def test_timer_a_not_set_on_reliable_transport() -> None:
    txn = ClientTransaction(request(), TCP, T)
    txn.start(0.0)
    assert txn.deadlines() == {Timer.B: 32.0}
    assert run_until_quiet(txn) == [(32.0, ("timeout", "B")), (32.0, ("terminated",))]


def test_timer_e_doubles_to_t2_then_f() -> None:
    txn = ClientTransaction(request("OPTIONS"), UDP, T)
    txn.start(0.0)
    times = [when for when, item in run_until_quiet(txn) if item[0] == "send"]
    # 17.1.2.2: E = MIN(2^n * T1, T2): 0.5, 1, 2, 4, 4, 4 ...; F at 64*T1.
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert txn.state is State.TERMINATED


def test_timer_e_is_t2_in_proceeding() -> None:
    txn = ClientTransaction(request("OPTIONS"), UDP, T)
    txn.start(0.0)
    txn.receive(response(txn.request, 100), 0.2)
    assert txn.state is State.PROCEEDING
    # "If Timer E fires while in the "Proceeding" state ... reset with a value of T2"
    times = [when for when, item in run_until_quiet(txn) if item[0] == "send"]
    assert times == [0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]


def test_timer_f_on_reliable_transport() -> None:
    txn = ClientTransaction(request("OPTIONS"), TCP, T)
    txn.start(3.0)
    assert txn.deadlines() == {Timer.F: 35.0}


@pytest.mark.parametrize("transport, linger", [(UDP, 32.0), (TCP, None)])
def test_timer_d(transport, linger) -> None:
    txn = ClientTransaction(request(), transport, T)
    txn.start(0.0)
    txn.receive(response(txn.request, 486), 1.0)
    if linger is None:
        assert txn.state is State.TERMINATED  # 0 s on reliable transports
    else:
        assert txn.deadlines() == {Timer.D: 1.0 + linger}


@pytest.mark.parametrize("transport, linger", [(UDP, 5.0), (TCP, None)])
def test_timer_k(transport, linger) -> None:
    txn = ClientTransaction(request("OPTIONS"), transport, T)
    txn.start(0.0)
    txn.receive(response(txn.request, 200), 1.0)
    if linger is None:
        assert txn.state is State.TERMINATED
    else:
        assert txn.deadlines() == {Timer.K: 6.0}


def test_timer_g_doubles_to_t2_and_h_times_out() -> None:
    req = request()
    txn = ServerTransaction(req, UDP, UDP, T)
    txn.start(0.0)
    txn.respond(response(req, 486), 0.0)
    events = run_until_quiet(txn)
    resends = [when for when, item in events if item == ("send", 486, "re")]
    assert resends == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert events[-2:] == [(32.0, ("timeout", "H")), (32.0, ("terminated",))]


def test_timer_g_not_set_on_reliable_transport() -> None:
    req = request()
    txn = ServerTransaction(req, TCP, TCP, T)
    txn.start(0.0)
    txn.respond(response(req, 486), 0.0)
    assert txn.deadlines() == {Timer.H: 32.0}


@pytest.mark.parametrize("transport, linger", [(UDP, 5.0), (TCP, None)])
def test_timer_i(transport, linger) -> None:
    req = request()
    txn = ServerTransaction(req, transport, transport, T)
    txn.start(0.0)
    txn.respond(response(req, 486), 0.0)
    txn.receive(request("ACK"), 2.0)
    if linger is None:
        assert txn.state is State.TERMINATED
    else:
        assert txn.state is State.CONFIRMED
        assert txn.deadlines() == {Timer.I: 7.0}


@pytest.mark.parametrize("transport, linger", [(UDP, 32.0), (TCP, None)])
def test_timer_j(transport, linger) -> None:
    req = request("OPTIONS")
    txn = ServerTransaction(req, transport, transport, T)
    txn.start(0.0)
    txn.respond(response(req, 200), 1.0)
    if linger is None:
        assert txn.state is State.TERMINATED
    else:
        assert txn.deadlines() == {Timer.J: 33.0}


@pytest.mark.parametrize("transport", [UDP, TCP])
def test_2xx_retransmitted_until_ack_on_any_transport(transport) -> None:
    """13.3.1.4: "the response is retransmitted periodically even if the transport
    at the UAS is reliable"; retransmissions stop at the ACK."""
    req = request()
    txn = ServerTransaction(req, transport, transport, T)
    txn.start(0.0)
    txn.respond(response(req, 200), 0.0)
    sent = []
    for _ in range(5):
        when = txn.next_deadline()
        sent += [(when, s) for s in summary(txn.handle_timer(when))]
    assert sent == [(t, ("send", 200, "re")) for t in (0.5, 1.5, 3.5, 7.5, 11.5)]
    assert summary(txn.receive(request("ACK", branch="z9hG4bKack"), 12.0, ack_for_2xx=True)) == [("tu", "ACK")]
    assert txn.deadlines() == {Timer.L: 32.0}


def test_timer_m_and_l() -> None:
    client = ClientTransaction(request(), UDP, T)
    client.start(0.0)
    client.receive(response(client.request, 200), 2.0)
    assert client.deadlines() == {Timer.M: 34.0}


def test_timers_are_configurable() -> None:
    timers = Timers(t1=0.1, t2=0.4, t4=1.0, d=5.0)
    txn = ClientTransaction(request("OPTIONS"), UDP, timers)
    txn.start(0.0)
    times = [when for when, item in run_until_quiet(txn) if item[0] == "send"]
    assert times == [0.1, 0.3, 0.7, 1.1, 1.5, 1.9, 2.3, 2.7, 3.1, 3.5, 3.9, 4.3, 4.7, 5.1, 5.5, 5.9, 6.3]
    assert txn.state is State.TERMINATED  # F = 64*T1 = 6.4 s
    invite = ClientTransaction(request(), UDP, timers)
    invite.start(0.0)
    invite.receive(response(invite.request, 500), 0.0)
    assert invite.deadlines() == {Timer.D: 5.0}


def test_bad_timer_values_refused() -> None:
    with pytest.raises(LocalProtocolError):
        Timers(t1=5.0, t2=4.0)


def test_handle_timer_before_deadline_does_nothing() -> None:
    txn = ClientTransaction(request(), UDP, T)
    txn.start(0.0)
    assert txn.handle_timer(0.49) == []
    assert txn.next_deadline() == 0.5


# ---------------------------------------------------------------- ACK for non-2xx


def test_ack_for_non_2xx_built_by_the_transaction() -> None:
    """17.1.1.3: Request-URI, Call-ID, From as the INVITE; To of the response;
    one Via equal to the INVITE's top Via; CSeq number with method ACK; Route copied."""
    invite = request(route=True)
    invite.headers.add("Via", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKbelow")
    txn = ClientTransaction(invite, UDP, T)
    txn.start(0.0)
    out = txn.receive(response(invite, 486, tag="bobtag"), 1.0)
    ack = next(o for o in out if isinstance(o, SendMessage))
    assert ack.data == (
        b"ACK sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKtest1;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:proxy.example.com;lr>\r\n"
        b"From: <sip:alice@example.com>;tag=ftag\r\n"
        b"To: <sip:bob@example.com>;tag=bobtag\r\n"
        b"Call-ID: call-1@192.0.2.1\r\n"
        b"CSeq: 7 ACK\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert ack.destination == UDP
    again = txn.receive(response(invite, 486, tag="bobtag"), 2.0)
    assert [o.data for o in again] == [ack.data]


def test_request_bytes_are_fixed_at_start() -> None:
    """Retransmissions are byte-identical to the first transmission."""
    txn = ClientTransaction(request(), UDP, T)
    first = txn.start(0.0)[0].data
    txn.request.headers.add("Subject", "changed later")
    assert txn.handle_timer(0.5)[0].data == first
    assert parse(first).headers.get("Subject") is None


# ---------------------------------------------------------------- settled transactions


@pytest.mark.parametrize("kind", list(Kind))
def test_settled_states_only_absorb(kind) -> None:
    """A settled state arms no timer and only leaves for "Terminated", so a
    released transaction (its intervals dropped) never needs them again; the
    one exception is the 2xx retransmission of an INVITE server's "Accepted",
    which is stopped before that state counts as settled (once ACKed)."""
    machine = MACHINES[kind]
    for (state, event), transition in machine.table.items():
        if state not in SETTLED[kind]:
            continue
        assert transition.target in (state, State.TERMINATED)
        arms = [s.timer for s in transition.steps if isinstance(s, Arm)]
        assert arms in ([], [Timer.RETRANSMIT_2XX]), (state, event)
        if arms:
            assert (kind, state, event) == (Kind.INVITE_SERVER, State.ACCEPTED, Event.TIMER_RETRANSMIT_2XX)
    for state in SETTLED[kind]:
        assert state not in (State.INITIAL, State.CALLING, State.TRYING, State.PROCEEDING)
        # every settled state ends by a timer
        assert machine.timers.get(state)


def test_release_keeps_the_retransmission_bytes() -> None:
    txn = ServerTransaction(request("OPTIONS"), UDP, UDP, T)
    txn.start(0.0)
    [sent] = txn.respond(response(txn.request, 200), 0.1)
    assert txn.settled and not txn.released
    txn.release()
    with pytest.raises(LocalProtocolError, match="released its request"):
        txn.request  # noqa: B018
    [again] = txn.receive(request("OPTIONS"), 1.0)
    assert again.data == sent.data and again.retransmission and again.message.status == 200
    assert (txn.final_status, txn.to_tag) == (200, "ttag")
    assert txn.abandon() == [Terminated(txn)] and txn.terminated and txn.deadlines() == {}


def test_acks_are_recorded_for_invites_only() -> None:
    txn = ClientTransaction(request("OPTIONS"), UDP, T)
    ack = SendMessage(request("ACK"), b"ACK", UDP)
    with pytest.raises(LocalProtocolError):
        txn.record_ack("t", ack)
    invite = ClientTransaction(request(), UDP, T)
    invite.record_ack("t", ack)
    assert invite.acks_2xx == {"t": (b"ACK", UDP)} and txn.acks_2xx == {}


# ---------------------------------------------------------------- diagrams


@pytest.mark.parametrize("kind", list(Kind))
def test_state_diagram_has_every_state_and_edge(kind) -> None:
    dot = state_diagram(kind)
    machine = MACHINES[kind]
    assert dot.startswith(f'digraph "{kind.name}" {{')
    for state in machine.states:
        assert f"  {state.name} [" in dot
    edges = {(s.name, t.target.name) for (s, _), t in machine.table.items()}
    for source, target in edges:
        assert f"  {source} -> {target} [" in dot
    for _, event in machine.table:
        assert event.value in dot


def test_state_diagram_labels_name_actions_and_timers() -> None:
    dot = state_diagram(Kind.INVITE_CLIENT)
    assert "300-699\\n/ response to TU\\nsend ACK\\nTimer D=32s, 0s if reliable" in dot
    assert "Timer A=T1, not set if reliable" in dot
    assert Do.SEND_ACK.value in dot


@pytest.mark.parametrize("kind", list(Kind))
def test_state_digraph_matches_dot_text(kind) -> None:
    graphviz = pytest.importorskip("graphviz")
    graph = state_digraph(kind)
    assert isinstance(graph, graphviz.Digraph)
    source = graph.source
    for state in MACHINES[kind].states:
        assert f"\t{state.name} [" in source
    assert source.count("->") == state_diagram(kind).count("->")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_dot_renders() -> None:
    result = subprocess.run(
        ["dot", "-Tsvg"], input=state_diagram(Kind.INVITE_SERVER).encode(),
        capture_output=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"<svg" in result.stdout and b"Confirmed" in result.stdout
