"""Building blocks for the rules of 7.1.1: which records a rule is about and
how to decide it.

Rules read the trace: a request a procedure sent carries the clause in its
record's ``label``; what the client did that does not go on the wire (it
stored the Allow list, started the session timer, told the user) is written
to the trace as a *note* keyed by the rule id, with the value it acted on, so
a check can compare it with the message that asked for it.
"""

from __future__ import annotations

from typing import Callable

from imkit.procedures.rules import Check, Finding, Level, Rule, Selector, failed, not_applicable, passed
from imkit.sip import Request, Response
from imkit.trace import Trace, TraceRecord
from imkit.trace.record import Direction, Protocol

IMS_TEXT = (
    "When the SIP/IP Core corresponds to 3GPP/3GPP2 IMS, the IM Client SHALL use 3GPP/3GPP2 IMS "
    "... mechanisms according to rules and procedures of [3GPP TS 24.229] / [3GPP2 X.S0013.004]"
)
RequestCheck = Callable[[Request], Finding]


# -- selectors --------------------------------------------------------------
def sent_by(clause: str, *methods: str) -> Selector:
    """Requests the procedure of ``clause`` sent (by the record's label)."""

    def select(record: TraceRecord, trace: Trace) -> bool:
        message = record.message
        return (
            record.direction is Direction.SENT
            and record.protocol is Protocol.SIP
            and isinstance(message, Request)
            and record.label == clause
            and (not methods or message.method in methods)
        )

    return select


def responses_to(clause: str, method: str, low: int = 100, high: int = 699) -> Selector:
    """Responses received to requests ``clause`` sent with ``method``."""
    sent = sent_by(clause, method)

    def select(record: TraceRecord, trace: Trace) -> bool:
        message = record.message
        if record.direction is not Direction.RECEIVED or not isinstance(message, Response):
            return False
        if not low <= message.status <= high or message.cseq is None or message.cseq.method != method:
            return False
        request = request_of(record, trace)
        return request is not None and sent(request, trace)

    return select


def received_in_dialog_of(clause: str, method: str, *request_methods: str) -> Selector:
    """Requests received (``method``, e.g. NOTIFY) in a dialog the procedure
    of ``clause`` created with one of ``request_methods``."""

    def select(record: TraceRecord, trace: Trace) -> bool:
        message = record.message
        if record.direction is not Direction.RECEIVED or not isinstance(message, Request):
            return False
        if message.method != method:
            return False
        return any(
            sent_by(clause, *request_methods)(other, trace) and other.message.call_id == message.call_id
            for other in trace
        )

    return select


def request_of(response_record: TraceRecord, trace: Trace) -> TraceRecord | None:
    """The sent request a received response answers (Call-ID, CSeq, branch)."""
    response = response_record.message
    if not isinstance(response, Response):
        return None
    branch = response.top_via.branch if response.top_via else None
    for record in trace:
        request = record.message
        if (
            record.direction is Direction.SENT
            and isinstance(request, Request)
            and request.call_id == response.call_id
            and request.cseq == response.cseq
            and (branch is None or (request.top_via is not None and request.top_via.branch == branch))
        ):
            return record
    return None


def answers_to(record: TraceRecord, trace: Trace) -> list[TraceRecord]:
    """Responses sent by us to the received request ``record``."""
    request = record.message
    return [
        other
        for other in trace
        if other.direction is Direction.SENT
        and isinstance(other.message, Response)
        and other.message.call_id == request.call_id
        and other.message.cseq == request.cseq
    ]


def challenged_attempt(record: TraceRecord, trace: Trace) -> TraceRecord | None:
    """The sent request that ``record`` repeats with credentials after a 401
    or 407 (RFC 3261 22.2: same Call-ID, CSeq + 1), or ``None``."""
    request = record.message
    if not isinstance(request, Request) or request.cseq is None:
        return None
    if "Authorization" not in request.headers and "Proxy-Authorization" not in request.headers:
        return None
    for other in trace:
        first = other.message
        if (other.direction is Direction.SENT and isinstance(first, Request) and first.method == request.method
                and first.call_id == request.call_id and first.cseq is not None
                and first.cseq.seq == request.cseq.seq - 1):
            challenged = any(
                r.direction is Direction.RECEIVED and isinstance(r.message, Response)
                and r.message.status in (401, 407) and r.message.call_id == first.call_id
                and r.message.cseq == first.cseq
                for r in trace
            )
            if challenged:
                return other
    return None


