"""7.1.1.8 SIP Session refresh.

"Prior to the expiry of the SIP Session timer" the client sends a session
refresh.  How imkit reads item 1, "SHALL generate an initial SIP INVITE
request as specified in section 7.1.1.1": an *initial* INVITE would start a
new session and not refresh the old one, which RFC 4028 cannot mean (a
session refresh is a re-INVITE or UPDATE in the session's dialog; section
7.4: "A re-INVITE generated to refresh the session is a normal re-INVITE"), so imkit
sends a re-INVITE inside the session's dialog and gives it every header
7.1.1.1 asks of an initial request (Accept-Contact, User-Agent, Allow, the
Contact feature tag, ``Supported: timer``, Session-Expires with
``refresher=uac``).  Items 2-4 then hold as written: Session-Expires with
``refresher=uac`` (SHOULD), ``timer`` in Supported, and the SDP "being used
in the session" (the last offer, unchanged, so the o= version stays).  A 422
answer carries Min-SE; the client retries with Session-Expires and Min-SE
raised to it (RFC 4028 section 7.3).

Item 0 judges the refreshes that were sent; "0-missed" judges the whole trace
for the refresh that never came: a session timer the client started as the
refresher (a 2xx to its INVITE with ``refresher=uac``, or with no refresher,
which leaves the refresh to the UAC: RFC 4028 section 7.2) must not run out
while the trace goes on.  A re-INVITE in the session's dialog, from either
side, starts a new session interval (RFC 4028 section 10), and a BYE ends the
session: either one in time settles that timer.
"""

from __future__ import annotations

from imkit.errors import ProtocolError
from imkit.procedures import general_checks
from imkit.procedures.checks import (
    SHALL,
    SHOULD,
    ims_rule,
    notes,
    on_request,
    request_of,
    sent_by,
)
from imkit.procedures.common_rules import option_present, sent_towards_server
from imkit.procedures.context import BuildContext
from imkit.procedures.general import apply_initial_request_rules
from imkit.procedures.invite_offer import SDP_CONTENT_TYPE
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import (
    Finding,
    Rule,
    Verdict,
    failed,
    not_applicable,
    passed,
)
from imkit.procedures.state import SessionState
from imkit.sip import Request, Response
from imkit.trace import Direction, Protocol, Trace, TraceRecord

CLAUSE = "7.1.1.8"
TITLE = "SIP Session refresh"


def build(
    ctx: BuildContext, session: SessionState, *, interval: int | None = None, min_se: int | None = None,
    anonymous: bool = False,
) -> OutgoingRequest:
    if session.dialog is None:
        raise ValueError("the IM Session has no established dialog to refresh")
    out = ctx.in_dialog_request(session.dialog, "INVITE", CLAUSE, "session refresh re-INVITE (RFC 4028)")
    # "1. SHALL generate an initial SIP INVITE request as specified in section 7.1.1.1"
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    seconds = interval or (session.timer.interval if session.timer else ctx.profile.session_expires)
    if min_se is not None:
        seconds = max(seconds, min_se)
    # "2. SHOULD include the Session-Expires header with the refresher parameter set to 'uac'"
    out.set("Session-Expires", f"{seconds};refresher=uac", CLAUSE, "2", "RFC 4028 section 7.4")
    if min_se is not None:
        out.set("Min-SE", str(min_se), "RFC 4028", "7.3", "raised after a 422")
    # "3. SHALL include option tag timer in the Supported header"
    out.cite("Supported", CLAUSE, "3")
    # "4. SHALL include an SDP body wit[h] the SDP parameters being used in the session"
    out.set_body(session.offer, SDP_CONTENT_TYPE, CLAUSE, "4", "the SDP in use, unchanged")
    return out


def _reinvite_with_general(request: Request) -> Finding:
    if request.to is None or request.to.tag is None:
        return failed("To", "a session refresh is a re-INVITE inside the dialog (RFC 4028 7.4)")
    basic = general_checks.rfc3261_request(request)
    if basic.verdict is not Verdict.PASS:
        return basic
    return general_checks.general_headers(request)


def _refresher_uac(request: Request) -> Finding:
    value = request.session_expires
    if value is None:
        return failed("Session-Expires", "no Session-Expires")
    if value.refresher != "uac":
        return failed("Session-Expires", f"refresher is {value.refresher!r}")
    return passed("Session-Expires", str(value))


def _same_sdp(record: TraceRecord, trace: Trace) -> Finding:
    body = general_checks.sdp_body(record.message, multipart=False)
    if body is None:
        return failed("Content-Type", "no SDP body")
    in_use = notes(trace, "sdp-in-use", record)
    if not in_use:
        return not_applicable("the session's SDP was not noted")
    if body.decode("utf-8", "replace") != in_use[-1].text:
        return failed("Content-Type", "the SDP differs from the one in use")
    return passed("Content-Type", "the SDP in use")


