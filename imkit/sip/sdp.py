"""SDP session descriptions (RFC 8866, which obsoletes RFC 4566) and the MSRP
offer/answer usage (RFC 3264, RFC 4975 section 8, RFC 6135 ``a=setup``).

:class:`SessionDescription` keeps every line in order, with its own line end,
so ``bytes(SessionDescription.parse(data)) == data`` for any description the
parser accepts.  Typed views (:class:`Origin`, :class:`Connection`,
:class:`MediaLine`, :class:`Attribute`) are computed from the lines when
asked.  Parsing is strict about the grammar and line order of RFC 8866
section 9 and raises :class:`SDPParseError` (an ``imkit.ParseError``) with
the byte offset of the offending line; building a description from lines that
break the same rules raises :class:`~imkit.errors.LocalProtocolError`.

MSRP helpers: :func:`build_msrp_offer`, :func:`build_msrp_answer`,
:func:`msrp_media` (read a ``m=message`` section back) and
:func:`msrp_active_side` (who opens the TCP connection).  The ``m=`` port of
an MSRP stream is *not* where the connection goes: the rightmost URI of
``a=path`` is (RFC 4975 section 8.1).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imkit.errors import LocalProtocolError, ProtocolError
from imkit.sip.errors import ParseError
from imkit.sip.params import builder_for

__all__ = [
    "MAX_SDP_SIZE", "MAX_SDP_LINES",
    "SDPParseError", "SetupNegotiationError",
    "Line", "Attribute", "Origin", "Connection", "MediaLine",
    "MediaDescription", "SessionDescription",
    "MsrpTransport", "Setup", "ActiveSide", "MsrpMedia",
    "msrp_path_uri", "build_msrp_offer", "build_msrp_answer", "msrp_media",
    "msrp_active_side",
]

#: imkit refuses larger descriptions (a SIP message is capped at 64 KiB too).
MAX_SDP_SIZE = 65536
#: ... and descriptions with more lines than this.
MAX_SDP_LINES = 1024


class SDPParseError(ParseError):
    """Malformed SDP: ``what`` is wrong at byte ``offset`` of the description."""


class SetupNegotiationError(ProtocolError):
    """The ``a=setup`` values of an offer and its answer do not agree on who
    opens the MSRP connection (RFC 4145 section 4.1, RFC 6135)."""


# --------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------

# RFC 8866 section 9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E /
#                                  %x30-39 / %x41-5A / %x5E-7E
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_DIGITS_RE = re.compile(r"[0-9]+")
_NON_WS = r"[^ \t]+"
_ORIGIN_RE = re.compile(rf"({_NON_WS}) ([0-9]+) ([0-9]+) ({_TOKEN}) ({_TOKEN}) ({_NON_WS})")
_CONNECTION_RE = re.compile(rf"({_TOKEN}) ({_TOKEN}) ({_NON_WS})")
_MEDIA_RE = re.compile(rf"({_TOKEN}) ([0-9]+)(?:/([0-9]+))? ({_TOKEN}(?:/{_TOKEN})*)((?: {_TOKEN})+)")
_BANDWIDTH_RE = re.compile(rf"{_TOKEN}:[0-9]+")
_TIME_RE = re.compile(r"[0-9]+ [0-9]+")
_TYPED_TIME = r"-?[0-9]+[dhms]?"
_REPEAT_RE = re.compile(rf"[0-9]+[dhms]? [0-9]+[dhms]?(?: {_TYPED_TIME})+")
_ZONE_RE = re.compile(rf"[0-9]+ {_TYPED_TIME}(?: [0-9]+ {_TYPED_TIME})*")
_KEY_RE = re.compile(rf"{_TOKEN}(?::.+)?")
_ATTRIBUTE_RE = re.compile(rf"({_TOKEN})(?::(.*))?", re.DOTALL)


def _fullmatch(pattern: re.Pattern[str], text: str, what: str, offset: int) -> re.Match[str]:
    match = pattern.fullmatch(text)
    if match is None:
        raise SDPParseError(f"bad {what} {text!r}", offset)
    return match


#: Line ends a description may use.  RFC 8866 section 5: "the sequence CRLF
#: (0x0d0a) is used to end a line, although parsers SHOULD be tolerant and
#: also accept lines terminated with a single newline character."  The last
#: line may lack one (``""``), which imkit tolerates and writes back as read.
LINE_ENDS = ("\r\n", "\n", "")


@dataclass(frozen=True, slots=True)
class Line:
    """One ``<type>=<value>`` line and the line end it was written with.

    The value is text; bytes that are not UTF-8 (RFC 8866 ``a=charset``)
    travel as surrogate escapes so they are written back unchanged.
    """

    type: str
    value: str
    eol: str = "\r\n"

    def __post_init__(self) -> None:
        if len(self.type) != 1 or not ("a" <= self.type <= "z"):
            raise LocalProtocolError(f"SDP line type must be one letter a-z, not {self.type!r}")
        if self.eol not in LINE_ENDS:
            raise LocalProtocolError(f"SDP line end must be CRLF, LF or nothing, not {self.eol!r}")
        value = self.value
        if "\r" in value or "\n" in value or "\x00" in value:
            raise LocalProtocolError("an SDP value may not contain CR, LF or NUL")
        if not value.isascii():
            try:
                value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError as exc:
                raise LocalProtocolError(f"SDP value is not encodable: {exc}") from None

    def __bytes__(self) -> bytes:
        return f"{self.type}={self.value}{self.eol}".encode("utf-8", "surrogateescape")

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


@dataclass(frozen=True, slots=True)
class Attribute:
    """``a=<name>`` (a flag: ``value is None``) or ``a=<name>:<value>``."""

    name: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> Attribute:
        match = _fullmatch(_ATTRIBUTE_RE, text, "attribute", offset)
        attribute = _AttributeBuilder()
        attribute.name, attribute.value = match.groups()
        attribute.__class__ = Attribute
        return attribute

    def line(self, eol: str = "\r\n") -> Line:
        return Line("a", self.name if self.value is None else f"{self.name}:{self.value}", eol)


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    username: str
    session_id: int
    session_version: int
    nettype: str
    addrtype: str
    address: str

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> Origin:
        match = _fullmatch(_ORIGIN_RE, text, "origin (o=)", offset)
        user, sid, version, nettype, addrtype, address = match.groups()
        return cls(user, int(sid), int(version), nettype, addrtype, address)

    def __str__(self) -> str:
        return (f"{self.username} {self.session_id} {self.session_version} "
                f"{self.nettype} {self.addrtype} {self.address}")


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>``."""

    nettype: str
    addrtype: str
    address: str

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> Connection:
        match = _fullmatch(_CONNECTION_RE, text, "connection (c=)", offset)
        connection = _ConnectionBuilder()
        connection.nettype, connection.addrtype, connection.address = match.groups()
        connection.__class__ = Connection
        return connection

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """``IN IP4 <a>`` or ``IN IP6 <a>`` for a literal address or host name."""
        return cls("IN", _addrtype(address), address)

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class MediaLine:
    """``m=<media> <port>[/<number of ports>] <proto> <fmt> ...``."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> MediaLine:
        match = _fullmatch(_MEDIA_RE, text, "media line (m=)", offset)
        media, port, count, proto, formats = match.groups()
        if int(port) > 65535:
            raise SDPParseError(f"media port {port} is out of range", offset)
        line = _MediaLineBuilder()
        line.media = media
        line.port = int(port)
        line.proto = proto
        line.formats = tuple(formats.split())
        line.port_count = None if count is None else int(count)
        line.__class__ = MediaLine
        return line

    def __str__(self) -> str:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        return " ".join([self.media, port, self.proto, *self.formats])


_LineBuilder = builder_for(Line)
_ConnectionBuilder = builder_for(Connection)
_AttributeBuilder = builder_for(Attribute)
_MediaLineBuilder = builder_for(MediaLine)


@functools.lru_cache(maxsize=256)
def _addrtype(address: str) -> str:
    try:
        return "IP6" if ipaddress.ip_address(address).version == 6 else "IP4"
    except ValueError:
        return "IP4"


# Per-type checks of a value's syntax (RFC 8866 section 9), by line type.
def _check_value(line: Line, offset: int) -> None:
    kind, value = line.type, line.value
    if kind == "v":
        # RFC 8866 section 5.1: version 0 is the only version there is.
        if value != "0":
            raise SDPParseError(f"unsupported SDP version {value!r} (only v=0)", offset)
    elif kind == "a":
        _fullmatch(_ATTRIBUTE_RE, value, "attribute", offset)
    elif kind == "o":
        _fullmatch(_ORIGIN_RE, value, "origin (o=)", offset)
    elif kind == "c":
        _fullmatch(_CONNECTION_RE, value, "connection (c=)", offset)
    elif kind == "m":
        port = _fullmatch(_MEDIA_RE, value, "media line (m=)", offset).group(2)
        if int(port) > 65535:
            raise SDPParseError(f"media port {port} is out of range", offset)
    elif kind in "siuep":
        # text = byte-string: at least one byte.  RFC 8866 section 5.3: "If a
        # session has no meaningful name, then "s= " or "s=-" [...] is
        # RECOMMENDED"; an empty value is malformed.
        if not value:
            raise SDPParseError(f"empty {kind}= value", offset)
    else:
        pattern = {"b": _BANDWIDTH_RE, "t": _TIME_RE, "r": _REPEAT_RE, "z": _ZONE_RE, "k": _KEY_RE}[kind]
        _fullmatch(pattern, value, f"{kind}= value", offset)


# Line order.  RFC 4566 section 5: "Some lines in each description are
# REQUIRED and some are OPTIONAL, but all MUST appear in exactly the order
# given here".  A rank per type; ranks never go down; only some types repeat
# (t= and r= share a rank: time descriptions follow one another).
_SESSION_RANK = {"v": 0, "o": 1, "s": 2, "i": 3, "u": 4, "e": 5, "p": 6, "c": 7, "b": 8,
                 "t": 9, "r": 9, "z": 10, "k": 11, "a": 12}
_SESSION_REPEATS = set("epbtra")
_MEDIA_RANK = {"m": 0, "i": 1, "c": 2, "b": 3, "k": 4, "a": 5}
_MEDIA_REPEATS = set("cba")
_REQUIRED_FIRST = "vos"


def _check_lines(lines: Sequence[Line], encoded: Sequence[bytes]) -> list[int]:
    """Raise SDPParseError, with the byte offset, for any rule ``lines``
    (written as ``encoded``) break; return the offset of each line."""
    offsets = []
    position = 0
    for chunk in encoded:
        offsets.append(position)
        position += len(chunk)
    if position > MAX_SDP_SIZE:
        raise SDPParseError(f"description larger than {MAX_SDP_SIZE} bytes", MAX_SDP_SIZE)
    if len(lines) > MAX_SDP_LINES:
        raise SDPParseError(f"more than {MAX_SDP_LINES} lines", offsets[MAX_SDP_LINES])
    for line, offset, chunk in zip(lines[:-1], offsets, encoded, strict=False):
        if not line.eol:
            raise SDPParseError("only the last line may lack a line end", offset + len(chunk))
    _check_grammar(lines, offsets, position)
    return offsets


def _check_grammar(lines: Sequence[Line], offsets: Sequence[int], position: int) -> None:
    """The line order and value rules of :func:`_check_lines`; ``position``
    is the description's size."""
    rank, kind_before, seen_t, seen_session_c = -1, "", False, False
    media_start: int | None = None
    media_has_c = False
    for index, (line, offset) in enumerate(zip(lines, offsets, strict=True)):
        kind = line.type
        # v=, o= and s= are required and come first, in this order.
        if index < len(_REQUIRED_FIRST) and kind != _REQUIRED_FIRST[index]:
            raise SDPParseError(f"line {index + 1} must be {_REQUIRED_FIRST[index]}=", offset)
        if kind == "m":
            if not seen_t:
                raise SDPParseError("a description needs at least one t= line before m=", offset)
            if media_start is not None and not (media_has_c or seen_session_c):
                raise SDPParseError(_NO_CONNECTION, media_start)
            media_start, media_has_c, rank, kind_before = offset, False, 0, "m"
            _check_value(line, offset)
            continue
        table, repeats = ((_SESSION_RANK, _SESSION_REPEATS) if media_start is None
                          else (_MEDIA_RANK, _MEDIA_REPEATS))
        if kind not in table:
            # RFC 4566 section 5: "an SDP parser MUST completely ignore any
            # session description that contains a type letter that it does
            # not understand."
            level = "session" if media_start is None else "media"
            raise SDPParseError(f"{kind}= is not allowed at {level} level", offset)
        new_rank = table[kind]
        if new_rank < rank or (new_rank == rank and kind not in repeats):
            raise SDPParseError(f"{kind}= out of order after {kind_before}=", offset)
        if kind == "r" and kind_before not in ("t", "r"):
            raise SDPParseError("r= must follow t= or r=", offset)
        if media_start is None and new_rank > _SESSION_RANK["t"] and not seen_t:
            raise SDPParseError("a description needs at least one t= line", offset)
        seen_t = seen_t or kind == "t"
        if kind == "c":
            if media_start is None:
                seen_session_c = True
            else:
                media_has_c = True
        rank, kind_before = new_rank, kind
        _check_value(line, offset)
    if len(lines) < len(_REQUIRED_FIRST):
        raise SDPParseError(f"line {len(lines) + 1} must be {_REQUIRED_FIRST[len(lines)]}=", position)
    if not seen_t:
        raise SDPParseError("a description needs at least one t= line", position)
    if media_start is not None and not (media_has_c or seen_session_c):
        raise SDPParseError(_NO_CONNECTION, media_start)


