"""Ladder diagrams of a trace as text: for the terminal, and as Mermaid.

Both draw one lane per endpoint name (an address, or the name a ``names``
mapping gives it, so one person's SIP and MSRP addresses can share a lane)
and one arrow per record, titled with the method or status (see
:attr:`TraceRecord.title`).  SIP and MSRP are drawn apart (``---`` and
``===`` in text; ``->>`` and ``-)`` in Mermaid), as are failed records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from imkit.trace.record import Address, Protocol, TraceRecord, format_address


@dataclass(frozen=True)
class Arrow:
    """One record placed on the ladder."""

    record: TraceRecord
    source: int
    destination: int
    failed: str | None

    @property
    def text(self) -> str:
        return self.record.summary


def lane_name(address: Address, names: Mapping[Address, str]) -> str:
    return names.get(address) or format_address(address)


def arrows(records: Iterable[TraceRecord], names: Mapping[Address, str],
           failed: Mapping[int, str]) -> tuple[list[str], list[Arrow]]:
    """Lanes (in order of first appearance) and the arrows between them."""
    lanes: list[str] = []
    placed: list[Arrow] = []

    def lane(address: Address) -> int:
        name = lane_name(address, names)
        if name not in lanes:
            lanes.append(name)
        return lanes.index(name)

    for record in records:
        source = lane(record.source)
        destination = lane(record.destination)
        placed.append(Arrow(record, source, destination, failed.get(record.seq)))
    return lanes, placed


# -- text -----------------------------------------------------------------------

_MIN_GAP = 12


def ladder_text(records: Iterable[TraceRecord], names: Mapping[Address, str],
                failed: Mapping[int, str]) -> str:
    """The ladder as lines of text: ``seq``, ``now``, then the lanes."""
    lanes, placed = arrows(records, names, failed)
    if not placed:
        return "(empty trace)\n"
    seq_width = max(len("seq"), *(len(str(a.record.seq)) for a in placed))
    time_width = max(len("time"), *(len(f"{a.record.now:.3f}") for a in placed))
    gap = max(_MIN_GAP, *(len(a.text) + 6 for a in placed), *(len(n) + 2 for n in lanes))
    left = seq_width + 1 + time_width + 2 + gap // 2
    columns = [left + index * gap for index in range(len(lanes))]
    width = columns[-1] + 1

    header = list(f"{'seq':>{seq_width}} {'time':>{time_width}}".ljust(width))
    for name, x in zip(lanes, columns, strict=True):
        shown = name if len(name) < gap else name[: gap - 2] + "~"
        start = max(0, x - len(shown) // 2)
        header[start:start + len(shown)] = shown
    out = ["".join(header).rstrip()]

    for arrow in placed:
        row = list(f"{arrow.record.seq:>{seq_width}} {arrow.record.now:>{time_width}.3f}".ljust(width))
        for x in columns:
            row[x] = "|"
        a, b = columns[arrow.source], columns[arrow.destination]
        shaft = "=" if arrow.record.protocol is Protocol.MSRP else "-"
        if a == b:
            row[a + 1:] = f"{shaft}{shaft}' {arrow.text}"
        else:
            lo, hi = min(a, b), max(a, b)
            body = [shaft] * (hi - lo - 1)
            if b > a:
                body[-1] = ">"
            else:
                body[0] = "<"
            label = f" {arrow.text} "
            start = (len(body) - len(label)) // 2
            body[start:start + len(label)] = label
            row[lo + 1:hi] = body
        line = "".join(row).rstrip()
        if arrow.failed is not None:
            line += f"   FAILED: {arrow.failed}"
        out.append(line)
    out.append("(--- SIP  === MSRP)")
    return "\n".join(out) + "\n"


# -- Mermaid -----------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text safe in a Mermaid statement: the characters Mermaid reads as
    syntax become its entity codes (``#59;`` for ``;``)."""
    out = []
    for char in text:
        if char in "#;<>\"" or ord(char) < 32:
            out.append(f"#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def to_mermaid(records: Iterable[TraceRecord], names: Mapping[Address, str],
               failed: Mapping[int, str]) -> str:
    """A Mermaid ``sequenceDiagram``: SIP requests ``->>``, responses
    ``-->>``; MSRP ``-)`` and ``--)``; failed records ``-x`` with a note."""
    lanes, placed = arrows(records, names, failed)
    out = ["sequenceDiagram"]
    out += [f"    participant L{index} as {_mermaid_text(name)}" for index, name in enumerate(lanes)]
    for arrow in placed:
        dashes = "--" if arrow.record.is_response else "-"
        if arrow.failed is not None:
            head = "x"
        elif arrow.record.protocol is Protocol.MSRP:
            head = ")"
        else:
            head = ">>"
        out.append(f"    L{arrow.source}{dashes}{head}L{arrow.destination}: {_mermaid_text(arrow.text)}")
        if arrow.failed is not None:
            out.append(f"    Note over L{arrow.destination}: FAILED: {_mermaid_text(arrow.failed)}")
    return "\n".join(out) + "\n"
