"""7.1.1.6 IM Client extends 1-to-1 IM Session to an Ad-hoc IM conference.

An initial INVITE (7.1.1.1) to the Conference-factory-URI with a
multipart/mixed body (item 6, RFC 2046): the SDP offer (item 7) and the URI
list (items 3-4, RFC 5366) naming the new invitees and the original peer;
the original peer's entry carries a Replaces URI header for the 1-1 dialog
(item 8, RFC 3891, Appendix L), escaped inside the URI.  The focus then
invites the peer with Replaces and the peer's 1-1 dialog with us ends with a
BYE, which the client answers (NOTE, 7.1.2.3).

The Replaces value names the 1-1 dialog as the peer sees it: the peer is the
recipient of the focus's INVITE, so ``to-tag`` is the peer's tag (our
dialog's remote tag) and ``from-tag`` ours (RFC 3891 section 3 matches
to-tag against the recipient's local tag).
"""

from __future__ import annotations

from typing import Sequence

from imkit.procedures.checks import SHALL, answers_to, ims_rule, notes, on_request, sent_by
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
from imkit.procedures.state import SessionKind, SessionState
from imkit.procedures.rules import Finding, Rule, failed, not_applicable, passed
from imkit.procedures.uri_list import check_group_size, uri_list_entries
from imkit.sip import ParseError, Replaces, Request, SipURI, parse_uri
from imkit.trace import Trace, TraceRecord
from imkit.trace.record import Direction

CLAUSE = "7.1.1.6"
TITLE = "IM Client extends 1-to-1 IM Session to an Ad-hoc IM conference"
_ITEMS = FactoryItems(request_uri="2", uri_list="4", multipart="6",
                      body_note="SDP offer (item 7) + URI list with Replaces (items 3, 4, 8)")


def original_peer_entry(session: SessionState) -> str:
    """The original invited user's URI with ``?Replaces=`` for the 1-1 dialog."""
    dialog = session.dialog
    if dialog is None:
        raise ValueError("the 1-1 IM Session has no dialog to replace")
    peer = session.target.address_of_record
    replaces = f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}"
    return str(peer.with_header("Replaces", replaces))


def build(
    ctx: BuildContext,
    session: SessionState,
    invited: Sequence[str],
    *,
    anonymous: bool = False,
    extra_accept_types: Sequence[str] = (),
) -> OutgoingRequest:
    if session.kind is not SessionKind.ONE_TO_ONE:
        raise ValueError("only a 1-1 IM Session is extended to an ad-hoc conference")
    # "3. SHALL add the invited user(s) ... including also the identity of the original invited user."
    entries = [original_peer_entry(session)] + [u for u in invited if u != str(session.target.address_of_record)]
    # "5. The IM Client SHALL check that the number of Invited IM Users on the URI-list does not exceed ..."
    check_group_size(ctx.profile, entries, f"{CLAUSE}/5")
    # "2. ... Conference-factory-URI"; "4. ... resource-list body"; "6. ... multipart/mixed";
    # "7. ... SDP offer ... a=accept-types:message/cpim"; "8. ... a Replace header with the original session identity"
    return factory_invite(
        ctx, CLAUSE, _ITEMS, entries, f"extend 1-1 with {session.target} to ad-hoc",
        anonymous=anonymous, extra_accept_types=extra_accept_types,
    )


def _includes_original(record: TraceRecord, trace: Trace) -> Finding:
    entries = uri_list_entries(record.message)
    if entries is None:
        return failed("Content-Type", "no resource-lists body part")
    peer = notes(trace, f"{CLAUSE}/peer", record)
    if not peer:
        return not_applicable("the original invited user was not noted")
    bases = [e.split("?")[0] for e in entries]
    if peer[-1].text not in bases:
        return failed("Content-Type", f"the URI list lacks the original invited user {peer[-1].text}")
    return passed("Content-Type", f"{len(entries)} entries including {peer[-1].text}")


def _resource_list_body(request: Request) -> Finding:
    entries = uri_list_entries(request)
    if entries is None:
        return failed("Content-Type", "no application/resource-lists+xml body part")
    return passed("Content-Type", ", ".join(entries))


def _multipart(request: Request) -> Finding:
    content_type = request.content_type
    if content_type is None or content_type.mime != "multipart/mixed":
        return failed("Content-Type", f"Content-Type is {request.headers.get('Content-Type')!r}")
    return passed("Content-Type", str(content_type))