# RFC 4566 section 5.7: "A session description MUST contain either at least
# one "c=" field in each media description or a single "c=" field at the
# session level."
_NO_CONNECTION = "media description without c= and no session-level c="


_BAD_IN_LINE_RE = re.compile(rb"[\r\x00]")


def _split_lines(data: bytes) -> tuple[list[Line], list[int]]:
    """The lines of ``data`` and the offset of each.  A line read here
    passes every check of ``Line.__post_init__`` (type a-z, no CR, LF or NUL,
    a value decoded with surrogate escapes), so it is built without them."""
    if len(data) > MAX_SDP_SIZE:
        raise SDPParseError(f"description larger than {MAX_SDP_SIZE} bytes", MAX_SDP_SIZE)
    if not data:
        raise SDPParseError("empty description", 0)
    lines: list[Line] = []
    offsets: list[int] = []
    position = 0
    chunks = data.split(b"\n")
    last = len(chunks) - 1
    for number, content in enumerate(chunks):
        if number == last and not content:
            break  # the data ends with a line end
        if number >= MAX_SDP_LINES:
            raise SDPParseError(f"more than {MAX_SDP_LINES} lines", position)
        end = position + len(content)
        eol = "" if number == last else "\n"
        if content[-1:] == b"\r":
            content, eol = content[:-1], "\r\n"
            if number == last:
                raise SDPParseError("CR without LF", end - 1)
        bad = _BAD_IN_LINE_RE.search(content)
        if bad is not None:
            raise SDPParseError("CR or NUL inside a line", position + bad.start())
        # RFC 4566 section 5: "<type> MUST be exactly one case-significant
        # character [...] Whitespace MUST NOT be used on either side of the
        # "=" sign."
        if len(content) < 2 or content[1] != 61 or not (97 <= content[0] <= 122):  # "=", "a"-"z"
            raise SDPParseError("line is not <type>=<value> with a type letter a-z", position)
        line = _LineBuilder()
        line.type = chr(content[0])
        line.value = content[2:].decode("utf-8", "surrogateescape")
        line.eol = eol
        line.__class__ = Line
        lines.append(line)
        offsets.append(position)
        position = end + 1
    return lines, offsets


