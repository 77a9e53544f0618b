"""Rule factories for the items many clauses share word for word.

Most clauses of 7.1.1 open with "SHALL generate an initial SIP INVITE request
... with the additional clarification as specified in section 7.1.1.1", close
with "SHALL send the SIP INVITE request towards the IM Server", and on the
200 "SHALL store the IM Session Identity if received in the Contact header"
and "SHALL interact with the User Plane".  Each factory makes that rule for
one clause, so a clause module lists its items and nothing is written twice.
"""

from __future__ import annotations

import re

from imkit.procedures import general_checks
from imkit.procedures.checks import (
    MAY,
    SHALL,
    SHOULD,
    answers_to,
    noted,
    notes,
    on_request,
    responses_to,
    sent_by,
    stored,
)
from imkit.procedures.rules import Finding, Rule, failed, not_applicable, passed
from imkit.procedures.uri_list import invited_on_wire
from imkit.sip import Request, Response
from imkit.trace import Trace, TraceRecord
from imkit.trace.record import Direction, Protocol

ACCEPT_TYPES_TEXT = 'SHALL set the SDP "accept-types" attribute to a = accept-types : message/cpim'
MAY_TYPES_TEXT = "MAY list other formats or use '*' as defined in [MSRP]"


def initial_request(clause: str, item: str, method: str, text: str) -> Rule:
    """"SHALL generate an initial SIP <method> request according to [RFC3261]
    and with the additional clarification as specified in section 7.1.1.1"."""

    def check(request: Request) -> Finding:
        basic = general_checks.rfc3261_request(request)
        if basic.verdict.value != "pass":
            return basic
        return general_checks.general_headers(request)

    return Rule(clause, item, SHALL, text, sent_by(clause, method), on_request(check))


def request_uri_is_target(clause: str, item: str, method: str, text: str) -> Rule:
    """The Request-URI is what the user (or the stored state) said: the client
    notes the intended target under ``<clause>/target``."""

    def check(record: TraceRecord, trace: Trace) -> Finding:
        intended = notes(trace, f"{clause}/target", record)
        if not intended:
            return not_applicable("the intended target was not noted")
        uri = str(record.message.uri)
        if uri != intended[-1].text:
            return failed("Request-URI", f"Request-URI {uri} is not the intended {intended[-1].text}")
        return passed("Request-URI", uri)

    return Rule(clause, item, SHALL, text, sent_by(clause, method), check)


def sdp_offer(clause: str, item: str, text: str, *, multipart: bool) -> Rule:
    def check(request: Request) -> Finding:
        return general_checks.msrp_offer(request, multipart=multipart)

    return Rule(clause, item, SHALL, text, sent_by(clause, "INVITE"), on_request(check))


def accept_types(clause: str, item: str, *, multipart: bool) -> list[Rule]:
    def cpim(request: Request) -> Finding:
        types = general_checks.offered_accept_types(request, multipart=multipart)
        if types is None:
            return failed("Content-Type", "no MSRP SDP offer")
        if "message/cpim" not in types:
            return failed("Content-Type", f"accept-types is {' '.join(types)}, without message/cpim")
        return passed("Content-Type", "a=accept-types:" + " ".join(types))

    def others(request: Request) -> Finding:
        types = general_checks.offered_accept_types(request, multipart=multipart) or ()
        extra = [t for t in types if t != "message/cpim"]
        if not extra:
            return not_applicable("only message/cpim offered")
        return passed("Content-Type", "also " + " ".join(extra))

    return [
        Rule(clause, item + "-i", SHALL, ACCEPT_TYPES_TEXT, sent_by(clause, "INVITE"), on_request(cpim)),
        Rule(clause, item + "-ii", MAY, MAY_TYPES_TEXT, sent_by(clause, "INVITE"), on_request(others)),
    ]


def sent_towards_server(clause: str, item: str, method: str, text: str) -> Rule:
    """"SHALL send the ... request towards the IM Server according to rules and
    procedures of the SIP/IP Core": it left us and something answered it."""

    def check(record: TraceRecord, trace: Trace) -> Finding:
        message = record.message
        answered = [
            r for r in trace
            if r.direction is Direction.RECEIVED and isinstance(r.message, Response)
            and r.message.call_id == message.call_id and r.message.cseq == message.cseq
        ]
        if not answered:
            return failed(None, f"no response to the {method} reached the client")
        return passed(None, f"sent to {record.remote[0]}:{record.remote[1]}, answered {answered[-1].message.status}")

    return Rule(clause, item, SHALL, text, sent_by(clause, method), check)


def stores_session_identity(clause: str, item: str, text: str, method: str = "INVITE") -> Rule:
    """"On receiving a SIP 200 "OK" ... SHALL store the IM Session Identity if
    received in the Contact header"."""
    return Rule(
        clause, item, SHALL, text, responses_to(clause, method, 200, 299),
        stored("session-identity", "Contact", lambda r: str(r.contact[0].uri) if r.contact else ""),
    )


def stores_allow(clause: str, item: str, text: str) -> Rule:
    return Rule(
        clause, item, SHALL, text, responses_to(clause, "INVITE", 200, 299),
        stored("7.1.1.1/r1", "Allow", lambda r: ", ".join(r.allow)),
    )