def _before_expiry(record: TraceRecord, trace: Trace) -> Finding:
    deadlines = notes(trace, "session-expiry", record)
    if not deadlines:
        return not_applicable("no session timer was running")
    try:
        deadline = float(deadlines[-1].text)
    except ValueError:
        return failed("Session-Expires", f"the noted session expiry {deadlines[-1].text!r} is not a time")
    if record.now >= deadline:
        return failed("Session-Expires", f"sent at {record.now:.3f}, the session expired at {deadline:.3f}")
    return passed("Session-Expires", f"sent {deadline - record.now:.1f}s before expiry")


def _timer_expiry(record: TraceRecord, trace: Trace) -> float | None:
    """When the session timer the client started on ``record`` runs out, if
    ``record`` is a 2xx to an INVITE the client sent that makes it the
    refresher and the client noted starting the timer (``7.1.1.1/ok1``)."""
    response = record.message
    if (record.direction is not Direction.RECEIVED or not isinstance(response, Response)
            or not 200 <= response.status <= 299 or response.cseq is None or response.cseq.method != "INVITE"):
        return None
    try:
        value = response.session_expires
    except ProtocolError:
        return None  # 7.1.1.1/ok1 judges an unreadable Session-Expires
    if value is None or value.refresher not in (None, "uac"):
        return None
    if request_of(record, trace) is None or not notes(trace, "7.1.1.1/ok1", record):
        return None
    return record.now + value.delta


def _refresh_or_end(started: TraceRecord, expiry: float, trace: Trace) -> TraceRecord | None:
    """The first re-INVITE or BYE (sent or received) in the session's dialog
    after ``started`` and before ``expiry``."""
    call_id = started.message.call_id
    for record in trace:
        request = record.message
        if (record.seq <= started.seq or record.protocol is not Protocol.SIP
                or not isinstance(request, Request) or request.call_id != call_id):
            continue
        if record.now >= expiry:
            return None
        reinvite = request.method == "INVITE" and request.to is not None and request.to.tag is not None
        if reinvite or request.method == "BYE":
            return record
    return None


def _refreshed_before_expiry(record: TraceRecord | None, trace: Trace) -> Finding:
    records = trace.records
    timers = [(ok, expiry) for ok in records if (expiry := _timer_expiry(ok, trace)) is not None]
    if not timers:
        return not_applicable("no session timer the client had to refresh")
    last = records[-1].now
    settled: list[str] = []
    for ok, expiry in timers:
        refresh = _refresh_or_end(ok, expiry, trace)
        if refresh is not None:
            settled.append(f"{refresh.title} {refresh.direction.value} {expiry - refresh.now:.1f}s before expiry")
        elif last >= expiry:
            # "Prior to the expiry of the SIP Session timer the IM Client: 1. SHALL generate an initial SIP
            # INVITE request" (a re-INVITE in the dialog: see the module docstring)
            return failed("Session-Expires", (
                f"no session refresh: the timer started on the {ok.title} (message {ok.seq}) expired at "
                f"{expiry:.3f} and the trace goes on to {last:.3f}"))
    if not settled:
        return not_applicable("the trace ends before the session timer expires")
    return passed("Session-Expires", settled[-1])


RULES = [
    Rule(CLAUSE, "0", SHALL, "Prior to the expiry of the SIP Session timer the IM Client ...", sent_by(CLAUSE, "INVITE"), _before_expiry),
    Rule(CLAUSE, "0-missed", SHALL,
         "Prior to the expiry of the SIP Session timer the IM Client SHALL ... send a session refresh: "
         "no session timer the client refreshes (refresher=uac) expires without a re-INVITE or a BYE",
         None, _refreshed_before_expiry,
         note="checked once per trace: each 2xx to the client's INVITE on which it started the timer as the refresher"),
    Rule(CLAUSE, "1", SHALL, "SHALL generate an initial SIP INVITE request as specified in section 7.1.1.1 \"General\"",
         sent_by(CLAUSE, "INVITE"), on_request(_reinvite_with_general),
         note="read as a re-INVITE carrying the 7.1.1.1 headers (see the module docstring)"),
    Rule(CLAUSE, "2", SHOULD, "SHOULD include the Session-Expires header with the refresher parameter set to 'uac' according to rules and procedures of [RFC4028]",
         sent_by(CLAUSE, "INVITE"), on_request(_refresher_uac)),
    option_present(CLAUSE, "3", SHALL, "SHALL include option tag timer in the Supported header", "INVITE", "Supported", "timer"),
    Rule(CLAUSE, "4", SHALL, "SHALL include an SDP body with the SDP parameters being used in the session",
         sent_by(CLAUSE, "INVITE"), _same_sdp),
    sent_towards_server(CLAUSE, "5", "INVITE", "SHALL send the SIP request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