# --------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------


def _attributes(lines: Iterable[Line]) -> tuple[Attribute, ...]:
    return tuple([Attribute.parse(line.value) for line in lines if line.type == "a"])


def _connection(lines: Iterable[Line]) -> Connection | None:
    for line in lines:
        if line.type == "c":
            return Connection.parse(line.value)
    return None


# The descriptions are frozen and their lines immutable, so what is read from
# them (typed views, bytes, offsets) is computed once and kept in the
# instance's __dict__ (functools.cached_property, or under "_bytes",
# "_offsets" and "_msrp"): outside the dataclass fields, so not compared,
# hashed or shown.
_new = object.__new__


@dataclass(frozen=True)
class MediaDescription:
    """One media section: its ``m=`` line and the lines up to the next one."""

    lines: tuple[Line, ...]

    def __post_init__(self) -> None:
        if not self.lines or self.lines[0].type != "m":
            raise LocalProtocolError("a media description starts with its m= line")
        if any(line.type == "m" for line in self.lines[1:]):
            raise LocalProtocolError("a media description has one m= line")

    @functools.cached_property
    def media_line(self) -> MediaLine:
        return MediaLine.parse(self.lines[0].value)

    @functools.cached_property
    def connection(self) -> Connection | None:
        """The first media-level ``c=``, if any."""
        return _connection(self.lines)

    @functools.cached_property
    def attributes(self) -> tuple[Attribute, ...]:
        return _attributes(self.lines)

    def attribute_values(self, name: str) -> list[str | None]:
        """Values of every ``a=<name>`` line, in order (``None`` for flags)."""
        return [a.value for a in self.attributes if a.name == name]


