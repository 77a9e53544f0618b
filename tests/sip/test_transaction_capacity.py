"""imkit.sip.transaction_layer capacity: live and settled transactions are
bounded apart (a layer holds thousands of settled ones, each only absorbing
retransmissions for up to 32 s, whatever ``max_transactions`` says), settled
transactions are released (no parsed message stays), the oldest settled one
is evicted when their table is full, and a CANCEL finds its target through
an index, not a scan (RFC 3261 9.2, 17; RFC 6026)."""

from __future__ import annotations

import enum
import gc
import random
import sys
import time
import types
from collections import Counter

import pytest

from imkit.errors import LocalProtocolError
from imkit.sip import NameAddr, Request, Response, SipURI, Via, parse
from imkit.sip.builders import make_response, new_request
from imkit.sip.ids import IdGenerator
from imkit.sip.params import Params
from imkit.sip.transaction import (
    MACHINES,
    CancelReceived,
    ClientTransaction,
    Destination,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    ServerTransaction,
    State,
    StrayResponse,
    Terminated,
    Timer,
)
from imkit.sip.transaction_layer import DEFAULT_MAX_SETTLED, TransactionLayer

ALICE = Destination("UDP", "127.0.0.1", 5062)
BOB = Destination("UDP", "127.0.0.1", 5060)
SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n"


def layer(**kw) -> TransactionLayer:
    return TransactionLayer(ids=IdGenerator(random.Random(7)), **kw)


def request(method: str, n: int, *, cseq: int = 1, to_tag: str | None = None, branch: str | None = None) -> Request:
    """A request of call ``n`` from alice (127.0.0.1:5062, the source address:
    the UAS stamps nothing, so the same object can be handed over)."""
    to = NameAddr(SipURI(host="127.0.0.1", user="bob"))
    via = Via("UDP", "127.0.0.1", 5062, Params((("branch", branch or f"z9hG4bK{method}-{n}"),)))
    req = new_request(
        method, "sip:bob@127.0.0.1:5060",
        from_addr=NameAddr(SipURI(host="127.0.0.1", user="alice")).with_tag(f"f{n}"),
        to_addr=to.with_tag(to_tag) if to_tag else to,
        call_id=f"call-{n}@127.0.0.1", cseq=cseq,
        via=via if via.branch.startswith("z9hG4bK") else Via("UDP", "127.0.0.1", 5062, Params((("branch", "z9hG4bKx"),))),
        body=SDP if method == "INVITE" else b"", content_type="application/sdp" if method == "INVITE" else None,
    )
    req.headers.set("Via", str(via))  # RFC 2543 branches too (new_request insists on the cookie)
    return req


def only(outputs: list, kind: type) -> list:
    return [o for o in outputs if isinstance(o, kind)]


def call(uac: TransactionLayer, uas: TransactionLayer, n: int, now: float) -> None:
    """INVITE / 100 / 200 / ACK / BYE / 200 between two layers, messages handed over as objects."""
    invite, _ = uac.send_request(request("INVITE", n), BOB, now)
    out = uas.receive(invite.request, ALICE, now)
    [incoming] = only(out, RequestReceived)
    for sent in only(out, SendMessage):
        uac.receive(sent.message, BOB, now)
    ok = make_response(incoming.request, 200, to_tag=f"t{n}", body=SDP, content_type="application/sdp")
    [sent] = only(uas.send_response(incoming.transaction, ok, now), SendMessage)
    assert only(uac.receive(sent.message, BOB, now), ResponseReceived)
    [ack] = only(uac.send_ack(request("ACK", n, to_tag=f"t{n}", branch=f"z9hG4bKack-{n}"), BOB, now), SendMessage)
    assert only(uas.receive(ack.message, ALICE, now), RequestReceived)
    bye, _ = uac.send_request(request("BYE", n, cseq=2, to_tag=f"t{n}"), BOB, now)
    [incoming] = only(uas.receive(bye.request, ALICE, now), RequestReceived)
    [sent] = only(uas.send_response(incoming.transaction, make_response(incoming.request, 200), now), SendMessage)
    [final] = only(uac.receive(sent.message, BOB, now), ResponseReceived)
    assert final.response.status == 200


# ---------------------------------------------------------------- the two bounds


