"""What the client keeps about an IM Session, as 7.1.1 asks it to.

"SHALL store the IM Session Identity if received in the Contact header"
(7.1.1.2 to .6, .9, .10), the Allow list and Contact of 7.1.1.1, the session
timer of 7.1.1.1/7.1.1.8, and, after leaving, the session id for a while so
the user can rejoin (7.1.1.12 NOTE, 7.1.1.9 item 1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from imkit.procedures.general import SessionTimer, StoredServerInfo
from imkit.sip import SipURI
from imkit.sip.dialog import Dialog


class SessionKind(enum.Enum):
    ONE_TO_ONE = "1-1 (7.1.1.2)"
    ADHOC = "ad-hoc conference (7.1.1.3)"
    PREDEFINED = "pre-defined group (7.1.1.4)"
    EXTENDED = "1-1 extended to ad-hoc (7.1.1.6)"
    REJOINED = "rejoined conference (7.1.1.9)"
    PUBLIC = "public conference (7.1.1.10)"

    @property
    def is_group(self) -> bool:
        return self is not SessionKind.ONE_TO_ONE


class SessionPhase(enum.Enum):
    INVITING = "inviting"
    ESTABLISHED = "established"
    CANCELLED = "cancelled"
    FAILED = "failed"
    ENDED = "ended"


@dataclass
class SessionState:
    """One IM Session as the client knows it."""

    kind: SessionKind
    target: SipURI
    phase: SessionPhase = SessionPhase.INVITING
    dialog: Dialog | None = None
    identity: SipURI | None = None
    server: StoredServerInfo = field(default_factory=StoredServerInfo)
    timer: SessionTimer | None = None
    offer: bytes = b""
    answer: bytes = b""
    ended_at: float | None = None

    @property
    def is_group(self) -> bool:
        return self.kind.is_group
