"""The message inspector's model: one record of a trace, every byte explained.

Pick a record by its ``seq`` (the number on the ladder's left): its
addresses and time, the header rows with the clause item that put each
there and the rules decided on it, the bytes line by line (line ends and
invisible bytes shown, byte offsets in the margin), a hex dump, and the
verdicts of the conformance report for that message.  A record whose bytes
do not parse shows the :class:`~imkit.errors.ParseError` at its offset.
"""

from __future__ import annotations

from imkit.conformance import Result
from imkit.trace import TraceRecord
from imkit.widgets.events import Listeners
from imkit.widgets.html import esc, hexdump_html, wire_html
from imkit.widgets.live import LiveTrace
from imkit.widgets.reprs import record_headers_html, record_meta_html, results_html

__all__ = ["InspectorModel", "record_option"]

_DIRECTION = {"sent": "→", "received": "←"}


def record_option(record: TraceRecord, failed: bool = False) -> str:
    """A record as one line of the picker: seq, time, direction, summary."""
    mark = "  ✗" if failed else ""
    return f"#{record.seq}  {record.now:.3f}  {_DIRECTION[record.direction.value]} {record.summary}{mark}"


class InspectorModel:
    """The record ``seq`` of ``live``'s trace; views subscribe to ``changed``.

    With ``follow`` the newest record is selected as records arrive.
    """

    def __init__(self, live: LiveTrace, *, seq: int | None = None, follow: bool = False) -> None:
        self.live = live
        self.follow = follow
        self.seq: int | None = None
        self.changed = Listeners()
        self._unsubscribe = live.changed.subscribe(self._trace_changed)
        records = live.records
        if seq is not None:
            self.select(seq)
        elif records:
            self.seq = records[-1].seq if follow else records[0].seq

    def close(self) -> None:
        self._unsubscribe()

    def _trace_changed(self) -> None:
        records = self.live.records
        if not records:
            self.seq = None
        elif self.follow or self.seq is None:
            self.seq = records[-1].seq
        elif self.seq < records[0].seq:  # dropped by the trace's bound
            self.seq = records[0].seq
        self.changed.emit()

    # -- choosing ---------------------------------------------------------------------
    @property
    def options(self) -> list[tuple[str, int]]:
        failed = self.live.failed
        return [(record_option(r, r.seq in failed), r.seq) for r in self.live.records]

    def set_follow(self, follow: bool) -> None:
        """Follow the newest record (selecting it now), or stop following."""
        self.follow = follow
        records = self.live.records
        if follow and records:
            self.seq = records[-1].seq
        self.changed.emit()

    def select(self, seq: int) -> None:
        self.live.trace.by_seq(seq)  # KeyError when unknown or dropped
        if seq != self.seq:
            self.seq = seq
            self.changed.emit()

    def step(self, delta: int) -> None:
        """Select the record ``delta`` places later (earlier when negative)."""
        seqs = [r.seq for r in self.live.records]
        if not seqs:
            return
        index = seqs.index(self.seq) if self.seq in seqs else 0
        self.select(seqs[max(0, min(len(seqs) - 1, index + delta))])

    # -- what is shown ------------------------------------------------------------------
    @property
    def record(self) -> TraceRecord | None:
        if self.seq is None:
            return None
        try:
            return self.live.trace.by_seq(self.seq)
        except KeyError:
            return None

    @property
    def results(self) -> list[Result]:
        return self.live.results_for(self.seq) if self.seq is not None else []

    def meta_html(self) -> str:
        record = self.record
        if record is None:
            return "<i>no record selected</i>"
        why = self.live.failed.get(record.seq)
        failed = f"<div style='color:#cf222e'><b>failed</b>: {esc(why)}</div>" if why else ""
        return record_meta_html(record, self.live.all_names) + failed

    def headers_html(self) -> str:
        record = self.record
        return record_headers_html(record, self.results) if record is not None else ""

    def bytes_html(self) -> str:
        record = self.record
        return wire_html(record.raw) if record is not None else ""

    def hex_html(self) -> str:
        record = self.record
        return hexdump_html(record.raw) if record is not None else ""

    def rules_html(self) -> str:
        if self.record is None:
            return ""
        if self.live.report is None:
            return "<i>no conformance report: give the live trace a check</i>"
        return results_html(self.results)

    def _repr_html_(self) -> str:
        return (f"<div>{self.meta_html()}{self.headers_html()}<b>rules</b>{self.rules_html()}"
                f"<b>bytes</b>{self.bytes_html()}</div>")