def calls_through_a_small_live_bound(count: int) -> None:
    uac, uas = layer(max_transactions=64), layer(max_transactions=64)
    for n in range(count):
        call(uac, uas, n, n * 0.0005)  # 2000 calls/s: no timer fires before the end
    # every transaction is settled, none live: the UAC holds INVITE (Accepted,
    # Timer M) and BYE (Completed, Timer K), the UAS INVITE (Accepted and
    # ACKed, Timer L) and BYE (Completed, Timer J)
    assert (uac.live_count, uac.settled_count, len(uac)) == (0, 2 * count, 2 * count)
    assert (uas.live_count, uas.settled_count, len(uas)) == (0, 2 * count, 2 * count)
    assert uac.evicted == uas.evicted == 0
    # ... until the timers run out
    uac.handle_timer(count * 0.0005 + 32.0)
    uas.handle_timer(count * 0.0005 + 32.0)
    assert len(uac) == len(uas) == 0
    assert uac.next_deadline() is None and uas.next_deadline() is None


def test_settled_transactions_do_not_count_against_max_transactions() -> None:
    calls_through_a_small_live_bound(5_000)


@pytest.mark.slow
def test_fifty_thousand_calls_through_a_live_bound_of_64() -> None:
    calls_through_a_small_live_bound(50_000)


def test_live_bound_still_answers_503() -> None:
    uas = layer(max_transactions=2)
    for n in range(2):
        [incoming] = only(uas.receive(request("INVITE", n), ALICE, 0.0), RequestReceived)
        assert incoming.transaction.state is State.PROCEEDING  # live: the TU has not answered
    out = uas.receive(request("INVITE", 2), ALICE, 0.0)
    assert [(s.message.status, s.transaction) for s in only(out, SendMessage)] == [(503, None)]
    assert (uas.live_count, len(uas)) == (2, 2)
    with pytest.raises(LocalProtocolError, match="live transactions"):
        uas.send_request(request("OPTIONS", 3), BOB, 0.0)


def test_settling_makes_room_for_live_ones() -> None:
    uas = layer(max_transactions=1)
    [incoming] = only(uas.receive(request("OPTIONS", 0), ALICE, 0.0), RequestReceived)
    assert only(uas.receive(request("OPTIONS", 1), ALICE, 0.0), SendMessage)[0].message.status == 503
    uas.send_response(incoming.transaction, make_response(incoming.request, 200, to_tag="t"), 0.1)
    assert (uas.live_count, uas.settled_count) == (0, 1)
    assert only(uas.receive(request("OPTIONS", 1), ALICE, 0.2), RequestReceived)


def test_unacked_2xx_and_non_2xx_stay_live_until_the_ack() -> None:
    """An INVITE server transaction that retransmits its final response
    (Timer G, or the 2xx of 13.3.1.4) waits on the peer: it is live."""
    uas = layer()
    [one] = only(uas.receive(request("INVITE", 1), ALICE, 0.0), RequestReceived)
    [two] = only(uas.receive(request("INVITE", 2), ALICE, 0.0), RequestReceived)
    uas.send_response(one.transaction, make_response(one.request, 486, to_tag="b1"), 0.1)
    uas.send_response(two.transaction, make_response(two.request, 200, to_tag="b2"), 0.1)
    assert not one.transaction.settled and not two.transaction.settled
    assert (uas.live_count, uas.settled_count) == (2, 0)
    ack = request("ACK", 1, to_tag="b1", branch="z9hG4bKINVITE-1")
    assert uas.receive(ack, ALICE, 0.2) == []
    assert one.transaction.state is State.CONFIRMED and one.transaction.settled
    assert only(uas.receive(request("ACK", 2, to_tag="b2", branch="z9hG4bKack2"), ALICE, 0.2), RequestReceived)
    assert two.transaction.acked and two.transaction.settled
    assert (uas.live_count, uas.settled_count) == (0, 2)


# ---------------------------------------------------------------- eviction


def answered_options(uas: TransactionLayer, n: int, now: float) -> tuple[ServerTransaction, SendMessage, list]:
    [incoming] = only(uas.receive(request("OPTIONS", n), ALICE, now), RequestReceived)
    out = uas.send_response(incoming.transaction, make_response(incoming.request, 200, to_tag=f"t{n}"), now)
    return incoming.transaction, only(out, SendMessage)[0], out


