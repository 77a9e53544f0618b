"""The sans-IO transaction layer of a user agent (RFC 3261 sections 17.1.3,
17.2.3, 9, 18.1.2, 18.2; RFC 3581).

:class:`TransactionLayer` creates client and server transactions, matches
incoming messages to them, runs their timers and forgets them once
terminated.  It also does what the RFC leaves to the transport and the UA
core but needs no I/O:

* stamps ``received``/``rport`` on the top Via of requests (18.2.1, RFC 3581
  section 4) and picks where responses go (18.2.2, RFC 3581);
* answers requests it cannot accept statelessly: 505 for another SIP
  version, 400 for missing or inconsistent mandatory headers, 503 when the
  table of live transactions is full; drops responses it cannot match safely;
* CANCEL (section 9): builds it from the INVITE, holds it until a provisional
  response arrived, and on the server side matches a CANCEL to the INVITE's
  transaction, answers it 200 and the INVITE 487 (481 when nothing matches);
* absorbs the ACK of a 2xx at the INVITE server transaction that sent it and
  re-sends the TU's ACK when a 2xx is retransmitted (13.2.2.4, 13.3.1.4).

RFC 2543 fallback matching (17.2.3, requests whose branch lacks the magic
cookie) is implemented and on by default (``rfc2543_matching``).

Live transactions (waiting on the TU or the peer) and settled ones (only
absorbing retransmissions for up to 32 s, released as they settle) are
bounded apart: ``max_transactions`` and ``max_settled``.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import itertools
from collections import OrderedDict
from dataclasses import dataclass

from imkit.errors import LocalProtocolError
from imkit.sip.address import NameAddr
from imkit.sip.builders import make_cancel, make_response
from imkit.sip.errors import ParseError
from imkit.sip.headers import Field, Headers, canonical_name, is_token, split_list
from imkit.sip.ids import MAGIC_COOKIE, IdGenerator
from imkit.sip.message import MAX_MESSAGE_SIZE, Request, Response, SIPMessage
from imkit.sip.transaction import (
    CancelReceived,
    ClientTransaction,
    Destination,
    Kind,
    Output,
    RequestReceived,
    SendMessage,
    ServerTransaction,
    State,
    StrayResponse,
    Terminated,
    Timers,
    Transaction,
)
from imkit.sip.uri import AbsoluteURI
from imkit.sip.values import Via

__all__ = [
    "DEFAULT_MAX_SETTLED",
    "Rejection",
    "TransactionLayer",
    "answerable",
    "check_request",
    "check_response",
    "default_port",
    "error_response",
    "response_destination",
    "salvage_request",
    "stamp_received",
    "via_destination",
]

SIP_VERSION = "SIP/2.0"
_REQUIRED = ("From", "To", "Call-ID", "CSeq")


def default_port(transport: str) -> int:
    """RFC 3261 19.1.2: 5060 for sip over UDP/TCP, 5061 for TLS."""
    return 5061 if transport.upper() in ("TLS", "TLS-SCTP", "WSS") else 5060


# ---------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request is answered statelessly."""

    status: int
    reason: str


def check_request(request: Request) -> Rejection | None:
    """Whether a parsed request can enter a transaction; the error response if not."""
    if request.version != SIP_VERSION:
        # RFC 3261 8.2 / 21.5.20: 505 "The server does not support the SIP
        # protocol version that was used in the request."
        return Rejection(505, "Version Not Supported")
    if not request.headers.fields("Via"):
        return Rejection(400, "Missing Via")
    for name in _REQUIRED:
        # RFC 3261 8.1.1: "A valid SIP request formulated by a UAC MUST, at a
        # minimum, contain the following header fields: To, From, CSeq, Call-ID,
        # Max-Forwards, and Via"
        if not request.headers.fields(name):
            return Rejection(400, f"Missing {name}")
    cseq = request.cseq
    if cseq is not None and cseq.method != request.method:
        # RFC 3261 8.1.1.5: "The method MUST match that of the request."
        return Rejection(400, "CSeq method does not match the request method")
    return None


