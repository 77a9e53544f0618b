"""Checks on incoming requests and the error responses they give (issue 5
item 9; RFC 3261 sections 8.2 and 16.3, RFC 3261 21.4).

The runtime already answers what does not parse (400) and other SIP versions
(505).  These checks look at requests that parse: mandatory headers present
and readable (400), the Request-URI scheme (416), option tags in Require and
Proxy-Require (420 with Unsupported), body types (415 with Accept), methods
(405 or 501 with Allow).  Each returns a :class:`Rejection` or ``None``;
:func:`error_response` turns a rejection into the response, copying the rows
RFC 3261 8.2.6.2 names as written, so even a request whose values do not
parse gets an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from imkit.sip import Request, Response, SipURI
from imkit.sip.errors import ParseError
from imkit.sip.headers import header_key
from imkit.sip.message import Message
from imkit.sip.transaction_layer import error_response as _bare_error_response

__all__ = [
    "MAX_FORWARDS",
    "Rejection",
    "check_body",
    "check_method",
    "check_proxy_require",
    "check_request",
    "check_require",
    "error_response",
]

#: RFC 3261 8.1.1.6: "The Max-Forwards header field ... SHOULD be 70."
MAX_FORWARDS = 70


@dataclass(frozen=True, slots=True)
class Rejection:
    """An error response to send: status, reason and extra header rows."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


#: Methods whose initial requests create dialogs (RFC 3261 12.1, RFC 6665, RFC 3515).
_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})

#: Header accessors read to check a header is well formed (a typed accessor
#: raises ParseError when it is not): name, comparison key, accessor.
_TYPED: tuple[tuple[str, str, Callable[[Message], object]], ...] = tuple(
    (name, header_key(name), attrgetter(accessor)) for name, accessor in (
        ("From", "from_"),
        ("To", "to"),
        ("Via", "via"),
        ("CSeq", "cseq"),
        ("Max-Forwards", "max_forwards"),
        ("Contact", "contact"),
        ("Route", "route"),
        ("Record-Route", "record_route"),
        ("Expires", "expires"),
        ("Content-Type", "content_type"),
        ("Session-Expires", "session_expires"),
        ("Min-SE", "min_se"),
        ("Event", "event"),
        ("Replaces", "replaces"),
        ("Refer-To", "refer_to"),
        ("Refer-Sub", "refer_sub"),
    )
)


def check_request(request: Request) -> Rejection | None:
    """Whether a parsed request is well enough formed to be acted on."""
    # RFC 3261 8.1.1: "A valid SIP request formulated by a UAC MUST, at a
    # minimum, contain the following header fields: To, From, CSeq, Call-ID,
    # Max-Forwards, and Via" (the transaction layer checked all but Max-Forwards).
    keys = [row.key for row in request.headers]
    if "max-forwards" not in keys:
        return Rejection(400, "Missing Max-Forwards")
    present = frozenset(keys)
    for name, key, read in _TYPED:
        if key not in present:
            continue
        try:
            read(request)
        except ParseError as exc:
            return Rejection(400, f"Bad {name} ({exc.what})")
    from_ = request.from_
    if from_ is not None and not from_.tag:
        # RFC 3261 8.1.1.3: "The From field MUST contain a new "tag" parameter, chosen by the UAC."
        return Rejection(400, "From has no tag")
    if keys.count("call-id") != 1 or keys.count("cseq") != 1:
        return Rejection(400, "Call-ID and CSeq appear once")
    to = request.to
    if request.method in _DIALOG_CREATING and not (to is not None and to.tag) and len(request.contact) != 1:
        # RFC 3261 8.1.1.8: "The Contact header field MUST be present and contain
        # exactly one SIP or SIPS URI in any request that can result in the
        # establishment of a dialog."
        return Rejection(400, "Dialog-creating request needs one Contact")
    if request.body and "Content-Type" not in request.headers:
        # RFC 3261 20.15: "The Content-Type header field MUST be present if the body is not empty."
        return Rejection(400, "Body without Content-Type")
    uri = request.uri
    if not isinstance(uri, SipURI):
        # RFC 3261 8.2.2.1: "If the Request-URI uses a scheme not supported by
        # the UAS, it SHOULD reject the request with a 416 (Unsupported URI
        # Scheme) response."  (16.3 item 2 says the same for a proxy.)
        return Rejection(416, f"Unsupported URI Scheme ({uri.scheme})")
    if uri.scheme.lower() == "sips":
        return Rejection(416, "Unsupported URI Scheme (sips: no TLS here)")
    if uri.headers:
        # RFC 3261 19.1.1 (table 1): URI headers are not allowed in a Request-URI.
        return Rejection(400, "Header fields in the Request-URI")
    return None


