"""imkit.sip.transaction_layer: matching (RFC 3261 17.1.3, 17.2.3), CANCEL
(section 9), Via stamping and response routing (18.2, RFC 3581), stateless
rejections, bounds, and two layers talking over an in-memory lossy link with
a fake clock."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError, ParseError
from imkit.sip import NameAddr, Request, Response, SipURI, Via, parse
from imkit.sip.builders import make_response, new_request
from imkit.sip.ids import IdGenerator
from imkit.sip.params import Params
from imkit.sip.transaction import (
    CancelReceived,
    Destination,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    State,
    StrayResponse,
    Terminated,
    TimedOut,
    Timer,
    TransportFailed,
)
from imkit.sip.transaction_layer import (
    Rejection,
    TransactionLayer,
    check_request,
    error_response,
    response_destination,
    salvage_request,
    stamp_received,
    via_destination,
)

ALICE = Destination("UDP", "192.0.2.1", 5062)
BOB = Destination("UDP", "192.0.2.4", 5060)


def invite(method: str = "INVITE", branch: str = "z9hG4bKinv1", *, host: str = "192.0.2.1",
           port: int | None = 5062, cseq: int = 1, route: bool = False, to_tag: str | None = None) -> Request:
    to = NameAddr(SipURI(host="example.com", user="bob"))
    req = new_request(
        method, "sip:bob@example.com",
        from_addr=NameAddr(SipURI(host="example.com", user="alice")).with_tag("atag"),
        to_addr=to.with_tag(to_tag) if to_tag else to,
        call_id="c1@192.0.2.1", cseq=cseq,
        via=Via("UDP", host, port, Params((("branch", "z9hG4bKbuilt"), ("rport", None)))),
        contact=NameAddr(SipURI(host="192.0.2.1", user="alice", port=5062)),
        route=[NameAddr.parse("<sip:p1.example.com;lr>")] if route else (),
    )
    # any branch, RFC 2543 style ones included (new_request insists on the cookie)
    req.headers.set("Via", str(Via("UDP", host, port, Params((("branch", branch), ("rport", None))))))
    return req


def sends(outputs: list) -> list[SendMessage]:
    return [o for o in outputs if isinstance(o, SendMessage)]


def wire(message: Request | Response) -> Request | Response:
    """What the peer parses: the message through bytes."""
    return parse(bytes(message))


def layer(**kw) -> TransactionLayer:
    return TransactionLayer(ids=IdGenerator(random.Random(1)), **kw)


# ---------------------------------------------------------------- client matching (17.1.3)


def test_response_matches_by_branch_and_cseq_method() -> None:
    uac = layer()
    inv = invite()
    inv_txn, _ = uac.send_request(inv, BOB, 0.0)
    # A CANCEL shares the INVITE's branch: the CSeq method tells them apart.
    uac.receive(wire(make_response(inv, 180, to_tag="b")), BOB, 0.1)
    cancel_txn, _ = uac.cancel(inv_txn, 0.2)
    assert cancel_txn is not None and cancel_txn.branch == inv_txn.branch
    out = uac.receive(wire(make_response(cancel_txn.request, 200, to_tag="b")), BOB, 0.3)
    assert [type(o) for o in out] == [ResponseReceived]
    assert out[0].transaction is cancel_txn
    out = uac.receive(wire(make_response(inv, 487, to_tag="b")), BOB, 0.4)
    assert out[0].transaction is inv_txn and out[0].response.status == 487


def test_unmatched_response_goes_to_the_core() -> None:
    uac = layer()
    uac.send_request(invite("OPTIONS"), BOB, 0.0)
    other = wire(make_response(invite("OPTIONS", branch="z9hG4bKother"), 200, to_tag="x"))
    assert summary_types(uac.receive(other, BOB, 0.1)) == [StrayResponse]
    wrong_method = wire(make_response(invite("INFO", branch="z9hG4bKinv1"), 200, to_tag="x"))
    assert summary_types(uac.receive(wrong_method, BOB, 0.1)) == [StrayResponse]


def summary_types(outputs: list) -> list[type]:
    return [type(o) for o in outputs]


def test_response_with_two_vias_is_dropped() -> None:
    """8.1.3.3: "If more than one Via header field value is present in a response,
    the UAC SHOULD discard the message.\""""
    uac = layer()
    req = invite("OPTIONS")
    uac.send_request(req, BOB, 0.0)
    resp = make_response(req, 200, to_tag="x")
    resp.headers.add("Via", "SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKextra")
    assert uac.receive(wire(resp), BOB, 0.1) == []
    assert uac.transactions[0].state is State.TRYING


def test_response_with_other_version_is_dropped() -> None:
    uac = layer()
    req = invite("OPTIONS")
    uac.send_request(req, BOB, 0.0)
    data = bytes(make_response(req, 200, to_tag="x")).replace(b"SIP/2.0 200", b"SIP/3.0 200")
    assert uac.receive(parse(data), BOB, 0.1) == []


# ---------------------------------------------------------------- server matching (17.2.3)


def test_retransmission_absorbed_and_other_sent_by_is_a_new_transaction() -> None:
    uas = layer()
    first = uas.receive(wire(invite("OPTIONS")), ALICE, 0.0)
    assert summary_types(first) == [RequestReceived]
    assert uas.receive(wire(invite("OPTIONS")), ALICE, 0.1) == []  # 17.2.2: discarded in Trying
    # same branch, other sent-by: another transaction
    other = uas.receive(wire(invite("OPTIONS", host="192.0.2.77")), Destination("UDP", "192.0.2.77", 5062), 0.2)
    assert summary_types(other) == [RequestReceived]
    assert other[0].transaction is not first[0].transaction
    # same branch, other method: another transaction
    info = uas.receive(wire(invite("INFO")), ALICE, 0.3)
    assert summary_types(info) == [RequestReceived]
    assert len(uas) == 3


def test_ack_for_non_2xx_matches_the_invite_transaction() -> None:
    uas = layer()
    out = uas.receive(wire(invite()), ALICE, 0.0)
    txn = out[0].transaction
    uas.send_response(txn, make_response(txn.request, 486, to_tag="bt"), 0.1)
    ack = Request("ACK", "sip:bob@example.com", invite().headers.copy())
    ack.headers.set("CSeq", "1 ACK")
    ack.headers.set("To", "<sip:bob@example.com>;tag=bt")
    assert uas.receive(wire(ack), ALICE, 0.2) == []
    assert txn.state is State.CONFIRMED


def test_ack_for_2xx_found_by_dialog_and_absorbed() -> None:
    uas = layer()
    txn = uas.receive(wire(invite()), ALICE, 0.0)[0].transaction
    uas.send_response(txn, make_response(txn.request, 200, to_tag="bt"), 0.1)
    ack = invite("ACK", branch="z9hG4bKack2xx", to_tag="bt")
    out = uas.receive(wire(ack), ALICE, 0.6)
    assert summary_types(out) == [RequestReceived]
    assert out[0].transaction is txn and txn.acked
    assert Timer.RETRANSMIT_2XX not in txn.deadlines()
    # an ACK for a 2xx of no live transaction still reaches the TU, without one
    stray = uas.receive(wire(invite("ACK", branch="z9hG4bKstray", cseq=9, to_tag="bt")), ALICE, 0.7)
    assert summary_types(stray) == [RequestReceived] and stray[0].transaction is None


def test_rfc2543_matching_without_magic_cookie() -> None:
    uas = layer()
    old = invite(branch="1234")  # no z9hG4bK: RFC 2543 style
    txn = uas.receive(wire(old), ALICE, 0.0)[0].transaction
    assert summary_types(uas.receive(wire(invite(branch="1234")), ALICE, 0.1)) == [SendMessage]  # 100 again
    uas.send_response(txn, make_response(txn.request, 404, to_tag="bt"), 0.2)
    ack = invite("ACK", branch="1234", to_tag="bt")
    assert uas.receive(wire(ack), ALICE, 0.3) == []
    assert txn.state is State.CONFIRMED


def test_rfc2543_ack_with_wrong_to_tag_does_not_match() -> None:
    uas = layer()
    txn = uas.receive(wire(invite(branch="1234")), ALICE, 0.0)[0].transaction
    uas.send_response(txn, make_response(txn.request, 404, to_tag="bt"), 0.2)
    out = uas.receive(wire(invite("ACK", branch="1234", to_tag="other")), ALICE, 0.3)
    assert summary_types(out) == [RequestReceived] and out[0].transaction is None
    assert txn.state is State.COMPLETED


def test_rfc2543_matching_can_be_turned_off() -> None:
    uas = layer(rfc2543_matching=False)
    out = uas.receive(wire(invite(branch="1234")), ALICE, 0.0)
    assert [s.message.status for s in sends(out)] == [400]
    assert len(uas) == 0


# ---------------------------------------------------------------- CANCEL (section 9)


def test_cancel_waits_for_a_provisional_response() -> None:
    uac = layer()
    inv = invite(route=True)
    txn, _ = uac.send_request(inv, BOB, 0.0)
    cancel_txn, out = uac.cancel(txn, 0.1)
    assert out == [] and cancel_txn is not None and cancel_txn.state is State.INITIAL
    out = uac.receive(wire(make_response(inv, 180, to_tag="bt")), BOB, 0.2)
    assert summary_types(out) == [ResponseReceived, SendMessage]
    cancel = out[1].message
    # 9.1: same Request-URI, Call-ID, To, From, CSeq number; one Via = the INVITE's top Via; Route copied
    assert out[1].data == (
        b"CANCEL sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKinv1;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:p1.example.com;lr>\r\n"
        b"From: <sip:alice@example.com>;tag=atag\r\n"
        b"To: <sip:bob@example.com>\r\n"
        b"Call-ID: c1@192.0.2.1\r\n"
        b"CSeq: 1 CANCEL\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert cancel is cancel_txn.request and out[1].destination == BOB
    assert Timer.CANCEL_WAIT in txn.deadlines()
    # asking again gives the same CANCEL
    assert uac.cancel(txn, 0.3) == (cancel_txn, [])


def test_held_cancel_discarded_when_final_comes_first() -> None:
    uac = layer()
    inv = invite()
    txn, _ = uac.send_request(inv, BOB, 0.0)
    cancel_txn, _ = uac.cancel(txn, 0.1)
    out = uac.receive(wire(make_response(inv, 486, to_tag="bt")), BOB, 0.2)
    assert [o.message.method for o in sends(out)] == ["ACK"]
    assert any(isinstance(o, Terminated) and o.transaction is cancel_txn for o in out)
    assert uac.find_client_transaction("z9hG4bKinv1", "CANCEL") is None


def test_no_cancel_after_a_final_response() -> None:
    uac = layer()
    inv = invite()
    txn, _ = uac.send_request(inv, BOB, 0.0)
    uac.receive(wire(make_response(inv, 200, to_tag="bt")), BOB, 0.2)
    assert uac.cancel(txn, 0.3) == (None, [])


def test_only_invite_is_cancelled() -> None:
    uac = layer()
    txn, _ = uac.send_request(invite("OPTIONS"), BOB, 0.0)
    with pytest.raises(LocalProtocolError):
        uac.cancel(txn, 0.1)


def test_invite_given_up_64_t1_after_cancel() -> None:
    uac = layer()
    inv = invite()
    txn, _ = uac.send_request(inv, BOB, 0.0)
    uac.receive(wire(make_response(inv, 180, to_tag="bt")), BOB, 0.2)
    uac.cancel(txn, 1.0)
    out: list = []
    while (when := uac.next_deadline()) is not None:
        out += [(when, o) for o in uac.handle_timer(when)]
    timeouts = [(when, o.transaction.method) for when, o in out if isinstance(o, TimedOut)]
    assert sorted(timeouts) == [(33.0, "CANCEL"), (33.0, "INVITE")]
    assert len(uac) == 0


def test_server_answers_cancel_200_and_invite_487_with_one_to_tag() -> None:
    uas = layer()
    txn = uas.receive(wire(invite()), ALICE, 0.0)[0].transaction
    uas.send_response(txn, make_response(txn.request, 180, to_tag="ring"), 0.1)
    cancel = Request("CANCEL", "sip:bob@example.com", invite().headers.copy())
    cancel.headers.set("CSeq", "1 CANCEL")
    cancel.headers.remove("Contact")
    out = uas.receive(wire(cancel), ALICE, 0.2)
    statuses = [(o.message.status, o.message.cseq.method, o.message.to.tag) for o in sends(out)]
    assert statuses == [(200, "CANCEL", "ring"), (487, "INVITE", "ring")]
    assert isinstance(out[-1], CancelReceived) and out[-1].transaction is txn
    assert not any(isinstance(o, RequestReceived) for o in out)
    assert txn.state is State.COMPLETED
    # a retransmitted CANCEL gets the 200 again from its own transaction
    again = uas.receive(wire(cancel), ALICE, 0.3)
    assert [(o.message.status, o.retransmission) for o in sends(again)] == [(200, True)]


def test_cancel_without_transaction_gets_481() -> None:
    uas = layer()
    cancel = invite("CANCEL", branch="z9hG4bKnothing")
    out = uas.receive(wire(cancel), ALICE, 0.0)
    assert [o.message.status for o in sends(out)] == [481]


def test_cancel_after_final_gets_200_only() -> None:
    uas = layer()
    txn = uas.receive(wire(invite()), ALICE, 0.0)[0].transaction
    uas.send_response(txn, make_response(txn.request, 200, to_tag="bt"), 0.1)
    out = uas.receive(wire(invite("CANCEL")), ALICE, 0.2)
    assert [(o.message.status, o.message.to.tag) for o in sends(out)] == [(200, "bt")]
    assert not any(isinstance(o, CancelReceived) for o in out)
    assert txn.state is State.ACCEPTED


def test_cancel_passed_to_tu_when_asked() -> None:
    uas = layer(answer_cancel=False)
    uas.receive(wire(invite()), ALICE, 0.0)
    out = uas.receive(wire(invite("CANCEL")), ALICE, 0.1)
    assert summary_types(out) == [RequestReceived] and out[0].request.method == "CANCEL"


# ---------------------------------------------------------------- ACK for 2xx


def test_tu_ack_resent_when_2xx_is_retransmitted() -> None:
    uac = layer()
    inv = invite()
    txn, _ = uac.send_request(inv, BOB, 0.0)
    ok = wire(make_response(inv, 200, to_tag="bt"))
    assert summary_types(uac.send_ack(invite("ACK", branch="z9hG4bKearly", to_tag="bt"), BOB, 0.05)) == [SendMessage]
    assert txn.acks_2xx == {}  # no 2xx yet: nothing to resend later
    uac.receive(ok, BOB, 0.1)
    ack = invite("ACK", branch="z9hG4bKack", to_tag="bt")
    sent = uac.send_ack(ack, BOB, 0.2)
    assert [(s.message.method, s.transaction) for s in sent] == [("ACK", None)]
    assert list(txn.acks_2xx) == ["bt"]
    out = uac.receive(ok, BOB, 0.6)
    assert summary_types(out) == [ResponseReceived, SendMessage]
    assert out[1].data == sent[0].data and out[1].retransmission
    with pytest.raises(LocalProtocolError):
        uac.send_ack(invite("BYE"), BOB, 0.7)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "change, status",
    [
        ((b"INVITE sip:bob@example.com SIP/2.0", b"INVITE sip:bob@example.com SIP/3.0"), 505),
        ((b"CSeq: 1 INVITE", b"CSeq: 1 OPTIONS"), 400),
        ((b"Call-ID: c1@192.0.2.1\r\n", b""), 400),
        ((b"From: <sip:alice@example.com>;tag=atag\r\n", b""), 400),
    ],
)
def test_bad_requests_rejected_statelessly(change, status) -> None:
    uas = layer()
    data = bytes(invite()).replace(*change)
    out = uas.receive(parse(data), ALICE, 0.0)
    assert [o.message.status for o in sends(out)] == [status]
    assert out[0].transaction is None and len(uas) == 0
    assert out[0].destination == Destination("UDP", "192.0.2.1", 5062)


def test_check_request_reasons() -> None:
    req = invite()
    assert check_request(req) is None
    req.headers.remove("Via")
    assert check_request(req) == Rejection(400, "Missing Via")


def test_request_without_via_or_cseq_is_dropped() -> None:
    """Its response could match no client transaction (17.1.3)."""
    uas = layer()
    for name in (b"Via", b"CSeq"):
        data = b"".join(line for line in bytes(invite()).splitlines(keepends=True)
                        if not line.startswith(name + b":"))
        assert uas.receive(parse(data), ALICE, 0.0) == []
    assert len(uas) == 0


def test_ack_never_rejected() -> None:
    uas = layer()
    ack = bytes(invite("ACK")).replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    assert uas.receive(parse(ack), ALICE, 0.0) == []


def test_salvage_request_and_error_response() -> None:
    data = (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKx\r\n"
        b"From: <sip:alice@example.com>;tag=a\r\n"
        b"To: broken <<<\r\n"
        b"Call-ID: x1\r\n"
        b"CSeq: 8 OPTIONS\r\n"
        b"Content-Length: -1\r\n\r\n"
    )
    with pytest.raises(ParseError):
        parse(data)
    salvaged = salvage_request(data)
    assert salvaged is not None and salvaged.method == "OPTIONS"
    resp = error_response(salvaged, 400, "Bad Request (Content-Length)", "t1")
    assert bytes(resp) == (
        b"SIP/2.0 400 Bad Request (Content-Length)\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKx\r\n"
        b"From: <sip:alice@example.com>;tag=a\r\n"
        b"To: broken <<<;tag=t1\r\n"
        b"Call-ID: x1\r\n"
        b"CSeq: 8 OPTIONS\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert salvage_request(data.replace(b"CSeq: 8 OPTIONS\r\n", b"")) is None
    assert salvage_request(data.replace(b"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKx\r\n", b"")) is None
    assert salvage_request(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n") is None
    assert salvage_request(b"\x00\xff garbage") is None


# ---------------------------------------------------------------- Via and addresses


def test_stamp_received_and_rport() -> None:
    """RFC 3581 4: rport gets the source port, received the source address."""
    req = invite()
    stamp_received(req, Destination("UDP", "198.51.100.7", 40000))
    assert req.headers.get("Via") == (
        "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKinv1;rport=40000;received=198.51.100.7"
    )
    dest = response_destination(req, Destination("UDP", "198.51.100.7", 40000))
    assert dest == Destination("UDP", "198.51.100.7", 40000)


def test_received_added_when_sent_by_is_a_name() -> None:
    """18.2.1: a domain name in sent-by always gets received=."""
    req = new_request(
        "OPTIONS", "sip:bob@example.com",
        from_addr=NameAddr(SipURI(host="example.com", user="a")).with_tag("t"),
        to_addr=NameAddr(SipURI(host="example.com", user="b")),
        call_id="c", cseq=1, via=Via("UDP", "pc33.example.com", None, Params((("branch", "z9hG4bKn"),))),
    )
    req.headers.add("Via", "SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKsecond")
    stamp_received(req, Destination("UDP", "192.0.2.1", 5060))
    assert req.headers.get_all("Via") == [
        "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKn;received=192.0.2.1",
        "SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKsecond",
    ]
    # 18.2.2: received address, sent-by port (5060 when absent)
    assert response_destination(req, Destination("UDP", "192.0.2.1", 33333)) == Destination("UDP", "192.0.2.1", 5060)


def test_same_address_gets_no_received() -> None:
    req = invite()
    req.headers.set("Via", "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKinv1")
    stamp_received(req, ALICE)
    assert req.headers.get("Via") == "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKinv1"
    assert response_destination(req, ALICE) == ALICE


def test_response_over_stream_uses_the_connection() -> None:
    source = Destination("TCP", "192.0.2.1", 41000, connection=3)
    assert response_destination(invite(), source) == source


def test_via_destination_maddr_and_default_ports() -> None:
    via = Via.parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;maddr=239.1.1.1")
    assert via_destination(via, "UDP") == Destination("UDP", "239.1.1.1", 5060)
    via = Via.parse("SIP/2.0/TLS host.example.com;branch=z9hG4bKa")
    assert via_destination(via, "TLS") == Destination("TLS", "host.example.com", 5061)


# ---------------------------------------------------------------- bounds and errors


def test_transaction_table_is_bounded() -> None:
    uas = layer(max_transactions=2)
    uas.receive(wire(invite("OPTIONS", branch="z9hG4bK1")), ALICE, 0.0)
    uas.receive(wire(invite("OPTIONS", branch="z9hG4bK2")), ALICE, 0.0)
    out = uas.receive(wire(invite("OPTIONS", branch="z9hG4bK3")), ALICE, 0.0)
    assert [o.message.status for o in sends(out)] == [503]
    assert len(uas) == 2
    with pytest.raises(LocalProtocolError):
        uas.send_request(invite("OPTIONS", branch="z9hG4bK4"), BOB, 0.0)


def test_terminated_transactions_are_forgotten() -> None:
    uac = layer()
    txn, _ = uac.send_request(invite("OPTIONS"), Destination("TCP", "192.0.2.4", 5060), 0.0)
    out = uac.receive(wire(make_response(txn.request, 200, to_tag="x")), BOB, 0.1)
    assert summary_types(out) == [ResponseReceived, Terminated]
    assert len(uac) == 0 and uac.next_deadline() is None


def test_send_request_refuses_what_it_cannot_match() -> None:
    uac = layer()
    no_cookie = invite("OPTIONS", branch="abc")
    with pytest.raises(LocalProtocolError):
        uac.send_request(no_cookie, BOB, 0.0)
    with pytest.raises(LocalProtocolError):
        uac.send_request(invite("ACK"), BOB, 0.0)
    uac.send_request(invite("OPTIONS"), BOB, 0.0)
    with pytest.raises(LocalProtocolError):
        uac.send_request(invite("OPTIONS"), BOB, 0.0)


def test_transport_error_reported_and_transaction_removed() -> None:
    uac = layer()
    txn, _ = uac.send_request(invite(), BOB, 0.0)
    assert summary_types(uac.transport_error(txn, 0.1)) == [TransportFailed, Terminated]
    assert len(uac) == 0
    assert uac.transport_error(txn, 0.2) == []


def test_next_deadline_is_the_earliest_of_all() -> None:
    uac = layer()
    uac.send_request(invite("OPTIONS", branch="z9hG4bKa"), BOB, 0.0)
    uac.send_request(invite("OPTIONS", branch="z9hG4bKb"), BOB, 0.2)
    assert uac.next_deadline() == 0.5
    uac.handle_timer(0.5)
    assert uac.next_deadline() == 0.7
    assert len(uac.handle_timer(0.7)) == 1


# ---------------------------------------------------------------- two layers over a lossy link


class Link:
    """Two transaction layers, a fake clock, and a link that may lose datagrams."""

    def __init__(self, drop: set[int] | None = None) -> None:
        self.alice = layer()
        self.bob = layer()
        self.now = 0.0
        self.drop = drop or set()
        self.count = 0
        self.wire: list[tuple[float, str, bytes]] = []
        self.to_tu: dict[str, list] = {"alice": [], "bob": []}

    def deliver(self, who: str, outputs: list) -> None:
        for o in outputs:
            if isinstance(o, SendMessage):
                self.count += 1
                self.wire.append((self.now, who, o.data))
                if self.count in self.drop:
                    continue
                peer, name, source = (self.bob, "bob", ALICE) if who == "alice" else (self.alice, "alice", BOB)
                self.deliver(name, peer.receive(parse(o.data), source, self.now))
            else:
                self.to_tu[who].append(o)

    def run_until(self, end: float) -> None:
        while True:
            deadlines = [(d, n) for n, l in (("alice", self.alice), ("bob", self.bob))
                         if (d := l.next_deadline()) is not None and d <= end]
            if not deadlines:
                self.now = end
                return
            when, name = min(deadlines)
            self.now = when
            self.deliver(name, (self.alice if name == "alice" else self.bob).handle_timer(when))


def starts(link: Link) -> list[str]:
    return [data.split(b"\r\n", 1)[0].decode() for _, _, data in link.wire]


def test_invite_cancel_over_the_link() -> None:
    link = Link()
    inv = invite()
    txn, out = link.alice.send_request(inv, BOB, 0.0)
    link.deliver("alice", out)
    server_txn = next(o for o in link.to_tu["bob"] if isinstance(o, RequestReceived)).transaction
    link.now = 0.5
    link.deliver("bob", link.bob.send_response(server_txn, make_response(server_txn.request, 180, to_tag="b"), 0.5))
    link.now = 1.0
    _, out = link.alice.cancel(txn, 1.0)
    link.deliver("alice", out)
    assert starts(link) == [
        "INVITE sip:bob@example.com SIP/2.0",
        "SIP/2.0 100 Trying",
        "SIP/2.0 180 Ringing",
        "CANCEL sip:bob@example.com SIP/2.0",
        "SIP/2.0 200 OK",
        "SIP/2.0 487 Request Terminated",
        "ACK sip:bob@example.com SIP/2.0",
    ]
    assert server_txn.state is State.CONFIRMED and txn.state is State.COMPLETED
    link.run_until(100.0)
    assert len(link.alice) == 0 and len(link.bob) == 0
    assert any(isinstance(o, CancelReceived) for o in link.to_tu["bob"])


def test_lost_datagrams_are_recovered_by_retransmission() -> None:
    # lose the first INVITE, the first 200 and the first ACK-triggering 2xx retransmission's reply
    link = Link(drop={1, 4})
    inv = invite()
    txn, out = link.alice.send_request(inv, BOB, 0.0)
    link.deliver("alice", out)
    assert link.to_tu["bob"] == []
    link.run_until(0.5)  # Timer A: the INVITE again
    server_txn = next(o for o in link.to_tu["bob"] if isinstance(o, RequestReceived)).transaction
    link.deliver("bob", link.bob.send_response(server_txn, make_response(server_txn.request, 200, to_tag="b"), 0.5))
    assert txn.state is State.PROCEEDING  # the 200 (datagram 4) was lost
    link.run_until(1.0)  # the UAS core retransmits the 2xx (13.3.1.4)
    assert txn.state is State.ACCEPTED
    ok = [o for o in link.to_tu["alice"] if isinstance(o, ResponseReceived) and o.response.status == 200]
    assert len(ok) == 1
    link.deliver("alice", link.alice.send_ack(invite("ACK", branch="z9hG4bKack", to_tag="b"), BOB, link.now))
    assert server_txn.acked
    link.run_until(100.0)
    assert starts(link) == [
        "INVITE sip:bob@example.com SIP/2.0",
        "INVITE sip:bob@example.com SIP/2.0",
        "SIP/2.0 100 Trying",
        "SIP/2.0 200 OK",
        "SIP/2.0 200 OK",
        "ACK sip:bob@example.com SIP/2.0",
    ]
    assert len(link.alice) == 0 and len(link.bob) == 0


def test_non_invite_over_the_link_with_loss() -> None:
    link = Link(drop={1, 2, 4})
    txn, out = link.alice.send_request(invite("OPTIONS"), BOB, 0.0)
    link.deliver("alice", out)
    link.run_until(1.5)  # E at 0.5 (lost), 1.5 (arrives)
    server_txn = next(o for o in link.to_tu["bob"] if isinstance(o, RequestReceived)).transaction
    link.deliver("bob", link.bob.send_response(server_txn, make_response(server_txn.request, 200, to_tag="b"), 1.6))
    link.run_until(3.5)  # the 200 was lost; the retransmitted OPTIONS gets it again
    assert txn.state is State.COMPLETED
    assert [t for t, _, _ in link.wire] == [0.0, 0.5, 1.5, 1.5, 3.5, 3.5]


class AnsweringLink(Link):
    """A link whose UAS answers every new request at once with ``status``."""

    def __init__(self, drop: set[int], status: int) -> None:
        super().__init__(drop)
        self.status = status

    def deliver(self, who: str, outputs: list) -> None:
        super().deliver(who, outputs)
        if who != "bob":
            return
        for o in outputs:
            if isinstance(o, RequestReceived) and o.transaction is not None and o.request.method != "ACK":
                txn = o.transaction
                if txn.last_final is None and not txn.terminated:
                    self.deliver("bob", self.bob.send_response(
                        txn, make_response(txn.request, self.status, to_tag="b"), self.now))


@settings(max_examples=150, deadline=None)
@given(
    drop=st.sets(st.integers(min_value=1, max_value=14), max_size=8),
    method=st.sampled_from(["OPTIONS", "INVITE"]),
    status=st.sampled_from([200, 404]),
)
def test_lossy_link_ends_clean(drop, method, status) -> None:
    """Whatever datagrams are lost: the UAC's TU gets exactly one final response
    or one timeout, the UAS's TU sees the request at most once, and both layers
    end empty (every timer ran out, nothing leaks)."""
    if method == "INVITE" and status == 200:
        status = 486  # a 2xx to INVITE needs the TU's ACK: see the other tests
    link = AnsweringLink(drop, status)
    _, out = link.alice.send_request(invite(method), BOB, 0.0)
    link.deliver("alice", out)
    link.run_until(1000.0)
    finals = [o for o in link.to_tu["alice"] if isinstance(o, ResponseReceived) and o.response.is_final]
    timeouts = [o for o in link.to_tu["alice"] if isinstance(o, TimedOut)]
    assert (len(finals), len(timeouts)) in ((1, 0), (0, 1))
    if finals:
        assert finals[0].response.status == status
    requests = [o for o in link.to_tu["bob"] if isinstance(o, RequestReceived)]
    assert len(requests) <= 1
    assert len(link.alice) == 0 and len(link.bob) == 0
    assert link.alice.next_deadline() is None and link.bob.next_deadline() is None