@dataclass(frozen=True)
class SessionDescription:
    """A whole SDP description: the session-level lines, then the media sections.

    Valid by construction: ``__init__`` enforces the rules :meth:`parse`
    enforces (raising ``LocalProtocolError`` instead of ``SDPParseError``), so
    ``SessionDescription.parse(bytes(sd)) == sd`` always holds.
    """

    session: tuple[Line, ...]
    media: tuple[MediaDescription, ...] = ()

    def __post_init__(self) -> None:
        if any(line.type == "m" for line in self.session):
            raise LocalProtocolError("m= lines belong to media descriptions")
        lines = self.lines
        encoded = [bytes(line) for line in lines]
        try:
            offsets = _check_lines(lines, encoded)
        except SDPParseError as exc:
            raise LocalProtocolError(f"invalid SDP: {exc}") from None
        cache = self.__dict__
        cache["_offsets"] = offsets
        cache["_bytes"] = b"".join(encoded)

    @classmethod
    def parse(cls, data: bytes) -> SessionDescription:
        """Parse ``data``; raise :class:`SDPParseError` for anything malformed."""
        data = bytes(data)
        lines, offsets = _split_lines(data)
        # _split_lines has bounded the size and the number of lines and left
        # a line without line end only last: what remains of _check_lines.
        _check_grammar(lines, offsets, len(data))
        # Grouped as from_lines groups them; what __post_init__ would check
        # again holds already, so the objects are made without it.
        session: list[Line] = []
        media: list[MediaDescription] = []
        section: list[Line] = session
        for line in lines:
            if line.type == "m":
                if section is not session:
                    media.append(_media_description(tuple(section)))
                section = [line]
            else:
                section.append(line)
        if section is not session:
            media.append(_media_description(tuple(section)))
        sd = _new(cls)
        cache = sd.__dict__
        cache["session"] = tuple(session)
        cache["media"] = tuple(media)
        cache["lines"] = tuple(lines)
        cache["_offsets"] = offsets
        # Every line writes back the bytes it was read from.
        cache["_bytes"] = data
        return sd

    @classmethod
    def from_lines(cls, lines: Iterable[Line]) -> SessionDescription:
        """Group a flat list of lines into session level and media sections."""
        session: list[Line] = []
        media: list[list[Line]] = []
        for line in lines:
            if line.type == "m":
                media.append([line])
            elif media:
                media[-1].append(line)
            else:
                session.append(line)
        return cls(tuple(session), tuple(MediaDescription(tuple(m)) for m in media))

    @functools.cached_property
    def lines(self) -> tuple[Line, ...]:
        """Every line, in order."""
        return self.session + tuple(line for m in self.media for line in m.lines)

    def __bytes__(self) -> bytes:
        cache = self.__dict__
        data = cache.get("_bytes")
        if data is None:
            data = cache["_bytes"] = b"".join(bytes(line) for line in self.lines)
        return data

    def __str__(self) -> str:
        return bytes(self).decode("utf-8", "replace")

    def offset_of(self, line: Line) -> int:
        """Byte offset of ``line`` (compared by identity) in ``bytes(self)``."""
        lines = self.lines
        offsets = self.__dict__.get("_offsets")
        if offsets is None:
            offsets = []
            position = 0
            for candidate in lines:
                offsets.append(position)
                position += len(bytes(candidate))
            self.__dict__["_offsets"] = offsets
        for candidate, offset in zip(lines, offsets):
            if candidate is line:
                return offset
        raise ValueError("line is not part of this description")

    @property
    def origin(self) -> Origin:
        return Origin.parse(self.session[1].value)

    @property
    def session_name(self) -> str:
        return self.session[2].value

    @functools.cached_property
    def connection(self) -> Connection | None:
        """The session-level ``c=``, if any."""
        return _connection(self.session)

    @functools.cached_property
    def attributes(self) -> tuple[Attribute, ...]:
        """Session-level attributes."""
        return _attributes(self.session)

    def connection_for(self, media: MediaDescription) -> Connection:
        """The ``c=`` that applies to ``media``: its own, else the session's."""
        connection = media.connection or self.connection
        if connection is None:  # excluded by _check_lines
            raise LocalProtocolError("no c= applies to this media description")
        return connection


