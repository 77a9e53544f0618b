"""7.1.1.9 IM Client rejoins an IM Conference Session.

"1. SHALL check if the session id is still stored in the client. If it is
not, then the IM Client SHALL display an error message to the IM user":
:class:`~imkit.procedures.errors.NoStoredSessionIdentity` is that message.
Otherwise an initial INVITE (7.1.1.1) to the stored IM Session Identity with
an SDP offer; on the 200 the Allow list and the (possibly new) IM Session
Identity are stored.
"""

from __future__ import annotations

from imkit.procedures.checks import SHALL, ims_rule, notes, sent_by
from imkit.procedures.common_rules import (
    initial_request,
    request_uri_is_target,
    sdp_offer,
    sent_towards_server,
    stores_allow,
    stores_session_identity,
)
from imkit.procedures.context import BuildContext
from imkit.procedures.errors import NoStoredSessionIdentity
from imkit.procedures.invite_offer import SDP_CONTENT_TYPE, conference_accept_types, initial_invite
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, failed, not_applicable, passed
from imkit.sip import SipURI
from imkit.trace import Trace, TraceRecord

CLAUSE = "7.1.1.9"
TITLE = "IM Client rejoins an IM Conference Session"


def build(ctx: BuildContext, stored_identity: SipURI | None, *, anonymous: bool = False) -> OutgoingRequest:
    if stored_identity is None:
        raise NoStoredSessionIdentity("no IM Session Identity is stored for this conference", f"{CLAUSE}/1")
    # "3. SHALL set the Request-URI of the SIP INVITE request to the IM Session Identity of the IM Conference"
    out = initial_invite(ctx, stored_identity, CLAUSE, f"rejoin {stored_identity}", anonymous=anonymous)
    out.cite("Request-URI", CLAUSE, "3", "the stored IM Session Identity")
    # "4. SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer"
    out.set_body(ctx.sdp_offer(conference_accept_types()), SDP_CONTENT_TYPE, CLAUSE, "4")
    return out


#: The client notes each check as "stored IM Session Identity: <uri>", with
#: ``none`` for the URI when nothing is stored (:mod:`imkit.client.prepare`).
NOTHING_STORED = "none"


def _identity_checked(record: TraceRecord | None, trace: Trace) -> Finding:
    checks = notes(trace, f"{CLAUSE}/1")
    for other in trace:
        if sent_by(CLAUSE, "INVITE")(other, trace) and not any(n.now <= other.now for n in checks):
            return failed(None, "a rejoin INVITE was sent without checking that a session id is stored")
    if not checks:
        return not_applicable("no rejoin was attempted")
    return passed(None, checks[-1].text)


def _error_shown(record: TraceRecord | None, trace: Trace) -> Finding:
    refusals = notes(trace, f"{CLAUSE}/1-error")
    for check in notes(trace, f"{CLAUSE}/1"):
        if check.text.rsplit(": ", 1)[-1] == NOTHING_STORED and not any(e.now >= check.now for e in refusals):
            return failed(None, "no session id was stored and no error was shown to the IM User")
    if not refusals:
        return not_applicable("a session id was stored each time")
    return passed(None, refusals[-1].text)


RULES = [
    Rule(CLAUSE, "1", SHALL, "SHALL check if the session id is still stored in the client", None, _identity_checked),
    Rule(CLAUSE, "1-error", SHALL, "If it is not, then the IM Client SHALL display an error message to the IM user", None, _error_shown),
    initial_request(CLAUSE, "2", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "3", "INVITE", "SHALL set the Request-URI of the SIP INVITE request to the IM Session Identity of the IM Conference"),
    sdp_offer(CLAUSE, "4", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264], [RFC4566], [MSRP]", multipart=False),
    sent_towards_server(CLAUSE, "5", "INVITE", "SHALL send the SIP INVITE request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    stores_allow(CLAUSE, "ok1", "SHALL store the list of supported SIP methods if received in the Allow header"),
    stores_session_identity(CLAUSE, "ok2", "SHALL store the IM Session Identity received in the Contact header as described in [RFC 4579]"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
