"""7.1.1.10 IM Client joins a Public Conference Session.

An initial INVITE (7.1.1.1) to the Public Conference URI with
``Content-Type: application/sdp`` (item 3: a single SDP body, no URI list)
whose offer leads with message/cpim.  On the 200 the client stores the Allow
list and the IM Session Identity (RFC 4579).
"""

from __future__ import annotations

from typing import Sequence

from imkit.procedures.checks import SHALL, ims_rule, on_request, sent_by
from imkit.procedures.common_rules import (
    accept_types,
    initial_request,
    request_uri_is_target,
    sdp_offer,
    sent_towards_server,
    stores_allow,
    stores_session_identity,
)
from imkit.procedures.context import BuildContext
from imkit.procedures.invite_offer import SDP_CONTENT_TYPE, conference_accept_types, initial_invite
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, failed, passed
from imkit.sip import Request, SipURI

CLAUSE = "7.1.1.10"
TITLE = "IM Client joins a Public Conference Session"


def build(
    ctx: BuildContext, conference: SipURI, *, anonymous: bool = False, extra_accept_types: Sequence[str] = ()
) -> OutgoingRequest:
    # "2. SHALL set the Request-URI of the SIP INVITE request to the intended Public Conference URI"
    out = initial_invite(ctx, conference, CLAUSE, f"join public conference {conference}", anonymous=anonymous)
    out.cite("Request-URI", CLAUSE, "2", "the Public Conference URI")
    # "3. SHALL insert in the SIP INVITE request a Content-Type header with application/sdp"
    # "4. SHALL include ... a MIME SDP body as a SDP offer ... a=accept-types:message/cpim"
    out.set_body(ctx.sdp_offer(conference_accept_types(extra_accept_types)), SDP_CONTENT_TYPE, CLAUSE, "4")
    out.cite("Content-Type", CLAUSE, "3", "application/sdp")
    return out


def _content_type_sdp(request: Request) -> Finding:
    content_type = request.content_type
    if content_type is None or content_type.mime != "application/sdp":
        return failed("Content-Type", f"Content-Type is {request.headers.get('Content-Type')!r}, not application/sdp")
    return passed("Content-Type", "application/sdp")


RULES = [
    initial_request(CLAUSE, "1", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "2", "INVITE", "SHALL set the Request-URI of the SIP INVITE request to the intended Public Conference URI"),
    Rule(CLAUSE, "3", SHALL, "SHALL insert in the SIP INVITE request a Content-Type header with application/sdp",
         sent_by(CLAUSE, "INVITE"), on_request(_content_type_sdp)),
    sdp_offer(CLAUSE, "4", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264], [RFC4566] and [MSRP]", multipart=False),
    *accept_types(CLAUSE, "4", multipart=False),
    sent_towards_server(CLAUSE, "5", "INVITE", "SHALL send the SIP INVITE request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    stores_allow(CLAUSE, "ok1", "SHALL store the list of supported SIP methods if received in the Allow header"),
    stores_session_identity(CLAUSE, "ok2", "SHALL store the IM Session Identity if received in the Contact header as described in [RFC 4579]"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
