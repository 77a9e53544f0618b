"""Expected bytes of built requests, and their provenance.

The identifiers (branch, tags, Call-ID, multipart boundary) are random; the
expected text takes them from the request and checks everything else byte
for byte, header order included.
"""

from __future__ import annotations

from imkit import __version__
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import Request

ALLOW_ROW = "Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, SUBSCRIBE, OPTIONS"
CONTACT_ROW = "Contact: <sip:alice@127.0.0.1:5070>;+g.oma.sip-im"
USER_AGENT_ROW = f"User-Agent: IM-client/OMA1.0 imkit/{__version__}"


def initial_head(request: Request, to: str) -> list[str]:
    """Start line and the RFC 3261 8.1.1 rows of an initial request from the
    FixedContext."""
    assert request.top_via is not None and request.from_ is not None and request.cseq is not None
    return [
        f"{request.method} {request.uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={request.top_via.branch};rport",
        "Max-Forwards: 70",
        f"From: Alice <sip:alice@example.com>;tag={request.from_.tag}",
        f"To: <{to}>",
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.cseq.seq} {request.method}",
    ]


def in_dialog_head(request: Request, to: str, *, contact: bool) -> list[str]:
    """Start line and rows of a request inside a dialog (RFC 3261 12.2.1.1):
    To carries the remote tag, CSeq follows the dialog; ``to`` is the To row's
    expected value.  Target refresh requests carry the dialog's Contact."""
    assert request.top_via is not None and request.from_ is not None and request.cseq is not None
    rows = [
        f"{request.method} {request.uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch={request.top_via.branch}",
        "Max-Forwards: 70",
        f"From: Alice <sip:alice@example.com>;tag={request.from_.tag}",
        f"To: {to}",
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.cseq.seq} {request.method}",
    ]
    return rows + ([CONTACT_ROW] if contact else [])


def general_rows(*, privacy: bool = False, session_expires: bool = True, contact: bool = True) -> list[str]:
    """The 7.1.1.1 rows, in the order ``apply_initial_request_rules`` adds them
    (``contact=False``: the Contact row was already there and kept its place)."""
    rows = ["Accept-Contact: *;+g.oma.sip-im", USER_AGENT_ROW, ALLOW_ROW]
    rows += [CONTACT_ROW] if contact else []
    rows += ["Privacy: id"] if privacy else []
    rows += ["Supported: timer"]
    rows += ["Session-Expires: 1800;refresher=uac"] if session_expires else []
    return rows


def assert_wire(out: OutgoingRequest | Request, rows: list[str], body: bytes = b"", content_type: str | None = None) -> None:
    """The request is ``rows``, then Content-Type (when given) and
    Content-Length closing the header block, then ``body``."""
    message = out.request if isinstance(out, OutgoingRequest) else out
    rows = rows + ([f"Content-Type: {content_type}"] if content_type else []) + [f"Content-Length: {len(body)}"]
    assert bytes(message).decode() == "\r\n".join(rows) + "\r\n\r\n" + body.decode()


def assert_initial_request(out: OutgoingRequest, to: str, extra: list[str] | tuple[str, ...] = (), body: bytes = b"",
                           content_type: str | None = None, *, privacy: bool = False) -> None:
    """An initial request to ``to`` with the 7.1.1.1 rows, each citing its
    item (Session-Expires on an INVITE only), then the ``extra`` rows."""
    general = general_rows(privacy=privacy, session_expires=out.request.method == "INVITE")
    assert_wire(out, initial_head(out.request, to) + general + list(extra), body, content_type)
    assert general_provenance(out) == GENERAL_ITEMS


def assert_reinvite(out: OutgoingRequest, to: str, body: bytes, *, privacy: bool = False) -> None:
    """A re-INVITE in the dialog (the dialog's Contact kept in its place) with
    the 7.1.1.1 rows, each citing its item, and an SDP body."""
    rows = in_dialog_head(out.request, to, contact=True) + general_rows(contact=False, privacy=privacy)
    assert_wire(out, rows, body, "application/sdp")
    assert general_provenance(out) == GENERAL_ITEMS


def cites(out: OutgoingRequest, header: str, clause: str, item: str) -> bool:
    """Whether ``out`` records ``clause`` item ``item`` as a reason for ``header``."""
    return any(p.clause == clause and p.item == item for p in out.why(header))


def general_provenance(out: OutgoingRequest) -> dict[str, str]:
    """Which 7.1.1.1 item each general header cites."""
    return {
        header: next(p.item for p in out.why(header) if p.clause == "7.1.1.1")
        for header in ("Accept-Contact", "User-Agent", "Allow", "Contact", "Supported")
    }


GENERAL_ITEMS = {"Accept-Contact": "1", "User-Agent": "2", "Allow": "3", "Contact": "4", "Supported": "6"}


def sdp_offer(accept_types: str = "message/cpim text/plain") -> bytes:
    """The SDP offer of the FixedContext (RFC 4975 section 8)."""
    return (
        "v=0\r\no=- 4242 4242 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=message 7000 TCP/MSRP *\r\na=accept-types:{accept_types}\r\n"
        "a=path:msrp://127.0.0.1:7000/s3ss10n;tcp\r\na=setup:actpass\r\n"
    ).encode()


def resource_lists(*uris: str) -> bytes:
    """An RFC 4826 document with one list of ``uris`` (entries as written: escaped)."""
    entries = "".join(f'<entry uri="{uri}"/>' for uri in uris)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>{entries}</list></resource-lists>'
    ).encode()


def sdp_and_uri_list(request: Request, uris: list[str], accept_types: str = "message/cpim text/plain") -> tuple[str, bytes]:
    """The Content-Type and body of a multipart/mixed INVITE: the SDP offer,
    then the URI list of ``uris`` marked ``recipient-list`` (RFC 5366)."""
    content_type = request.content_type
    assert content_type is not None and content_type.mime == "multipart/mixed"
    delimiter = f"--{content_type.param('boundary')}".encode()
    body = (
        delimiter + b"\r\nContent-Type: application/sdp\r\n\r\n" + sdp_offer(accept_types) + b"\r\n"
        + delimiter + b"\r\nContent-Type: application/resource-lists+xml\r\nContent-Disposition: recipient-list\r\n\r\n"
        + resource_lists(*uris) + b"\r\n" + delimiter + b"--\r\n"
    )
    return f"multipart/mixed;boundary={content_type.param('boundary')}", body