def check_response(response: Response, *, proxy: bool = False) -> bool:
    """Whether a response may be passed to the transactions (else it is dropped).

    With ``proxy`` the responses carry the Via values of the hops upstream
    too (RFC 3261 16.7: the proxy removes its own, the topmost)."""
    if response.version != SIP_VERSION or response.cseq is None or response.call_id is None:
        return False
    vias = response.via
    if proxy:
        return bool(vias) and bool(vias[0].branch)
    # RFC 3261 8.1.3.3: "If more than one Via header field value is present in a
    # response, the UAC SHOULD discard the message."
    return len(vias) == 1 and bool(vias[0].branch)


# ---------------------------------------------------------------- Via and addresses


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


@functools.lru_cache(maxsize=1024)
def _same_ip(a: str, b: str) -> bool:
    """Whether two host strings are the same IP address (a name never is).
    Cached: a peer sends from the same few addresses."""
    try:
        return ipaddress.ip_address(_bare(a)) == ipaddress.ip_address(_bare(b))
    except ValueError:
        return False


def stamp_received(request: Request, source: Destination) -> None:
    """Add ``received`` (and fill ``rport``) on the request's top Via, in place."""
    top = request.top_via  # parsed once, kept for the matching that follows
    if top is None:
        return
    stamped = top
    # RFC 3261 18.2.1: "If the host portion of the "sent-by" parameter contains a
    # domain name, or if it contains an IP address that differs from the packet
    # source address, the server MUST add a "received" parameter"
    if not _same_ip(top.host, source.host):
        stamped = stamped.with_param("received", _bare(source.host))
    if "rport" in top.params and not top.params.get("rport"):
        # RFC 3581 4: "it MUST set the value of the parameter to the source port of
        # the request ... the server MUST add a "received" parameter containing the
        # source IP address that the request came from, even if it is identical to
        # the value of the "sent-by" component."
        stamped = stamped.with_param("received", _bare(source.host)).with_param("rport", str(source.port))
    if stamped is not top:
        row = request.headers.fields("Via")[0]
        row.value = ", ".join([str(stamped), *split_list(row.value)[1:]])
        row.raw = None


def via_destination(via: Via, transport: str, source_host: str | None = None) -> Destination:
    """Where a response goes by its top Via alone (RFC 3261 18.2.2, RFC 3581 4)."""
    port = via.port or default_port(transport)
    maddr = via.params.get("maddr")
    if maddr:
        # "if the "sent-by" ... has a "maddr" parameter, the response MUST be
        # forwarded to the address listed there, using the port indicated in "sent-by""
        return Destination(transport, _bare(maddr), port)
    received = via.received or source_host
    if via.rport:
        # RFC 3581 4: "the server MUST send the response to the IP address listed in
        # the "received" parameter and the port in the "rport" parameter"
        return Destination(transport, _bare(received or via.host), via.rport)
    if via.received:
        # "if it has a "received" parameter, the response MUST be sent to the address
        # in the "received" parameter, using the port indicated in the "sent-by" value"
        return Destination(transport, _bare(via.received), port)
    # "the response MUST be sent to the address indicated by the "sent-by" value"
    return Destination(transport, _bare(via.host), port)


def response_destination(request: Request, source: Destination) -> Destination:
    """Where the responses of a server transaction go (RFC 3261 18.2.2)."""
    if source.reliable:
        # "If the "sent-protocol" is a reliable transport protocol such as TCP or
        # SCTP, or TLS over those, the response MUST be sent using the existing
        # connection to the source of the original request"
        return source
    via = request.top_via
    if via is None:
        return source
    destination = via_destination(via, source.transport, source.host)
    # the usual case: one object for both, held by the transaction for up to 32 s
    return source if destination == source else destination


# ---------------------------------------------------------------- error responses


def answerable(headers: Headers) -> bool:
    """Whether a response could be matched by the requester: 17.1.3 needs the
    top Via's branch and the CSeq method."""
    return bool(headers.fields("Via")) and bool(headers.fields("CSeq"))


def error_response(request: Request, status: int, reason: str, to_tag: str) -> Response:
    """A stateless error response that copies the rows 8.2.6.2 names as written,
    so a request whose values do not parse still gets an answer."""
    rows: list[Field] = []
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for row in request.headers.fields(name):
            value = row.value
            if name == "To" and "tag=" not in value.lower():
                value += f";tag={to_tag}"
            rows.append(Field(canonical_name(row.name), value))
    rows.append(Field("Content-Length", "0"))
    return Response(status, _printable(reason), Headers(rows))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:120]