def test_oldest_settled_transaction_is_evicted_when_the_table_is_full() -> None:
    uas = layer(max_settled=3)
    txns = [answered_options(uas, n, n * 0.1)[0] for n in range(3)]
    assert (uas.settled_count, uas.evicted) == (3, 0)
    txn, _, out = answered_options(uas, 3, 0.3)
    # the new one settles, the oldest goes (reported like any termination)
    assert only(out, Terminated) == [Terminated(txns[0])]
    assert txns[0].terminated and uas.find_server_transaction(request("OPTIONS", 0)) is None
    assert (uas.settled_count, uas.evicted, len(uas)) == (3, 1, 3)
    answered_options(uas, 4, 0.4)
    assert txns[1].terminated and uas.evicted == 2
    # an evicted transaction's retransmitted request is a new request again ...
    assert only(uas.receive(request("OPTIONS", 0), ALICE, 1.0), RequestReceived)
    # ... a settled one's still gets the stored response (17.2.2)
    assert uas.find_server_transaction(request("OPTIONS", 2)) is txns[2]
    # its timer is gone from the layer too
    assert uas.next_deadline() == pytest.approx(0.2 + 32.0)


def test_eviction_never_refuses_new_work() -> None:
    uac, uas = layer(max_transactions=4, max_settled=10), layer(max_transactions=4, max_settled=10)
    for n in range(200):
        call(uac, uas, n, n * 0.001)
    assert uac.settled_count == uas.settled_count == 10
    assert uac.evicted == uas.evicted == 2 * 200 - 10


def test_max_settled_zero_absorbs_nothing() -> None:
    uas = layer(max_settled=0)
    txn, _, out = answered_options(uas, 1, 0.0)
    assert only(out, Terminated) == [Terminated(txn)] and len(uas) == 0 and uas.evicted == 1
    assert uas.next_deadline() is None
    with pytest.raises(LocalProtocolError):
        layer(max_settled=-1)


# ---------------------------------------------------------------- retransmissions to settled transactions


def test_request_retransmission_to_settled_transaction_gets_the_stored_response() -> None:
    """17.2.2: "While in the "Completed" state, the server transaction MUST
    pass the final response to the transport layer for retransmission whenever
    a retransmission of the request is received." -- also once released."""
    uas = layer()
    txn, first, _ = answered_options(uas, 1, 0.0)
    assert txn.released
    for now in (1.0, 20.0, 31.9):
        out = uas.receive(parse(bytes(request("OPTIONS", 1))), ALICE, now)
        [again] = only(out, SendMessage)
        assert again.data == first.data and again.retransmission and again.transaction is txn
        assert again.destination == first.destination == ALICE
        assert again.message.status == 200 and again.message.to.tag == "t1"
    # Timer J: 64*T1
    assert only(uas.handle_timer(32.0), Terminated) == [Terminated(txn)]


def test_settled_invite_server_absorbs_invite_and_passes_acks() -> None:
    uas = layer()
    [incoming] = only(uas.receive(request("INVITE", 1), ALICE, 0.0), RequestReceived)
    txn = incoming.transaction
    uas.send_response(txn, make_response(incoming.request, 200, to_tag="b"), 0.0)
    ack = request("ACK", 1, to_tag="b", branch="z9hG4bKack")
    assert only(uas.receive(ack, ALICE, 0.1), RequestReceived)[0].transaction is txn
    assert txn.released
    # RFC 6026 7.1: "Any INVITEs received in the "Accepted" state MUST be absorbed"
    assert uas.receive(parse(bytes(request("INVITE", 1))), ALICE, 1.0) == []
    # ... and ACKs passed to the TU, with the transaction
    out = uas.receive(parse(bytes(ack)), ALICE, 1.5)
    assert [(type(o), o.transaction) for o in out] == [(RequestReceived, txn)]
    assert out[0].source == ALICE
    # a CANCEL now gets 200 with the dialog's To tag, the INVITE nothing
    out = uas.receive(request("CANCEL", 1, branch="z9hG4bKINVITE-1"), ALICE, 2.0)
    assert [(s.message.status, s.message.to.tag) for s in only(out, SendMessage)] == [(200, "b")]
    assert not only(out, CancelReceived)
    assert Timer.RETRANSMIT_2XX not in txn.deadlines()


