"""7.1.1.2 Establishment of a One-to-One IM session.

"Upon receiving a request from an IM User to establish a One-to-One IM
session with peer-to-peer MSRP media": an initial INVITE (7.1.1.1) whose
Request-URI is the intended recipient, with an SDP offer for MSRP, sent
towards the IM Server.  On the 200 the client stores the IM Session Identity
from Contact and "SHALL interact with the User Plane" (opens MSRP).
"""

from __future__ import annotations

from imkit.procedures.checks import ims_rule, sent_by
from imkit.procedures.common_rules import (
    initial_request,
    interacts_with_user_plane,
    request_uri_is_target,
    sdp_offer,
    sent_towards_server,
    stores_session_identity,
)
from imkit.procedures.context import BuildContext
from imkit.procedures.invite_offer import ONE_TO_ONE_ACCEPT_TYPES, SDP_CONTENT_TYPE, initial_invite
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import SipURI

CLAUSE = "7.1.1.2"
TITLE = "Establishment of a One-to-One IM session"


def build(ctx: BuildContext, recipient: SipURI, *, anonymous: bool = False) -> OutgoingRequest:
    # "1. SHALL generate an initial SIP INVITE request ... as specified in section 7.1.1.1"
    # "2. ... SHALL set the Request-URI of the SIP INVITE request to the intended recipient IM User"
    out = initial_invite(ctx, recipient, CLAUSE, f"1-1 IM session with {recipient}", anonymous=anonymous)
    out.cite("Request-URI", CLAUSE, "2", "the intended recipient IM User")
    # "3. SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer"
    out.set_body(ctx.sdp_offer(ONE_TO_ONE_ACCEPT_TYPES), SDP_CONTENT_TYPE, CLAUSE, "3", "MSRP offer, RFC 4975 section 8")
    return out


RULES = [
    initial_request(CLAUSE, "1", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "2", "INVITE", "The IM Client SHALL set the Request-URI of the SIP INVITE request to the intended recipient IM User"),
    sdp_offer(CLAUSE, "3", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264] and [RFC4566] and [MSRP]", multipart=False),
    sent_towards_server(CLAUSE, "4", "INVITE", "SHALL send the SIP INVITE request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    stores_session_identity(CLAUSE, "ok1", "On receiving a SIP 200 \"OK\" response ... SHALL store the IM Session Identity if received in the Contact header as described in [RFC 3261]"),
    interacts_with_user_plane(CLAUSE, "ok2"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