def interacts_with_user_plane(clause: str, item: str, text: str = "SHALL interact with the User Plane") -> Rule:
    """After the 200, MSRP flows: the client notes the MSRP session it opened
    and the trace must hold MSRP traffic on it."""

    def check(record: TraceRecord, trace: Trace) -> Finding:
        opened = notes(trace, "user-plane", record)
        if not opened:
            return failed(None, "the client did not open the MSRP session")
        msrp = [r for r in trace if r.protocol is Protocol.MSRP and r.now >= record.now]
        if not msrp:
            return failed(None, "no MSRP message followed the 200")
        return passed(None, f"{opened[-1].text}; {len(msrp)} MSRP messages")

    return Rule(clause, item, SHALL, text, responses_to(clause, "INVITE", 200, 200), check)


def handles_notify(clause: str, item: str, text: str, *created_by: str) -> Rule:
    """"SHALL handle the request according to rules and procedures of [RFC3515]
    and [RFC3265]": every NOTIFY received in the dialog got a final response."""

    def check(record: TraceRecord, trace: Trace) -> Finding:
        answers = [a for a in answers_to(record, trace) if a.message.status >= 200]
        if not answers:
            return failed(None, "the NOTIFY was not answered")
        status = answers[-1].message.status
        if status >= 300 and status != 481:
            return failed(None, f"the NOTIFY was answered {status}")
        return passed(None, f"answered {status}")

    from imkit.procedures.checks import received_in_dialog_of

    return Rule(clause, item, SHALL, text, received_in_dialog_of(clause, "NOTIFY", *created_by), check)


def may_display(clause: str, item: str, *created_by: str) -> Rule:
    from imkit.procedures.checks import received_in_dialog_of

    return Rule(
        clause, item, MAY,
        "MAY display information to the IM User based on the information in the SIP NOTIFY body",
        received_in_dialog_of(clause, "NOTIFY", *created_by), noted(f"{clause}/display", None, "showed the NOTIFY"),
    )


#: The limit a size check used, as the client notes it ("2 invited <=
#: MAX-ADHOC-GROUP-SIZE 10", :mod:`imkit.client.prepare`).
_NOTED_LIMIT = re.compile(r"MAX-ADHOC-GROUP-SIZE (\d+)")


def _over_limit(record: TraceRecord, trace: Trace, clause: str) -> str | None:
    """How far the request's invitees exceed the limit its size check noted."""
    checks = notes(trace, f"{clause}/size-check", record)
    limit = _NOTED_LIMIT.search(checks[-1].text) if checks else None
    invited = invited_on_wire(record.message)
    if limit is None or invited is None or len(invited) <= int(limit.group(1)):
        return None
    return f"{len(invited)} invited exceed MAX-ADHOC-GROUP-SIZE {limit.group(1)}"


def size_check(clause: str, item: str, text: str, level=SHALL, *, kinds: tuple[str, ...] = ()) -> list[Rule]:
    """The MAX-ADHOC-GROUP-SIZE check and the notice to the user: the client
    notes every check (with the count and the limit) and every refusal.
    With ``kinds`` the check applies only to requests on sessions of those
    kinds (the client notes ``<clause>/session-kind``): 7.1.1.7 item 5 checks
    "if the on-going IM Session is an Ad-hoc IM Group Session or 1-1 IM Session"."""
    method = "REFER" if clause == "7.1.1.7" else "INVITE"
    sent_any = sent_by(clause, method)

    def sent(record: TraceRecord, trace: Trace) -> bool:
        if not sent_any(record, trace):
            return False
        if not kinds:
            return True
        kind = notes(trace, f"{clause}/session-kind", record)
        return bool(kind) and kind[-1].text in kinds

    def checked(record: TraceRecord, trace: Trace) -> Finding:
        found = notes(trace, f"{clause}/size-check", record)
        if not found:
            return failed(None, "the invitee count was not checked against MAX-ADHOC-GROUP-SIZE")
        return passed(None, found[-1].text)

    def notified(record: TraceRecord | None, trace: Trace) -> Finding:
        refusals = notes(trace, f"{clause}/size-exceeded")
        if refusals:
            return passed(None, refusals[-1].text)
        # "If exceeded ... SHOULD notify the IM User. Otherwise, continue": a
        # request that went out over the limit was neither stopped nor told.
        for other in trace:
            over = _over_limit(other, trace, clause) if sent(other, trace) else None
            if over is not None:
                return failed(None, f"{over}, yet the request was sent and the IM User was not notified")
        return not_applicable("the group size was never exceeded")

    return [
        Rule(clause, item, level, text, sent, checked),
        Rule(clause, item + "-notify", SHOULD, "If exceeded, the IM Client SHOULD notify the IM User",
             None, notified),
    ]


def option_present(clause: str, item: str, level, text: str, method: str, header: str, *tags: str) -> Rule:
    from imkit.procedures.checks import option_tags

    return Rule(clause, item, level, text, sent_by(clause, method), option_tags(header, *tags))