def _unsupported(tags: Iterable[str], supported: frozenset[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        if tag not in supported and tag not in out:
            out.append(tag)
    return out


def check_require(request: Request, supported: frozenset[str]) -> Rejection | None:
    """RFC 3261 8.2.2.3: "If a UAS does not understand an option-tag listed in
    a Require header field, it MUST respond by generating a response with
    status code 420 (Bad Extension).  The UAS MUST add an Unsupported header
    field, and list in it those options it does not understand amongst those
    in the Require header field of the request."  (Never for ACK or CANCEL:
    "Require ... is ignored" there, 8.2.2.3.)"""
    if request.method in ("ACK", "CANCEL"):
        return None
    unknown = _unsupported(request.require, supported)
    if not unknown:
        return None
    return Rejection(420, "Bad Extension", (("Unsupported", ", ".join(unknown)),))


def check_proxy_require(request: Request, supported: frozenset[str]) -> Rejection | None:
    """RFC 3261 16.3 item 5: "If the request contains a Proxy-Require header
    field ... with one or more option-tags this element does not understand,
    the element MUST return a 420 (Bad Extension) response.  The response MUST
    include an Unsupported ... header field listing those option-tags the
    element did not understand." """
    if request.method in ("ACK", "CANCEL"):
        return None
    unknown = _unsupported(request.proxy_require, supported)
    if not unknown:
        return None
    return Rejection(420, "Bad Extension", (("Unsupported", ", ".join(unknown)),))


def check_body(request: Request, accepted: Sequence[str]) -> Rejection | None:
    """RFC 3261 8.2.3: "If there are any bodies whose type (indicated by the
    Content-Type), language (indicated by the Content-Language) or encoding
    (indicated by the Content-Encoding) are not understood, and that body part
    is not optional ..., the UAS MUST reject the request with a 415
    (Unsupported Media Type) response.  The response MUST contain an Accept
    header field listing the types of all bodies it understands"."""
    if not request.body or request.method in ("ACK", "CANCEL"):
        return None
    accept = (("Accept", ", ".join(accepted)),)
    encodings = [e.lower() for e in request.headers.get_all("Content-Encoding")]
    if any(e != "identity" for e in encodings):
        return Rejection(415, "Unsupported Media Type", accept + (("Accept-Encoding", "identity"),))
    content_type = request.content_type
    if content_type is None or content_type.mime not in accepted:
        return Rejection(415, "Unsupported Media Type", accept)
    return None


def check_method(method: str, allow: Sequence[str], known: frozenset[str]) -> Rejection | None:
    """405 with Allow for a method known but not accepted here (RFC 3261
    21.4.6: "The response MUST include an Allow header field containing a list
    of valid methods"), 501 for one not recognized (21.5.2); ``None`` when
    the method is allowed."""
    if method in allow:
        return None
    rows = (("Allow", ", ".join(allow)),)
    if method in known:
        return Rejection(405, "Method Not Allowed", rows)
    return Rejection(501, "Not Implemented", rows)


def error_response(request: Request, rejection: Rejection, to_tag: str, server: str | None = None) -> Response:
    """The response for ``rejection``: Via, From, To (with ``to_tag`` unless
    it has one), Call-ID and CSeq copied as written, then the rejection's
    rows and ``Server``."""
    response = _bare_error_response(request, rejection.status, rejection.reason, to_tag)
    response.headers.remove("Content-Length")
    for name, value in rejection.headers:
        response.headers.add(name, value)
    if server:
        response.headers.add("Server", server)
    response.headers.add("Content-Length", "0")
    return response
