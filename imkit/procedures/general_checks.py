"""Checks of a request against RFC 3261 basics and the 7.1.1.1 headers.

Shared by the 7.1.1.1 rules themselves and by every clause whose item 1
says "according to rules and procedures of [RFC3261] and with the additional
clarification as specified in section 7.1.1.1".
"""

from __future__ import annotations

from imkit.procedures.profile import IM_FEATURE_TAG, IM_RELEASE_VERSION
from imkit.procedures.rules import Finding, failed, passed
from imkit.sip import Multipart, ParseError, Request
from imkit.sip.ids import MAGIC_COOKIE
from imkit.sip.sdp import SessionDescription, msrp_media


def rfc3261_request(request: Request) -> Finding:
    """RFC 3261 8.1.1: "A valid SIP request formulated by a UAC MUST, at a
    minimum, contain the following header fields: To, From, CSeq, Call-ID,
    Max-Forwards, and Via"; the From tag, the branch cookie, the CSeq method."""
    for name in ("To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via"):
        if name not in request.headers:
            return failed(name, f"{name} is missing (RFC 3261 8.1.1)")
    try:
        via = request.top_via
        cseq = request.cseq
        sender = request.from_
    except ParseError as exc:
        return failed(None, f"malformed header: {exc}")
    if via is None or not (via.branch or "").startswith(MAGIC_COOKIE):
        return failed("Via", "the branch lacks the z9hG4bK magic cookie (RFC 3261 8.1.1.7)")
    if sender is None or not sender.tag:
        return failed("From", "From has no tag (RFC 3261 8.1.1.3)")
    if cseq is None or cseq.method != request.method:
        return failed("CSeq", "CSeq method differs from the request method (RFC 3261 8.1.1.5)")
    if request.method in ("INVITE", "SUBSCRIBE", "REFER") and not request.contact:
        return failed("Contact", f"a {request.method} needs a Contact (RFC 3261 8.1.1.8)")
    return passed(None, "RFC 3261 8.1.1 header fields present")


def general_headers(request: Request) -> Finding:
    """The SHALL headers of 7.1.1.1 items 1, 2, 4 and 6."""
    for finding in (accept_contact(request), user_agent(request), contact_feature_tag(request), supported_timer(request)):
        if finding.verdict.value != "pass":
            return finding
    return passed(None, "7.1.1.1 items 1, 2, 4, 6 present")


def accept_contact(request: Request) -> Finding:
    try:
        values = request.accept_contact
    except ParseError as exc:
        return failed("Accept-Contact", str(exc))
    if not any(v.has(IM_FEATURE_TAG) for v in values):
        return failed("Accept-Contact", f"no Accept-Contact with {IM_FEATURE_TAG}")
    return passed("Accept-Contact", request.headers.get("Accept-Contact") or "")


def user_agent(request: Request) -> Finding:
    value = request.user_agent
    if value is None:
        return failed("User-Agent", "no User-Agent")
    if not value.startswith(IM_RELEASE_VERSION):
        return failed("User-Agent", f"User-Agent {value!r} does not start with the release version {IM_RELEASE_VERSION}")
    return passed("User-Agent", value)


def contact_feature_tag(request: Request) -> Finding:
    try:
        contacts = request.contact
    except ParseError as exc:
        return failed("Contact", str(exc))
    if not contacts or not all(IM_FEATURE_TAG in c.params for c in contacts):
        return failed("Contact", f"Contact lacks {IM_FEATURE_TAG}")
    return passed("Contact", request.headers.get("Contact") or "")


def supported_timer(request: Request) -> Finding:
    if "timer" not in request.supported:
        return failed("Supported", "no 'timer' in Supported")
    return passed("Supported", ", ".join(request.supported))


def sdp_body(request: Request, *, multipart: bool) -> bytes | None:
    """The SDP of the request: the whole body, or the application/sdp part."""
    content_type = request.content_type
    if content_type is None:
        return None
    if content_type.mime == "application/sdp":
        return request.body
    if multipart and content_type.type == "multipart":
        try:
            part = Multipart.parse(request.body, content_type).part_by_type("application/sdp")
        except ParseError:
            return None
        return part.body if part else None
    return None


def msrp_offer(request: Request, *, multipart: bool) -> Finding:
    body = sdp_body(request, multipart=multipart)
    if body is None:
        return failed("Content-Type", "no SDP body")
    try:
        media = msrp_media(SessionDescription.parse(body))
    except ParseError as exc:
        return failed("Content-Type", f"SDP offer is not an MSRP offer: {exc}")
    return passed("Content-Type", f"MSRP offer, path {' '.join(media.path)}")


def offered_accept_types(request: Request, *, multipart: bool) -> tuple[str, ...] | None:
    body = sdp_body(request, multipart=multipart)
    if body is None:
        return None
    try:
        return tuple(msrp_media(SessionDescription.parse(body)).accept_types)
    except ParseError:
        return None
