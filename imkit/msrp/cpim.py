"""``message/cpim`` (RFC 3862): wrapping a chat message in CPIM headers.

A CPIM message is its message headers, a blank line, then the encapsulated
MIME object (its content headers, a blank line, its body)::

    From: MR SANDERS <im:piglet@100akerwood.com>
    To: Depressed Donkey <im:eeyore@100akerwood.com>
    DateTime: 2000-12-13T13:40:00-08:00
    Subject: the weather will be fine today

    Content-type: text/plain
    Content-ID: <1234567890@foo.com>

    Here is the text of my message.

Header lines are ``Header-name ":" *( ";" Parameter ) SP Header-value``;
names may carry a namespace prefix declared by an ``NS`` header
(``MyFeatures.VitalMessageOption``).  :class:`CPIMMessage` keeps every line
as written, so :func:`unwrap` then ``bytes()`` gives back the same bytes;
the standard headers (From, To, cc, DateTime, Subject, NS, Require) have
typed views.  CPIM header names are matched case-sensitively; content (MIME)
header names are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from imkit.errors import LocalProtocolError
from imkit.msrp.errors import HeaderValueError, ParseError

__all__ = [
    "CPIM_NAMESPACE",
    "MAX_CPIM_HEADERS",
    "MAX_CPIM_SIZE",
    "CPIMHeader",
    "CPIMMessage",
    "NameAddr",
    "unwrap",
    "wrap",
]

#: The namespace of the headers RFC 3862 defines (used when a name has no prefix).
CPIM_NAMESPACE = "urn:ietf:params:cpim-headers:"
#: Largest message/cpim body read, and most header lines in each section.
MAX_CPIM_SIZE = 16 << 20
MAX_CPIM_HEADERS = 128

# NAMECHAR = %x21 / %x23-27 / %x2a-2b / %x2d / %x5e-60 / %x7c / %x7e / ALPHA / DIGIT
_NAME = r"[!#$%&'*+\-^_`|~A-Za-z0-9]+"
_HEADER_NAME_RE = re.compile(rf"(?:{_NAME}\.)?{_NAME}")
# TOKENCHAR: NAMECHAR plus "." (RFC 3862 section 3.1)
_TOKEN = r"[!#$%&'*+\-.^_`|~A-Za-z0-9]+"
_STRING = r'"(?:[^"\\\x00-\x1f]|\\.)*"'
_PARAM_RE = re.compile(rf";({_NAME})=({_TOKEN}|{_STRING})")
# HEADERCHAR: any character but CR and LF (and other control characters)
_VALUE_RE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
_MIME_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~A-Za-z0-9]+")
_NAME_ADDR_RE = re.compile(rf"(?:({_STRING}) ?|((?:{_TOKEN} )+))?<([^<>\s]+)>")
_NS_RE = re.compile(rf"(?:({_NAME}) )?<([^<>\s]+)>")
_REQUIRE_RE = re.compile(rf"{_HEADER_NAME_RE.pattern}(?: ?, ?{_HEADER_NAME_RE.pattern})*")
# RFC 3339 date-time
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_TOKEN_WORDS_RE = re.compile(rf"{_TOKEN}(?: {_TOKEN})*")


@dataclass(frozen=True)
class NameAddr:
    """``[ Formal-name ] "<" URI ">"``, the value of From, To and cc."""

    uri: str
    display_name: str | None = None

    @classmethod
    def parse(cls, name: str, value: str) -> NameAddr:
        m = _NAME_ADDR_RE.fullmatch(value)
        if m is None:
            raise HeaderValueError(name, f"expected [Formal-name] <URI>, got {value[:60]!r}")
        quoted, tokens, uri = m.groups()
        if quoted is not None:
            return cls(uri, re.sub(r"\\(.)", r"\1", quoted[1:-1]))
        return cls(uri, None if tokens is None else tokens[:-1])

    def __str__(self) -> str:
        if self.display_name is None:
            return f"<{self.uri}>"
        if _TOKEN_WORDS_RE.fullmatch(self.display_name):
            # Formal-name = 1*( Token SP ) / String
            return f"{self.display_name} <{self.uri}>"
        escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{self.uri}>'


@dataclass(frozen=True)
class CPIMHeader:
    """One message header line: ``name:;param=value SP value``."""

    name: str
    value: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if _HEADER_NAME_RE.fullmatch(self.name) is None:
            raise LocalProtocolError(f"bad CPIM header name {self.name!r}")
        if _VALUE_RE.fullmatch(self.value) is None:
            raise LocalProtocolError(f"{self.name}: control characters in the value")
        for key, param in self.params:
            if _PARAM_RE.fullmatch(f";{key}={param}") is None:
                raise LocalProtocolError(f"{self.name}: bad parameter {key}={param}")

    @property
    def prefix(self) -> str | None:
        """The namespace prefix of the name (``MyFeatures`` in ``MyFeatures.X``)."""
        return self.name.split(".", 1)[0] if "." in self.name else None

    @property
    def local_name(self) -> str:
        return self.name.split(".", 1)[1] if "." in self.name else self.name

    @property
    def lang(self) -> str | None:
        """The ``lang`` parameter (RFC 3862 section 3.2, used by Subject)."""
        for key, value in self.params:
            if key == "lang":
                return value
        return None

    def __str__(self) -> str:
        params = "".join(f";{key}={value}" for key, value in self.params)
        return f"{self.name}:{params} {self.value}"


def _rfc3339(name: str, value: str) -> datetime:
    m = _DATETIME_RE.fullmatch(value)
    if m is None:
        raise HeaderValueError(name, f"not an RFC 3339 date-time: {value[:60]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = m.groups()
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if zulu:
        tz = UTC
    else:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset >= timedelta(hours=24):
            raise HeaderValueError(name, "time offset out of range")
        tz = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        micro, tzinfo=tz)
    except ValueError as exc:
        raise HeaderValueError(name, str(exc)) from None


def _format_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise LocalProtocolError("DateTime needs a time zone (RFC 3339)")
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class CPIMMessage:
    """A ``message/cpim`` body: message headers, content headers, body."""

    headers: tuple[CPIMHeader, ...]
    content_headers: tuple[tuple[str, str], ...]
    body: bytes

    def __post_init__(self) -> None:
        if len(self.headers) > MAX_CPIM_HEADERS or len(self.content_headers) > MAX_CPIM_HEADERS:
            raise LocalProtocolError(f"more than {MAX_CPIM_HEADERS} header lines")
        if not isinstance(self.body, bytes):
            raise LocalProtocolError("body must be bytes")
        for name, value in self.content_headers:
            if _MIME_NAME_RE.fullmatch(name) is None:
                raise LocalProtocolError(f"bad content header name {name!r}")
            if _VALUE_RE.fullmatch(value) is None or value[:1] in (" ", "\t"):
                raise LocalProtocolError(f"{name}: bad content header value")
        self.from_, self.to, self.cc, self.datetime  # noqa: B018 - computed as a check
        self.subjects, self.namespaces, self.require  # noqa: B018

    # -- views --------------------------------------------------------------

    def get(self, name: str) -> list[CPIMHeader]:
        """Every header line called ``name`` (exactly, prefix included)."""
        return [header for header in self.headers if header.name == name]

    def _one(self, name: str) -> str | None:
        found = self.get(name)
        if len(found) > 1:
            raise HeaderValueError(name, "appears more than once")
        return found[0].value if found else None

    @property
    def from_(self) -> NameAddr | None:
        value = self._one("From")
        return None if value is None else NameAddr.parse("From", value)

    @property
    def to(self) -> list[NameAddr]:
        return [NameAddr.parse("To", h.value) for h in self.get("To")]

    @property
    def cc(self) -> list[NameAddr]:
        return [NameAddr.parse("cc", h.value) for h in self.get("cc")]

    @property
    def datetime(self) -> datetime | None:
        value = self._one("DateTime")
        return None if value is None else _rfc3339("DateTime", value)

    @property
    def subjects(self) -> list[tuple[str, str | None]]:
        """Each Subject with its ``lang`` parameter (None when absent)."""
        return [(h.value, h.lang) for h in self.get("Subject")]

    @property
    def namespaces(self) -> list[tuple[str | None, str]]:
        """Each NS declaration: (prefix, URI); prefix None sets the default."""
        result = []
        for header in self.get("NS"):
            m = _NS_RE.fullmatch(header.value)
            if m is None:
                raise HeaderValueError("NS", f"expected [prefix SP] <URI>, got {header.value[:60]!r}")
            result.append((m.group(1), m.group(2)))
        return result

    @property
    def require(self) -> list[str]:
        names: list[str] = []
        for header in self.get("Require"):
            if _REQUIRE_RE.fullmatch(header.value) is None:
                raise HeaderValueError("Require", f"expected header names, got {header.value[:60]!r}")
            names += [n.strip() for n in header.value.split(",")]
        return names

    def extension(self, namespace: str, name: str) -> list[str]:
        """Values of header ``name`` in ``namespace``: a prefixed name whose
        prefix an earlier NS header bound to that URI (RFC 3862 section 5)."""
        bound: dict[str | None, str] = {None: CPIM_NAMESPACE}
        values = []
        for header in self.headers:
            if header.name == "NS":
                m = _NS_RE.fullmatch(header.value)
                if m is not None:
                    bound[m.group(1)] = m.group(2)
                continue
            if header.local_name == name and bound.get(header.prefix) == namespace:
                values.append(header.value)
        return values

    @property
    def content_type(self) -> str | None:
        for key, value in self.content_headers:
            if key.lower() == "content-type":
                return value
        return None

    # -- bytes --------------------------------------------------------------

    def __bytes__(self) -> bytes:
        lines = [str(header) for header in self.headers]
        lines.append("")
        lines += [f"{name}: {value}" for name, value in self.content_headers]
        lines.append("")
        return ("\r\n".join(lines) + "\r\n").encode("utf-8") + self.body


def wrap(
    body: bytes,
    content_type: str = "text/plain;charset=UTF-8",
    *,
    from_: NameAddr | str,
    to: NameAddr | str | Sequence[NameAddr | str],
    cc: Sequence[NameAddr | str] = (),
    datetime: datetime | None = None,
    subjects: Iterable[str | tuple[str, str | None]] = (),
    namespaces: Iterable[tuple[str | None, str]] = (),
    require: Sequence[str] = (),
    headers: Iterable[CPIMHeader | tuple[str, str]] = (),
    content_headers: Iterable[tuple[str, str]] = (),
) -> CPIMMessage:
    """Build a CPIM message: From, To, cc, DateTime, Subject, NS, Require, the
    extra (typically prefixed) ``headers``, then the content with its
    Content-Type first.  Raises :class:`LocalProtocolError` on bad values."""

    def addr(value: NameAddr | str) -> str:
        return str(value if isinstance(value, NameAddr) else NameAddr(value))

    recipients = [to] if isinstance(to, (str, NameAddr)) else list(to)
    lines = [CPIMHeader("From", addr(from_))]
    lines += [CPIMHeader("To", addr(r)) for r in recipients]
    lines += [CPIMHeader("cc", addr(r)) for r in cc]
    if datetime is not None:
        lines.append(CPIMHeader("DateTime", _format_datetime(datetime)))
    for subject in subjects:
        text, lang = (subject, None) if isinstance(subject, str) else subject
        lines.append(CPIMHeader("Subject", text, () if lang is None else (("lang", lang),)))
    for prefix, uri in namespaces:
        lines.append(CPIMHeader("NS", f"<{uri}>" if prefix is None else f"{prefix} <{uri}>"))
    if require:
        lines.append(CPIMHeader("Require", ",".join(require)))
    for header in headers:
        lines.append(header if isinstance(header, CPIMHeader) else CPIMHeader(*header))
    content = (("Content-Type", content_type), *content_headers)
    try:
        return CPIMMessage(tuple(lines), tuple(content), body)
    except HeaderValueError as exc:
        raise LocalProtocolError(str(exc)) from None


def _params(name: str, text: str, offset: int) -> tuple[tuple[tuple[str, str], ...], str]:
    params = []
    at = 0
    while text.startswith(";", at):
        m = _PARAM_RE.match(text, at)
        if m is None:
            raise ParseError(f"{name}: bad header parameter", offset + at)
        params.append((m.group(1), m.group(2)))
        at = m.end()
    rest = text[at:]
    return tuple(params), rest.removeprefix(" ")


def unwrap(data: bytes) -> CPIMMessage:
    """Read a ``message/cpim`` body.  Raises :class:`imkit.msrp.ParseError`
    (and nothing else) for malformed input."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("CPIM input must be bytes", 0)
    data = bytes(data)
    if len(data) > MAX_CPIM_SIZE:
        raise ParseError("CPIM message too large", MAX_CPIM_SIZE)
    offset = 0
    sections: list[list[tuple[str, int]]] = [[], []]
    for section in sections:
        while True:
            end = data.find(b"\r\n", offset)
            if end < 0:
                raise ParseError("header section not closed by a blank line", offset)
            if end == offset:
                offset += 2
                break
            raw = data[offset:end]
            if b"\n" in raw or b"\r" in raw:
                raise ParseError("bare CR or LF in a header line", offset)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseError("header line is not UTF-8", offset + exc.start) from None
            section.append((line, offset))
            if len(section) > MAX_CPIM_HEADERS:
                raise ParseError(f"more than {MAX_CPIM_HEADERS} header lines", offset)
            offset = end + 2
    headers = []
    positions: dict[str, int] = {}
    for line, at in sections[0]:
        colon = line.find(":")
        name = line[:colon] if colon > 0 else ""
        if _HEADER_NAME_RE.fullmatch(name) is None:
            raise ParseError("CPIM header line is Header-name \":\" ...", at)
        params, value = _params(name, line[colon + 1:], at + colon + 1)
        try:
            headers.append(CPIMHeader(name, value, params))
        except LocalProtocolError as exc:
            raise ParseError(str(exc), at) from None
        positions.setdefault(name, at)
    content = []
    for line, at in sections[1]:
        colon = line.find(":")
        name = line[:colon] if colon > 0 else ""
        if _MIME_NAME_RE.fullmatch(name) is None:
            raise ParseError("content header line is name \":\" value", at)
        content.append((name, line[colon + 1:].lstrip(" \t")))
    try:
        return CPIMMessage(tuple(headers), tuple(content), data[offset:])
    except HeaderValueError as exc:
        raise ParseError(str(exc), positions.get(exc.name, 0)) from None
    except LocalProtocolError as exc:
        raise ParseError(str(exc), sections[1][0][1] if sections[1] else offset) from None
