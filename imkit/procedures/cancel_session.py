"""7.1.1.13 IM Client cancelling an IM Session.

"When the Participant wants to cancel the IM Session initiation, when IM
Session signalling is used as specified in section 7.1.1.3 ... or 7.1.1.4
..., and when the IM Client has not yet received a final SIP response for
the SIP INVITE request, the IM Client SHALL cancel the SIP INVITE request by
sending a SIP CANCEL according to rules and procedures of [RFC3261]."
The CANCEL copies the INVITE's Request-URI, Call-ID, To, From, CSeq number
and top Via (RFC 3261 9.1); the INVITE then ends with 487, which its
transaction acknowledges.  RFC 3261 9.1 also says a CANCEL must wait for a
provisional response; the client does that waiting.
"""

from __future__ import annotations

from imkit.procedures.checks import SHALL, ims_rule, sent_by
from imkit.procedures.errors import NotCancellable
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.state import SessionKind, SessionPhase, SessionState
from imkit.procedures.rules import Finding, Rule, failed, passed
from imkit.sip import Request, Response
from imkit.trace import Trace, TraceRecord
from imkit.trace.record import Direction
from imkit.sip.builders import make_cancel

CLAUSE = "7.1.1.13"
TITLE = "IM Client cancelling an IM Session"
CANCELLABLE = (SessionKind.ADHOC, SessionKind.PREDEFINED)


def build(session: SessionState, invite: Request) -> OutgoingRequest:
    if session.kind not in CANCELLABLE:
        raise NotCancellable(f"a {session.kind.value} is not cancelled by 7.1.1.13", CLAUSE)
    if session.phase is not SessionPhase.INVITING:
        raise NotCancellable("the INVITE already has a final response", CLAUSE)
    out = OutgoingRequest(make_cancel(invite), CLAUSE, "cancel the pending conference INVITE")
    for name in ("Via", "Call-ID", "From", "To", "CSeq", "Route"):
        if name in out.request.headers:
            out.cite(name, "RFC 3261", "9.1", "copied from the INVITE being cancelled")
    out.cite("Request-URI", CLAUSE, "1", "the INVITE's Request-URI (RFC 3261 9.1)")
    return out


def _cancel_ok(record: TraceRecord, trace: Trace) -> Finding:
    cancel = record.message
    invite = next(
        (r for r in trace if r.direction is Direction.SENT and isinstance(r.message, Request)
         and r.message.method == "INVITE" and r.message.call_id == cancel.call_id
         and r.message.cseq is not None and cancel.cseq is not None and r.message.cseq.seq == cancel.cseq.seq),
        None,
    )
    if invite is None:
        return failed("CSeq", "the CANCEL matches no INVITE the client sent")
    if invite.label not in ("7.1.1.3", "7.1.1.4"):
        return failed(None, f"the cancelled INVITE came from {invite.label}, not 7.1.1.3 or 7.1.1.4")
    # Only the final response of the INVITE cancelled counts: an earlier
    # attempt's 401/407 (RFC 3261 22.2, retried with CSeq + 1) does not.
    finals = [
        r for r in trace
        if r.direction is Direction.RECEIVED and isinstance(r.message, Response) and r.message.status >= 200
        and r.message.call_id == cancel.call_id and r.message.cseq is not None
        and r.message.cseq.method == "INVITE" and r.message.cseq.seq == cancel.cseq.seq and r.now < record.now
    ]
    if finals:
        return failed(None, f"a final {finals[0].message.status} had already arrived")
    for name in ("Call-ID", "From", "To"):
        if cancel.headers.get(name) != invite.message.headers.get(name):
            return failed(name, f"{name} differs from the INVITE's (RFC 3261 9.1)")
    if str(cancel.uri) != str(invite.message.uri):
        return failed("Request-URI", "Request-URI differs from the INVITE's (RFC 3261 9.1)")
    if cancel.top_via is None or invite.message.top_via is None or cancel.top_via.branch != invite.message.top_via.branch:
        return failed("Via", "the Via differs from the INVITE's top Via (RFC 3261 9.1)")
    return passed(None, f"CANCEL of the {invite.label} INVITE before any final response")


RULES = [
    Rule(CLAUSE, "1", SHALL, "... when the IM Client has not yet received a final SIP response for the SIP INVITE request, the IM Client SHALL cancel the SIP INVITE request by sending a SIP CANCEL according to rules and procedures of [RFC3261]",
         sent_by(CLAUSE, "CANCEL"), _cancel_ok),
    ims_rule(CLAUSE, sent_by(CLAUSE, "CANCEL")),
]
