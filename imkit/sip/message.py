"""SIP requests and responses: parse and serialise (RFC 3261 sections 7, 25).

``parse(data)`` turns one complete message into a :class:`Request` or
:class:`Response`; ``bytes(message)`` writes it back.  A parsed message keeps
its start line, header rows (order, spelling, compact forms, folding) and body
exactly, so an unmodified message serialises to the same bytes.  Typed
accessors (``message.via``, ``message.cseq``, ``message.refer_to`` ...) parse
a header's value when asked; the headers every transaction needs (Via, From,
To, Call-ID, CSeq, Max-Forwards, Content-Length) are checked while parsing so
a malformed one is reported at once, with its offset.
"""

from __future__ import annotations

import abc
import re
from typing import Callable, TypeVar, Union

from imkit.sip.address import NameAddr, parse_address_list
from imkit.sip.errors import ParseError
from imkit.sip.headers import Field, Headers, header_key, is_token, parse_header_block
from imkit.sip.params import FAST_TOKEN, MEMO_MAX_TEXT, remember
from imkit.sip.uri import FAST_SIP_URI, URI, make_sip_uri, parse_uri
from imkit.sip.values import (
    Challenge,
    ContentDisposition,
    CSeq,
    Event,
    FeatureSet,
    MediaType,
    Replaces,
    SessionExpires,
    SubscriptionState,
    Via,
)

#: RFC 3261 has no limit; imkit refuses larger messages (issue: 64 KiB default).
MAX_MESSAGE_SIZE = 65536
MAX_HEADER_FIELDS = 256

_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+")
T = TypeVar("T")

#: Reason phrases of RFC 3261 21 and the extensions imkit uses.
REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service", 400: "Bad Request",
    401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
    485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable", 500: "Server Internal Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 600: "Busy Everywhere",
    603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}