def _media_description(lines: tuple[Line, ...]) -> MediaDescription:
    """A :class:`MediaDescription` of lines known to start with the only m=."""
    media = _new(MediaDescription)
    media.__dict__["lines"] = lines
    return media


# --------------------------------------------------------------------------
# MSRP (RFC 4975 section 8, RFC 6135)
# --------------------------------------------------------------------------


class MsrpTransport(enum.Enum):
    """The ``m=`` proto of an MSRP stream, and the URI scheme that goes with it."""

    TCP = "TCP/MSRP"
    TLS = "TCP/TLS/MSRP"

    @property
    def scheme(self) -> str:
        return "msrps" if self is MsrpTransport.TLS else "msrp"


class Setup(enum.Enum):
    """``a=setup`` values (RFC 4145 section 4, used for MSRP by RFC 6135)."""

    ACTIVE = "active"
    PASSIVE = "passive"
    ACTPASS = "actpass"
    HOLDCONN = "holdconn"


class ActiveSide(enum.Enum):
    """Which end of an offer/answer opens the MSRP transport connection."""

    OFFERER = "offerer"
    ANSWERER = "answerer"


# RFC 4975 section 9: MSRP-URI = msrp-scheme "://" authority
#     ["/" session-id] ";" transport *( ";" URI-parameter )
_MSRP_URI_RE = re.compile(r"(msrps?)://([^/;\s]+)(?:/([^;\s]+))?;([^;\s]+)(?:;[^;\s]+)*",
                          re.IGNORECASE)
# RFC 4975 section 9: format-entry = "*" / (type "/" subtype) / (type "/" "*")
_FORMAT_ENTRY_RE = re.compile(rf"\*|{_TOKEN}/{_TOKEN}")


@dataclass(frozen=True, slots=True)
class MsrpMedia:
    """What one ``m=message`` section says about an MSRP stream."""

    index: int
    port: int
    transport: MsrpTransport
    connection: Connection
    path: tuple[str, ...]
    accept_types: tuple[str, ...]
    accept_wrapped_types: tuple[str, ...] = ()
    max_size: int | None = None
    setup: Setup | None = None

    @property
    def rejected(self) -> bool:
        """RFC 3264 section 6: a stream is rejected "by setting the port in
        the m-line to zero"."""
        return self.port == 0

    @property
    def uri(self) -> str:
        """This endpoint's own MSRP URI: the rightmost of ``a=path``."""
        return self.path[-1]

    @property
    def first_hop(self) -> str:
        """Where the peer connects: the leftmost URI of ``a=path``."""
        return self.path[0]


