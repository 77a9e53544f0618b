"""The exception hierarchy shared by every imkit layer.

One base, :class:`ProtocolError`; parsers raise :class:`ParseError`, which says
what went wrong and at which byte offset; builders raise
:class:`LocalProtocolError` before a bad message is sent; a peer that breaks the
protocol (a response that matches nothing, a wrong state) gives
:class:`RemoteProtocolError`.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error imkit raises on purpose."""


class ParseError(ProtocolError):
    """Malformed input: ``what`` went wrong at byte ``offset`` of the input."""

    def __init__(self, what: str, offset: int = 0) -> None:
        super().__init__(f"{what} (at byte {offset})")
        self.what = what
        self.offset = offset


class LocalProtocolError(ProtocolError):
    """We were asked to build or send something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids in the current state."""