class Message(abc.ABC):
    """What requests and responses share: headers, body and typed accessors."""

    def __init__(self, headers: Headers | None, body: bytes, version: str) -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.version = version

    # -- writing -----------------------------------------------------------
    @abc.abstractmethod
    def start_line(self) -> str:
        """The request line or status line, without CRLF."""

    def __bytes__(self) -> bytes:
        parts = [self.start_line().encode("utf-8")]
        append = parts.append
        for row in self.headers._fields:
            raw = row.raw
            append(raw if raw is not None else row.to_bytes())
        append(b"")
        append(self.body)
        return b"\r\n".join(parts)

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Replace the body, and Content-Type (when given) and Content-Length."""
        self.body = body
        if content_type is not None:
            if "Content-Type" in self.headers:
                self.headers.set("Content-Type", content_type)
            else:
                self.headers.add_before(("Content-Length",), "Content-Type", content_type)
        elif not body:
            self.headers.remove("Content-Type")
        self.headers.set("Content-Length", str(len(body)))

    def _same_content(self, other: "Message") -> bool:
        return (
            self.version == other.version
            and self.headers == other.headers
            and self.body == other.body
        )

    # -- typed access --------------------------------------------------------
    def _one(self, name: str, parser: Callable[[str, int], T]) -> T | None:
        rows = self.headers._keyed().get(header_key(name))
        if rows is None:
            return None
        return rows[0].typed(parser)  # type: ignore[return-value]

    def _many(self, name: str, parser: Callable[[str, int], T]) -> list[T]:
        rows = self.headers._keyed().get(header_key(name))
        if rows is None:
            return []
        out: list[T] = []
        for row in rows:
            out.extend(row.typed(parser, many=True))  # type: ignore[arg-type]
        return out

    def _tokens(self, name: str) -> list[str]:
        return self.headers.get_all(name)

    # The accessors every transaction uses look their rows up by comparison
    # key and share the parsers _check_core_headers cached values with.
    @property
    def via(self) -> list[Via]:
        rows = self.headers._keyed().get("via")
        if rows is None:
            return []
        if len(rows) == 1:
            return list(rows[0].typed(_parse_via, many=True))  # type: ignore[arg-type]
        out: list[Via] = []
        for row in rows:
            out.extend(row.typed(_parse_via, many=True))  # type: ignore[arg-type]
        return out

    @property
    def top_via(self) -> Via | None:
        # Every row is read, as self.via reads them (a malformed one raises).
        rows = self.headers._keyed().get("via")
        top: Via | None = None
        if rows is not None:
            for row in rows:
                vias = row.typed(_parse_via, many=True)
                if top is None and vias:
                    top = vias[0]  # type: ignore[index]
        return top

    @property
    def from_(self) -> NameAddr | None:
        row = self.headers.first_by_key("from")
        return None if row is None else row.typed(_parse_name_addr)  # type: ignore[return-value]

    @property
    def to(self) -> NameAddr | None:
        row = self.headers.first_by_key("to")
        return None if row is None else row.typed(_parse_name_addr)  # type: ignore[return-value]

    @property
    def call_id(self) -> str | None:
        row = self.headers.first_by_key("call-id")
        return None if row is None else row.value

    @property
    def cseq(self) -> CSeq | None:
        row = self.headers.first_by_key("cseq")
        return None if row is None else row.typed(_parse_cseq)  # type: ignore[return-value]

    @property
    def max_forwards(self) -> int | None:
        return self._one("Max-Forwards", _parse_int)

    @property
    def expires(self) -> int | None:
        return self._one("Expires", _parse_int)

    @property
    def content_length(self) -> int | None:
        return self._one("Content-Length", _parse_int)

    @property
    def contact(self) -> list[NameAddr]:
        """Contact addresses; ``Contact: *`` (REGISTER) gives an empty list and
        sets :attr:`contact_is_star`."""
        if self.contact_is_star:
            return []
        return self._many("Contact", NameAddr.parse)

    @property
    def contact_is_star(self) -> bool:
        return self.headers.get("Contact", "").strip() == "*"

    @property
    def record_route(self) -> list[NameAddr]:
        return self._many("Record-Route", NameAddr.parse)

    @property
    def route(self) -> list[NameAddr]:
        return self._many("Route", NameAddr.parse)

    @property
    def accept_contact(self) -> list[FeatureSet]:
        return self._many("Accept-Contact", FeatureSet.parse)

    @property
    def allow(self) -> list[str]:
        return [m.upper() for m in self._tokens("Allow")]

    @property
    def supported(self) -> list[str]:
        return [t.lower() for t in self._tokens("Supported")]

    @property
    def require(self) -> list[str]:
        return [t.lower() for t in self._tokens("Require")]

    @property
    def proxy_require(self) -> list[str]:
        return [t.lower() for t in self._tokens("Proxy-Require")]

    @property
    def unsupported(self) -> list[str]:
        return [t.lower() for t in self._tokens("Unsupported")]

    @property
    def allow_events(self) -> list[str]:
        return self._tokens("Allow-Events")

    @property
    def privacy(self) -> list[str]:
        """RFC 3323 priv-values, separated by ``;``."""
        return [
            v.strip().lower()
            for row in self.headers.get_all("Privacy")
            for v in row.split(";")
            if v.strip()
        ]

    @property
    def session_expires(self) -> SessionExpires | None:
        return self._one("Session-Expires", SessionExpires.parse)

    @property
    def min_se(self) -> int | None:
        return self._one("Min-SE", lambda text, off: _parse_int(text.split(";")[0], off))

    @property
    def event(self) -> Event | None:
        return self._one("Event", Event.parse)

    @property
    def subscription_state(self) -> SubscriptionState | None:
        return self._one("Subscription-State", SubscriptionState.parse)

    @property
    def refer_to(self) -> NameAddr | None:
        return self._one("Refer-To", NameAddr.parse)

    @property
    def refer_sub(self) -> bool | None:
        """RFC 4488: ``Refer-Sub: true|false``; ``None`` when absent."""
        return self._one("Refer-Sub", _parse_bool)

    @property
    def referred_by(self) -> NameAddr | None:
        return self._one("Referred-By", NameAddr.parse)

    @property
    def replaces(self) -> Replaces | None:
        return self._one("Replaces", Replaces.parse)

    @property
    def content_type(self) -> MediaType | None:
        return self._one("Content-Type", MediaType.parse)

    @property
    def content_id(self) -> str | None:
        value = self.headers.get("Content-ID")
        return None if value is None else value.strip().strip("<>")

    @property
    def content_disposition(self) -> ContentDisposition | None:
        return self._one("Content-Disposition", ContentDisposition.parse)

    @property
    def www_authenticate(self) -> list[Challenge]:
        return [Challenge.parse(r.value, _value_offset(r)) for r in self.headers.fields("WWW-Authenticate")]

    @property
    def proxy_authenticate(self) -> list[Challenge]:
        return [Challenge.parse(r.value, _value_offset(r)) for r in self.headers.fields("Proxy-Authenticate")]

    @property
    def authorization(self) -> list[Challenge]:
        return [Challenge.parse(r.value, _value_offset(r)) for r in self.headers.fields("Authorization")]

    @property
    def proxy_authorization(self) -> list[Challenge]:
        return [Challenge.parse(r.value, _value_offset(r)) for r in self.headers.fields("Proxy-Authorization")]

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("User-Agent")

    @property
    def server(self) -> str | None:
        return self.headers.get("Server")


class Request(Message):
    """A SIP request: ``METHOD uri SIP/2.0``."""

    def __init__(
        self,
        method: str,
        uri: URI | str,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        super().__init__(headers, body, version)
        self.method = method
        self.uri = parse_uri(uri) if isinstance(uri, str) else uri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return self.method == other.method and str(self.uri) == str(other.uri) and self._same_content(other)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    """A SIP response: ``SIP/2.0 code reason``."""

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        super().__init__(headers, body, version)
        self.status = status
        self.reason = REASON_PHRASES.get(status, "") if reason is None else reason

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    @property
    def is_provisional(self) -> bool:
        return 100 <= self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_final(self) -> bool:
        return self.status >= 200

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return self.status == other.status and self.reason == other.reason and self._same_content(other)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


SIPMessage = Union[Request, Response]


def _value_offset(row: Field) -> int:
    return row.offset + len(row.name) + 1


def _parse_int(text: str, offset: int = 0) -> int:
    text = text.strip()
    if not text.isdigit() or not text.isascii() or len(text) > 10:
        raise ParseError(f"expected a number, got {text[:20]!r}", offset)
    return int(text)


def _parse_bool(text: str, offset: int = 0) -> bool:
    value = text.split(";")[0].strip().lower()
    if value not in ("true", "false"):
        raise ParseError(f"expected true or false, got {value[:20]!r}", offset)
    return value == "true"


def split_head(data: bytes) -> tuple[bytes, bytes, int]:
    """Split at the empty line: (start line + headers, body, body offset)."""
    end = data.find(b"\r\n\r\n")
    if end != -1:
        return data[:end], data[end + 4 :], end + 4
    end = data.find(b"\n\n")
    if end != -1:
        return data[:end], data[end + 2 :], end + 2
    raise ParseError("no empty line after the headers", len(data))


def parse(data: bytes, *, max_size: int = MAX_MESSAGE_SIZE) -> SIPMessage:
    """Parse one complete SIP message.

    The body is what follows the empty line; when Content-Length is present it
    must equal the body's length (a datagram's surplus is cut by
    :func:`imkit.sip.framing.parse_datagram` first, RFC 3261 18.3).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("input is not bytes", 0)
    data = bytes(data)
    if len(data) > max_size:
        raise ParseError(f"message larger than {max_size} bytes", max_size)
    head, body, body_offset = split_head(data)
    line_end = head.find(b"\n")
    start = head if line_end == -1 else head[:line_end]
    header_block = b"" if line_end == -1 else head[line_end + 1 :]
    start = start[:-1] if start.endswith(b"\r") else start
    known = _START_LINES.get(start)
    if known is None:
        try:
            start_text = start.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("start line is not UTF-8", exc.start) from None
    headers = parse_header_block(header_block, base_offset=line_end + 1, max_fields=MAX_HEADER_FIELDS)
    if known is None:
        message = _parse_start_line(start_text, headers, body)
        if len(start) <= MEMO_MAX_TEXT:
            remember(_START_LINES, start, _start_parts(message))
    elif known[0] is None:
        message = Response(known[1], known[2], headers, body, known[3])
    else:
        message = Request(known[0], known[1], headers, body, known[2])
    _check_core_headers(message, len(body), body_offset)
    return message


