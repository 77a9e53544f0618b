"""MSRP URIs: the RFC 4975 section 9 syntax and the section 6.1 comparison.

``MSRP-URI = msrp-scheme "://" authority ["/" session-id] ";" transport
*( ";" URI-parameter )`` with ``msrp-scheme = "msrp" / "msrps"``,
``session-id = 1*( unreserved / "+" / "=" / "/" )``, ``transport = "tcp" /
1*ALPHANUM`` and ``URI-parameter = token ["=" token]``; the authority is RFC
3986's ``[userinfo "@"] host [":" port]``.

:class:`MSRPURI` keeps every part as written, so ``str()`` gives back the
text it was parsed from; :meth:`MSRPURI.matches` is the section 6.1
equivalence, which is what session matching uses (``==`` is exact equality).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from imkit.errors import LocalProtocolError
from imkit.msrp.errors import ParseError

__all__ = ["MAX_PATH_URIS", "MAX_URI_LENGTH", "MSRPURI", "format_path", "parse_path"]

#: Longest MSRP URI accepted, and most URIs in one path (a bound, not the RFC's).
MAX_URI_LENGTH = 1024
MAX_PATH_URIS = 16

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_PCT = r"%[0-9A-Fa-f]{2}"
_URI_RE = re.compile(
    r"(?P<scheme>msrps?)://"
    rf"(?:(?P<user>(?:[A-Za-z0-9\-._~!$&'()*+,=:]|{_PCT})*)@)?"
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,=]|{_PCT})+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?:/(?P<session>[A-Za-z0-9\-._~+=/]+))?"
    r";(?P<transport>[A-Za-z0-9]+)"
    rf"(?P<params>(?:;{_TOKEN}(?:={_TOKEN})?)*)",
    re.IGNORECASE,
)
_PARAM_RE = re.compile(rf";({_TOKEN})(?:=({_TOKEN}))?")
_UNRESERVED_PCT_RE = re.compile(r"%(2[Dd]|2[Ee]|5[Ff]|7[Ee]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")


@dataclass(frozen=True)
class MSRPURI:
    """One MSRP URI, every part as written (``scheme`` keeps its case)."""

    scheme: str
    host: str
    port: int | None = None
    session_id: str | None = None
    transport: str = "tcp"
    user: str | None = None
    params: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self) -> None:
        text = str(self)
        if len(text) > MAX_URI_LENGTH or _URI_RE.fullmatch(text) is None:
            raise LocalProtocolError(f"not an MSRP URI: {text!r}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise LocalProtocolError(f"MSRP URI port out of range: {self.port}")
        if self.host.startswith("["):
            _check_ipv6(self.host)

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> MSRPURI:
        """Parse one URI; :class:`ParseError` (at ``offset``) when malformed."""
        if len(text) > MAX_URI_LENGTH:
            raise ParseError("MSRP URI too long", offset)
        m = _URI_RE.fullmatch(text)
        if m is None:
            raise ParseError(f"not an MSRP URI: {text[:80]!r}", offset)
        port = m.group("port")
        if port is not None and int(port) > 65535:
            raise ParseError(f"MSRP URI port out of range: {port}", offset)
        host = m.group("host")
        if host.startswith("["):
            try:
                _check_ipv6(host)
            except LocalProtocolError as exc:
                raise ParseError(str(exc), offset) from None
        params = tuple((name, value) for name, value in _PARAM_RE.findall(m.group("params")))
        return cls(
            scheme=m.group("scheme"),
            host=host,
            port=None if port is None else int(port),
            session_id=m.group("session"),
            transport=m.group("transport"),
            user=m.group("user"),
            # findall gives "" for a missing value; "name=" cannot match, so "" means none
            params=tuple((name, value or None) for name, value in params),
        )

    def __str__(self) -> str:
        parts = [self.scheme, "://"]
        if self.user is not None:
            parts += [self.user, "@"]
        parts.append(self.host)
        if self.port is not None:
            parts += [":", str(self.port)]
        if self.session_id is not None:
            parts += ["/", self.session_id]
        parts += [";", self.transport]
        for name, value in self.params:
            parts += [";", name] if value is None else [";", name, "=", value]
        return "".join(parts)

    @property
    def secure(self) -> bool:
        """``msrps``: the hop uses TLS (RFC 4975 section 6)."""
        return self.scheme.lower() == "msrps"

    @property
    def address(self) -> tuple[str, int | None]:
        """Host (without IPv6 brackets) and port, for opening a connection."""
        host = self.host[1:-1] if self.host.startswith("[") else self.host
        return host, self.port

    def matches(self, other: MSRPURI) -> bool:
        """RFC 4975 section 6.1 equivalence (userinfo and parameters are ignored)."""
        # Section 6.1, paraphrased (the rule list is the RFC's; the wording
        # here is ours): the scheme must match, without regard to case;
        if self.scheme.lower() != other.scheme.lower():
            return False
        # IP addresses compare as addresses, domain names without regard to
        # case, after decoding percent-encoded unreserved characters;
        if _host_key(self.host) != _host_key(other.host):
            return False
        # a port present in either URI must match exactly (an explicit port
        # never equals an absent one);
        if self.port != other.port:
            return False
        # the session-id matches case-sensitively (absent equals only absent);
        if self.session_id != other.session_id:
            return False
        # URIs with different transports never match (token, any case);
        # userinfo and other parameters are not compared.
        return self.transport.lower() == other.transport.lower()


def _check_ipv6(host: str) -> None:
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        raise LocalProtocolError(f"bad IPv6 literal {host!r}") from None


@lru_cache(maxsize=256)
def _host_key(host: str) -> str:
    if host.startswith("["):
        return ipaddress.IPv6Address(host[1:-1]).compressed
    # section 6.1: percent-encoded unreserved characters in the authority
    # are decoded before comparing
    decoded = _UNRESERVED_PCT_RE.sub(lambda m: unquote(m.group(0)), host)
    try:
        return str(ipaddress.IPv4Address(decoded))
    except ValueError:
        return decoded.lower()


def parse_path(value: str, offset: int = 0) -> tuple[MSRPURI, ...]:
    """A To-Path / From-Path value or an SDP ``a=path``: URIs separated by SP."""
    if len(value) > MAX_URI_LENGTH * MAX_PATH_URIS:
        raise ParseError("path too long", offset)
    try:
        return _parse_path(value)
    except ParseError as exc:
        raise ParseError(exc.what, offset + exc.offset) from None


@lru_cache(maxsize=256)
def _parse_path(value: str) -> tuple[MSRPURI, ...]:
    # Every chunk of a session repeats the same two paths: remember them.
    offset = 0
    words = value.split(" ")
    if not value or "" in words:
        raise ParseError("a path is MSRP URIs separated by single spaces", offset)
    if len(words) > MAX_PATH_URIS:
        raise ParseError(f"more than {MAX_PATH_URIS} URIs in a path", offset)
    uris = []
    for word in words:
        uris.append(MSRPURI.parse(word, offset))
        offset += len(word) + 1
    return tuple(uris)


def format_path(uris: Iterable[MSRPURI | str]) -> str:
    """The header / ``a=path`` form of a path; strings are checked by parsing."""
    texts = []
    for uri in uris:
        if isinstance(uri, str):
            try:
                uri = MSRPURI.parse(uri)
            except ParseError as exc:
                raise LocalProtocolError(exc.what) from None
        texts.append(str(uri))
    if not texts:
        raise LocalProtocolError("a path needs at least one MSRP URI")
    return " ".join(texts)
