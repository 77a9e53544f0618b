"""7.1.1.1 General: what every initial request and its responses get.

After CR 351 this clause gathers the handling that 7.1.1.2 to 7.1.1.14 share,
and they refer to it instead of repeating it:

* every initial request carries Accept-Contact with ``+g.oma.sip-im``
  (item 1, RFC 3841), User-Agent with the IM release version (item 2,
  Appendix F), Allow (item 3), the feature tag in Contact (item 4),
  ``Privacy: id`` when anonymity is asked (item 5, RFC 3325/3323),
  ``Supported: timer`` (item 6) and Session-Expires with ``refresher=uac``
  (item 7, RFC 4028);
* on any response the client stores Allow and Contact;
* on the 200 to an initial INVITE it starts the session timer from
  Session-Expires and, for a group session, subscribes to the conference
  event package (7.1.1.11).

Reading of item 7: RFC 4028 defines Session-Expires for INVITE and UPDATE
(section 4, "The Session-Expires header field ... is used in an INVITE or
UPDATE request"), so imkit adds it to INVITEs only; for SUBSCRIBE and REFER
the rule is reported as not applicable rather than adding a header that
means nothing there.

This module is the only place that adds these headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from imkit.procedures import general_checks
from imkit.procedures.checks import SHALL, SHOULD, ims_rule, notes, on_request, privacy_if_anonymous, request_of, stored
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import IM_FEATURE_TAG, SUPPORTED_METHODS, ClientProfile
from imkit.procedures.rules import Finding, Rule, failed, not_applicable, passed
from imkit.sip import NameAddr, Request, Response, SipURI
from imkit.trace import Trace, TraceRecord
from imkit.trace.record import Direction, Protocol

CLAUSE = "7.1.1.1"
TITLE = "General"


def apply_initial_request_rules(
    out: OutgoingRequest, profile: ClientProfile, contact: SipURI, *, anonymous: bool
) -> None:
    """Add the 7.1.1.1 headers to an initial request."""
    method = out.request.method
    # "1. SHALL include an Accept-Contact header with the IM feature-tag '+g.oma.sip-im' ... in all initial SIP requests"
    out.set("Accept-Contact", f"*;{IM_FEATURE_TAG}", CLAUSE, "1", "RFC 3841 caller preferences")
    # "2. SHALL include a User-Agent header to indicate the IM release version"
    out.set("User-Agent", profile.user_agent, CLAUSE, "2", "Appendix F release version")
    # "3. SHOULD include an Allow header with all supported SIP methods"
    out.set("Allow", ", ".join(profile.allow), CLAUSE, "3")
    # "4. SHALL include the IM feature-tag '+g.oma.sip-im' in the Contact header"
    out.set("Contact", str(NameAddr(contact).with_param(IM_FEATURE_TAG)), CLAUSE, "4")
    # "5. SHALL include value 'id' in a Privacy header if anonymity is requested"
    if anonymous:
        out.set("Privacy", "id", CLAUSE, "5", "anonymity requested (RFC 3325)")
    # "6. SHALL include the option tag 'timer' in the Supported header"
    _add_option_tag(out, "Supported", "timer", CLAUSE, "6")
    # "7. SHOULD include the Session-Expires header with the refresher parameter set to 'uac'"
    if method == "INVITE":
        out.set("Session-Expires", f"{profile.session_expires};refresher=uac", CLAUSE, "7", "RFC 4028")


def _add_option_tag(out: OutgoingRequest, header: str, tag: str, clause: str, item: str) -> None:
    present = [t.lower() for t in out.request.headers.get_all(header)]
    if tag not in present:
        out.set(header, ", ".join(out.request.headers.get_all(header) + [tag]), clause, item)
    else:
        out.cite(header, clause, item)


def add_option_tags(out: OutgoingRequest, header: str, tags: list[str], clause: str, item: str) -> None:
    """Add option tags to Supported or Require, keeping the ones there."""
    for tag in tags:
        _add_option_tag(out, header, tag, clause, item)


@dataclass
class StoredServerInfo:
    """What 7.1.1.1 says to keep from responses: the IM Server's Allow list and
    the Contact received (for an IM Session, its IM Session Identity)."""

    allow: list[str] | None = None
    contact: list[NameAddr] | None = None


def store_response_info(stored: StoredServerInfo, response: Response) -> list[tuple[str, str]]:
    """Apply "On receipt of a SIP final response or SIP provisional response":
    item 1 "SHALL store the list of SIP methods that the IM Server supports if
    received in the Allow header", item 2 "SHALL store the content received in
    the Contact header".  Returns (rule id, what was stored) for the trace."""
    stored_notes: list[tuple[str, str]] = []
    if "Allow" in response.headers:
        stored.allow = response.allow
        stored_notes.append((f"{CLAUSE}/r1", ", ".join(stored.allow)))
    if "Contact" in response.headers:
        stored.contact = response.contact
        stored_notes.append((f"{CLAUSE}/r2", ", ".join(str(c) for c in stored.contact)))
    return stored_notes


