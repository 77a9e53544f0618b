"""name-addr and addr-spec header values (RFC 3261 sections 20.10, 20.20, 25.1).

From, To, Contact, Route, Record-Route, Refer-To, Referred-By and
P-Asserted-Identity all carry ``[display-name] <uri> *(;param)`` or a bare
``addr-spec *(;param)``.  In the bare form every ``;`` after the URI starts a
*header* parameter (RFC 3261 20.10: "if the URI is not enclosed in angle
brackets, any semicolon-delimited parameters are header-parameters, not URI
parameters"); :class:`NameAddr` remembers which form it came in.
"""

from __future__ import annotations

import dataclasses
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
    unquote,
)
from imkit.sip.uri import (
    FAST_BARE_SIP_URI,
    FAST_SIP_URI,
    URI,
    SipURI,
    make_sip_uri,
    parse_uri,
)


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A URI with an optional display name and header parameters."""

    uri: URI
    display_name: str | None = None
    params: Params = Params()
    angle: bool = True
    raw: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, offset: int = 0) -> "NameAddr":
        # What the fast path read is remembered by text (see
        # imkit.sip.params.remember).
        memo = _PARSED
        address = memo.get(text)
        if address is not None:
            return address
        address = _fast_name_addr(text.strip())
        if address is not None:
            if len(text) <= MEMO_MAX_TEXT:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[text] = address
            return address
        text = text.strip()
        if not text:
            raise ParseError("empty address", offset)
        lt = _find_unquoted(text, "<")
        if lt != -1:
            display = text[:lt].strip()
            gt = text.find(">", lt)
            if gt == -1:
                raise ParseError("'<' without '>' in address", offset + lt)
            uri = parse_uri(text[lt + 1 : gt].strip(), offset + lt + 1)
            tail = text[gt + 1 :].strip()
            display_name: str | None = None
            if display:
                if display.startswith('"'):
                    if not display.endswith('"') or len(display) < 2:
                        raise ParseError("unterminated display name", offset)
                    display_name = unquote(display)
                else:
                    display_name = display
            params = _parse_tail(tail, offset + gt + 1)
            return cls(uri, display_name, params, True, raw=text)
        semi = text.find(";")
        uri_text = text if semi == -1 else text[:semi]
        uri = parse_uri(uri_text.strip(), offset)
        params = Params() if semi == -1 else _parse_tail(text[semi:], offset + semi)
        return cls(uri, None, params, False, raw=text)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def with_param(self, name: str, value: str | None = None) -> "NameAddr":
        return dataclasses.replace(self, params=self.params.with_param(name, value), raw=None)

    def with_tag(self, tag: str) -> "NameAddr":
        return self.with_param("tag", tag)

    def replace(self, **changes: object) -> "NameAddr":
        return dataclasses.replace(self, raw=None, **changes)  # type: ignore[arg-type]

    @property
    def sip_uri(self) -> SipURI:
        if not isinstance(self.uri, SipURI):
            raise ParseError(f"expected a SIP URI, got {self.uri}", 0)
        return self.uri

    def __str__(self) -> str:
        if self.raw is not None:
            return self.raw
        uri_text = str(self.uri)
        needs_angle = (
            self.angle
            or self.display_name is not None
            or any(c in uri_text for c in ",;?")
        )
        if not needs_angle:
            return uri_text + str(self.params)
        display = ""
        if self.display_name is not None:
            words = self.display_name.split(" ")
            plain = all(is_token(w) for w in words) and self.display_name != ""
            display = (self.display_name if plain else quote(self.display_name)) + " "
        return f"{display}<{uri_text}>{self.params}"


# -- fast path -------------------------------------------------------------
# The common shapes, each matched in one go: ``[display] <sip-uri>;params``
# (the display name a run of tokens, or a quoted string without escapes)
# and a bare ``sip-uri;params``, both in the fast forms of uri.py and
# params.py, with no white space around "<", ">" or ";".  NameAddr.parse
# reads every text they match to the same value; anything else takes the
# exact path, which also reports errors with their offsets.

_FAST_ANGLE_RE = re.compile(
    rf'(?:({FAST_TOKEN}(?: ++{FAST_TOKEN})*+) *+|"([^"\\<>\r\n]*+)" *+)?<{FAST_SIP_URI}>({FAST_PARAMS})'
)
_FAST_BARE_RE = re.compile(rf"{FAST_BARE_SIP_URI}({FAST_PARAMS})")

_NameAddrBuilder = builder_for(NameAddr)
#: NameAddr.parse's answers by text (see imkit.sip.params.remember).
_PARSED: dict[str, NameAddr] = {}


def _fast_name_addr(text: str) -> NameAddr | None:
    match = _FAST_ANGLE_RE.fullmatch(text)
    if match is not None:
        token_display, quoted_display, scheme, user, host, port, uri_params, params = match.groups()
        uri_text = text[match.start(3) : match.end(7)]
        angle = True
        display = token_display if quoted_display is None else quoted_display
    else:
        match = _FAST_BARE_RE.fullmatch(text)
        if match is None:
            return None
        scheme, user, host, port, uri_params, params = match.groups()
        uri_text = text[: match.end(5)]
        angle = False
        display = None
    uri = make_sip_uri(scheme, user, host, port, uri_params, uri_text)
    if uri is None:
        return None
    address = _NameAddrBuilder()
    address.uri = uri
    address.display_name = display
    address.params = make_params(params[1:])
    address.angle = angle
    address.raw = text
    address.__class__ = NameAddr
    return address


def _find_unquoted(text: str, char: str) -> int:
    if '"' not in text:
        return text.find(char)
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == char:
            return i
        i += 1
    return -1


def _parse_tail(tail: str, offset: int) -> Params:
    if not tail:
        return Params()
    if not tail.startswith(";"):
        raise ParseError("junk after address", offset)
    try:
        return Params.parse(tail[1:])
    except ParseError as exc:
        raise ParseError(exc.what, offset + exc.offset) from None


def parse_address_list(value: str, offset: int = 0) -> list[NameAddr]:
    """Parse a comma-separated list of addresses (Contact, Route ...)."""
    from imkit.sip.headers import split_list

    return [NameAddr.parse(item, offset) for item in split_list(value)]
