"""7.1.1.12 IM Client leaving an IM Session.

A BYE (RFC 3261) in the session's dialog: its Request-URI is the remote
target, which is the IM Session Identity the focus gave in Contact (item 2),
with ``Privacy: id`` when anonymity is asked (item 3).  On the 200 the client
releases the MSRP session and keeps the session id for a while so the user
may rejoin (NOTE: "The client MAY store the Session ID for a short period").
"""

from __future__ import annotations

from imkit.procedures import general_checks
from imkit.procedures.checks import (
    MAY,
    SHALL,
    ims_rule,
    notes,
    on_request,
    privacy_if_anonymous,
    request_uri_is_identity,
    responses_to,
    sent_by,
)
from imkit.procedures.common_rules import sent_towards_server
from imkit.procedures.context import BuildContext
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, failed, not_applicable, passed
from imkit.procedures.state import SessionState
from imkit.sip import Request
from imkit.trace import Trace, TraceRecord

CLAUSE = "7.1.1.12"
TITLE = "IM Client leaving an IM Session"


def build(ctx: BuildContext, session: SessionState, *, anonymous: bool = False) -> OutgoingRequest:
    if session.dialog is None:
        raise ValueError("the IM Session has no dialog to leave")
    # "1. SHALL generate a SIP BYE request according to rules and procedures of [RFC3261]"
    out = ctx.in_dialog_request(session.dialog, "BYE", CLAUSE, "leave the IM Session")
    # "2. SHALL set the Request-URI to the IM Session Identity of the IM Session to leave"
    out.cite("Request-URI", CLAUSE, "2", "the dialog's remote target: the IM Session Identity")
    # "3. SHALL include value "id" in the Privacy header ... if anonymity is requested"
    if anonymous:
        out.set("Privacy", "id", CLAUSE, "3", "anonymity requested (RFC 3325)")
    return out


def _bye(request: Request) -> Finding:
    if request.to is None or request.to.tag is None:
        return failed("To", "a BYE is sent inside the session's dialog")
    return general_checks.rfc3261_request(request)


def _released(record: TraceRecord, trace: Trace) -> Finding:
    released = notes(trace, f"{CLAUSE}/ok", record)
    if not released:
        return failed(None, "the MSRP session was not released")
    return passed(None, released[-1].text)


def _kept_for_rejoin(record: TraceRecord, trace: Trace) -> Finding:
    kept = notes(trace, f"{CLAUSE}/note", record)
    if not kept:
        return not_applicable("the session id was not kept")
    return passed(None, kept[-1].text)


RULES = [
    Rule(CLAUSE, "1", SHALL, "SHALL generate a SIP BYE request according to rules and procedures of [RFC3261]",
         sent_by(CLAUSE, "BYE"), on_request(_bye)),
    Rule(CLAUSE, "2", SHALL, "SHALL set the Request-URI to the IM Session Identity of the IM Session to leave",
         sent_by(CLAUSE, "BYE"), request_uri_is_identity(same_dialog=True)),
    Rule(CLAUSE, "3", SHALL, "SHALL include value \"id\" in the Privacy header according to rules and procedures of [RFC3325], if anonymity is requested",
         sent_by(CLAUSE, "BYE"), privacy_if_anonymous),
    sent_towards_server(CLAUSE, "4", "BYE", "SHALL send a SIP BYE request according to rules and procedures of SIP/IP Core"),
    Rule(CLAUSE, "note", MAY, "The client MAY store the Session ID for a short period of time to be able to re-join the session",
         responses_to(CLAUSE, "BYE", 200, 200), _kept_for_rejoin),
    Rule(CLAUSE, "ok", SHALL, "Upon receiving a SIP 200 \"OK\" response to the SIP BYE request, the IM Client SHALL interact with the User Plane to release the resources associated to the session",
         responses_to(CLAUSE, "BYE", 200, 200), _released),
    ims_rule(CLAUSE, sent_by(CLAUSE, "BYE")),
]
