"""The errors of the MSRP (RFC 4975) and CPIM (RFC 3862) core.

:class:`ParseError` is what every parser here raises for malformed input,
whatever the bytes; it is an :class:`imkit.errors.ParseError`, so it says what
went wrong and at which byte offset.  Builders raise
:class:`imkit.errors.LocalProtocolError`; :class:`HeaderValueError` is the
one a malformed typed header value gives, naming the header so the parser can
point at its line.
"""

from __future__ import annotations

from imkit.errors import LocalProtocolError
from imkit.errors import ParseError as _BaseParseError

__all__ = ["HeaderValueError", "ParseError"]


class ParseError(_BaseParseError):
    """Malformed MSRP or CPIM input: ``what`` is wrong at byte ``offset``."""


class HeaderValueError(LocalProtocolError):
    """The value of header ``name`` does not follow its syntax."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"{name}: {what}")
        self.name = name
        self.what = what