def notes(trace: Trace, key: str, record: TraceRecord | None = None) -> list:
    """The client's notes under ``key``; with ``record``, those about its message
    (same Call-ID, CSeq and, for a response, status).  A request repeated with
    credentials after a challenge is the request the client meant: the notes
    about the first attempt are about it too."""
    found = [n for n in trace.notes if n.key == key]
    if record is None:
        return found
    about = [n for n in found if n.is_about(record.message)]
    if not about:
        first = challenged_attempt(record, trace)
        if first is not None:
            return notes(trace, key, first)
    return about


# -- checks -------------------------------------------------------------------
def on_request(check: RequestCheck) -> Check:
    def run(record: TraceRecord, trace: Trace) -> Finding:
        return check(record.message)

    return run


def header_equals(name: str, expected: Callable[[Request], str | None] | str, describe: str = "") -> Check:
    def run(record: TraceRecord, trace: Trace) -> Finding:
        message = record.message
        want = expected(message) if callable(expected) else expected
        got = message.headers.get(name)
        if got is None:
            return failed(name, f"no {name} header")
        if want is not None and got.strip().lower() != want.strip().lower():
            return failed(name, f"{name} is {got!r}, expected {want!r} {describe}".strip())
        return passed(name, got)

    return run


def option_tags(name: str, *tags: str) -> Check:
    def run(record: TraceRecord, trace: Trace) -> Finding:
        present = [t.lower() for t in record.message.headers.get_all(name)]
        missing = [t for t in tags if t not in present]
        if missing:
            return failed(name, f"{name} lacks {', '.join(missing)}")
        return passed(name, ", ".join(present))

    return run


def stored(key: str, header: str, value_of: Callable[[Response], str]) -> Check:
    """The client noted that it stored ``value_of(response)`` under ``key``."""

    def run(record: TraceRecord, trace: Trace) -> Finding:
        response = record.message
        if header not in response.headers:
            return not_applicable(f"no {header} in this response")
        expected = value_of(response)
        found = notes(trace, key, record)
        if not found:
            return failed(header, f"the client did not store {header}")
        if found[-1].text != expected:
            return failed(header, f"stored {found[-1].text!r}, the response had {expected!r}")
        return passed(header, f"stored {expected}")

    return run


def noted(key: str, header: str | None = None, what: str = "") -> Check:
    """The client noted doing ``key`` for this record."""

    def run(record: TraceRecord, trace: Trace) -> Finding:
        found = notes(trace, key, record)
        if not found:
            return failed(header, f"no sign that the client {what or 'did it'}")
        return passed(header, found[-1].text)

    return run


def always(note: str) -> Check:
    def run(record: TraceRecord, trace: Trace) -> Finding:
        return passed(None, note)

    return run


def never_applicable(note: str) -> Check:
    def run(record: TraceRecord, trace: Trace) -> Finding:
        return not_applicable(note)

    return run


def ims_rule(clause: str, applies: Selector, item: str = "ims") -> Rule:
    """The closing 3GPP/3GPP2 IMS sentence every clause has: imkit's SIP/IP
    Core is plain IETF SIP (Kamailio or the test server), never IMS."""
    return Rule(clause, item, Level.SHALL, IMS_TEXT, applies,
                never_applicable("the SIP/IP Core is not 3GPP/3GPP2 IMS"))


def rule(clause: str, item: str, level: Level, text: str, applies: Selector, check: Check, note: str = "") -> Rule:
    return Rule(clause, item, level, text, applies, check, note)


SHALL, SHOULD, MAY = Level.SHALL, Level.SHOULD, Level.MAY


def privacy_if_anonymous(record: TraceRecord, trace: Trace) -> Finding:
    """``Privacy: id`` is there when the user asked for anonymity (the client
    notes ``anonymous`` for the request); not applicable otherwise."""
    if not notes(trace, "anonymous", record):
        return not_applicable("anonymity was not requested")
    if "id" not in record.message.privacy:
        return failed("Privacy", "anonymity was requested but Privacy has no 'id'")
    return passed("Privacy", record.message.headers.get("Privacy") or "id")


def request_uri_is_identity(*, same_dialog: bool) -> Check:
    """The Request-URI is an IM Session Identity the client stored (the
    ``session-identity`` notes): with ``same_dialog`` the one stored in the
    request's own dialog (a BYE), else any stored one (a REFER, sent outside
    the dialog to the conference it is about).  The client may be in several
    sessions: the last identity stored may be another session's."""

    def run(record: TraceRecord, trace: Trace) -> Finding:
        request = record.message
        stored = [n.text for n in notes(trace, "session-identity") if not same_dialog or n.call_id == request.call_id]
        if not stored:
            return not_applicable("no IM Session Identity was stored")
        uri = str(request.uri)
        matches = uri == stored[-1] if same_dialog else uri in stored
        if not matches:
            return failed("Request-URI", f"Request-URI {uri} is not the IM Session Identity {stored[-1]}")
        return passed("Request-URI", uri)

    return run
