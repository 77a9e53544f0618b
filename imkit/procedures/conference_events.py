"""7.1.1.11 IM Client subscription to the conference state event package.

A SUBSCRIBE (RFC 6665, RFC 4575: ``Event: conference``, ``Accept:
application/conference-info+xml``) in a new dialog (item 1) with the 7.1.1.1
headers, Request-URI the IM Session Identity or the IM Group Identity (item
2).  On 200 or 202 (202 is RFC 3265's legacy answer; RFC 6665 gives 200) the
Contact is stored.  NOTIFYs are applied to the conference state (full, then
partial, RFC 4575 section 4.6), the own ``<user>`` is found by ``yourown``
(Appendix M) or else by entity, and joined users on the block list are
pointed out (item 4).  "When needed the IM Client SHALL terminate the
subscription": a SUBSCRIBE with ``Expires: 0`` in the subscription dialog.
"""

from __future__ import annotations

from imkit.payloads.conference_info import CONTENT_TYPE as CONFERENCE_INFO
from imkit.payloads.conference_info import ConferenceInfo
from imkit.procedures import general_checks
from imkit.procedures.checks import (
    MAY,
    SHALL,
    SHOULD,
    ims_rule,
    noted,
    notes,
    on_request,
    received_in_dialog_of,
    responses_to,
    sent_by,
    stored,
)
from imkit.procedures.common_rules import handles_notify, sent_towards_server
from imkit.procedures.context import BuildContext
from imkit.procedures.general import apply_initial_request_rules
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Check, Finding, Rule, Verdict, failed, not_applicable, passed
from imkit.sip import NameAddr, ParseError, Request, SipURI, parse_uri
from imkit.sip.dialog import Dialog
from imkit.trace import Trace, TraceRecord

CLAUSE = "7.1.1.11"
TITLE = "IM Client subscription to the conference state event package"
EVENT = "conference"


def build_subscribe(ctx: BuildContext, target: SipURI, *, expires: int | None = None) -> OutgoingRequest:
    # "1. SHALL generate a SIP SUBSCRIBE request and use a new SIP-dialog, as specified in section 7.1.1.1"
    # "2. SHALL set the Request-URI ... to the IM Session Identity or the IM Group Identity"
    out = ctx.initial_request("SUBSCRIBE", target, NameAddr(target), CLAUSE, f"subscribe to conference state of {target}")
    out.cite("Request-URI", CLAUSE, "2", "IM Session Identity or IM Group Identity")
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=False)
    out.set("Event", EVENT, CLAUSE, "1", "RFC 4575 conference event package")
    out.set("Accept", CONFERENCE_INFO, CLAUSE, "1", "RFC 4575 section 3.4")
    out.set("Expires", str(expires if expires is not None else ctx.profile.subscription_expires), "RFC 6665", "4.1.2.1")
    return out


def build_refresh(ctx: BuildContext, dialog: Dialog, *, expires: int) -> OutgoingRequest:
    """Refresh (``expires`` > 0) or terminate (``expires`` == 0) the subscription.
    "When needed the IM Client SHALL terminate the subscription and indicate it
    terminated according to rules and procedures of [RFC3265]"."""
    purpose = "terminate the conference subscription" if expires == 0 else "refresh the conference subscription"
    out = ctx.in_dialog_request(dialog, "SUBSCRIBE", CLAUSE, purpose)
    out.set("Event", EVENT, CLAUSE, "1")
    out.set("Accept", CONFERENCE_INFO, CLAUSE, "1")
    out.set("Expires", str(expires), CLAUSE, "term" if expires == 0 else "1", "RFC 6665 4.1.2.3" if expires == 0 else "RFC 6665 4.1.2.2")
    return out


