"""7.1.1.7 IM Client adding IM User(s) to an IM Conference Session.

A REFER (RFC 3515) with the 7.1.1.1 headers, Request-URI the IM Session
Identity (item 2), sent towards it (item 7), outside the INVITE dialog (RFC
4579 section 5.5 allows either; 7.1.1.7 item 1 applies 7.1.1.1, which speaks
of initial requests).

* One invitee (item 3): ``Refer-To`` that IM Address and ``Refer-Sub: false``
  (RFC 4488).
* Several (item 4, RFC 5368): ``Refer-To`` a ``cid:`` URI naming the
  resource-lists body (``Content-ID``, ``Content-Disposition:
  recipient-list``), ``Refer-Sub: true`` (item 4c) and ``Require:
  multiple-refer, norefersub`` (item 4d).  Item 4c contradicts item 4d and
  RFC 5368 (whose REFER carries ``Refer-Sub: false``); imkit sends what the
  OMA text says and the conformance report cites the tension.

The group-size check (item 5) applies when the session is ad-hoc or 1-1 on
the home IM Server; ``Privacy: id`` goes in when anonymity is asked (item 6).
NOTIFYs in the REFER's implicit subscription are handled per RFC 3515 even
after ``Refer-Sub: false``: the server may not honour it (REFERENCES.md).
"""

from __future__ import annotations

from typing import Sequence

from imkit.payloads.resource_lists import CONTENT_TYPE, DISPOSITION, ResourceLists
from imkit.procedures import general_checks
from imkit.procedures.checks import (
    SHALL,
    SHOULD,
    ims_rule,
    notes,
    on_request,
    option_tags,
    privacy_if_anonymous,
    request_uri_is_identity,
    sent_by,
)
from imkit.procedures.common_rules import handles_notify, may_display, sent_towards_server, size_check
from imkit.procedures.context import BuildContext
from imkit.procedures.general import add_option_tags, apply_initial_request_rules
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Check, Finding, Rule, Verdict, failed, not_applicable, passed
from imkit.procedures.state import SessionKind, SessionState
from imkit.procedures.uri_list import check_group_size
from imkit.sip import NameAddr, ParseError, Request, parse_uri
from imkit.trace import Trace, TraceRecord

CLAUSE = "7.1.1.7"
TITLE = "IM Client adding IM User(s) to an IM Conference Session"
MULTIPLE_REFER = "multiple-refer"
NOREFERSUB = "norefersub"
#: 7.1.1.7 item 5 applies to these sessions only.
SIZE_CHECKED = (SessionKind.ADHOC, SessionKind.EXTENDED, SessionKind.ONE_TO_ONE)