#: What _parse_start_line read from a start line, by its bytes (see
#: imkit.sip.params.remember): ``(method, uri, version)`` of a request,
#: ``(None, status, reason, version)`` of a response.  The URI is immutable.
_START_LINES: dict[bytes, tuple] = {}


def _start_parts(message: SIPMessage) -> tuple:
    if isinstance(message, Request):
        return (message.method, message.uri, message.version)
    return (None, message.status, message.reason, message.version)


#: The common request line, matched in one go (method, fast SIP URI,
#: version); _parse_start_line reads any line it matches to the same request.
_FAST_REQUEST_LINE_RE = re.compile(rf"({FAST_TOKEN}) ({FAST_SIP_URI}) (SIP/[0-9]++\.[0-9]++)")


def _parse_start_line(text: str, headers: Headers, body: bytes) -> SIPMessage:
    match = _FAST_REQUEST_LINE_RE.fullmatch(text)
    if match is not None:
        method, uri_text, scheme, user, host, port, params, version = match.groups()
        fast_uri = make_sip_uri(scheme, user, host, port, params, uri_text)
        if fast_uri is not None:
            return Request(method, fast_uri, headers, body, version)
    if text.startswith("SIP/"):
        version, _, rest = text.partition(" ")
        if not _VERSION_RE.fullmatch(version):
            raise ParseError(f"malformed SIP version {version!r}", 0)
        code, _, reason = rest.partition(" ")
        if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] == "0":
            raise ParseError(f"malformed status code {code!r}", len(version) + 1)
        if any(ord(c) < 32 and c != "\t" for c in reason):
            raise ParseError("control character in reason phrase", len(version) + 5)
        return Response(int(code), reason, headers, body, version)
    parts = text.split(" ")
    if len(parts) != 3:
        raise ParseError("request line must be 'METHOD URI VERSION' separated by single spaces", 0)
    method, uri_text, version = parts
    if not is_token(method):
        raise ParseError(f"method {method!r} is not a token", 0)
    if not _VERSION_RE.fullmatch(version):
        raise ParseError(f"malformed SIP version {version!r}", len(method) + len(uri_text) + 2)
    uri = parse_uri(uri_text, len(method) + 1)
    return Request(method, uri, headers, body, version)


