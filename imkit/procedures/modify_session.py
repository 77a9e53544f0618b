"""7.1.1.5 IM Client IM Session Modification.

"The IM Client SHALL generate a SIP re-INVITE request according to rules and
procedures of [RFC3261] and with the additional clarification as specified in
section 7.1.1.1 General": a re-INVITE in the session's dialog carrying the
7.1.1.1 headers and the new SDP offer.  On the 200 the clause's own items
apply (store the IM Session Identity from Contact, interact with the User
Plane), next to 7.1.1.1's store-Allow-and-Contact for every response.
"""

from __future__ import annotations

from imkit.procedures import general_checks
from imkit.procedures.checks import SHALL, ims_rule, on_request, sent_by
from imkit.procedures.common_rules import interacts_with_user_plane, stores_session_identity
from imkit.procedures.context import BuildContext
from imkit.procedures.general import apply_initial_request_rules
from imkit.procedures.invite_offer import SDP_CONTENT_TYPE
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, Verdict, failed
from imkit.procedures.state import SessionState
from imkit.sip import Request

CLAUSE = "7.1.1.5"
TITLE = "IM Client IM Session Modification"


def build(ctx: BuildContext, session: SessionState, offer: bytes, *, anonymous: bool = False) -> OutgoingRequest:
    if session.dialog is None:
        raise ValueError("the IM Session has no established dialog to modify")
    out = ctx.in_dialog_request(session.dialog, "INVITE", CLAUSE, "re-INVITE modifying the IM Session")
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    out.set_body(offer, SDP_CONTENT_TYPE, CLAUSE, "0", "the modified SDP offer (RFC 3264 section 8)")
    return out


def _reinvite(request: Request) -> Finding:
    to = request.to
    if to is None or to.tag is None:
        return failed("To", "a re-INVITE is sent inside the dialog: To needs the remote tag")
    basic = general_checks.rfc3261_request(request)
    if basic.verdict is not Verdict.PASS:
        return basic
    return general_checks.general_headers(request)


RULES = [
    Rule(CLAUSE, "0", SHALL, "The IM Client SHALL generate a SIP re-INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 General",
         sent_by(CLAUSE, "INVITE"), on_request(_reinvite)),
    stores_session_identity(CLAUSE, "ok1", "SHALL store the IM Session Identity if received in the Contact header as described in [RFC3261]"),
    interacts_with_user_plane(CLAUSE, "ok2"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
