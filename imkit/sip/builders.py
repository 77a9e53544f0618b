"""Building requests and responses (RFC 3261 sections 8.1.1, 8.2.6, 9.1, 17.1.1.3).

:func:`new_request` writes a request outside a dialog with its header fields
in the conventional order; :func:`make_response` answers a request as a UAS
does (8.2.6.2); :func:`make_cancel` and :func:`make_ack_for_non2xx` build the
two requests whose headers come from the request they refer to.  Building and
sending are separate steps: the result is an ordinary message one may edit.
A builder refuses (:class:`~imkit.errors.LocalProtocolError`) to make what the
RFC forbids.
"""

from __future__ import annotations

from collections.abc import Iterable

from imkit.errors import LocalProtocolError
from imkit.sip.address import NameAddr
from imkit.sip.headers import (
    Field,
    Headers,
    canonical_name,
    copy_as,
    is_token,
    split_list,
)
from imkit.sip.ids import MAGIC_COOKIE, IdGenerator, new_branch, new_call_id, new_tag
from imkit.sip.message import Request, Response
from imkit.sip.uri import URI, parse_uri
from imkit.sip.values import Via

__all__ = [
    "make_response", "new_request", "make_cancel", "make_ack_for_non2xx",
    "DIALOG_CREATING_METHODS", "IdGenerator", "new_branch", "new_tag", "new_call_id",
]

#: Methods whose 101-299 responses may establish a dialog (RFC 3261 12.1,
#: RFC 6665 4.4.1 for SUBSCRIBE and NOTIFY, RFC 3515 for REFER).
DIALOG_CREATING_METHODS = frozenset({"INVITE", "SUBSCRIBE", "NOTIFY", "REFER"})

HeaderRows = Iterable[tuple[str, str]]


def _copy_rows(source: Headers, key: str, target: list[Field]) -> None:
    """Append a copy of every row of comparison key ``key``, each under its
    header's canonical name."""
    rows = source._keyed().get(key)
    if rows is not None:
        for row in rows:
            target.append(copy_as(row, canonical_name(row.name)))


_ANSWERED_HEADERS = (("Via", "via"), ("From", "from"), ("To", "to"), ("Call-ID", "call-id"), ("CSeq", "cseq"))


def _add_tag(to_value: str, tag: str) -> str:
    # A bare addr-spec cannot hold ';', ',' or '?' in its URI (RFC 3261 20.10),
    # so every ';' after it starts a header parameter either way.
    return f"{to_value};tag={tag}"


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: HeaderRows = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """Answer ``request`` (RFC 3261 8.2.6).

    From, Call-ID, CSeq and the Via rows are copied as written, in order;
    To gets ``to_tag`` unless the request's To already has a tag.  A 100
    (Trying) never gets a tag and copies Timestamp.  Record-Route is copied
    into 101-299 responses to the methods that may create a dialog (12.1.1).
    ``headers`` follow CSeq; Content-Type and Content-Length come last.
    """
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"status {status} is not a SIP response code")
    if request.method == "ACK":
        # RFC 3261 17.1.1.3: "an ACK ... MUST NOT generate a response"
        raise LocalProtocolError("ACK is never answered")
    if body and content_type is None:
        # RFC 3261 20.15: "The Content-Type header field MUST be present if the body is not empty."
        raise LocalProtocolError("a body needs a Content-Type")
    source = request.headers
    index = source._keyed()
    for name, key in _ANSWERED_HEADERS:
        if key not in index:
            raise LocalProtocolError(f"the request has no {name} to copy into a response")
    rows: list[Field] = []
    # RFC 3261 8.2.6.2: "The Via header field values in the response MUST equal
    # the Via header field values in the request and MUST maintain the same ordering."
    _copy_rows(source, "via", rows)
    if status > 100 and status < 300 and request.method in DIALOG_CREATING_METHODS:
        # RFC 3261 12.1.1: "the UAS MUST copy all Record-Route header field values
        # from the request into the response ... and MUST maintain the order"
        _copy_rows(source, "record-route", rows)
    # "The From field of the response MUST equal the From header field of the request."
    _copy_rows(source, "from", rows)
    to_row = index["to"][0]
    to_value = to_row.value
    to = request.to
    has_tag = to is not None and to.tag is not None
    if not has_tag and status != 100:
        # "if the To header field in the request did not contain a tag, ... the UAS
        # MUST add a tag to the To header field in the response (with the exception
        # of the 100 (Trying) response, in which a tag MAY be present)."
        if to_tag is None:
            raise LocalProtocolError(f"a {status} response to a request without To tag needs to_tag")
        rows.append(Field("To", _add_tag(to_value, to_tag)))
    else:
        rows.append(copy_as(to_row, "To"))
    # "The Call-ID header field of the response MUST equal the Call-ID header field of the request."
    _copy_rows(source, "call-id", rows)
    # "The CSeq header field of the response MUST equal the CSeq field of the request."
    _copy_rows(source, "cseq", rows)
    if status == 100:
        # RFC 3261 8.2.6.1: "When a 100 (Trying) response is generated, any Timestamp
        # header field present in the request MUST be copied into this 100 (Trying) response."
        _copy_rows(source, "timestamp", rows)
    response_headers = Headers(rows)
    for name, value in headers:
        response_headers.add(name, value)
    if content_type is not None:
        response_headers.add("Content-Type", content_type)
    response_headers.add("Content-Length", str(len(body)))
    return Response(status, reason, response_headers, body)