_SINGLE_HEADERS = ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length")
_SINGLE_KEYS = {name.lower(): name for name in _SINGLE_HEADERS}


def _check_core_headers(message: SIPMessage, body_length: int, body_offset: int) -> None:
    # The rows by key (Headers' index, kept for later look-ups); the typed
    # values parsed here stay cached in their rows (Field.typed), so the
    # accessors do not parse them again.
    headers = message.headers
    index = headers._keyed()
    get = index.get
    if len(index) != len(headers._fields):
        # Some header appears more than once.
        for key, name in _SINGLE_KEYS.items():
            rows = get(key)
            if rows is not None and len(rows) > 1:
                raise ParseError(f"{name} appears more than once", rows[1].offset)
    # Parsed in the order the checks always ran (From, To, CSeq, Via,
    # Max-Forwards), so a message with several faults reports the same one.
    # Each value is cached in its row as Field.typed would cache it: a row
    # fresh from the parser has nothing cached yet.
    for key, parser in _CORE_PARSERS:
        rows = get(key)
        if rows is not None:
            row = rows[0]
            value = row.value
            row._typed = (value, parser, False, parser(value, row.offset + len(row._name) + 1))
    rows = get("via")
    if rows is not None:
        for row in rows:
            row.typed(_parse_via, many=True)
    rows = get("max-forwards")
    if rows is not None:
        row = rows[0]
        value = row.value
        row._typed = (value, _parse_int, False, _parse_int(value, row.offset + len(row._name) + 1))
    rows = get("call-id")
    if rows is not None:
        value = rows[0].value
        if not value or " " in value:
            raise ParseError("malformed Call-ID", rows[0].offset)
    rows = get("content-length")
    if rows is not None:
        row = rows[0]
        value = row.value
        length = _parse_int(value, row.offset + len(row._name) + 1)
        row._typed = (value, _parse_int, False, length)
        if length != body_length:
            raise ParseError(
                f"Content-Length is {length} but the body has {body_length} bytes", body_offset
            )


_parse_name_addr = NameAddr.parse
_parse_cseq = CSeq.parse
_parse_via = Via.parse
_CORE_PARSERS = (("from", _parse_name_addr), ("to", _parse_name_addr), ("cseq", _parse_cseq))