@dataclass(frozen=True)
class SessionTimer:
    """The negotiated session interval and who refreshes (RFC 4028 section 7.2)."""

    interval: int
    refresher: str  # "uac" or "uas"

    def refresh_after(self) -> float:
        """RFC 4028 10: the refresher sends a refresh "after one half the session interval"."""
        return self.interval / 2

    def expire_after(self) -> float:
        """RFC 4028 10: without a refresh the session ends "before the session
        expiration": the interval less min(32, interval / 3)."""
        return self.interval - min(32.0, self.interval / 3)


def session_timer_from_ok(response: Response) -> SessionTimer | None:
    """On the 200 to an initial INVITE, item 1 "SHALL start the SIP Session
    timer using the value received in the Session-Expires header".  RFC 4028
    7.2: no Session-Expires in the 2xx means no session expiration; a 2xx
    without a refresher parameter leaves the refresh to the UAC."""
    value = response.session_expires
    if value is None:
        return None
    return SessionTimer(value.delta, value.refresher or "uac")


# -- rules ------------------------------------------------------------------

#: Clauses whose requests 7.1.1.1 shapes: every procedure that sends one.
GROUP_CLAUSES = ("7.1.1.3", "7.1.1.4", "7.1.1.6", "7.1.1.9", "7.1.1.10")
#: Re-INVITE clauses that ask for the 7.1.1.1 clarifications explicitly.
REINVITE_CLAUSES = ("7.1.1.5", "7.1.1.8")


def _is_procedure_request(record: TraceRecord, trace: Trace) -> bool:
    message = record.message
    if record.direction is not Direction.SENT or record.protocol is not Protocol.SIP:
        return False
    if not isinstance(message, Request) or message.method in ("ACK", "CANCEL", "BYE"):
        return False
    label = record.label or ""
    if not label.startswith("7.1.1."):
        return False
    to = message.to
    return (to is not None and to.tag is None) or label in REINVITE_CLAUSES


def _initial_invites(record: TraceRecord, trace: Trace) -> bool:
    return _is_procedure_request(record, trace) and record.message.method == "INVITE"


def _responses_to_procedure(record: TraceRecord, trace: Trace) -> bool:
    if record.direction is not Direction.RECEIVED or not isinstance(record.message, Response):
        return False
    request = request_of(record, trace)
    return request is not None and _is_procedure_request(request, trace)


def _ok_to_initial_invite(record: TraceRecord, trace: Trace) -> bool:
    if not _responses_to_procedure(record, trace) or record.message.status != 200:
        return False
    request = request_of(record, trace)
    if request is None or request.message.method != "INVITE":
        return False
    to = request.message.to
    return to is not None and to.tag is None




def _allow(request: Request) -> Finding:
    allow = request.allow
    if not allow:
        return failed("Allow", "no Allow header")
    # "all supported SIP methods": every method imkit's IM Client handles
    missing = [m for m in SUPPORTED_METHODS if m not in allow]
    if missing:
        return failed("Allow", f"Allow omits supported methods {', '.join(missing)}")
    return passed("Allow", ", ".join(allow))


def _session_expires(request: Request) -> Finding:
    if request.method != "INVITE":
        return not_applicable("RFC 4028 defines Session-Expires for INVITE and UPDATE only")
    value = request.session_expires
    if value is None:
        return failed("Session-Expires", "no Session-Expires")
    if value.refresher != "uac":
        return failed("Session-Expires", f"refresher is {value.refresher!r}, not 'uac'")
    return passed("Session-Expires", str(value))


