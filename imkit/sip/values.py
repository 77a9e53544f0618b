"""Typed values of the SIP header fields imkit reads and writes.

Each class parses one header's grammar and writes it back: Via (RFC 3261
20.42, RFC 3581 rport), CSeq (20.16), Content-Type (20.15, RFC 2045),
Content-Disposition (20.11), Session-Expires and Min-SE (RFC 4028 sections 4,
5), Event (RFC 6665 section 8.2.1), Subscription-State (RFC 6665 8.2.3),
Replaces (RFC 3891 section 6.1), feature-tag headers such as Accept-Contact
(RFC 3841 section 10) and authentication challenges and credentials
(RFC 3261 25.1, RFC 7616).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from imkit.sip.errors import ParseError
from imkit.sip.headers import is_token
from imkit.sip.params import (
    FAST_PARAMS,
    FAST_TOKEN,
    MEMO_LIMIT,
    MEMO_MAX_TEXT,
    Params,
    builder_for,
    make_params,
    quote,
    remember,
    split_outside_quotes,
    unquote,
)
from imkit.sip.uri import FAST_HOST, _parse_hostport

# -- fast paths ------------------------------------------------------------
# The common shapes of Via and CSeq, matched in one go; each parse method
# reads every text its pattern matches to the same value as its exact path,
# which handles everything else and reports errors with their offsets.

#: ``SIP/2.0/TCP host[:port];params``: host name or IPv4 address, one or
#: more spaces after the sent-protocol, none elsewhere.
_FAST_VIA_RE = re.compile(
    rf"({FAST_TOKEN})/({FAST_TOKEN})/({FAST_TOKEN}) ++({FAST_HOST})(?::([0-9]{{1,5}}))?+({FAST_PARAMS})"
)
#: ``314159 INVITE``.
_FAST_CSEQ_RE = re.compile(rf"([0-9]{{1,10}}) ++({FAST_TOKEN})")


def _token(text: str, what: str, offset: int) -> str:
    text = text.strip()
    if not is_token(text):
        raise ParseError(f"{what}: {text[:40]!r} is not a token", offset)
    return text


def _split_value_params(text: str, offset: int) -> tuple[str, Params]:
    head, sep, tail = text.partition(";")
    try:
        params = Params.parse(tail) if sep else Params()
    except ParseError as exc:
        raise ParseError(exc.what, offset + len(head) + 1) from None
    return head.strip(), params


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = Params()
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "Via":
        # What the fast path read is remembered by text (see
        # imkit.sip.params.remember).
        memo = _PARSED_VIAS
        via = memo.get(text)
        if via is not None:
            return via
        match = _FAST_VIA_RE.fullmatch(text)
        if match is not None:
            name, version, transport, host, port_text, params_text = match.groups()
            port = None if port_text is None else int(port_text)
            if port is None or port <= 65535:
                via = _ViaBuilder()
                via.transport = transport.upper()
                via.host = host
                via.port = port
                via.params = make_params(params_text[1:])
                via.protocol = f"{name}/{version}"
                via.__class__ = Via
                if len(text) <= MEMO_MAX_TEXT:
                    if len(memo) >= MEMO_LIMIT:
                        memo.clear()
                    memo[text] = via
                return via
        head, params = _split_value_params(text, offset)
        parts = head.split(None, 1)
        if len(parts) != 2:
            raise ParseError("Via needs sent-protocol and sent-by", offset)
        protocol_parts = [p.strip() for p in parts[0].split("/")]
        if len(protocol_parts) != 3 or not all(is_token(p) for p in protocol_parts):
            raise ParseError(f"malformed Via sent-protocol {parts[0]!r}", offset)
        sent_by = parts[1].strip()
        host, port = _parse_hostport(sent_by.replace(" ", ""), offset + len(parts[0]) + 1)
        return cls(
            transport=protocol_parts[2].upper(), host=host, port=port, params=params,
            protocol=f"{protocol_parts[0]}/{protocol_parts[1]}",
        )

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        value = self.params.get("rport")
        return int(value) if value and value.isdigit() else None

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def with_param(self, name: str, value: str | None = None) -> "Via":
        via = _ViaBuilder()
        via.transport = self.transport
        via.host = self.host
        via.port = self.port
        via.params = self.params.with_param(name, value)
        via.protocol = self.protocol
        via.__class__ = Via
        return via

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{self.params}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 314159 INVITE``: the sequence number (< 2**31) and method."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "CSeq":
        # What the fast path read is remembered by text (see
        # imkit.sip.params.remember).
        memo = _PARSED_CSEQS
        cseq = memo.get(text)
        if cseq is not None:
            return cseq
        match = _FAST_CSEQ_RE.fullmatch(text)
        if match is not None:
            seq = int(match[1])
            if seq < 2**31:
                cseq = _CSeqBuilder()
                cseq.seq = seq
                cseq.method = match[2]
                cseq.__class__ = CSeq
                if len(text) <= MEMO_MAX_TEXT:
                    if len(memo) >= MEMO_LIMIT:
                        memo.clear()
                    memo[text] = cseq
                return cseq
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
            raise ParseError(f"malformed CSeq {text[:40]!r}", offset)
        seq = int(parts[0])
        # RFC 3261 8.1.1.5: "The sequence number MUST be expressible as a 32-bit unsigned integer and MUST be less than 2**31."
        if seq >= 2**31:
            raise ParseError("CSeq number must be less than 2**31", offset)
        return cls(seq, _token(parts[1], "CSeq method", offset))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


@dataclass(frozen=True, slots=True)
class MediaType:
    """Content-Type: ``type/subtype;param=value``."""

    type: str
    subtype: str
    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "MediaType":
        if cls is MediaType:
            found = _PARSED_MEDIA_TYPES.get(text)
            if found is not None:
                return found
            parsed = cls._parse(text, offset)
            if len(text) <= MEMO_MAX_TEXT:
                remember(_PARSED_MEDIA_TYPES, text, parsed)
            return parsed
        return cls._parse(text, offset)

    @classmethod
    def _parse(cls, text: str, offset: int) -> MediaType:
        head, params = _split_value_params(text, offset)
        main, slash, sub = head.partition("/")
        if not slash:
            raise ParseError(f"media type {head!r} lacks '/'", offset)
        return cls(_token(main, "media type", offset).lower(), _token(sub, "media subtype", offset).lower(), params)

    @property
    def mime(self) -> str:
        return f"{self.type}/{self.subtype}"

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def __str__(self) -> str:
        return f"{self.mime}{self.params}"


@dataclass(frozen=True, slots=True)
class TokenWithParams:
    """A token followed by parameters: Content-Disposition (``recipient-list;
    handling=required``), Event (``conference;id=1``), Subscription-State
    (``active;expires=600``), Min-SE and the like."""

    value: str
    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "TokenWithParams":
        head, params = _split_value_params(text, offset)
        return cls(_token(head, "value", offset), params)

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def __str__(self) -> str:
        return f"{self.value}{self.params}"


_ViaBuilder = builder_for(Via)
_CSeqBuilder = builder_for(CSeq)
#: The parse methods' answers by text (see imkit.sip.params.remember).
_PARSED_VIAS: dict[str, Via] = {}
_PARSED_CSEQS: dict[str, CSeq] = {}
_PARSED_MEDIA_TYPES: dict[str, MediaType] = {}

ContentDisposition = TokenWithParams
Event = TokenWithParams


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """RFC 6665 8.2.3: ``active;expires=N``, ``pending``, ``terminated;reason=...``."""

    state: str
    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "SubscriptionState":
        parsed = TokenWithParams.parse(text, offset)
        return cls(parsed.value.lower(), parsed.params)

    @property
    def expires(self) -> int | None:
        value = self.params.get("expires")
        return int(value) if value and value.isdigit() else None

    @property
    def reason(self) -> str | None:
        return self.params.get("reason")

    def __str__(self) -> str:
        return f"{self.state}{self.params}"


@dataclass(frozen=True, slots=True)
class SessionExpires:
    """RFC 4028 section 4: ``Session-Expires: 1800;refresher=uac``."""

    delta: int
    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "SessionExpires":
        head, params = _split_value_params(text, offset)
        if not head.isdigit() or not head.isascii():
            raise ParseError(f"malformed delta-seconds {head!r}", offset)
        refresher = params.get("refresher")
        if refresher is not None and refresher.lower() not in ("uac", "uas"):
            raise ParseError(f"refresher must be uac or uas, not {refresher!r}", offset)
        return cls(int(head), params)

    @property
    def refresher(self) -> str | None:
        value = self.params.get("refresher")
        return value.lower() if value else None

    def __str__(self) -> str:
        return f"{self.delta}{self.params}"


@dataclass(frozen=True, slots=True)
class Replaces:
    """RFC 3891 section 6.1: ``call-id;to-tag=..;from-tag=..[;early-only]``."""

    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False
    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "Replaces":
        head, params = _split_value_params(text, offset)
        to_tag = params.get("to-tag")
        from_tag = params.get("from-tag")
        if not head or to_tag is None or from_tag is None:
            raise ParseError("Replaces needs call-id, to-tag and from-tag", offset)
        return cls(head, to_tag, from_tag, "early-only" in params, params)

    def __str__(self) -> str:
        text = f"{self.call_id};to-tag={self.to_tag};from-tag={self.from_tag}"
        if self.early_only:
            text += ";early-only"
        extra = self.params.without("to-tag").without("from-tag").without("early-only")
        return text + str(extra)


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """A caller-preferences value (RFC 3841 section 10): ``*;+g.oma.sip-im;explicit``."""

    params: Params = Params()

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "FeatureSet":
        head, params = _split_value_params(text, offset)
        if head != "*":
            raise ParseError(f"feature set must start with '*', not {head!r}", offset)
        return cls(params)

    def has(self, tag: str) -> bool:
        return tag in self.params

    def __str__(self) -> str:
        return f"*{self.params}"


@dataclass(frozen=True, slots=True)
class Challenge:
    """An authentication challenge or credentials: ``Digest realm="x", nonce="y"``
    (WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization).
    Parameter values are kept as written; :meth:`param` unquotes."""

    scheme: str
    items: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "Challenge":
        text = text.strip()
        scheme, _, rest = text.partition(" ")
        scheme = _token(scheme, "auth scheme", offset)
        items: list[tuple[str, str]] = []
        for part in split_outside_quotes(rest, ","):
            part = part.strip()
            if not part:
                continue
            name, eq, value = part.partition("=")
            if not eq or not is_token(name.strip()):
                raise ParseError(f"malformed auth parameter {part[:40]!r}", offset)
            items.append((name.strip(), value.strip()))
        return cls(scheme, tuple(items))

    def param(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for n, v in self.items:
            if n.lower() == lowered:
                return unquote(v)
        return default

    def __str__(self) -> str:
        return f"{self.scheme} " + ", ".join(f"{n}={v}" for n, v in self.items)


def quoted_param(name: str, value: str) -> tuple[str, str]:
    """An auth parameter whose value is a quoted-string."""
    return name, quote(value)
