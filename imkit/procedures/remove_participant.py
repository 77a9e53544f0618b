"""7.1.1.14 IM Client removing IM User from an IM Conference Session.

A REFER (RFC 3515) with the 7.1.1.1 headers, Request-URI the IM Session
Identity (items 2, 5), ``Refer-To`` the removed user's IM Address with
``method=BYE`` (item 3) and ``Refer-Sub: false`` (item 4, RFC 4488).

``method`` is written as a URI parameter, ``<sip:bob@example.com;method=BYE>``:
RFC 3261 19.1.1 defines ``method`` as a URI parameter and RFC 4579 section
5.6 removes a participant that way (RFC 5368's example uses a ``?method=``
URI header; the test server accepts both).  NOTIFYs are still handled in
case the server ignores Refer-Sub.  The clause lists no 200 handling of its
own; 7.1.1.1's store-Allow-and-Contact applies to the REFER's response.
"""

from __future__ import annotations

from imkit.procedures import general_checks
from imkit.procedures.checks import SHALL, ims_rule, notes, on_request, request_uri_is_identity, sent_by
from imkit.procedures.common_rules import handles_notify, may_display, sent_towards_server
from imkit.procedures.context import BuildContext
from imkit.procedures.general import apply_initial_request_rules
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, Verdict, failed, passed
from imkit.procedures.state import SessionState
from imkit.sip import NameAddr, Request, SipURI, parse_uri
from imkit.trace import Trace, TraceRecord

CLAUSE = "7.1.1.14"
TITLE = "IM Client removing IM User from an IM Conference Session"


def build(ctx: BuildContext, session: SessionState, removed: str, *, anonymous: bool = False) -> OutgoingRequest:
    identity = session.identity
    if identity is None:
        raise ValueError("no IM Session Identity is stored for this session")
    user = parse_uri(removed)
    if not isinstance(user, SipURI):
        raise ValueError(f"the removed IM User must have a SIP URI, not {removed!r}")
    # "2. SHALL set the Request-URI of the SIP REFER request to the IM Session Identity"
    out = ctx.initial_request("REFER", identity, NameAddr(identity), CLAUSE, f"remove {removed}")
    out.cite("Request-URI", CLAUSE, "2", "the IM Session Identity")
    # "1. SHALL generate a SIP REFER request ... with the additional clarifications as specified in 7.1.1.1"
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    # "3. SHALL set the Refer-To header ... to the IM Address of the removed IM User and set the "method" parameter to "BYE""
    out.set("Refer-To", str(NameAddr(user.with_param("method", "BYE"))), CLAUSE, "3", "method as a URI parameter (RFC 3261, RFC 4579)")
    # "4. SHALL set the Refer-Sub header to "false""
    out.set("Refer-Sub", "false", CLAUSE, "4", "RFC 4488")
    return out


def _refer(request: Request) -> Finding:
    basic = general_checks.rfc3261_request(request)
    if basic.verdict is not Verdict.PASS:
        return basic
    return general_checks.general_headers(request)


def _refer_to_bye(record: TraceRecord, trace: Trace) -> Finding:
    refer_to = record.message.refer_to
    if refer_to is None or not isinstance(refer_to.uri, SipURI):
        return failed("Refer-To", "Refer-To is not a SIP URI")
    method = refer_to.uri.param("method") or refer_to.uri.header("method")
    if (method or "").upper() != "BYE":
        return failed("Refer-To", f"Refer-To {refer_to} has no method=BYE")
    removed = notes(trace, f"{CLAUSE}/target", record)
    if removed and str(refer_to.uri.without_param("method").without_headers()) != removed[-1].text:
        return failed("Refer-To", f"Refer-To names {refer_to.uri}, the removed IM User is {removed[-1].text}")
    return passed("Refer-To", str(refer_to))


def _refer_sub_false(request: Request) -> Finding:
    if request.refer_sub is not False:
        return failed("Refer-Sub", f"Refer-Sub is {request.headers.get('Refer-Sub')!r}, expected false")
    return passed("Refer-Sub", "false")


RULES = [
    Rule(CLAUSE, "1", SHALL, "SHALL generate a SIP REFER request according to rules and procedures of [RFC3515] and with the additional clarifications as specified in 7.1.1.1 General",
         sent_by(CLAUSE, "REFER"), on_request(_refer)),
    Rule(CLAUSE, "2", SHALL, "SHALL set the Request-URI of the SIP REFER request to the IM Session Identity",
         sent_by(CLAUSE, "REFER"), request_uri_is_identity(same_dialog=False)),
    Rule(CLAUSE, "3", SHALL, "SHALL set the Refer-To header of the SIP REFER request to the IM Address of the removed IM User and set the \"method\" parameter to \"BYE\" according to rules and procedures of [RFC3515]",
         sent_by(CLAUSE, "REFER"), _refer_to_bye),
    Rule(CLAUSE, "4", SHALL, "SHALL set the Refer-Sub header to \"false\" according to rules and procedures of [RFC 4488]",
         sent_by(CLAUSE, "REFER"), on_request(_refer_sub_false)),
    sent_towards_server(CLAUSE, "5", "REFER", "SHALL send the SIP REFER request towards the IM Session Identity"),
    handles_notify(CLAUSE, "n1", "SHALL handle the request according to rules and procedures of [RFC3515] and [RFC3265]", "REFER"),
    may_display(CLAUSE, "n2", "REFER"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "REFER")),
]
