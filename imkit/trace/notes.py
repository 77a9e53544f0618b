"""Notes: what the client did that does not travel on the wire.

7.1.1 has rules about the client's own state ("SHALL store the IM Session
Identity", "SHALL start the SIP Session timer", "SHOULD notify the IM User").
The client writes a :class:`Note` when it does such a thing, keyed by the rule
(or a short fact name such as ``anonymous`` or ``session-identity``), with the
value it acted on and the message it is about (Call-ID, CSeq, and for a
response its status), so a conformance check can compare the note with the
message and fail when the client did not do what the message asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Note:
    now: float
    key: str
    text: str
    call_id: str | None = None
    cseq: int | None = None
    method: str | None = None
    status: int | None = None

    @classmethod
    def about(cls, now: float, key: str, text: str, message: Any = None) -> "Note":
        """A note about ``message`` (a SIP request or response), or about nothing."""
        if message is None:
            return cls(now, key, text)
        cseq = message.cseq
        return cls(
            now, key, text, message.call_id,
            cseq.seq if cseq else None, cseq.method if cseq else None,
            getattr(message, "status", None),
        )

    def is_about(self, message: Any) -> bool:
        """Whether this note concerns ``message`` (same Call-ID and CSeq, and
        status for a response)."""
        if message is None or self.call_id is None:
            return False
        cseq = message.cseq
        return (
            message.call_id == self.call_id
            and cseq is not None
            and cseq.seq == self.cseq
            and cseq.method == self.method
            and getattr(message, "status", None) == self.status
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Note":
        return cls(**data)