def _timer_started(record: TraceRecord, trace: Trace) -> Finding:
    value = record.message.session_expires
    if value is None:
        return not_applicable("the 200 has no Session-Expires: no session expiration (RFC 4028 7.2)")
    started = notes(trace, f"{CLAUSE}/ok1", record)
    if not started:
        return failed("Session-Expires", "the session timer was not started")
    if started[-1].text != str(value.delta):
        return failed("Session-Expires", f"timer started with {started[-1].text}s, the 200 said {value.delta}s")
    return passed("Session-Expires", f"timer {value.delta}s, refresher {value.refresher or 'uac'}")


def _subscribed(record: TraceRecord, trace: Trace) -> Finding:
    request = request_of(record, trace)
    if request is None or request.label not in GROUP_CLAUSES:
        return not_applicable("not an IM group session")
    contact = record.message.contact
    identity = str(contact[0].uri.address_of_record) if contact else None
    for other in trace:
        message = other.message
        if (
            other.direction is Direction.SENT and isinstance(message, Request) and message.method == "SUBSCRIBE"
            and other.now >= record.now and message.event is not None and message.event.value == "conference"
        ):
            target = str(message.uri.address_of_record) if hasattr(message.uri, "address_of_record") else str(message.uri)
            if identity is None or target == identity:
                return passed("Event", f"SUBSCRIBE to {message.uri}")
    return failed(None, "no SUBSCRIBE to the conference event package followed the 200")


RULES: list[Rule] = [
    Rule(CLAUSE, "0", SHALL, "The IM Client SHALL generate an initial SIP request according to rules and procedures of [RFC3261].",
         _is_procedure_request, on_request(general_checks.rfc3261_request)),
    Rule(CLAUSE, "1", SHALL, "SHALL include an Accept-Contact header with the IM feature-tag '+g.oma.sip-im' according to rules and procedures of [RFC3841] in all initial SIP requests",
         _is_procedure_request, on_request(general_checks.accept_contact)),
    Rule(CLAUSE, "2", SHALL, "SHALL include a User-Agent header to indicate the IM release version as specified in Appendix F",
         _is_procedure_request, on_request(general_checks.user_agent)),
    Rule(CLAUSE, "3", SHOULD, "SHOULD include an Allow header with all supported SIP methods",
         _is_procedure_request, on_request(_allow)),
    Rule(CLAUSE, "4", SHALL, "SHALL include the IM feature-tag '+g.oma.sip-im' in the Contact header",
         _is_procedure_request, on_request(general_checks.contact_feature_tag)),
    Rule(CLAUSE, "5", SHALL, "SHALL include value 'id' in a Privacy header if anonymity is requested according to rules and procedures of [RFC3325]",
         _is_procedure_request, privacy_if_anonymous),
    Rule(CLAUSE, "6", SHALL, "SHALL include the option tag 'timer' in the Supported header",
         _is_procedure_request, on_request(general_checks.supported_timer)),
    Rule(CLAUSE, "7", SHOULD, "SHOULD include the Session-Expires header with the refresher parameter set to 'uac' according to rules and procedures of [RFC4028]",
         _is_procedure_request, on_request(_session_expires)),
    Rule(CLAUSE, "r1", SHALL, "On receipt of a SIP final response or SIP provisional response ... SHALL store the list of SIP methods that the IM Server supports if received in the Allow header",
         _responses_to_procedure, stored(f"{CLAUSE}/r1", "Allow", lambda r: ", ".join(r.allow))),
    Rule(CLAUSE, "r2", SHALL, "SHALL store the content received in the Contact header",
         _responses_to_procedure, stored(f"{CLAUSE}/r2", "Contact", lambda r: ", ".join(str(c) for c in r.contact))),
    Rule(CLAUSE, "ok1", SHALL, "On receipt of the SIP 200 \"OK\" response to the initial SIP INVITE request ... SHALL start the SIP Session timer using the value received in the Session-Expires header according to rules and procedures of [RFC4028]",
         _ok_to_initial_invite, _timer_started),
    Rule(CLAUSE, "ok2", SHALL, "In the case of IM group session, the IM Client SHALL subscribe to the Conference State Event Package as specified in section 7.1.1.11",
         _ok_to_initial_invite, _subscribed),
    ims_rule(CLAUSE, _is_procedure_request),
]
