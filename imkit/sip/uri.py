"""SIP and SIPS URIs (RFC 3261 sections 19.1 and 25.1) and other absolute URIs.

A :class:`SipURI` holds its parts unescaped (``user``, ``password``, ``host``,
``port``, ``params``, ``headers``) and escapes them again when written.  A URI
parsed from text and left unchanged writes back its original text, so escapes
survive exactly.  URI headers carry e.g. ``?Replaces=`` inside a URI list
(RFC 5366, RFC 3891 section 6.1): the value ``call%40host%3Bto-tag%3D1``
reads as ``call@host;to-tag=1`` and is escaped again on output.

Every other scheme (``tel:``, ``cid:``, ``mailto:``, ``im:`` ...) is an
:class:`AbsoluteURI` kept whole.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Union
from urllib.parse import quote as _pct_quote
from urllib.parse import unquote as _pct_unquote

from imkit.sip.errors import ParseError
from imkit.sip.params import builder_for

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MARK = "-_.!~*'()"
_UNRESERVED = _ALNUM + _MARK
#: RFC 3261 25.1: user-unreserved, password chars, param-unreserved, hnv-unreserved.
# "?" is legal in a user part but is escaped on output so the URI headers
# that follow stay unambiguous.
USER_SAFE = _UNRESERVED + "&=+$,;/"
PASSWORD_SAFE = _UNRESERVED + "&=+$,"
PARAM_SAFE = _UNRESERVED + "[]/:&+$"
HEADER_SAFE = _UNRESERVED + "[]/?:+$"

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*\.?")
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MUST_ESCAPE_RE = re.compile(r'[ \t\r\n<>"]')


def escape(text: str, safe: str) -> str:
    """Percent-escape every character of ``text`` not in ``safe`` (UTF-8)."""
    return _pct_quote(text, safe=safe)


def unescape(text: str, offset: int = 0) -> str:
    """Undo percent escapes; a malformed ``%`` is a :class:`ParseError`."""
    if "%" not in text:
        return text
    bad = _ESCAPE_RE.search(text)
    if bad:
        raise ParseError("malformed percent escape in URI", offset + bad.start())
    try:
        return _pct_unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ParseError("percent escape is not UTF-8", offset) from None


@dataclass(frozen=True, slots=True)
class SipURI:
    """A ``sip:`` or ``sips:`` URI, parts unescaped."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    scheme: str = "sip"
    params: tuple[tuple[str, str | None], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    raw: str | None = field(default=None, compare=False, repr=False)

    # -- reading -----------------------------------------------------------
    def param(self, name: str, default: str | None = None) -> str | None:
        """A URI parameter's value; a flag parameter such as ``lr`` gives ``""``."""
        lowered = name.lower()
        for n, v in self.params:
            if n.lower() == lowered:
                return "" if v is None else v
        return default

    def header(self, name: str, default: str | None = None) -> str | None:
        """A URI header's unescaped value (``Replaces``, ``method`` ...)."""
        lowered = name.lower()
        for n, v in self.headers:
            if n.lower() == lowered:
                return v
        return default

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def address_of_record(self) -> "SipURI":
        """The URI without port, parameters and headers (``sip:user@host``)."""
        return SipURI(host=self.host, user=self.user, scheme=self.scheme)

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    # -- changing (each returns a new URI) ---------------------------------
    def replace(self, **changes: object) -> "SipURI":
        return dataclasses.replace(self, raw=None, **changes)  # type: ignore[arg-type]

    def with_param(self, name: str, value: str | None = None) -> "SipURI":
        lowered = name.lower()
        kept = tuple((n, v) for n, v in self.params if n.lower() != lowered)
        return self.replace(params=kept + ((name, value),))

    def without_param(self, name: str) -> "SipURI":
        lowered = name.lower()
        return self.replace(params=tuple((n, v) for n, v in self.params if n.lower() != lowered))

    def with_header(self, name: str, value: str) -> "SipURI":
        lowered = name.lower()
        kept = tuple((n, v) for n, v in self.headers if n.lower() != lowered)
        return self.replace(headers=kept + ((name, value),))

    def without_headers(self) -> "SipURI":
        return self.replace(headers=())

    # -- comparing ---------------------------------------------------------
    def equivalent(self, other: object) -> bool:
        """RFC 3261 19.1.4 comparison: scheme, user and password case-sensitive,
        host case-insensitive, the user, ttl, method, maddr and transport
        parameters must match where either has them, other parameters only
        where both have them, headers must match."""
        if not isinstance(other, SipURI):
            return False
        if self.scheme.lower() != other.scheme.lower():
            return False
        if self.user != other.user or self.password != other.password:
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        mine = {n.lower(): (v or "").lower() for n, v in self.params}
        theirs = {n.lower(): (v or "").lower() for n, v in other.params}
        for name in ("user", "ttl", "method", "maddr", "transport"):
            if mine.get(name) != theirs.get(name):
                return False
        for name in mine.keys() & theirs.keys():
            if mine[name] != theirs[name]:
                return False
        return {n.lower(): v for n, v in self.headers} == {n.lower(): v for n, v in other.headers}

    # -- writing -----------------------------------------------------------
    def __str__(self) -> str:
        if self.raw is not None:
            return self.raw
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(escape(self.user, USER_SAFE))
            if self.password is not None:
                out.append(":" + escape(self.password, PASSWORD_SAFE))
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        for n, v in self.params:
            out.append(";" + escape(n, PARAM_SAFE))
            if v is not None:
                out.append("=" + escape(v, PARAM_SAFE))
        if self.headers:
            out.append("?")
            out.append("&".join(
                escape(n, HEADER_SAFE) + "=" + escape(v, HEADER_SAFE) for n, v in self.headers
            ))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class AbsoluteURI:
    """Any non-SIP URI (``tel:``, ``cid:``, ``mailto:`` ...), kept whole."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"

    def equivalent(self, other: object) -> bool:
        return (
            isinstance(other, AbsoluteURI)
            and self.scheme.lower() == other.scheme.lower()
            and self.rest == other.rest
        )


URI = Union[SipURI, AbsoluteURI]


# -- fast path -------------------------------------------------------------
# The common shape of a SIP URI, matched in one go: ``sip:`` or ``sips:``, a
# user part without escapes or password, a host name or IPv4 address, a
# port, and parameters ``;name`` or ``;name=value`` without escapes.  Every
# text it matches, _parse_sip accepts and reads to the same parts; anything
# else (escapes, passwords, IPv6, URI headers, empty values ...) takes the
# exact path, which also reports errors with their offsets.

#: RFC 3261 25.1 user-unreserved + unreserved, without "%", ":", "@", "?".
_FAST_USER = r"[A-Za-z0-9\-_.!~*'()&=+$,;/]++"
_FAST_LABEL = r"[A-Za-z0-9]++(?:-++[A-Za-z0-9]++)*+"
#: A host name or IPv4 address as _HOSTNAME_RE has it (labels of letters,
#: digits and inner hyphens, an optional final dot), in one pass.
FAST_HOST = rf"{_FAST_LABEL}(?:\.{_FAST_LABEL})*+\.?+"
#: param-unreserved + unreserved, without "%", ";", "=", "?".
_FAST_PCHARS = r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$]++"
#: The parts of a fast SIP URI, for patterns that embed one (name-addr).
FAST_SIP_URI = (
    rf"(sips?):(?:({_FAST_USER})@)?({FAST_HOST})(?::([0-9]{{1,5}}))?+"
    rf"((?:;{_FAST_PCHARS}(?:={_FAST_PCHARS})?+)*+)"
)
#: The same without URI parameters (the fifth group stays, always empty)
#: and without ";" in the user part, for an addr-spec outside "<>", where
#: the first ";" starts the header parameters (RFC 3261 20.10).
FAST_BARE_SIP_URI = (
    rf"(sips?):(?:({_FAST_USER.replace(';', '')})@)?({FAST_HOST})(?::([0-9]{{1,5}}))?+()"
)
_FAST_SIP_RE = re.compile(FAST_SIP_URI)



_SipURIBuilder = builder_for(SipURI)


def make_sip_uri(
    scheme: str, user: str | None, host: str, port_text: str | None, params_text: str, raw: str
) -> SipURI | None:
    """The :class:`SipURI` of a fast-path match (groups of ``FAST_SIP_URI``),
    built without the dataclass ``__init__`` (see :func:`builder_for`); ``None`` when the port is out
    of range (the exact path then reports it)."""
    port = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            return None
    params: tuple[tuple[str, str | None], ...] = ()
    if params_text:
        params = tuple([
            (name, value if eq else None)
            for piece in params_text[1:].split(";")
            for name, eq, value in (piece.partition("="),)
        ])
    uri = _SipURIBuilder()
    uri.host = host
    uri.user = user
    uri.password = None
    uri.port = port
    uri.scheme = scheme
    uri.params = params
    uri.headers = ()
    uri.raw = raw
    uri.__class__ = SipURI
    return uri


def parse_uri(text: str, offset: int = 0) -> URI:
    """Parse a URI; ``offset`` is where ``text`` starts in the input, for errors."""
    match = _FAST_SIP_RE.fullmatch(text)
    if match is not None:
        scheme, user, host, port, params = match.groups()
        uri = make_sip_uri(scheme, user, host, port, params, text)
        if uri is not None:
            return uri
    colon = text.find(":")
    if colon <= 0 or not _SCHEME_RE.fullmatch(text[:colon]):
        raise ParseError(f"not a URI: {text[:40]!r}", offset)
    scheme = text[:colon]
    bad = _MUST_ESCAPE_RE.search(text)
    if bad:
        raise ParseError("URI contains a character that must be escaped", offset + bad.start())
    if scheme.lower() not in ("sip", "sips"):
        if colon + 1 >= len(text):
            raise ParseError("URI has nothing after the scheme", offset + colon)
        return AbsoluteURI(scheme, text[colon + 1 :])
    return _parse_sip(text, scheme, colon + 1, offset)


def _parse_sip(text: str, scheme: str, start: int, offset: int) -> SipURI:
    rest = text[start:]
    question = rest.find("?")
    at = rest.find("@")
    user: str | None = None
    password: str | None = None
    if at != -1 and (question == -1 or at < question):
        userinfo = rest[:at]
        user_text, has_password, password_text = userinfo.partition(":")
        if not user_text:
            raise ParseError("empty user part in SIP URI", offset + start)
        user = unescape(user_text, offset + start)
        password = unescape(password_text, offset + start) if has_password else None
        host_start = at + 1
    else:
        host_start = 0
    remainder = rest[host_start:]
    headers_text = None
    q = remainder.find("?")
    if q != -1:
        headers_text = remainder[q + 1 :]
        remainder = remainder[:q]
    hostport, _, params_text = remainder.partition(";")
    host_offset = offset + start + host_start
    host, port = _parse_hostport(hostport, host_offset)
    params: list[tuple[str, str | None]] = []
    if params_text or remainder.endswith(";"):
        for piece in params_text.split(";"):
            if not piece:
                raise ParseError("empty URI parameter", host_offset + len(hostport))
            name, eq, value = piece.partition("=")
            if not name:
                raise ParseError("URI parameter without a name", host_offset + len(hostport))
            params.append((unescape(name, host_offset), unescape(value, host_offset) if eq else None))
    headers: list[tuple[str, str]] = []
    if headers_text is not None:
        for piece in headers_text.split("&"):
            name, eq, value = piece.partition("=")
            if not name or not eq:
                raise ParseError("URI header must be name=value", host_offset + len(remainder))
            headers.append((unescape(name, host_offset), unescape(value, host_offset)))
    return SipURI(
        host=host, user=user, password=password, port=port, scheme=scheme,
        params=tuple(params), headers=tuple(headers), raw=text,
    )


def _parse_hostport(text: str, offset: int) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end == -1 or not _IPV6_RE.fullmatch(text[: end + 1]):
            raise ParseError("malformed IPv6 reference", offset)
        host = text[: end + 1]
        port_text = text[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise ParseError("junk after IPv6 reference", offset + end + 1)
        port_text = port_text[1:] if port_text else ""
        has_port = bool(text[end + 1 :])
    else:
        host, has_colon, port_text = text.partition(":")
        has_port = bool(has_colon)
        if not host or not _HOSTNAME_RE.fullmatch(host):
            raise ParseError(f"malformed host {host!r}", offset)
    port: int | None = None
    if has_port:
        if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
            raise ParseError(f"malformed port {port_text!r}", offset + len(host))
        port = int(port_text)
    return host, port
