"""MSRP requests and responses (RFC 4975 sections 7 and 9) and their bytes.

``msrp-request = req-start headers [content-stuff] end-line`` and
``msrp-response = resp-start headers end-line``, where ``req-start = "MSRP"
SP transact-id SP method CRLF``, ``resp-start = "MSRP" SP transact-id SP
status-code [SP comment] CRLF``, ``content-stuff = *(Other-Mime-header CRLF)
Content-Type 2CRLF data CRLF`` and ``end-line = "-------" transact-id
continuation-flag CRLF``.

The messages are frozen dataclasses; ``bytes(message)`` writes them, and
:func:`imkit.msrp.parse` reads them back equal.  Typed views of the headers
(``to_path``, ``byte_range`` ...) are computed from the stored fields.
Constructors check what would make bad bytes and raise
:class:`~imkit.errors.LocalProtocolError`.
"""

from __future__ import annotations

import enum
import random
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from imkit.errors import LocalProtocolError
from imkit.msrp.errors import HeaderValueError, ParseError
from imkit.msrp.headers import (
    ByteRange,
    FailureReport,
    Headers,
    Status,
    parse_report_flag,
)
from imkit.msrp.uri import MSRPURI, format_path, parse_path

__all__ = [
    "REASONS",
    "Flag",
    "MSRPMessage",
    "MSRPRequest",
    "MSRPResponse",
    "Method",
    "new_message_id",
    "new_transaction_id",
]


class Method(enum.Enum):
    """The methods imkit knows; others are kept as plain strings."""

    SEND = "SEND"          # RFC 4975 section 7.1.1
    REPORT = "REPORT"      # RFC 4975 section 7.1.2
    AUTH = "AUTH"          # RFC 4976 section 5 (relays)


class Flag(enum.Enum):
    """The continuation flag closing the end-line (RFC 4975 section 5.1)."""

    END = "$"       # last chunk of the message
    MORE = "+"      # more chunks follow
    ABORT = "#"     # the sender gives up on the message


#: Comments imkit writes for the status codes of RFC 4975 section 10 (and
#: RFC 4976 for 401 / 423).
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    408: "Request Timeout",
    413: "Message Too Large",
    415: "Unsupported Media Type",
    423: "Interval Out-of-Bounds",
    481: "No Such Session",
    501: "Not Implemented",
    506: "Session Already Bound",
}

# ident = ALPHANUM 3*31ident-char; ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
# imkit reads identifiers of 1 to 64 such characters (real peers stray from
# the length), and writes them 4 to 32 long, as the grammar says.
TRANSACTION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{0,63}")
_STRICT_IDENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}")
# other-method = 1*UPALPHA
METHOD_RE = re.compile(r"[A-Z]{1,32}")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_END_FLAGS = (b"$", b"+", b"#")


