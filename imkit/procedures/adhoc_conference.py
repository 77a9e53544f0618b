"""7.1.1.3 IM Client initiates an Ad-hoc IM Conference.

An initial INVITE (7.1.1.1) to the Conference-factory-URI of the home network
with a multipart/mixed body: the SDP offer (accept-types message/cpim, others
or ``*`` allowed) and the URI list of invited IM Users (RFC 5366:
``Content-Disposition: recipient-list`` and ``Require:
recipient-list-invite``).  Before sending, the number of invitees is checked
against MAX-ADHOC-GROUP-SIZE; if exceeded the user is told and nothing goes
out.  On the 200 the IM Session Identity is stored (RFC 4579: the focus's
Contact with ``isfocus``) and the MSRP session starts.
"""

from __future__ import annotations

from typing import Sequence

from imkit.payloads.resource_lists import CONTENT_TYPE, DISPOSITION
from imkit.procedures.checks import SHALL, ims_rule, on_request, sent_by
from imkit.procedures.common_rules import (
    accept_types,
    initial_request,
    interacts_with_user_plane,
    request_uri_is_target,
    sdp_offer,
    sent_towards_server,
    size_check,
    stores_session_identity,
)
from imkit.procedures.context import BuildContext
from imkit.procedures.invite_offer import FactoryItems, factory_invite
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Finding, Rule, failed, passed
from imkit.procedures.uri_list import check_group_size, invited_from_part
from imkit.sip import Multipart, ParseError, Request

CLAUSE = "7.1.1.3"
TITLE = "IM Client initiates an Ad-hoc IM Conference"
_ITEMS = FactoryItems(request_uri="2", uri_list="3", multipart="3",
                      body_note="multipart/mixed: SDP offer (item 5) + URI list (item 3)")


def build(
    ctx: BuildContext,
    invited: Sequence[str],
    *,
    anonymous: bool = False,
    extra_accept_types: Sequence[str] = (),
) -> OutgoingRequest:
    if not invited:
        raise ValueError("an ad-hoc IM Conference needs at least one invited IM User")
    # "4. The IM Client SHALL check that the number of Invited IM Users ... does not exceed ... MAX-ADHOC-GROUP-SIZE"
    check_group_size(ctx.profile, invited, f"{CLAUSE}/4")
    # "2. set the Request-URI ... to the Conference-factory-URI"; "3. include a MIME resource-list body";
    # "5. SHALL include ... a MIME SDP body as a SDP offer ... a=accept-types:message/cpim"
    return factory_invite(
        ctx, CLAUSE, _ITEMS, invited, f"ad-hoc conference with {len(invited)} invited",
        anonymous=anonymous, extra_accept_types=extra_accept_types,
    )


def _uri_list(request: Request) -> Finding:
    content_type = request.content_type
    if content_type is None or content_type.mime != "multipart/mixed":
        return failed("Content-Type", "the URI list needs a multipart/mixed body")
    try:
        part = Multipart.parse(request.body, content_type).part_by_type(CONTENT_TYPE)
    except ParseError as exc:
        return failed("Content-Type", f"malformed multipart body: {exc}")
    if part is None:
        return failed("Content-Type", "no application/resource-lists+xml part")
    disposition = part.content_disposition
    if disposition is None or disposition.value != DISPOSITION:
        return failed("Content-Disposition", "the URI list part lacks Content-Disposition: recipient-list")
    if "recipient-list-invite" not in request.require:
        return failed("Require", "no recipient-list-invite in Require (RFC 5366)")
    try:
        uris = invited_from_part(part)
    except ParseError as exc:
        return failed("Content-Type", f"malformed resource-lists: {exc}")
    return passed("Content-Type", f"URI list of {len(uris)}: {', '.join(uris)}")


RULES = [
    initial_request(CLAUSE, "1", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "2", "INVITE", "set the Request-URI of the SIP INVITE request to the Conference-factory-URI for the IM service in the Home Network of the IM User"),
    Rule(CLAUSE, "3", SHALL, "include a MIME resource-list body with the invited IM Users as specified in [draft-URI-list]",
         sent_by(CLAUSE, "INVITE"), on_request(_uri_list)),
    *size_check(CLAUSE, "4", "The IM Client SHALL check that the number of Invited IM Users on the URI-list does not exceed the maximum number of Participants allowed in an Ad-hoc IM Group Session as indicated in \"MAX-ADHOC-GROUP-SIZE\""),
    sdp_offer(CLAUSE, "5", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264], [RFC4566] and [MSRP]", multipart=True),
    *accept_types(CLAUSE, "5", multipart=True),
    sent_towards_server(CLAUSE, "6", "INVITE", "SHALL send the SIP INVITE request towards the IM Server according to rules and procedures of the SIP/IP Core"),
    stores_session_identity(CLAUSE, "ok1", "SHALL store the IM Session Identity if received in the Contact header as described in [RFC4579]"),
    interacts_with_user_plane(CLAUSE, "ok2"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