def _subscribed_at_all(record: TraceRecord | None, trace: Trace) -> Finding:
    for other in trace:
        if sent_by(CLAUSE, "SUBSCRIBE")(other, trace):
            return passed("Event", f"SUBSCRIBE to {other.message.uri}")
    sessions = notes(trace, "group-session")
    if not sessions:
        return not_applicable("no IM group session in this trace")
    return failed(None, "the client never subscribed to the conference state")


def _new_dialog(request: Request) -> Finding:
    if request.to is not None and request.to.tag is not None:
        return not_applicable("a refresh inside the subscription dialog")
    basic = general_checks.rfc3261_request(request)
    if basic.verdict is not Verdict.PASS:
        return basic
    event = request.event
    if event is None or event.value != EVENT:
        return failed("Event", "Event is not 'conference' (RFC 4575 3.1)")
    return general_checks.general_headers(request)


def _target(record: TraceRecord, trace: Trace) -> Finding:
    request = record.message
    if request.to is not None and request.to.tag is not None:
        return not_applicable("a refresh inside the subscription dialog")
    allowed = {n.text for n in notes(trace, "session-identity")} | {n.text for n in notes(trace, "group-identity")}
    if not allowed:
        return not_applicable("no IM Session Identity or IM Group Identity was noted")
    if str(request.uri) not in allowed:
        return failed("Request-URI", f"{request.uri} is neither the IM Session Identity nor the IM Group Identity")
    return passed("Request-URI", str(request.uri))


def _responses_handled(record: TraceRecord, trace: Trace) -> Finding:
    status = record.message.status
    if 200 <= status < 300 and status not in (200, 202):
        return failed(None, f"unexpected {status} to SUBSCRIBE")
    return passed(None, f"{status} handled")


def _notify_state(key: str, what: str) -> Check:
    def check(record: TraceRecord, trace: Trace) -> Finding:
        if (record.message.content_type is None
                or record.message.content_type.mime != CONFERENCE_INFO):
            return not_applicable("the NOTIFY carries no conference-info")
        return noted(key, None, what)(record, trace)

    return check


def _own_user(record: TraceRecord, trace: Trace) -> Finding:
    """Item n3: the noted own user must be the ``<user>`` the NOTIFY marks
    ``yourown`` when it marks one (the client cannot pick another)."""
    finding = _notify_state(f"{CLAUSE}/n3", "identified its own <user>")(record, trace)
    if finding.verdict is not Verdict.PASS:
        return finding
    try:
        document = ConferenceInfo.from_xml(record.message.body, max_size=4 << 20)
    except ParseError:
        return finding
    marked = [u.entity for u in document.roster if u.yourown]
    noted_text = notes(trace, f"{CLAUSE}/n3", record)[-1].text
    if marked and f" {marked[0]} " not in f" {noted_text} ":
        return failed(None, f"the NOTIFY marks {marked[0]} yourown, the client took: {noted_text}")
    return finding


def _blocked_joined(record: TraceRecord, trace: Trace) -> Finding:
    """Item n4: on a full-state NOTIFY, the blocked users the client reports
    must be exactly the joined users on the block list it noted (compared as
    RFC 3261 19.1.4 URIs)."""
    finding = _notify_state(f"{CLAUSE}/n4", "checked the joined users against the block list")(record, trace)
    blocklist = notes(trace, "blocklist")
    if finding.verdict is not Verdict.PASS or not blocklist:
        return finding
    try:
        document = ConferenceInfo.from_xml(record.message.body, max_size=4 << 20)
        blocked = [parse_uri(uri) for uri in blocklist[-1].text.split(", ") if uri]
        joined = [(u.entity, parse_uri(u.entity)) for u in document.roster]
    except ParseError:
        return finding
    if document.state is not None and document.state.value != "full":
        return finding
    expected = sorted(entity for entity, uri in joined if any(uri.equivalent(b) for b in blocked))
    reported = notes(trace, f"{CLAUSE}/n4", record)[-1].text.partition(": ")[2]
    if reported != (", ".join(expected) or "none"):
        return failed(None, f"blocked users who joined are {', '.join(expected) or 'none'}, the client reported: {reported}")
    return finding