def _random_ident(rng: random.Random | None, length: int) -> str:
    if rng is None:
        return secrets.token_hex(length // 2)  # hex digits are ident characters
    return "".join(rng.choices(_ID_ALPHABET, k=length))


def new_transaction_id(body: bytes | None = None, rng: random.Random | None = None) -> str:
    """A fresh transaction id that does not occur anywhere in ``body``.

    RFC 4975 section 7.1 makes the sender ensure that the end-line does not
    occur in the body; an id absent from the body guarantees it.
    """
    while True:
        candidate = _random_ident(rng, 12)
        if body is None or candidate.encode() not in body:
            return candidate


def new_message_id(rng: random.Random | None = None) -> str:
    """A fresh Message-ID (an ``ident``, unique within the session)."""
    return _random_ident(rng, 16)


def _body_has_end_line(body: bytes, transaction_id: str) -> bool:
    """Would a reader stop inside ``body``: does it hold CRLF, the seven
    hyphens, the id and a flag?  (:mod:`imkit.msrp.parser` stops exactly there.)"""
    marker = b"\r\n-------" + transaction_id.encode()
    position = body.find(marker)
    while position >= 0:
        if body[position + len(marker):position + len(marker) + 1] in _END_FLAGS:
            return True
        position = body.find(marker, position + 1)
    return False


class _Typed:
    """Typed views of the header fields shared by requests and responses.

    They are computed once, when the message is built (a malformed value
    raises :class:`HeaderValueError`, a :class:`LocalProtocolError`), so the
    views of a built or parsed message never raise.
    """

    headers: Headers
    _views: dict[str, object]

    @property
    def to_path(self) -> tuple[MSRPURI, ...]:
        return self._views["to-path"]  # type: ignore[return-value]

    @property
    def from_path(self) -> tuple[MSRPURI, ...]:
        return self._views["from-path"]  # type: ignore[return-value]

    @property
    def use_path(self) -> tuple[MSRPURI, ...] | None:
        """RFC 4976 ``Use-Path`` (in a 200 to AUTH), if present."""
        return self._views.get("use-path")  # type: ignore[return-value]

    @property
    def message_id(self) -> str | None:
        return self._views.get("message-id")  # type: ignore[return-value]

    @property
    def byte_range(self) -> ByteRange | None:
        return self._views.get("byte-range")  # type: ignore[return-value]

    @property
    def success_report(self) -> bool:
        """``Success-Report: yes``; absent means no (RFC 4975 section 7.1.1)."""
        return self._views.get("success-report", False)  # type: ignore[return-value]

    @property
    def failure_report(self) -> FailureReport:
        """``Failure-Report``; absent means yes (RFC 4975 section 7.1.1)."""
        return self._views.get("failure-report", FailureReport.YES)  # type: ignore[return-value]

    @property
    def status(self) -> Status | None:
        return self._views.get("status")  # type: ignore[return-value]

    @property
    def content_type(self) -> str | None:
        return self._views.get("content-type")  # type: ignore[return-value]

    @property
    def media_type(self) -> str | None:
        """``type/subtype`` of Content-Type, lower case, without parameters."""
        value = self.content_type
        return None if value is None else value.split(";", 1)[0].strip().lower()

    def _check(self) -> None:
        """Compute the typed views, checking RFC 4975 section 9 syntax."""
        views: dict[str, object] = {}
        for name, value in self.headers.fields:
            key = name.lower()
            reader = _VIEWS.get(key)
            if reader is None:
                continue
            if key in views:
                if key in _SINGLE:
                    raise HeaderValueError(name, "appears more than once")
                continue  # the first one counts
            views[key] = reader(name, value)
        for key in ("to-path", "from-path"):
            if key not in views:
                raise HeaderValueError(key.title(), "missing")
        object.__setattr__(self, "_views", views)


def _path_view(name: str, value: str) -> tuple[MSRPURI, ...]:
    try:
        return parse_path(value)
    except ParseError as exc:
        raise HeaderValueError(name, exc.what) from None


def _ident_view(name: str, value: str) -> str:
    # Message-ID = "Message-ID:" SP ident; imkit reads any 1-64 ident-chars
    if TRANSACTION_ID_RE.fullmatch(value) is None:
        raise HeaderValueError(name, f"not an ident: {value[:60]!r}")
    return value


_VIEWS: dict[str, Callable[[str, str], object]] = {
    "to-path": _path_view,
    "from-path": _path_view,
    "use-path": _path_view,
    "message-id": _ident_view,
    "byte-range": lambda name, value: ByteRange.parse(value),
    "success-report": lambda name, value: parse_report_flag(name, value, ("yes", "no")) == "yes",
    "failure-report": lambda name, value: FailureReport(
        parse_report_flag(name, value, ("yes", "no", "partial"))),
    "status": lambda name, value: Status.parse(value),
    "content-type": lambda name, value: value,
}
# RFC 4975 section 9: "headers = To-Path CRLF From-Path CRLF ...": one each.
_SINGLE = frozenset({"to-path", "from-path"})


def _check_transaction_id(transaction_id: str) -> None:
    if TRANSACTION_ID_RE.fullmatch(transaction_id) is None:
        raise LocalProtocolError(f"bad transaction id {transaction_id!r}")


def _head(parts: list[bytes], headers: Headers) -> None:
    for name, value in headers.fields:
        parts.append(f"{name}: {value}\r\n".encode())


@dataclass(frozen=True, eq=True)
class MSRPRequest(_Typed):
    """An MSRP request: SEND, REPORT, AUTH or any other method (kept as is)."""

    transaction_id: str
    method: str
    headers: Headers
    body: bytes | None = None
    flag: Flag = Flag.END

    def __post_init__(self) -> None:
        _check_transaction_id(self.transaction_id)
        if METHOD_RE.fullmatch(self.method) is None:
            raise LocalProtocolError(f"bad method {self.method!r}: 1 to 32 upper-case letters")
        if not isinstance(self.headers, Headers):
            raise LocalProtocolError("headers must be a Headers")
        if self.body is not None:
            if not isinstance(self.body, bytes):
                raise LocalProtocolError("body must be bytes")
            # RFC 4975 section 7.1: the end-line must not occur in the body.
            if _body_has_end_line(self.body, self.transaction_id):
                raise LocalProtocolError("the body contains this request's end-line")
        self._check()

    def __bytes__(self) -> bytes:
        parts = [f"MSRP {self.transaction_id} {self.method}\r\n".encode()]
        _head(parts, self.headers)
        if self.body is not None:
            parts += [b"\r\n", self.body, b"\r\n"]
        parts.append(f"-------{self.transaction_id}{self.flag.value}\r\n".encode())
        return b"".join(parts)

    @classmethod
    def create(
        cls,
        method: Method | str,
        *,
        to_path: Sequence[MSRPURI | str],
        from_path: Sequence[MSRPURI | str],
        message_id: str | None = None,
        byte_range: ByteRange | None = None,
        success_report: bool | None = None,
        failure_report: FailureReport | None = None,
        status: Status | None = None,
        content_type: str | None = None,
        body: bytes | None = None,
        flag: Flag = Flag.END,
        headers: Iterable[tuple[str, str]] = (),
        transaction_id: str | None = None,
        rng: random.Random | None = None,
    ) -> MSRPRequest:
        """Build a request with the fields in RFC 4975 order: To-Path,
        From-Path, Message-ID, Success-Report, Failure-Report, Byte-Range,
        Status, ``headers``, then Content-Type last (section 9's
        content-stuff).  A new transaction id is picked when none is given;
        a given one must be a 4-32 character ident absent from the body."""
        if body is not None and content_type is None:
            raise LocalProtocolError("a body needs a Content-Type (RFC 4975 content-stuff)")
        if transaction_id is None:
            transaction_id = new_transaction_id(body, rng)
        elif _STRICT_IDENT_RE.fullmatch(transaction_id) is None:
            raise LocalProtocolError(f"a transaction id is 4 to 32 ident characters: {transaction_id!r}")
        elif body is not None and transaction_id.encode() in body:
            raise LocalProtocolError("the transaction id occurs in the body")
        fields: list[tuple[str, str]] = [
            ("To-Path", format_path(to_path)),
            ("From-Path", format_path(from_path)),
        ]
        if message_id is not None:
            fields.append(("Message-ID", message_id))
        if success_report is not None:
            fields.append(("Success-Report", "yes" if success_report else "no"))
        if failure_report is not None:
            fields.append(("Failure-Report", failure_report.value))
        if byte_range is not None:
            fields.append(("Byte-Range", str(byte_range)))
        if status is not None:
            fields.append(("Status", str(status)))
        fields.extend(headers)
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        method_name = method.value if isinstance(method, Method) else method
        return cls(transaction_id, method_name, Headers(tuple(fields)), body, flag)


@dataclass(frozen=True, eq=True)
class MSRPResponse(_Typed):
    """An MSRP transaction response (never a body, RFC 4975 section 7.2):
    ``code`` and ``comment`` from the first line (``status`` is the Status
    header field, as for requests)."""

    transaction_id: str
    code: int
    comment: str | None
    headers: Headers
    flag: Flag = Flag.END

    def __post_init__(self) -> None:
        _check_transaction_id(self.transaction_id)
        if not isinstance(self.code, int) or not 100 <= self.code <= 999:
            raise LocalProtocolError(f"status code is three digits: {self.code!r}")
        if self.comment is not None and ("\r" in self.comment or "\n" in self.comment):
            raise LocalProtocolError("a comment is one line")
        if not isinstance(self.headers, Headers):
            raise LocalProtocolError("headers must be a Headers")
        self._check()

    @property
    def body(self) -> None:
        return None

    def __bytes__(self) -> bytes:
        line = f"MSRP {self.transaction_id} {self.code:03d}"
        if self.comment is not None:
            line += f" {self.comment}"
        parts = [f"{line}\r\n".encode()]
        _head(parts, self.headers)
        parts.append(f"-------{self.transaction_id}{self.flag.value}\r\n".encode())
        return b"".join(parts)

    @classmethod
    def answering(
        cls,
        request: MSRPRequest,
        status: int,
        comment: str | None = None,
        *,
        local_uri: MSRPURI | str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> MSRPResponse:
        """The response to ``request`` from the endpoint at ``local_uri``.

        RFC 4975 section 7.2: the To-Path of a response holds only the
        previous hop, the first URI of the request's From-Path, and the
        From-Path holds the responder's own URI.
        """
        fields = [
            ("To-Path", str(request.from_path[0])),
            ("From-Path", format_path([local_uri])),
            *headers,
        ]
        reason = REASONS.get(status) if comment is None else comment
        return cls(request.transaction_id, status, reason, Headers(tuple(fields)))


MSRPMessage = MSRPRequest | MSRPResponse
