"""7.1.1.4 IM Client initiates a Pre-Defined IM Conference.

An initial INVITE (7.1.1.1) whose Request-URI is the pre-established group
(the IM Group Identity) with an SDP offer whose accept-types lead with
message/cpim.  The 200 means "the conference was created successfully, that
the client ... is in the conference, and that the server understood the
Pre-Establish group request"; the IM Session Identity is stored from Contact
(RFC 4579).
"""

from __future__ import annotations

from typing import Sequence

from imkit.procedures.checks import ims_rule, sent_by
from imkit.procedures.common_rules import (
    accept_types,
    initial_request,
    interacts_with_user_plane,
    request_uri_is_target,
    sdp_offer,
    sent_towards_server,
    stores_session_identity,
)
from imkit.procedures.context import BuildContext
from imkit.procedures.invite_offer import SDP_CONTENT_TYPE, conference_accept_types, initial_invite
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import SipURI

CLAUSE = "7.1.1.4"
TITLE = "IM Client initiates a Pre-Defined IM Conference"


def build(
    ctx: BuildContext, group: SipURI, *, anonymous: bool = False, extra_accept_types: Sequence[str] = ()
) -> OutgoingRequest:
    # "a. set the Request-URI of the SIP INVITE request to the pre-establish group"
    out = initial_invite(ctx, group, CLAUSE, f"pre-defined group {group}", anonymous=anonymous)
    out.cite("Request-URI", CLAUSE, "1a", "the pre-established IM Group")
    # "b. SHALL include ... a MIME SDP body as a SDP offer ... a=accept-types:message/cpim"
    out.set_body(ctx.sdp_offer(conference_accept_types(extra_accept_types)), SDP_CONTENT_TYPE, CLAUSE, "1b")
    return out


RULES = [
    initial_request(CLAUSE, "1", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "1a", "INVITE", "set the Request-URI of the SIP INVITE request to the pre-establish group for the IM service in the Home Network of the IM User"),
    sdp_offer(CLAUSE, "1b", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264], [RFC 4566] and [MSRP]", multipart=False),
    *accept_types(CLAUSE, "1b", multipart=False),
    sent_towards_server(CLAUSE, "2", "INVITE", "SHALL send the SIP INVITE request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    stores_session_identity(CLAUSE, "ok1", "SHALL store the IM Session Identity if received in the Contact header as described in [RFC 4579]"),
    interacts_with_user_plane(CLAUSE, "ok2"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