def build(
    ctx: BuildContext,
    session: SessionState,
    invited: Sequence[str],
    *,
    anonymous: bool = False,
    content_id: str | None = None,
) -> OutgoingRequest:
    if not invited:
        raise ValueError("name at least one IM User to add")
    identity = session.identity
    if identity is None:
        raise ValueError("no IM Session Identity is stored for this session")
    # "5. SHOULD, if the on-going IM Session is an Ad-hoc IM Group Session or 1-1 IM Session ... check ..."
    if session.kind in SIZE_CHECKED:
        check_group_size(ctx.profile, invited, f"{CLAUSE}/5")
    # "2. SHALL set the Request-URI of the SIP REFER request to the IM Session Identity"
    out = ctx.initial_request("REFER", identity, NameAddr(identity), CLAUSE, f"add {len(invited)} IM User(s)")
    out.cite("Request-URI", CLAUSE, "2", "the IM Session Identity")
    # "1. SHALL generate a SIP REFER request ... with the additional clarification as specified in section 7.1.1.1"
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    # "6. SHALL include value "id" in a Privacy header ..., if anonymity is requested"
    if anonymous:
        out.cite("Privacy", CLAUSE, "6", "anonymity requested (RFC 3325)")
    if len(invited) == 1:
        target = parse_uri(invited[0])
        # "3a) set the Refer-To header of the SIP REFER request to the IM Address of the Invited IM User"
        out.set("Refer-To", str(NameAddr(target)), CLAUSE, "3a", "RFC 3515")
        # "3b) SHALL set the Refer-Sub header to "false""
        out.set("Refer-Sub", "false", CLAUSE, "3b", "RFC 4488")
        return out
    call_id_word = (out.request.call_id or "").split("@")[0]
    cid = content_id or f"uri-list.{call_id_word}@{ctx.contact.host}"
    # "4a) include a Refer-To header with a pointer to an URI-list in a body part"
    out.set("Refer-To", f"<cid:{cid}>", CLAUSE, "4a", "RFC 5368 section 4")
    # "4c) SHALL set the Refer-Sub header to "true""
    out.set("Refer-Sub", "true", CLAUSE, "4c", "OMA text; RFC 5368 uses false (see the rule's note)")
    # "4d) SHALL include the "multiple-refer" and "norefersub" option-tag in the Require header field"
    add_option_tags(out, "Require", [MULTIPLE_REFER, NOREFERSUB], CLAUSE, "4d")
    # "4b) SHALL include a MIME resource-lists body with the list of the IM Users to be added"
    document = ResourceLists.from_uris(list(invited)).to_xml()
    out.set("Content-Disposition", DISPOSITION, CLAUSE, "4b", "RFC 5368: the URI list is a recipient list")
    out.set("Content-ID", f"<{cid}>", CLAUSE, "4a", "the body Refer-To points at")
    out.set_body(document, CONTENT_TYPE, CLAUSE, "4b", "RFC 4826 resource-lists")
    return out


def _refer(request: Request) -> Finding:
    basic = general_checks.rfc3261_request(request)
    if basic.verdict is not Verdict.PASS:
        return basic
    if request.refer_to is None:
        return failed("Refer-To", "a REFER needs exactly one Refer-To (RFC 3515 2.4.1)")
    return general_checks.general_headers(request)


def _points_at_list(record: TraceRecord) -> bool | None:
    """Whether Refer-To is a ``cid:`` URI (item 4) or not (item 3); ``None``
    without a Refer-To, which item 1 reports."""
    refer_to = record.message.refer_to
    return None if refer_to is None else str(refer_to.uri).startswith("cid:")


def _single(record: TraceRecord, trace: Trace) -> bool:
    return sent_by(CLAUSE, "REFER")(record, trace) and _points_at_list(record) is False


def _multiple(record: TraceRecord, trace: Trace) -> bool:
    return sent_by(CLAUSE, "REFER")(record, trace) and _points_at_list(record) is True


def _refer_to_invitee(record: TraceRecord, trace: Trace) -> Finding:
    invited = notes(trace, f"{CLAUSE}/target", record)
    refer_to = record.message.refer_to
    if not invited:
        return not_applicable("the invitee was not noted")
    if str(refer_to.uri) != invited[-1].text:
        return failed("Refer-To", f"Refer-To is {refer_to.uri}, the invited IM User is {invited[-1].text}")
    return passed("Refer-To", str(refer_to))


def _refer_sub(expected: bool) -> Check:
    def check(record: TraceRecord, trace: Trace) -> Finding:
        value = record.message.refer_sub
        if value is not expected:
            return failed("Refer-Sub", f"Refer-Sub is {record.message.headers.get('Refer-Sub')!r}, expected {str(expected).lower()}")
        return passed("Refer-Sub", str(expected).lower())

    return check


def _cid_points_at_body(request: Request) -> Finding:
    cid = str(request.refer_to.uri)[len("cid:"):]
    if request.content_id != cid:
        return failed("Refer-To", f"Refer-To names cid:{cid} but the body's Content-ID is {request.content_id!r}")
    return passed("Refer-To", f"cid:{cid}")