def test_settled_client_transactions_resend_their_acks() -> None:
    """17.1.1.2: a retransmitted non-2xx final makes the INVITE transaction
    re-send its ACK; RFC 6026 7.2: a retransmitted 2xx reaches the TU and the
    layer re-sends the TU's ACK -- both once the transactions are released."""
    uac = layer()
    rejected, _ = uac.send_request(request("INVITE", 1), BOB, 0.0)
    busy = make_response(rejected.request, 486, to_tag="b1")
    [first_ack] = only(uac.receive(busy, BOB, 0.1), SendMessage)
    assert rejected.released and rejected.state is State.COMPLETED
    [again] = only(uac.receive(parse(bytes(busy)), BOB, 5.0), SendMessage)
    assert again.data == first_ack.data and again.retransmission and again.message.method == "ACK"

    accepted, _ = uac.send_request(request("INVITE", 2), BOB, 0.0)
    ok = make_response(accepted.request, 200, to_tag="b2")
    uac.receive(ok, BOB, 0.1)
    assert accepted.released and accepted.state is State.ACCEPTED
    [ack] = uac.send_ack(request("ACK", 2, to_tag="b2", branch="z9hG4bKack2"), BOB, 0.2)
    out = uac.receive(parse(bytes(ok)), BOB, 1.0)
    assert [type(o) for o in out] == [ResponseReceived, SendMessage]
    assert out[0].transaction is accepted and out[0].response.status == 200
    assert out[1].data == ack.data and out[1].retransmission and out[1].destination == BOB
    # Timer M: 64*T1; afterwards a 2xx is the core's (RFC 3261 18.1.2)
    uac.handle_timer(32.1)
    assert only(uac.receive(parse(bytes(ok)), BOB, 33.0), StrayResponse)


def test_rfc2543_matching_after_release() -> None:
    """17.2.3 for a branch without the magic cookie compares the To tags: the
    released transaction keeps them."""
    uas = layer()
    old = request("INVITE", 1, branch="old-style-1")
    [incoming] = only(uas.receive(old, ALICE, 0.0), RequestReceived)
    txn = incoming.transaction
    uas.send_response(txn, make_response(incoming.request, 486, to_tag="b"), 0.0)
    ack = request("ACK", 1, to_tag="b", branch="old-style-1")
    assert uas.receive(ack, ALICE, 0.1) == [] and txn.state is State.CONFIRMED and txn.released
    # "Confirmed" absorbs the retransmitted ACK: it matches by the stored tags ...
    assert uas.find_server_transaction(parse(bytes(ack))) is txn
    assert uas.receive(parse(bytes(ack)), ALICE, 0.2) == []
    # ... an ACK with another To tag does not match
    other = request("ACK", 1, to_tag="zz", branch="old-style-1")
    assert uas.find_server_transaction(other) is None


# ---------------------------------------------------------------- what a settled transaction keeps


def test_released_transactions_keep_no_parsed_message() -> None:
    uac, uas = layer(), layer()
    call(uac, uas, 1, 0.0)
    for txn in [*uac.transactions, *uas.transactions]:
        assert txn.settled and txn.released and not txn.terminated
        with pytest.raises(LocalProtocolError, match="released"):
            txn.request  # noqa: B018 -- the property raises
        assert txn.method in ("INVITE", "BYE") and txn.branch is not None
    invite = next(t for t in uas.transactions if t.method == "INVITE")
    assert isinstance(invite, ServerTransaction)
    assert (invite.final_status, invite.to_tag, invite.acked) == (200, "t1", True)
    with pytest.raises(LocalProtocolError):
        invite.last_final  # noqa: B018
    client = next(t for t in uac.transactions if t.method == "INVITE")
    assert isinstance(client, ClientTransaction)
    with pytest.raises(LocalProtocolError):
        client.last_response  # noqa: B018


def test_release_and_abandon_need_a_settled_transaction() -> None:
    uas = layer()
    [incoming] = only(uas.receive(request("OPTIONS", 1), ALICE, 0.0), RequestReceived)
    with pytest.raises(LocalProtocolError):
        incoming.transaction.release()
    with pytest.raises(LocalProtocolError):
        incoming.transaction.abandon()


def kept_by(root: TransactionLayer) -> tuple[Counter[str], int]:
    """Every object reachable from a layer (types, and what all layers share
    -- state tables, enums, the timer values and id generator -- left out),
    by type, and their size in bytes."""
    shared: list[object] = [root.timers, root.ids, *MACHINES.values()]
    seen = {id(o) for o in shared}
    found: Counter[str] = Counter()
    size = 0
    stack: list[object] = [vars(root)]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (type, types.ModuleType, types.FunctionType, enum.Enum)):
            continue
        seen.add(id(item))
        found[type(item).__name__] += 1
        size += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return found, size


