"""The INVITE building blocks the session procedures share.

Every session INVITE of 7.1.1 "SHALL include ... a MIME SDP body as a SDP
offer according to rules and procedures of [RFC3264], [RFC4566] and [MSRP]";
the conference ones add "SHALL set the SDP "accept-types" attribute to
a=accept-types:message/cpim" and "MAY list other formats or use '*'".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from imkit.procedures.context import BuildContext
from imkit.procedures.general import add_option_tags, apply_initial_request_rules
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.uri_list import RECIPIENT_LIST_INVITE, uri_list_part
from imkit.sip import BodyPart, Multipart, NameAddr, SipURI

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


@dataclass(frozen=True)
class FactoryItems:
    """Which items of a clause ask for each part of a factory INVITE."""

    request_uri: str
    uri_list: str
    multipart: str
    body_note: str


def factory_invite(
    ctx: BuildContext, clause: str, items: FactoryItems, entries: Sequence[str], purpose: str, *,
    anonymous: bool, extra_accept_types: Sequence[str],
) -> OutgoingRequest:
    """The INVITE to the Conference-factory-URI that 7.1.1.3 and 7.1.1.6 share:
    the 7.1.1.1 headers, ``Require: recipient-list-invite`` (RFC 5366) and a
    multipart/mixed body of the SDP offer (accept-types led by message/cpim)
    and the URI list (``Content-Disposition: recipient-list``)."""
    factory = ctx.profile.conference_factory
    if factory is None:
        raise ValueError("no Conference-factory-URI is provisioned")
    out = initial_invite(ctx, factory, clause, purpose, anonymous=anonymous)
    out.cite("Request-URI", clause, items.request_uri, "Conference-factory-URI of the home network")
    add_option_tags(out, "Require", [RECIPIENT_LIST_INVITE], clause, items.uri_list)
    out.cite("Require", "RFC 5366", "4", "recipient-list-invite option tag")
    body = Multipart([
        BodyPart.build(ctx.sdp_offer(conference_accept_types(extra_accept_types)), SDP_CONTENT_TYPE),
        uri_list_part(entries),
    ])
    out.set_body(bytes(body), body.content_type, clause, items.multipart, items.body_note)
    return out
