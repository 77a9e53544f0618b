"""Errors a procedure raises to tell the IM User why nothing was sent."""

from __future__ import annotations

from imkit.errors import LocalProtocolError


class ProcedureError(LocalProtocolError):
    """A procedure refused to run; ``rule`` is the clause item that says so."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(f"{message} [{rule}]")
        self.rule = rule


class GroupSizeExceeded(ProcedureError):
    """7.1.1.3 item 4, 7.1.1.6 item 5, 7.1.1.7 item 5: "If exceeded, the IM
    Client SHOULD notify the IM User" -- this exception is that notice; the
    request was not sent."""

    def __init__(self, invited: int, maximum: int, rule: str) -> None:
        super().__init__(
            f"{invited} invited IM Users exceed MAX-ADHOC-GROUP-SIZE of {maximum}", rule
        )
        self.invited = invited
        self.maximum = maximum


class NoStoredSessionIdentity(ProcedureError):
    """7.1.1.9 item 1: "If it is not, then the IM Client SHALL display an error
    message to the IM user" -- the session id to rejoin is not stored."""


class NotCancellable(ProcedureError):
    """7.1.1.13: only an ad-hoc or pre-defined conference INVITE without a
    final response may be cancelled."""