def _resource_lists(request: Request) -> Finding:
    content_type = request.content_type
    if content_type is None or content_type.mime != CONTENT_TYPE:
        return failed("Content-Type", f"Content-Type is {request.headers.get('Content-Type')!r}, not {CONTENT_TYPE}")
    try:
        uris = ResourceLists.from_xml(request.body).uris()
    except ParseError as exc:
        return failed("Content-Type", f"malformed resource-lists: {exc}")
    if len(uris) < 2:
        return failed("Content-Type", "a multiple REFER lists more than one IM User")
    return passed("Content-Type", ", ".join(uris))


RULES = [
    Rule(CLAUSE, "1", SHALL, "SHALL generate a SIP REFER request according to rules and procedures of [RFC3515] and with the additional clarification as specified in section 7.1.1.1 General",
         sent_by(CLAUSE, "REFER"), on_request(_refer)),
    Rule(CLAUSE, "2", SHALL, "SHALL set the Request-URI of the SIP REFER request to the IM Session Identity",
         sent_by(CLAUSE, "REFER"), request_uri_is_identity(same_dialog=False)),
    Rule(CLAUSE, "3a", SHALL, "SHALL, if only one IM User is invited, set the Refer-To header of the SIP REFER request to the IM Address of the Invited IM User according to rules and procedures of [RFC3515]",
         _single, _refer_to_invitee),
    Rule(CLAUSE, "3b", SHALL, "SHALL set the Refer-Sub header to \"false\" according to rules and procedures of [RFC 4488]",
         _single, _refer_sub(False)),
    Rule(CLAUSE, "4a", SHALL, "SHALL, if more then one IM user is invited, include a Refer-To header with a pointer to an URI-list in a body part containing the MIME resource-list body according to rules and procedures of [draft-multiple-refer]",
         _multiple, on_request(_cid_points_at_body)),
    Rule(CLAUSE, "4b", SHALL, "SHALL include a MIME resource-lists body with the list of the IM Users to be added according to rules and procedures of [draft-multiple-refer]",
         _multiple, on_request(_resource_lists)),
    Rule(CLAUSE, "4c", SHALL, "SHALL set the Refer-Sub header to \"true\" according to rules and procedures of [RFC 4488] and [draft-multiple-refer]",
         _multiple, _refer_sub(True),
         note="tension: item 4d requires 'norefersub', the option tag for suppressing the subscription (RFC 4488), "
              "and RFC 5368 section 5 sends Refer-Sub: false; Refer-Sub: true with Require: norefersub is "
              "self-contradictory and may not interoperate (a strict server may answer 420); imkit follows this item's text"),
    Rule(
        CLAUSE, "4d", SHALL,
        "SHALL include the \"multiple-refer\" and \"norefersub\" option-tag in the Require header field of the REFER according to rules and procedures of [RFC 4488] and [draft-multiple-refer]",
        _multiple, option_tags("Require", "multiple-refer", "norefersub")),
    *size_check(CLAUSE, "5", "SHOULD, if the on-going IM Session is an Ad-hoc IM Group Session or 1-1 IM Session on the Home IM Server of the IM User, check that the number of the Invited IM Users on the URI-list or in the Refer-To header does not exceed ... \"MAX-ADHOC-GROUP-SIZE\"", level=SHOULD,
                kinds=tuple(kind.name for kind in SIZE_CHECKED)),
    Rule(CLAUSE, "6", SHALL, "SHALL include value \"id\" in a Privacy header according to rules and procedures of [RFC3325], if anonymity is requested",
         sent_by(CLAUSE, "REFER"), privacy_if_anonymous),
    sent_towards_server(CLAUSE, "7", "REFER", "SHALL send the SIP REFER request towards the IM Session Identity"),
    handles_notify(CLAUSE, "n1", "SHALL handle the request according to rules and procedures of [RFC3515] and [RFC3265]", "REFER"),
    may_display(CLAUSE, "n2", "REFER"),
    ims_rule(CLAUSE, sent_by(CLAUSE, "REFER")),
]