def salvage_request(data: bytes, max_size: int = MAX_MESSAGE_SIZE) -> Request | None:
    """The start line and header rows of a request that failed to parse, when
    there is enough of them to answer it (RFC 3261 8.2 / 21.4.1: 400 "The
    request could not be understood due to malformed syntax"); else ``None``.

    Values are kept as text, unchecked; the result only feeds
    :func:`error_response`."""
    data = bytes(data[:max_size]).lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    if end == -1:
        end = data.find(b"\n\n")
    head = data if end == -1 else data[:end]
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not is_token(parts[0]) or not parts[2].startswith("SIP/"):
        return None
    fields: list[Field] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:
            fields[-1].value += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if colon and is_token(name):
            fields.append(Field(name, _printable(value.strip())))
    headers = Headers(fields)
    if not answerable(headers):
        return None
    return Request(parts[0], AbsoluteURI("unparsed", parts[1] or "-"), headers, b"", parts[2])


# ---------------------------------------------------------------- keys

ClientKey = tuple[str, str]


def _tag(address: NameAddr | None) -> str | None:
    return address.tag if address is not None else None


def server_key(request: Request, rfc2543: bool) -> tuple[object, ...] | None:
    """The key of 17.2.3 matching: branch, sent-by and method (ACK -> INVITE).

    For a branch without the magic cookie (RFC 2543), Request-URI, From tag,
    Call-ID, CSeq and top Via; the To tag is compared afterwards."""
    via = request.top_via
    cseq = request.cseq
    if via is None or cseq is None:
        return None
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch and branch.startswith(MAGIC_COOKIE):
        # 17.2.3: "the branch parameter in the request is equal to the one in the top
        # Via header field of the request that created the transaction, ... the
        # sent-by value in the top Via of the request is equal to the one in the
        # request that created the transaction, and ... the method of the request
        # matches the one that created the transaction, except for ACK, where the
        # method of the request that created the transaction is INVITE."
        return ("3261", branch, via.host.lower(), via.port, method)
    if not rfc2543:
        return None
    return (
        "2543", str(request.uri), _tag(request.from_), request.call_id, cseq.seq, method,
        via.transport, via.host.lower(), via.port, branch,
    )


def _cancel_prefix(key: tuple[object, ...]) -> tuple[object, ...]:
    """A server key without its method: what a CANCEL shares with its target."""
    return key[:-1] if key[0] == "3261" else key[:5] + key[6:]


def _dialog_key(message: SIPMessage, with_to_tag: bool) -> tuple[object, ...] | None:
    cseq = message.cseq
    if cseq is None:
        return None
    key: tuple[object, ...] = (message.call_id, cseq.seq, _tag(message.from_))
    return key + (_tag(message.to),) if with_to_tag else key


# ---------------------------------------------------------------- the layer


#: The default bound on settled transactions: what 2000 calls/s leave for
#: 32 s (Timers D, J, L, M over UDP) at three settled transactions a call
#: (a UA's layer keeps two a call, a proxy's four).  A settled transaction is
#: released (:meth:`imkit.sip.transaction.Transaction.release`) and costs
#: about 1.3-1.5 KB with its table, index and timer entries (measured in
#: tests/sip/test_transaction_capacity.py), so ~280 MB at the bound.
DEFAULT_MAX_SETTLED = 200_000