def msrp_path_uri(host: str, port: int, session_id: str,
                  transport: MsrpTransport = MsrpTransport.TCP) -> str:
    """``msrp://host:port/session-id;tcp`` (``msrps`` for TLS; IPv6 in brackets)."""
    if not re.fullmatch(r"[A-Za-z0-9\-._~!$&'()*+,=:@%]+", session_id):
        raise LocalProtocolError(f"bad MSRP session-id {session_id!r}")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if not 0 < port <= 65535:
        raise LocalProtocolError(f"bad MSRP port {port}")
    return f"{transport.scheme}://{host}:{port}/{session_id};tcp"


_MsrpMediaBuilder = builder_for(MsrpMedia)
_MSRP_TRANSPORTS = {t.value: t for t in MsrpTransport}
_SETUPS = {s.value: s for s in Setup}


def _is_msrp(media: MediaDescription) -> bool:
    line = media.media_line
    return line.media == "message" and line.proto in _MSRP_TRANSPORTS


def _read_msrp(sd: SessionDescription, index: int) -> MsrpMedia:
    """:func:`_read_msrp_media`, read once per description and stream (the
    description and the result are immutable)."""
    cache = sd.__dict__.get("_msrp")
    if cache is None:
        cache = sd.__dict__["_msrp"] = {}
    found = cache.get(index)
    if found is None:
        found = cache[index] = _read_msrp_media(sd, index)
    return found


def _read_msrp_media(sd: SessionDescription, index: int) -> MsrpMedia:
    media = sd.media[index]
    offset = sd.offset_of(media.lines[0])
    line = media.media_line
    transport = _MSRP_TRANSPORTS[line.proto]

    def single(name: str) -> str | None:
        values = media.attribute_values(name)
        if len(values) > 1:
            raise SDPParseError(f"more than one a={name}", offset)
        if values and values[0] is None:
            raise SDPParseError(f"a={name} needs a value", offset)
        return values[0] if values else None

    path_value = single("path")
    accept_value = single("accept-types")
    if line.port == 0:
        path: tuple[str, ...] = ()
        accept: tuple[str, ...] = ()
    else:
        # RFC 4975 section 8 makes both a=path and a=accept-types mandatory
        # in an MSRP media description that is not rejected.
        if path_value is None:
            raise SDPParseError("MSRP media without a=path", offset)
        if accept_value is None:
            raise SDPParseError("MSRP media without a=accept-types", offset)
        path = tuple(path_value.split(" "))
        for uri in path:
            if _MSRP_URI_RE.fullmatch(uri) is None:
                raise SDPParseError(f"bad MSRP URI in a=path: {uri!r}", offset)
        accept = _format_list(accept_value, "accept-types", offset)
    wrapped_value = single("accept-wrapped-types")
    wrapped = () if wrapped_value is None else _format_list(wrapped_value, "accept-wrapped-types", offset)
    max_size_value = single("max-size")
    if max_size_value is not None and not _DIGITS_RE.fullmatch(max_size_value):
        raise SDPParseError(f"bad a=max-size {max_size_value!r}", offset)
    setup_value = single("setup")
    setup = None if setup_value is None else _SETUPS.get(setup_value)
    if setup_value is not None and setup is None:
        raise SDPParseError(f"bad a=setup {setup_value!r}", offset)
    msrp = _MsrpMediaBuilder()
    msrp.index = index
    msrp.port = line.port
    msrp.transport = transport
    msrp.connection = sd.connection_for(media)
    msrp.path = path
    msrp.accept_types = accept
    msrp.accept_wrapped_types = wrapped
    msrp.max_size = None if max_size_value is None else int(max_size_value)
    msrp.setup = setup
    msrp.__class__ = MsrpMedia
    return msrp


def _format_list(value: str, name: str, offset: int) -> tuple[str, ...]:
    entries = tuple(value.split(" "))
    for entry in entries:
        if _FORMAT_ENTRY_RE.fullmatch(entry) is None:
            raise SDPParseError(f"bad a={name} entry {entry!r}", offset)
    return entries


def msrp_media(sd: SessionDescription, index: int | None = None) -> MsrpMedia:
    """Read the MSRP stream at media ``index`` (default: the first one).

    Raises :class:`SDPParseError` when there is none or it lacks what RFC
    4975 section 8 makes mandatory.
    """
    if index is None:
        for candidate, media in enumerate(sd.media):
            if _is_msrp(media):
                return _read_msrp(sd, candidate)
        raise SDPParseError("no MSRP media (m=message ... TCP/MSRP or TCP/TLS/MSRP)", 0)
    if not 0 <= index < len(sd.media) or not _is_msrp(sd.media[index]):
        raise SDPParseError(f"media {index} is not an MSRP stream", 0)
    return _read_msrp(sd, index)


