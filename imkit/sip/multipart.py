"""multipart/mixed bodies (RFC 2046 section 5.1) as SIP uses them.

7.1.1.6 item 6 asks for "a Content-Type header with multipart/mixed as
specified in [RFC2046]" carrying the SDP offer and the URI list (RFC 5366);
a multiple REFER (RFC 5368) points from Refer-To at a body part by its
Content-ID.  Each part has its own header rows (Content-Type, Content-ID,
Content-Disposition) kept as :class:`~imkit.sip.headers.Headers`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError
from imkit.sip.errors import ParseError
from imkit.sip.headers import Headers, parse_header_block
from imkit.sip.values import ContentDisposition, MediaType

MAX_PARTS = 32


@dataclass(eq=True)
class BodyPart:
    """One part of a multipart body."""

    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def build(
        cls,
        body: bytes,
        content_type: str,
        *,
        content_id: str | None = None,
        disposition: str | None = None,
    ) -> "BodyPart":
        headers = Headers()
        headers.add("Content-Type", content_type)
        if disposition is not None:
            headers.add("Content-Disposition", disposition)
        if content_id is not None:
            headers.add("Content-ID", f"<{content_id}>")
        return cls(headers, body)

    @property
    def content_type(self) -> MediaType | None:
        value = self.headers.get("Content-Type")
        return None if value is None else MediaType.parse(value)

    @property
    def content_id(self) -> str | None:
        value = self.headers.get("Content-ID")
        return None if value is None else value.strip().strip("<>")

    @property
    def content_disposition(self) -> ContentDisposition | None:
        value = self.headers.get("Content-Disposition")
        return None if value is None else ContentDisposition.parse(value)

    def to_bytes(self) -> bytes:
        return self.headers.to_bytes() + b"\r\n" + self.body


@dataclass(eq=True)
class Multipart:
    """A multipart body: its boundary and parts, plus any preamble/epilogue."""

    parts: list[BodyPart]
    boundary: str = field(default_factory=lambda: "imkit-" + secrets.token_hex(8))
    subtype: str = "mixed"
    preamble: bytes = b""
    epilogue: bytes = b""

    @property
    def content_type(self) -> str:
        return f"multipart/{self.subtype};boundary={self.boundary}"

    def part_by_type(self, mime: str) -> BodyPart | None:
        for part in self.parts:
            media = part.content_type
            if media is not None and media.mime == mime.lower():
                return part
        return None

    def part_by_id(self, content_id: str) -> BodyPart | None:
        wanted = content_id.strip().strip("<>")
        for part in self.parts:
            if part.content_id == wanted:
                return part
        return None

    def __bytes__(self) -> bytes:
        delimiter = b"--" + self.boundary.encode("ascii")
        for part in self.parts:
            if delimiter in part.body:
                # RFC 2046 5.1.1: "the boundary delimiter MUST NOT appear inside any of the encapsulated parts"
                raise LocalProtocolError("multipart boundary occurs inside a body part")
        out = bytearray(self.preamble)
        for part in self.parts:
            out += delimiter + b"\r\n" + part.to_bytes() + b"\r\n"
        out += delimiter + b"--\r\n" + self.epilogue
        return bytes(out)

    @classmethod
    def parse(cls, body: bytes, content_type: MediaType | str) -> "Multipart":
        media = MediaType.parse(content_type) if isinstance(content_type, str) else content_type
        if media.type != "multipart":
            raise ParseError(f"{media.mime} is not a multipart type", 0)
        boundary = media.param("boundary")
        if not boundary or len(boundary) > 70:
            raise ParseError("multipart Content-Type needs a boundary of 1 to 70 characters", 0)
        delimiter = b"--" + boundary.encode("utf-8", "replace")
        first = _find_delimiter(body, delimiter, 0)
        if first == -1:
            raise ParseError("multipart boundary not found", 0)
        preamble = body[:first]
        parts: list[BodyPart] = []
        position = first
        while True:
            after = position + len(delimiter)
            if body[after : after + 2] == b"--":
                epilogue_start = after + 2
                if body[epilogue_start : epilogue_start + 2] == b"\r\n":
                    epilogue_start += 2
                return cls(parts, boundary, media.subtype, preamble, body[epilogue_start:])
            line_end = body.find(b"\n", after)
            if line_end == -1:
                raise ParseError("multipart delimiter line not terminated", after)
            content_start = line_end + 1
            nxt = _find_delimiter(body, delimiter, content_start)
            if nxt == -1:
                raise ParseError("multipart body has no closing delimiter", content_start)
            content_end = nxt - 2 if body[nxt - 2 : nxt] == b"\r\n" else nxt - 1
            parts.append(_parse_part(body[content_start:max(content_start, content_end)], content_start))
            if len(parts) > MAX_PARTS:
                raise ParseError(f"more than {MAX_PARTS} body parts", content_start)
            position = nxt


def _find_delimiter(body: bytes, delimiter: bytes, start: int) -> int:
    """A delimiter counts only at the start of the body or of a line."""
    while True:
        index = body.find(delimiter, start)
        if index == -1 or index == 0 or body[index - 1 : index] == b"\n":
            return index
        start = index + 1


def _parse_part(data: bytes, offset: int) -> BodyPart:
    if data.startswith(b"\r\n"):
        return BodyPart(Headers(), data[2:])
    if data.startswith(b"\n"):
        return BodyPart(Headers(), data[1:])
    end = data.find(b"\r\n\r\n")
    sep = 4
    if end == -1:
        end = data.find(b"\n\n")
        sep = 2
    if end == -1:
        return BodyPart(parse_header_block(data, base_offset=offset), b"")
    return BodyPart(parse_header_block(data[:end], base_offset=offset), data[end + sep :])