def _replaces(record: TraceRecord, trace: Trace) -> Finding:
    entries = uri_list_entries(record.message) or ()
    dialog = notes(trace, f"{CLAUSE}/replaced-dialog", record)
    if not dialog:
        return not_applicable("the 1-1 dialog was not noted")
    for entry in entries:
        uri = parse_uri(entry)
        value = uri.header("Replaces") if isinstance(uri, SipURI) else None
        if value is not None:
            try:
                replaces = Replaces.parse(value)
            except ParseError as exc:
                return failed("Content-Type", f"malformed Replaces in {entry}: {exc}")
            named = f"{replaces.call_id};to-tag={replaces.to_tag};from-tag={replaces.from_tag}"
            if named != dialog[-1].text:
                return failed("Content-Type", f"Replaces names {named}, the 1-1 dialog is {dialog[-1].text}")
            return passed("Content-Type", f"Replaces={value}")
    return failed("Content-Type", "no URI-list entry carries a Replaces header")


def _bye_answered(record: TraceRecord, trace: Trace) -> Finding:
    answers = [a for a in answers_to(record, trace) if a.message.status >= 200]
    if not answers:
        return failed(None, "the BYE ending the replaced 1-1 session was not answered")
    return passed(None, f"answered {answers[-1].message.status}")


def _replaced_bye(record: TraceRecord, trace: Trace) -> bool:
    message = record.message
    if record.direction is not Direction.RECEIVED or not isinstance(message, Request) or message.method != "BYE":
        return False
    return any(n.text.split(";")[0] == message.call_id for n in notes(trace, f"{CLAUSE}/replaced-dialog"))


RULES = [
    initial_request(CLAUSE, "1", "INVITE", "SHALL generate an initial SIP INVITE request according to rules and procedures of [RFC3261] and with the additional clarification as specified in section 7.1.1.1 \"General\""),
    request_uri_is_target(CLAUSE, "2", "INVITE", "SHALL set the Request-URI of the SIP INVITE request to the Conference-factory-URI for the IM service in the Home Network of the IM User"),
    Rule(CLAUSE, "3", SHALL, "SHALL add the invited user(s) in a MIME resource-list body according to [draft-URI-list], including also the identity of the original invited user",
         sent_by(CLAUSE, "INVITE"), _includes_original),
    Rule(CLAUSE, "4", SHALL, "SHALL include a MIME resource-list body with the invited IM Users as specified in [draft-URI-list]",
         sent_by(CLAUSE, "INVITE"), on_request(_resource_list_body)),
    *size_check(CLAUSE, "5", "The IM Client SHALL check that the number of Invited IM Users on the URI-list does not exceed the maximum number of Participants allowed in an Ad-hoc IM Group Session as indicated in \"MAX-ADHOC-GROUP-SIZE\""),
    Rule(CLAUSE, "6", SHALL, "SHALL insert in the SIP INVITE request a Content-Type header with multipart/mixed as specified in [RFC2046]",
         sent_by(CLAUSE, "INVITE"), on_request(_multipart)),
    sdp_offer(CLAUSE, "7", "SHALL include in the SIP INVITE request a MIME SDP body as a SDP offer according to rules and procedures of [RFC3264], [RFC 4566] and [MSRP]", multipart=True),
    *accept_types(CLAUSE, "7", multipart=True),
    Rule(CLAUSE, "8", SHALL, "SHALL for the originally invited user identity, include a Replace header with the original session identity according to rules and procedures of [RFC3891]",
         sent_by(CLAUSE, "INVITE"), _replaces),
    sent_towards_server(CLAUSE, "9", "INVITE", "SHALL send the SIP INVITE request towards the controlling IM Server according to rules and procedures of SIP/IP Core"),
    stores_session_identity(CLAUSE, "ok1", "SHALL store the IM Session Identity if received in the Contact header as described in [draft-URI-list]"),
    interacts_with_user_plane(CLAUSE, "ok2"),
    Rule(CLAUSE, "note", SHALL, "The BYE request received as a result of the Replace header is handled as described in 7.1.2.3",
         _replaced_bye, _bye_answered, note="a NOTE pointing at the terminating procedures; checked as: the BYE is answered"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "INVITE")),
]