def _session_lines(username: str, session_id: int, session_version: int | None,
                   address: str, session_name: str) -> list[Line]:
    """The session level; the version defaults to the session id."""
    connection = Connection.for_address(address)
    version = session_id if session_version is None else session_version
    origin = Origin(username, session_id, version, "IN", connection.addrtype, address)
    return [Line("v", "0"), Line("o", str(origin)), Line("s", session_name),
            Line("c", str(connection)), Line("t", "0 0")]


def _msrp_lines(port: int, transport: MsrpTransport, path: Sequence[str],
                accept_types: Sequence[str], accept_wrapped_types: Sequence[str],
                max_size: int | None, setup: Setup | None) -> list[Line]:
    # RFC 4975 section 8.1: the media is "message", the format list "*".
    lines = [Line("m", str(MediaLine("message", port, transport.value, ("*",))))]
    lines.append(Attribute("accept-types", " ".join(accept_types)).line())
    if accept_wrapped_types:
        lines.append(Attribute("accept-wrapped-types", " ".join(accept_wrapped_types)).line())
    if max_size is not None:
        lines.append(Attribute("max-size", str(max_size)).line())
    lines.append(Attribute("path", " ".join(path)).line())
    if setup is not None:
        lines.append(Attribute("setup", setup.value).line())
    return lines


def _check_path(path: Sequence[str], transport: MsrpTransport) -> int | None:
    """Check the URIs; return the port of the rightmost (ours), if it has one."""
    if not path:
        raise LocalProtocolError("a=path needs at least one MSRP URI")
    for uri in path:
        if _MSRP_URI_RE.fullmatch(uri) is None:
            raise LocalProtocolError(f"bad MSRP URI {uri!r}")
    own = _MSRP_URI_RE.fullmatch(path[-1])
    assert own is not None
    if own.group(1).lower() != transport.scheme:
        raise LocalProtocolError(f"{transport.value} needs {transport.scheme}: URIs, not {path[-1]!r}")
    port = re.search(r":([0-9]+)$", own.group(2))
    return None if port is None else int(port.group(1))


def _media_port(port: int | None, path_port: int | None) -> int:
    chosen = path_port if port is None else port
    if chosen is None or not 0 < chosen <= 65535:
        raise LocalProtocolError("give port=, or a port in the a=path URI (1-65535)")
    return chosen


def _check_types(types: Sequence[str], name: str) -> None:
    for entry in types:
        if _FORMAT_ENTRY_RE.fullmatch(entry) is None:
            raise LocalProtocolError(f"bad {name} entry {entry!r}")


def _checked_msrp_inputs(path: str | Sequence[str], transport: MsrpTransport, accept_types: Sequence[str],
                         accept_wrapped_types: Sequence[str]) -> tuple[list[str], int | None]:
    """Check an offer's or answer's ``path`` and type lists: the path as a list
    of URIs and the port of ours (the rightmost), if it has one."""
    uris = [path] if isinstance(path, str) else list(path)
    path_port = _check_path(uris, transport)
    _check_types(accept_types, "accept-types")
    _check_types(accept_wrapped_types, "accept-wrapped-types")
    return uris, path_port


def build_msrp_offer(
    *,
    path: str | Sequence[str],
    session_id: int,
    session_version: int | None = None,
    accept_types: Sequence[str] = ("message/cpim", "text/plain"),
    accept_wrapped_types: Sequence[str] = (),
    max_size: int | None = None,
    setup: Setup | None = Setup.ACTPASS,
    address: str = "127.0.0.1",
    port: int | None = None,
    transport: MsrpTransport = MsrpTransport.TCP,
    username: str = "-",
    session_name: str = "-",
) -> SessionDescription:
    """An SDP offer for one MSRP stream (RFC 4975 section 8, RFC 6135).

    ``path`` is this endpoint's MSRP URI, or relays' URIs followed by it;
    ``port`` defaults to the port of that URI (the m-line port is not used
    to connect, ``a=path`` is).  ``setup`` defaults to ``actpass``, letting
    the answerer choose (RFC 6135); ``None`` leaves ``a=setup`` out, which
    makes the offerer the active side (RFC 4975).
    """
    uris, path_port = _checked_msrp_inputs(path, transport, accept_types, accept_wrapped_types)
    if not accept_types:
        raise LocalProtocolError("accept-types needs at least one entry")
    lines = _session_lines(username, session_id, session_version, address, session_name)
    lines += _msrp_lines(_media_port(port, path_port), transport, uris, accept_types,
                         accept_wrapped_types, max_size, setup)
    return SessionDescription.from_lines(lines)


def _type_matches(pattern: str, media_type: str) -> bool:
    if pattern == "*" or media_type == "*":
        return True
    p_type, p_sub = pattern.lower().split("/")
    m_type, m_sub = media_type.lower().split("/")
    return p_type == m_type and (p_sub == m_sub or "*" in (p_sub, m_sub))


def _specificity(media_type: str) -> int:
    return 0 if media_type in ("*", "*/*") else 1 if media_type.endswith("/*") else 2