def _terminated(record: TraceRecord | None, trace: Trace) -> Finding:
    for other in trace:
        if sent_by(CLAUSE, "SUBSCRIBE")(other, trace) and other.message.expires == 0:
            return passed("Expires", "SUBSCRIBE with Expires: 0")
    if notes(trace, f"{CLAUSE}/term-needed"):
        return failed("Expires", "the subscription had to end but no SUBSCRIBE with Expires: 0 was sent")
    return not_applicable("the subscription never had to be terminated")


_NOTIFY = received_in_dialog_of(CLAUSE, "NOTIFY", "SUBSCRIBE")

RULES = [
    Rule(CLAUSE, "0", SHOULD, "An IM Client SHOULD subscribe to the Conference State Event Package by sending a SIP SUBSCRIBE request to obtain information of the status of an IM Session",
         None, _subscribed_at_all),
    Rule(CLAUSE, "1", SHALL, "SHALL generate a SIP SUBSCRIBE request and use a new SIP-dialog, as specified in section 7.1.1.1 \"General\" and according to rules and procedures of [RFC3265] and [RFC 4575]",
         sent_by(CLAUSE, "SUBSCRIBE"), on_request(_new_dialog)),
    Rule(CLAUSE, "2", SHALL, "SHALL set the Request-URI of the SIP SUBSCRIBE request to the IM Session Identity or the IM Group Identity",
         sent_by(CLAUSE, "SUBSCRIBE"), _target),
    sent_towards_server(CLAUSE, "3", "SUBSCRIBE", "SHALL send the SIP SUBSCRIBE request according to rules and procedures of the SIP/IP Core"),
    Rule(CLAUSE, "resp", SHALL, "The responses to the SIP SUBSCRIBE request SHALL be handled according to rules and procedures of [RFC3265] and [RFC 4575]",
         responses_to(CLAUSE, "SUBSCRIBE"), _responses_handled),
    Rule(CLAUSE, "ok1", SHALL, "Upon receiving a SIP 200 \"OK\" or a SIP 202 \"Accepted\" response to the SIP SUBSCRIBE request the IM Client SHALL store the contents of the Contact header field",
         responses_to(CLAUSE, "SUBSCRIBE", 200, 202), stored(f"{CLAUSE}/ok1", "Contact", lambda r: ", ".join(str(c) for c in r.contact))),
    handles_notify(CLAUSE, "n1", "SHALL handle the request according to rules and procedures of [RFC3265] and [RFC 4575]", "SUBSCRIBE"),
    Rule(CLAUSE, "n2", SHALL, "SHALL be able to display the current state information (e.g. joined/left users, conference-info) of the IM Session to the IM User",
         _NOTIFY, _notify_state(f"{CLAUSE}/n2", "updated the displayed conference state")),
    Rule(CLAUSE, "n3", SHALL, "SHALL identify the receiving IM Client's own information with the \"yourown\" attribute of the <user> element as defined in Appendix M, if available. Otherwise ... based on <user> element as defined in [RFC4575]",
         _NOTIFY, _own_user),
    Rule(CLAUSE, "n4", SHALL, "The client SHALL check the joined users against the users in the blocklist of the IM User and display the blocked users who joined in the conference",
         _NOTIFY, _blocked_joined),
    Rule(CLAUSE, "n4-cache", MAY, "The block list is stored in the IM XDMS and MAY be cached on the client",
         _NOTIFY, _notify_state(f"{CLAUSE}/n4-cache", "used a cached block list")),
    Rule(CLAUSE, "term", SHALL, "When needed the IM Client SHALL terminate the subscription and indicate it terminated according to rules and procedures of [RFC3265]",
         None, _terminated),
    ims_rule(CLAUSE, sent_by(CLAUSE, "SUBSCRIBE")),
]