class TransactionLayer:
    """Creates, matches and times the transactions of one user agent.

    Every method takes ``now`` and returns a list of outputs
    (:mod:`imkit.sip.transaction`); :meth:`next_deadline` says when
    :meth:`handle_timer` should be called next.

    Two bounds.  ``max_transactions`` bounds the *live* transactions, those
    still waiting on the TU or on the peer: a new request beyond it is
    answered 503, a new client transaction refused.  ``max_settled`` bounds
    the *settled* ones (:data:`imkit.sip.transaction.SETTLED`), which only
    absorb retransmissions until Timer D, I, J, K, L or M fires; they are
    released (their parsed messages dropped) as they settle.  When that table
    is full the oldest settled transaction is terminated early
    (:attr:`evicted` counts them) rather than new work refused.  That is the
    right trade: a settled transaction's exchange is over (the final response
    was sent or received, the ACK came), and all it can still do is absorb a
    late retransmission, which after an eviction reaches the TU as a new
    request, a stray response or an ACK without transaction -- what RFC 3261
    itself does with a 2xx retransmission after its INVITE transaction ended.
    Refusing instead would fail calls that have not even started.
    """

    def __init__(
        self,
        timers: Timers | None = None,
        *,
        max_transactions: int = 4096,
        max_settled: int = DEFAULT_MAX_SETTLED,
        send_trying: bool = True,
        answer_cancel: bool = True,
        rfc2543_matching: bool = True,
        ids: IdGenerator | None = None,
        proxy: bool = False,
    ) -> None:
        if max_transactions < 1:
            raise LocalProtocolError("max_transactions must be at least 1")
        if max_settled < 0:
            raise LocalProtocolError("max_settled must not be negative")
        self.timers = timers or Timers()
        #: bound on live transactions (waiting on the TU or the peer)
        self.max_transactions = max_transactions
        #: bound on settled transactions (only absorbing retransmissions)
        self.max_settled = max_settled
        #: settled transactions terminated early because the table was full
        self.evicted = 0
        self.send_trying = send_trying
        self.answer_cancel = answer_cancel
        self.rfc2543_matching = rfc2543_matching
        self.ids = ids or IdGenerator()
        #: a proxy's layer: responses keep the Via values of the hops upstream
        self.proxy = proxy
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[tuple[object, ...], ServerTransaction] = {}
        self._invites: dict[tuple[object, ...], ClientTransaction] = {}
        self._accepted: dict[tuple[object, ...], ServerTransaction] = {}
        #: server transactions by their key without the method: a CANCEL's target (9.2)
        self._cancel_index: dict[tuple[object, ...], ServerTransaction | list[ServerTransaction]] = {}
        #: every transaction held (hashed by identity): the tables and keys it is indexed
        #: under, flat (table, key, table, key, ...)
        self._keys: dict[Transaction, tuple[object, ...]] = {}
        #: settled transactions, oldest first
        self._settled: OrderedDict[Transaction, None] = OrderedDict()
        self._heap: list[tuple[float, int, Transaction]] = []
        self._scheduled: dict[Transaction, float] = {}
        self._counter = itertools.count()

    # -- reading -------------------------------------------------------------
    def __len__(self) -> int:
        """Every transaction held, live and settled."""
        return len(self._keys)

    @property
    def live_count(self) -> int:
        """Transactions waiting on the TU or the peer (bounded by ``max_transactions``)."""
        return len(self._keys) - len(self._settled)

    @property
    def settled_count(self) -> int:
        """Transactions only absorbing retransmissions (bounded by ``max_settled``)."""
        return len(self._settled)

    @property
    def transactions(self) -> list[Transaction]:
        return [*self._clients.values(), *self._servers.values()]

    def find_client_transaction(self, branch: str, method: str) -> ClientTransaction | None:
        return self._clients.get((branch, method))

    def find_server_transaction(self, request: Request) -> ServerTransaction | None:
        """The server transaction ``request`` belongs to (17.2.3), if any."""
        return self._find_server(request, server_key(request, self.rfc2543_matching))

    def _find_server(self, request: Request, key: tuple[object, ...] | None) -> ServerTransaction | None:
        txn = self._servers.get(key) if key is not None else None
        if txn is None or key is None or key[0] == "3261":
            return txn
        # 17.2.3 (RFC 2543): "the To tag ... equals the To tag of the response sent
        # by the server transaction" for ACK; the request's own To tag otherwise.
        own = txn.request_to_tag
        wanted = txn.to_tag if request.method == "ACK" and own is None else own
        return txn if _tag(request.to) == wanted else None

    # -- time ----------------------------------------------------------------
    def next_deadline(self) -> float | None:
        while self._heap:
            when, _, txn = self._heap[0]
            if self._scheduled.get(txn) == when and not txn.terminated:
                return when
            heapq.heappop(self._heap)
        return None

    def handle_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        while self._heap and self._heap[0][0] <= now:
            when, _, txn = heapq.heappop(self._heap)
            if self._scheduled.get(txn) != when or txn.terminated:
                continue
            del self._scheduled[txn]
            out += self._settle(txn, txn.handle_timer(now), now)
        return out

    # -- sending -------------------------------------------------------------
    def send_request(
        self, request: Request, destination: Destination, now: float
    ) -> tuple[ClientTransaction, list[Output]]:
        """Start a client transaction for ``request`` (not ACK: see :meth:`send_ack`)."""
        if request.method == "ACK":
            raise LocalProtocolError(
                "an ACK is not a transaction: use send_ack (2xx) or let the INVITE transaction ACK a non-2xx"
            )
        via = request.top_via
        cseq = request.cseq
        if via is None or not via.branch or not via.branch.startswith(MAGIC_COOKIE):
            # RFC 3261 8.1.1.7: "the branch ID ... MUST always begin with the characters "z9hG4bK""
            raise LocalProtocolError("the request needs a top Via with a z9hG4bK branch")
        if cseq is None or cseq.method != request.method:
            raise LocalProtocolError("the CSeq method must match the request method")
        key = (via.branch, request.method)
        if key in self._clients:
            raise LocalProtocolError(f"a client transaction with branch {via.branch} exists")
        self._check_room()
        txn = ClientTransaction(request, destination, self.timers)
        self._index(txn, self._clients, key)
        if request.method == "INVITE":
            dialog_key = _dialog_key(request, False)
            if dialog_key is not None:
                self._index(txn, self._invites, dialog_key)
        return txn, self._settle(txn, txn.start(now), now)

    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> list[Output]:
        """Pass the TU's response to its server transaction."""
        if transaction.terminated:
            raise LocalProtocolError(f"{transaction!r} is terminated")
        out = transaction.respond(response, now)
        if transaction.kind is Kind.INVITE_SERVER and response.is_success:
            key = _dialog_key(response, True)
            if key is not None:
                self._index(transaction, self._accepted, key)
        return self._settle(transaction, out, now)

    def send_ack(self, ack: Request, destination: Destination, now: float) -> list[Output]:
        """Send the TU's ACK for a 2xx (RFC 3261 13.2.2.4: not a transaction);
        the INVITE's client transaction re-sends it if the 2xx comes again."""
        if ack.method != "ACK":
            raise LocalProtocolError(f"send_ack sends ACK, not {ack.method}")
        send = SendMessage(ack, bytes(ack), destination, None)
        key = _dialog_key(ack, False)
        invite = self._invites.get(key) if key is not None else None
        to_tag = _tag(ack.to)
        if invite is not None and invite.state is State.ACCEPTED and to_tag:
            invite.record_ack(to_tag, SendMessage(ack, send.data, destination, None, True))
        return [send]

    def cancel(self, invite: ClientTransaction, now: float) -> tuple[ClientTransaction | None, list[Output]]:
        """CANCEL a pending INVITE (RFC 3261 9.1); ``None`` once it has a final response."""
        if invite.kind is not Kind.INVITE_CLIENT:
            # 9.1: "a CANCEL request SHOULD NOT be sent to cancel a request other than INVITE."
            raise LocalProtocolError("only an INVITE is cancelled")
        existing = self._clients.get((invite.branch or "", "CANCEL"))
        if existing is not None:
            return existing, []
        if invite.state not in (State.CALLING, State.PROCEEDING):
            # 9.1: "If the original request has generated a final response, the
            # CANCEL SHOULD NOT be sent"
            return None, []
        self._check_room()
        txn = ClientTransaction(make_cancel(invite.request), invite.destination, self.timers)
        self._index(txn, self._clients, (invite.branch or "", "CANCEL"))
        if invite.state is State.CALLING:
            # 9.1: "If no provisional response has been received, the CANCEL request
            # MUST NOT be sent; rather, the client MUST wait for the arrival of a
            # provisional response before sending the request."
            invite.pending_cancel = txn
            return txn, []
        out = self._settle(txn, txn.start(now), now)
        return txn, out + self._settle(invite, invite.cancel_sent(now), now)

    def transport_error(self, transaction: Transaction, now: float) -> list[Output]:
        """The transport failed to send a message of ``transaction``."""
        if transaction.terminated:
            return []
        return self._settle(transaction, transaction.transport_error(now), now)

    def reject(self, request: Request, rejection: Rejection, source: Destination) -> list[Output]:
        """Answer ``request`` statelessly with an error.  Never an ACK, and not
        a request without Via or CSeq: its response could match nothing."""
        if request.method == "ACK" or not answerable(request.headers):
            return []
        response = error_response(request, rejection.status, rejection.reason, self.ids.tag())
        try:
            stamp_received(request, source)
            via = request.top_via
        except ParseError:
            via = None
        if source.reliable or via is None:
            destination = source
        else:
            destination = via_destination(via, source.transport, source.host)
        return [SendMessage(response, bytes(response), destination, None)]

    # -- receiving -----------------------------------------------------------
    def receive(self, message: SIPMessage, source: Destination, now: float) -> list[Output]:
        """A parsed message arrived from ``source``."""
        if isinstance(message, Response):
            return self._receive_response(message, source, now)
        return self._receive_request(message, source, now)

    def _receive_response(self, response: Response, source: Destination, now: float) -> list[Output]:
        if not check_response(response, proxy=self.proxy):
            return []
        via = response.top_via
        cseq = response.cseq
        assert via is not None and cseq is not None
        # 17.1.3: "If the response has the same value of the branch parameter in the
        # top Via header field as the branch parameter in the top Via header field of
        # the request that created the transaction ... [and] If the method parameter
        # in the CSeq header field matches the method of the request that created the
        # transaction."
        txn = self._clients.get((via.branch or "", cseq.method))
        if txn is None:
            # 18.1.2: "the response MUST be passed to the core"
            return [StrayResponse(response, source)]
        return self._settle(txn, txn.receive(response, now), now)

    def _receive_request(self, request: Request, source: Destination, now: float) -> list[Output]:
        rejection = check_request(request)
        if rejection is not None:
            return self.reject(request, rejection, source)
        stamp_received(request, source)
        key = server_key(request, self.rfc2543_matching)
        txn = self._find_server(request, key)
        if txn is not None:
            return self._settle(txn, txn.receive(request, now), now)
        if request.method == "ACK":
            key = _dialog_key(request, True)
            accepted = self._accepted.get(key) if key is not None else None
            if accepted is not None and not accepted.terminated:
                return self._settle(accepted, accepted.receive(request, now, ack_for_2xx=True), now)
            return [RequestReceived(None, request, source)]
        if key is None:
            return self.reject(request, Rejection(400, "Via branch lacks the z9hG4bK magic cookie"), source)
        if self.live_count >= self.max_transactions:
            return self.reject(request, Rejection(503, "Service Unavailable"), source)
        txn = ServerTransaction(
            request, source, response_destination(request, source), self.timers,
            send_trying=self.send_trying,
        )
        self._index(txn, self._servers, key)
        if request.method != "CANCEL":
            self._index_cancel_target(txn, _cancel_prefix(key))
        out = self._settle(txn, txn.start(now), now)
        if request.method == "CANCEL" and self.answer_cancel:
            out = [o for o in out if not (isinstance(o, RequestReceived) and o.transaction is txn)]
            out += self._answer_cancel(txn, now)
        return out

    def _answer_cancel(self, cancel_txn: ServerTransaction, now: float) -> list[Output]:
        cancel = cancel_txn.request
        target = self._cancel_target(cancel)
        if target is None:
            # 9.2: "If the UAS did not find a transaction for the CANCEL request, it
            # SHOULD respond to the CANCEL with a 481 (Call Leg/Transaction Does Not Exist)."
            return self.send_response(cancel_txn, make_response(cancel, 481, to_tag=self.ids.tag()), now)
        # 9.2: "The To tag of the response to the CANCEL and the To tag in the response
        # to the original request SHOULD be the same."
        to_tag = target.to_tag or self.ids.tag()
        out: list[Output] = []
        pending = target.kind is Kind.INVITE_SERVER and target.state is State.PROCEEDING
        # "as long as the CANCEL matched an existing transaction, the UAS answers the
        # CANCEL request itself with a 200 (OK) response."
        out += self.send_response(cancel_txn, make_response(cancel, 200, to_tag=to_tag), now)
        if pending:
            # "the UAS SHOULD immediately respond to the INVITE with a 487 (Request Terminated)."
            out += self.send_response(target, make_response(target.request, 487, to_tag=to_tag), now)
            out.append(CancelReceived(target, cancel))
        return out

    def _cancel_target(self, cancel: Request) -> ServerTransaction | None:
        # 9.2: "taking the CANCEL request, and then assuming that the request method
        # is anything but CANCEL or ACK and applying the transaction matching
        # procedures of Section 17.2.3."
        key = server_key(cancel, self.rfc2543_matching)
        if key is None:
            return None
        found = self._cancel_index.get(_cancel_prefix(key))
        if found is None or isinstance(found, ServerTransaction):
            return found
        return found[0]

    def _index_cancel_target(self, txn: ServerTransaction, prefix: tuple[object, ...]) -> None:
        """Index a server transaction (not a CANCEL's: an ACK makes none) for
        :meth:`_cancel_target`; transactions sharing a prefix (a peer reusing
        a branch for two methods) stay in arrival order, the first one wins."""
        found = self._cancel_index.get(prefix)
        if found is None:
            self._cancel_index[prefix] = txn
        elif isinstance(found, list):
            found.append(txn)
        else:
            self._cancel_index[prefix] = [found, txn]
        self._keys[txn] += (self._cancel_index, prefix)

    def _unindex_cancel_target(self, txn: Transaction, prefix: tuple[object, ...]) -> None:
        found = self._cancel_index.get(prefix)
        if found is txn:
            del self._cancel_index[prefix]
        elif isinstance(found, list) and txn in found:
            found.remove(txn)
            if len(found) == 1:
                self._cancel_index[prefix] = found[0]

    # -- bookkeeping -----------------------------------------------------------
    def _check_room(self) -> None:
        if self.live_count >= self.max_transactions:
            raise LocalProtocolError(f"more than {self.max_transactions} live transactions")

    def _index(self, txn: Transaction, table: dict, key: tuple[object, ...]) -> None:  # type: ignore[type-arg]
        if table.get(key) is txn:
            return  # a 2xx the TU sends again
        table[key] = txn
        self._keys[txn] = self._keys.get(txn, ()) + (table, key)

    def _forget(self, txn: Transaction) -> None:
        keys = self._keys.pop(txn, ())
        for table, key in zip(keys[::2], keys[1::2]):
            if table is self._cancel_index:
                self._unindex_cancel_target(txn, key)  # type: ignore[arg-type]
            elif table.get(key) is txn:  # type: ignore[attr-defined]
                del table[key]  # type: ignore[attr-defined]
        self._settled.pop(txn, None)
        self._scheduled.pop(txn, None)

    def _retire(self, txn: Transaction, out: list[Output]) -> list[Output]:
        """Move a transaction that just settled to the settled table and
        release it; evict the oldest settled ones beyond ``max_settled``."""
        self._settled[txn] = None
        txn.release()
        while len(self._settled) > self.max_settled:
            oldest, _ = self._settled.popitem(last=False)
            self.evicted += 1
            out = out + oldest.abandon()
            self._forget(oldest)
        return out

    def _schedule(self, txn: Transaction, when: float) -> None:
        self._scheduled[txn] = when
        heap = self._heap
        heapq.heappush(heap, (when, next(self._counter), txn))
        if len(heap) > len(self._scheduled) * 5 // 4 + 64:
            # Entries of re-scheduled, forgotten and evicted transactions are
            # skipped when popped; drop them before they outnumber the rest.
            scheduled = self._scheduled
            self._heap = [e for e in heap if scheduled.get(e[2]) == e[0] and not e[2].terminated]
            heapq.heapify(self._heap)

    def _settle(self, txn: Transaction, out: list[Output], now: float) -> list[Output]:
        """After ``txn`` ran: send a held CANCEL, forget the terminated, re-schedule."""
        if isinstance(txn, ClientTransaction) and txn.pending_cancel is not None:
            cancel = txn.pending_cancel
            if txn.state is State.PROCEEDING:
                txn.pending_cancel = None
                out = out + self._settle(cancel, cancel.start(now), now)
                out += txn.cancel_sent(now)
            elif txn.state is not State.CALLING:
                txn.pending_cancel = None
                out = out + self._settle(cancel, cancel.discard(now), now)
        for item in out:
            if isinstance(item, Terminated):
                self._forget(item.transaction)
        if txn.terminated:
            self._forget(txn)
            return out
        if not txn.released and txn.settled and txn in self._keys:
            out = self._retire(txn, out)
            if txn.terminated:
                return out
        when = txn.next_deadline()
        if when is None:
            self._scheduled.pop(txn, None)
        elif self._scheduled.get(txn) != when:
            self._schedule(txn, when)
        return out