def _intersect(ours: Sequence[str], offered: Sequence[str]) -> list[str]:
    """The types both lists admit, in our order: for each pair that matches,
    the more specific of the two (``text/*`` and ``text/plain`` give
    ``text/plain``; ``*`` and anything gives the other)."""
    result: list[str] = []
    for entry in ours:
        for other in offered:
            if _type_matches(entry, other):
                pick = entry if _specificity(entry) >= _specificity(other) else other
                if pick not in result:
                    result.append(pick)
    return result


def _answer_setup(offered: Setup | None, prefer: Setup) -> Setup:
    # RFC 4145 section 4.1: active -> passive; passive -> active;
    # actpass -> active or passive; holdconn -> holdconn.  RFC 4975's
    # connection model: without a=setup the offerer is active, so the
    # answerer is passive.
    if offered is None or offered is Setup.ACTIVE:
        return Setup.PASSIVE
    if offered is Setup.PASSIVE:
        return Setup.ACTIVE
    if offered is Setup.HOLDCONN:
        return Setup.HOLDCONN
    return prefer


def build_msrp_answer(
    offer: SessionDescription,
    *,
    path: str | Sequence[str],
    session_id: int,
    session_version: int | None = None,
    accept_types: Sequence[str] = ("message/cpim", "text/plain"),
    accept_wrapped_types: Sequence[str] = (),
    max_size: int | None = None,
    prefer: Setup = Setup.PASSIVE,
    address: str = "127.0.0.1",
    port: int | None = None,
    username: str = "-",
    session_name: str = "-",
) -> SessionDescription:
    """The answer to ``offer`` (RFC 3264 section 6): one m-line per offered one.

    The first MSRP stream is accepted with the accept-types (and wrapped
    types) both sides admit, in our order; it is rejected (port 0) when they
    share none.  Every other stream is rejected.  ``a=setup`` follows RFC
    4145: ``prefer`` (active or passive) is used when the offer says
    ``actpass``.  Raises :class:`SDPParseError` when the offer's MSRP stream
    is malformed and ``LocalProtocolError`` for bad arguments.
    """
    if prefer not in (Setup.ACTIVE, Setup.PASSIVE):
        raise LocalProtocolError("an answer chooses active or passive")
    offered = msrp_media(offer)
    uris, path_port = _checked_msrp_inputs(path, offered.transport, accept_types, accept_wrapped_types)
    lines = _session_lines(username, session_id, session_version, address, session_name)
    for index, media in enumerate(offer.media):
        line = media.media_line
        types = _intersect(accept_types, offered.accept_types)
        if index != offered.index or offered.rejected or not types:
            # RFC 3264 section 6: "An offered stream MAY be rejected in the
            # answer, by setting the port in the m-line to zero."
            lines.append(Line("m", str(MediaLine(line.media, 0, line.proto, line.formats))))
            continue
        wrapped = _intersect(accept_wrapped_types, offered.accept_wrapped_types)
        if not any(_type_matches(t, "message/cpim") for t in types):
            wrapped = []  # wrapped types only mean something inside a wrapper
        lines += _msrp_lines(_media_port(port, path_port), offered.transport, uris, types,
                             wrapped, max_size, _answer_setup(offered.setup, prefer))
    return SessionDescription.from_lines(lines)


def msrp_active_side(offer: SessionDescription, answer: SessionDescription) -> ActiveSide:
    """Which side opens the MSRP connection, from the first MSRP streams.

    RFC 4975's connection model: without ``a=setup`` the offerer is active.  RFC
    6135 (applying RFC 4145): an offer says active, passive or actpass; the
    answer picks active or passive, consistently.  An answer without
    ``a=setup`` comes from an RFC 4975-only peer: the offerer is active.
    Raises :class:`SetupNegotiationError` for combinations RFC 4145 forbids
    (including ``holdconn``: no connection is to be opened) and
    :class:`SDPParseError` when either side has no usable MSRP stream.
    """
    offered = msrp_media(offer).setup
    answered = msrp_media(answer).setup
    if Setup.HOLDCONN in (offered, answered):
        raise SetupNegotiationError("a=setup:holdconn: no connection is to be opened yet")
    if answered is None:
        return ActiveSide.OFFERER
    if answered is Setup.ACTPASS:
        raise SetupNegotiationError("an answer may not say a=setup:actpass")
    if answered is Setup.ACTIVE:
        if offered in (Setup.PASSIVE, Setup.ACTPASS):
            return ActiveSide.ANSWERER
        raise SetupNegotiationError(f"the offer says {_setup_name(offered)}, the answer active")
    if offered in (None, Setup.ACTIVE, Setup.ACTPASS):
        return ActiveSide.OFFERER
    raise SetupNegotiationError("both offer and answer say passive")


def _setup_name(setup: Setup | None) -> str:
    return "nothing (active by default)" if setup is None else setup.value
