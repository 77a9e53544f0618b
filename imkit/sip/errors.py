"""Errors raised by the SIP core (RFC 3261).

``imkit.sip.ParseError`` is what every SIP parser raises for malformed input:
it says what is wrong and at which byte offset of the input.
"""

from __future__ import annotations

from imkit.errors import ParseError as _BaseParseError


class ParseError(_BaseParseError):
    """Malformed SIP input (message, header value, URI, multipart body)."""


class FramingError(ParseError):
    """A stream cannot be split into messages (RFC 3261 section 18.3): the
    connection carrying it must be closed."""
