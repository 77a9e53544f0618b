"""The INVITE building blocks the session procedures share.

Every session INVITE of 7.1.1 "SHALL include ... a MIME SDP body as a SDP
offer according to rules and procedures of [RFC3264], [RFC4566] and [MSRP]";
the conference ones add "SHALL set the SDP "accept-types" attribute to
a=accept-types:message/cpim" and "MAY list other formats or use '*'".
"""

from __future__ import annotations

from typing import Sequence

from imkit.procedures.context import BuildContext
from imkit.procedures.general import apply_initial_request_rules
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import NameAddr, SipURI

SDP_CONTENT_TYPE = "application/sdp"
#: 1-1 sessions offer plain text too; conferences lead with message/cpim.
ONE_TO_ONE_ACCEPT_TYPES = ("message/cpim", "text/plain")
CONFERENCE_ACCEPT_TYPES = ("message/cpim", "text/plain")


def conference_accept_types(extra: Sequence[str] = ()) -> tuple[str, ...]:
    """message/cpim first (the SHALL), then the formats the user adds (the MAY)."""
    types = ["message/cpim"]
    for media_type in list(CONFERENCE_ACCEPT_TYPES[1:]) + list(extra):
        if media_type not in types:
            types.append(media_type)
    return tuple(types)


def initial_invite(
    ctx: BuildContext, target: SipURI, clause: str, purpose: str, *, anonymous: bool
) -> OutgoingRequest:
    """An initial INVITE with the 7.1.1.1 headers (each clause's item 1:
    "SHALL generate an initial SIP INVITE request according to rules and
    procedures of [RFC3261] and with the additional clarification as
    specified in section 7.1.1.1")."""
    out = ctx.initial_request("INVITE", target, NameAddr(target), clause, purpose)
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    return out