def new_request(
    method: str,
    request_uri: URI | str,
    *,
    from_addr: NameAddr,
    to_addr: NameAddr,
    call_id: str,
    cseq: int,
    via: Via,
    max_forwards: int = 70,
    contact: NameAddr | None = None,
    route: Iterable[NameAddr] = (),
    headers: HeaderRows = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """A request from a UAC (RFC 3261 8.1.1), headers in the order Via,
    Max-Forwards, Route, From, To, Call-ID, CSeq, Contact, ``headers``,
    Content-Type, Content-Length."""
    if not is_token(method) or method.upper() != method:
        raise LocalProtocolError(f"method {method!r} is not an upper-case token")
    uri = parse_uri(request_uri) if isinstance(request_uri, str) else request_uri
    branch = via.branch
    # RFC 3261 8.1.1.7: "the branch ID inserted by an element compliant with this
    # specification MUST always begin with the characters "z9hG4bK"."
    if not branch or not branch.startswith(MAGIC_COOKIE) or branch == MAGIC_COOKIE:
        raise LocalProtocolError(f"Via branch {branch!r} lacks the {MAGIC_COOKIE} magic cookie")
    # RFC 3261 8.1.1.3: "The From field MUST contain a new "tag" parameter, chosen by the UAC."
    if not from_addr.tag:
        raise LocalProtocolError("From needs a tag")
    # RFC 3261 8.1.1.5: "The sequence number MUST be expressible as a 32-bit
    # unsigned integer and MUST be less than 2**31."
    if not 0 <= cseq < 2**31:
        raise LocalProtocolError(f"CSeq {cseq} is out of range")
    if not 0 <= max_forwards <= 255:
        raise LocalProtocolError(f"Max-Forwards {max_forwards} is out of range")
    if not call_id or any(c.isspace() for c in call_id):
        raise LocalProtocolError(f"malformed Call-ID {call_id!r}")
    if body and content_type is None:
        raise LocalProtocolError("a body needs a Content-Type")
    rows: list[tuple[str, str]] = [("Via", str(via)), ("Max-Forwards", str(max_forwards))]
    rows.extend(("Route", str(hop)) for hop in route)
    rows += [
        ("From", str(from_addr)),
        ("To", str(to_addr)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact is not None:
        rows.append(("Contact", str(contact)))
    request = Request(method, uri, Headers())
    for name, value in rows:
        request.headers.add(name, value)
    for name, value in headers:
        request.headers.add(name, value)
    if content_type is not None:
        request.headers.add("Content-Type", content_type)
    request.headers.add("Content-Length", str(len(body)))
    request.body = body
    return request


def make_cancel(request: Request) -> Request:
    """CANCEL ``request`` (RFC 3261 9.1): "The Request-URI, Call-ID, To, the
    numeric part of CSeq, and From header fields in the CANCEL request MUST be
    identical to those in the request being cancelled, including tags.  A
    CANCEL constructed by a client MUST have only a single Via header field
    value matching the top Via value in the request being cancelled." and "If
    the request being cancelled contains a Route header field, the CANCEL
    request MUST include that Route header field's values."."""
    if request.method in ("ACK", "CANCEL"):
        raise LocalProtocolError(f"{request.method} cannot be cancelled")
    return _copy_for(request, "CANCEL", to_value=None)


def make_ack_for_non2xx(request: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 300-699 (RFC 3261
    17.1.1.3): "The Call-ID, From, and Request-URI ... MUST equal the values
    of those header fields in the request ...  The To header field in the ACK
    MUST equal the To header field in the response being acknowledged. The
    ACK MUST contain a single Via header field, and this MUST be equal to the
    top Via header field of the original request.  The CSeq header field in
    the ACK MUST contain the same value for the sequence number as was present
    in the original request, but the method parameter MUST be equal to "ACK".
    ... If the INVITE request whose response is being acknowledged had Route
    header fields, those header fields MUST appear in the ACK."."""
    if request.method != "INVITE" or response.status < 300:
        raise LocalProtocolError("only a 300-699 response to INVITE is ACKed by the transaction")
    to_rows = response.headers.fields("To")
    if not to_rows:
        raise LocalProtocolError("the response has no To header")
    return _copy_for(request, "ACK", to_value=to_rows[0].value)


def _copy_for(request: Request, method: str, *, to_value: str | None) -> Request:
    top = request.headers.fields("Via")
    cseq = request.cseq
    if not top or cseq is None:
        raise LocalProtocolError("the request has no Via or CSeq")
    rows: list[Field] = [Field("Via", split_list(top[0].value)[0])]
    _copy_rows(request.headers, "max-forwards", rows)
    _copy_rows(request.headers, "route", rows)
    _copy_rows(request.headers, "from", rows)
    if to_value is None:
        _copy_rows(request.headers, "to", rows)
    else:
        rows.append(Field("To", to_value))
    _copy_rows(request.headers, "call-id", rows)
    rows.append(Field("CSeq", f"{cseq.seq} {method}"))
    rows.append(Field("Content-Length", "0"))
    return Request(method, request.uri, Headers(rows))