def test_objects_kept_per_finished_call() -> None:
    """What a layer keeps per finished call (2 settled transactions each side):
    the transactions, their timers, keys and retransmission bytes, no parsed
    message (before release: ~80 objects and ~12 KB per transaction)."""
    uac, uas = layer(), layer()
    for n in range(50):
        call(uac, uas, -n - 1, 0.0)
    (uac_before, uac_size), (uas_before, uas_size) = kept_by(uac), kept_by(uas)
    calls = 1000
    for n in range(calls):
        call(uac, uas, n, n * 0.001)
    (uac_after, uac_size2), (uas_after, uas_size2) = kept_by(uac), kept_by(uas)
    assert len(uac) == len(uas) == 2 * (calls + 50)
    for grown in (uac_after - uac_before, uas_after - uas_before):
        for parsed in ("Request", "Response", "Headers", "Field", "NameAddr", "SipURI", "Via", "SendMessage"):
            assert grown[parsed] == 0, parsed
        assert sum(grown.values()) < 40 * calls  # ~17 objects for 2 transactions
    # bytes a settled transaction costs (the body of the 200 is gone too)
    assert (uac_size2 - uac_size) / calls < 2 * 1500
    assert (uas_size2 - uas_size) / calls < 2 * 1500


# ---------------------------------------------------------------- CANCEL


def test_cancel_finds_its_invite_among_many_settled_transactions() -> None:
    uas = layer()
    for n in range(300):
        answered_options(uas, n, 0.0)
    [incoming] = only(uas.receive(request("INVITE", 1), ALICE, 0.0), RequestReceived)
    out = uas.receive(request("CANCEL", 1, branch="z9hG4bKINVITE-1"), ALICE, 0.1)
    assert [s.message.status for s in only(out, SendMessage)] == [200, 487]
    assert only(out, CancelReceived)[0].transaction is incoming.transaction
    # no INVITE with that branch: 481 (9.2)
    out = uas.receive(request("CANCEL", 2, branch="z9hG4bKINVITE-2"), ALICE, 0.2)
    assert [s.message.status for s in only(out, SendMessage)] == [481]
    # a CANCEL of a non-INVITE that is still there gets 200 only
    out = uas.receive(request("CANCEL", 7, branch="z9hG4bKOPTIONS-7"), ALICE, 0.3)
    assert [(s.message.status, s.message.to.tag) for s in only(out, SendMessage)] == [(200, "t7")]


def test_cancel_index_follows_the_transactions() -> None:
    uas = layer()
    [first] = only(uas.receive(request("INVITE", 1), ALICE, 0.0), RequestReceived)
    # a peer reusing the INVITE's branch for another method: the first one still wins
    reused = request("INFO", 1, cseq=2, branch="z9hG4bKINVITE-1")
    [second] = only(uas.receive(reused, ALICE, 0.0), RequestReceived)
    cancel = request("CANCEL", 1, branch="z9hG4bKINVITE-1")
    assert uas._cancel_target(cancel) is first.transaction
    uas.send_response(second.transaction, make_response(second.request, 200, to_tag="x"), 0.1)
    uas.send_response(first.transaction, make_response(first.request, 486, to_tag="x"), 0.1)
    uas.handle_timer(100.0)  # Timer H and J: both gone
    assert len(uas) == 0 and uas._cancel_target(cancel) is None and not uas._cancel_index
    assert [s.message.status for s in only(uas.receive(cancel, ALICE, 101.0), SendMessage)] == [481]


def test_cancel_costs_the_same_with_many_settled_transactions() -> None:
    """9.2 matching through the index: a CANCEL among 10,000 settled
    transactions costs what it costs among 10 (a scan would be ~1000 times slower)."""

    def cancel_time(settled: int) -> float:
        uas = layer()
        for n in range(settled):
            answered_options(uas, n, 0.0)
        cancels = [request("CANCEL", n, branch=f"z9hG4bKnone-{n}") for n in range(200)]
        start = time.perf_counter()
        for cancel in cancels:
            uas._cancel_target(cancel)
        return time.perf_counter() - start

    few = min(cancel_time(10) for _ in range(3))
    many = min(cancel_time(10_000) for _ in range(2))
    assert many < 10 * few + 0.002


def test_default_bound_fits_the_design_load() -> None:
    # 2000 calls/s x 32 s with the ~3 settled transactions a call leaves in a
    # proxy's or UA's layer on average
    assert DEFAULT_MAX_SETTLED >= 2000 * 32 * 3
    assert layer().max_settled == DEFAULT_MAX_SETTLED
