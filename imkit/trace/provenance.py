"""Why a header is in a message: the spec clause and item that put it there.

The procedures layer (one module per OMA IM clause 7.1.1.x) records, for each
header a builder adds, a :class:`Provenance`; the trace keeps them beside the
raw bytes so a widget can show "Accept-Contact <- 7.1.1.1 item 1".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provenance:
    """Clause and item of the spec (e.g. ``"7.1.1.1"``, ``"1"``), and a note."""

    clause: str
    item: str
    note: str = ""

    def __str__(self) -> str:
        # "7.1.1.1 item 1" for the spec's items; "RFC 3261 8.1.1.7" for an RFC section
        if not self.item:
            text = self.clause
        elif self.clause.startswith("RFC"):
            text = f"{self.clause} {self.item}"
        else:
            text = f"{self.clause} item {self.item}"
        return f"{text} ({self.note})" if self.note else text
