"""SIP message fragments: RFC 3420 ``message/sipfrag``.

A REFER's implicit subscription reports the progress of the referred request
in NOTIFY bodies of type ``message/sipfrag;version=2.0`` (RFC 3515 section
2.4.5), usually a bare status line such as ``SIP/2.0 100 Trying``. OMA SIMPLE
IM 7.1.1.7 handles these NOTIFYs and MAY show them to the user.

RFC 3420: ``sipfrag = [ start-line ] *message-header [ CRLF [ message-body ] ]``.
The start line is parsed strictly here; the header rows are read by
:func:`imkit.sip.headers.parse_header_block` (``name ":" value``, folded
continuation lines, RFC 3261 section 7.3.1) into :class:`imkit.sip.Headers`,
so a fragment's headers behave like a message's. Every failure raises
:class:`~imkit.payloads.xml.PayloadError`.
"""

from __future__ import annotations

import re
from html import escape
from collections.abc import Iterable
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError
from imkit.payloads.xml import PayloadError
from imkit.sip import REASON_PHRASES, Headers
from imkit.sip import ParseError as SipParseError
from imkit.sip.headers import is_token, parse_header_block

__all__ = [
    "CONTENT_TYPE",
    "REFER_CONTENT_TYPE",
    "MAX_SIZE",
    "StatusLine",
    "RequestLine",
    "SipFrag",
]

CONTENT_TYPE = "message/sipfrag"
# RFC 3515 section 2.4.5: "the body of a NOTIFY MUST begin with a SIP
# Response Status-Line"; its examples label the body version=2.0.
REFER_CONTENT_TYPE = "message/sipfrag;version=2.0"
MAX_SIZE = 64 * 1024
MAX_HEADER_FIELDS = 256

# RFC 3261 section 25.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT ("SIP"
# is case-insensitive as an ABNF literal); Status-Code = 3DIGIT, classes 1xx-6xx.
_VERSION = re.compile(r"(?i:SIP)/[0-9]+\.[0-9]+")
_STATUS_LINE = re.compile(r"(?P<version>[^ ]+) (?P<code>[0-9]{3})(?: (?P<reason>.*))?", re.DOTALL)
_REQUEST_LINE = re.compile(r"(?P<method>[^ ]+) (?P<uri>[^ ]+) (?P<version>[^ ]+)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_EMPTY_LINE = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class StatusLine:
    """``SIP-Version SP Status-Code SP Reason-Phrase``."""

    status_code: int
    reason: str = ""
    version: str = "SIP/2.0"

    def __str__(self) -> str:
        return f"{self.version} {self.status_code} {self.reason}"


@dataclass(frozen=True)
class RequestLine:
    """``Method SP Request-URI SP SIP-Version`` (kept as text: a fragment may quote any URI)."""

    method: str
    uri: str
    version: str = "SIP/2.0"

    def __str__(self) -> str:
        return f"{self.method} {self.uri} {self.version}"


@dataclass
class SipFrag:
    """A fragment: optional start line, header rows, and an optional body.

    ``body`` is ``None`` when the fragment ends with its headers (no empty
    line), ``b""`` when an empty line closes them with nothing after it.
    """

    start_line: StatusLine | RequestLine | None = None
    headers: Headers = field(default_factory=Headers)
    body: bytes | None = None

    # -- building --

    @classmethod
    def from_status(
        cls, status_code: int, reason: str | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> SipFrag:
        """A status-line fragment for a REFER progress NOTIFY (RFC 3515 section 2.4.5)."""
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 699:
            raise LocalProtocolError(f"a SIP status code is 100-699, not {status_code!r}")
        text = REASON_PHRASES.get(status_code, "") if reason is None else reason
        if _CONTROL.search(text):
            raise LocalProtocolError(f"control character in reason phrase {text!r}")
        built = Headers()
        for name, value in headers:
            built.add(name, value)
        return cls(StatusLine(status_code, text), built)

    def to_bytes(self) -> bytes:
        out = b"" if self.start_line is None else str(self.start_line).encode("utf-8") + b"\r\n"
        out += self.headers.to_bytes()
        if self.body is not None:
            out += b"\r\n" + self.body
        return out

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def _repr_html_(self) -> str:
        return f"<pre>{escape(self.to_bytes().decode('utf-8', 'replace'))}</pre>"

    # -- views --

    @property
    def status_code(self) -> int | None:
        return self.start_line.status_code if isinstance(self.start_line, StatusLine) else None

    @property
    def reason(self) -> str | None:
        return self.start_line.reason if isinstance(self.start_line, StatusLine) else None

    @property
    def is_final(self) -> bool:
        """A final response: the notifier ends the REFER subscription after reporting one (RFC 3515)."""
        code = self.status_code
        return code is not None and code >= 200

    # -- reading --

    @classmethod
    def parse(cls, data: bytes, *, max_size: int = MAX_SIZE) -> SipFrag:
        """Read a fragment; any failure raises :class:`PayloadError`, nothing else."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"message/sipfrag bodies are bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) > max_size:
            raise PayloadError(f"message/sipfrag of {len(data)} bytes exceeds the {max_size}-byte cap", max_size)
        head, body = _split(data)
        line_end = head.find(b"\n")
        first = head if line_end < 0 else head[:line_end]
        first = first[:-1] if first.endswith(b"\r") else first
        start_line = _start_line(first)
        header_offset = 0 if start_line is None else (len(head) if line_end < 0 else line_end + 1)
        try:
            headers = parse_header_block(
                head[header_offset:], base_offset=header_offset, max_fields=MAX_HEADER_FIELDS
            )
        except SipParseError as exc:
            raise PayloadError(exc.what, exc.offset) from None
        return cls(start_line, headers, body)


def _split(data: bytes) -> tuple[bytes, bytes | None]:
    """(start line and header rows without their last line end, body or None)."""
    leading = re.match(rb"\r?\n", data)
    if leading:
        # No start line, no headers: "[ CRLF [ message-body ] ]" alone.
        return b"", data[leading.end() :]
    empty = _EMPTY_LINE.search(data)
    if empty:
        return data[: empty.start()], data[empty.end() :]
    if data.endswith(b"\n"):
        return data[: -2 if data.endswith(b"\r\n") else -1], None
    return data, None


def _start_line(line: bytes) -> StatusLine | RequestLine | None:
    """The start line, or ``None`` when the first line is a header row."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        if line[:4].upper() == b"SIP/":
            raise PayloadError("status line is not UTF-8", exc.start) from None
        return None
    if text[:4].upper() == "SIP/":
        return _status_line(text)
    request = _REQUEST_LINE.fullmatch(text)
    if request and is_token(request["method"]) and _VERSION.fullmatch(request["version"]):
        return RequestLine(request["method"], request["uri"], request["version"])
    return None


def _status_line(text: str) -> StatusLine:
    match = _STATUS_LINE.fullmatch(text)
    if match is None:
        raise PayloadError(f"malformed status line {text[:40]!r}", 0)
    version, code, reason = match["version"], match["code"], match["reason"] or ""
    if not _VERSION.fullmatch(version):
        raise PayloadError(f"malformed SIP version {version[:20]!r}", 0)
    if code[0] not in "123456":
        raise PayloadError(f"status code {code} is outside 100-699", len(version) + 1)
    bad = _CONTROL.search(reason)
    if bad:
        raise PayloadError("control character in reason phrase", len(version) + 5 + bad.start())
    return StatusLine(int(code), reason, version)
