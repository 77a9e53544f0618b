"""The trace recorder: :class:`Trace`.

The runtime calls :meth:`Trace.record` for every message it sends or
receives, with the same ``now`` the sans-IO core was given; listeners (live
widgets) are called with each new record.  The trace is bounded: past
``max_records`` the oldest records are dropped and counted in ``dropped``.

Exporters: JSON (:meth:`Trace.to_json`, :meth:`Trace.save`), pcap
(:meth:`Trace.to_pcap`), a text ladder for the terminal
(:meth:`Trace.ladder_text`), Mermaid (:meth:`Trace.to_mermaid`) and a
graphviz ladder (:meth:`Trace.to_graphviz`, shown by Jupyter through
``_repr_svg_``).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, overload

from imkit.trace import jsonio, ladder, pcap
from imkit.trace.notes import Note
from imkit.trace.provenance import Provenance
from imkit.trace.record import Address, Direction, Protocol, TraceRecord, Transport

if TYPE_CHECKING:
    import graphviz

__all__ = ["Trace", "DEFAULT_MAX_RECORDS"]

DEFAULT_MAX_RECORDS = 10000

Listener = Callable[[TraceRecord], None]
_log = logging.getLogger("imkit.trace")


class Trace:
    """What happened on the wire, in order, with what made each header.

    ``names`` maps an address to the name of the endpoint it belongs to
    (e.g. both Alice's SIP and MSRP addresses to ``"alice"``): the ladders
    draw one lane per name.  ``failed`` maps a record's ``seq`` to why it
    failed (a conformance rule, a timeout): those arrows are drawn red.
    ``notes`` holds what the client did that does not travel on the wire
    (:class:`~imkit.trace.notes.Note`, added with :meth:`note`), bounded
    like the records.
    """

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS,
                 names: Mapping[Address, str] | None = None) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self.max_records = max_records
        self.names: dict[Address, str] = dict(names or {})
        self.failed: dict[int, str] = {}
        self.dropped = 0
        self._records: deque[TraceRecord] = deque(maxlen=max_records)
        self._notes: deque[Note] = deque(maxlen=max_records)
        self._next_seq = 0
        self._listeners: list[Listener] = []

    # -- recording ------------------------------------------------------------
    def record(
        self,
        now: float,
        direction: Direction,
        protocol: Protocol,
        transport: Transport,
        local: Address,
        remote: Address,
        raw: bytes,
        provenance: Mapping[str, list[Provenance]] | None = None,
        label: str | None = None,
    ) -> TraceRecord:
        """Append one message; return its record (after telling listeners)."""
        entry = TraceRecord(self._next_seq, now, direction, protocol, transport,
                            tuple(local), tuple(remote), bytes(raw),  # type: ignore[arg-type]
                            provenance or {}, label)
        self._append(entry)
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:  # a broken widget must not stop the SIP engine
                _log.exception("trace listener %r failed", listener)
        return entry

    def _append(self, entry: TraceRecord) -> None:
        if len(self._records) == self.max_records:
            dropped = self._records[0]
            self.dropped += 1
            self.failed.pop(dropped.seq, None)
        self._records.append(entry)
        self._next_seq = entry.seq + 1

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(record)`` for each new record; returns an
        unsubscribe function.  A listener's exception is logged, not raised."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def note(self, note: Note) -> None:
        """Keep a note of something the client did off the wire."""
        if not isinstance(note, Note) or not math.isfinite(note.now):
            raise ValueError(f"not a note with a finite time: {note!r}")
        self._notes.append(note)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(self._notes)

    def mark_failed(self, seq: int, reason: str) -> None:
        """Mark the record numbered ``seq`` as failed, for the ladders."""
        self.by_seq(seq)
        self.failed[seq] = reason

    # -- reading ----------------------------------------------------------------
    @property
    def records(self) -> tuple[TraceRecord, ...]:
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(tuple(self._records))

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[TraceRecord, ...]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | tuple[TraceRecord, ...]:
        """By position among the records kept (not by ``seq``)."""
        return self.records[index]

    def by_seq(self, seq: int) -> TraceRecord:
        """The record numbered ``seq``; ``KeyError`` if unknown or dropped."""
        if self._records:
            position = seq - self._records[0].seq
            if 0 <= position < len(self._records):
                return self._records[position]
        raise KeyError(f"no record {seq} in this trace")

    def __repr__(self) -> str:
        return f"<Trace {len(self)} records, {self.dropped} dropped>"

    # -- JSON ---------------------------------------------------------------------
    def to_json(self) -> str:
        """Everything: records (raw bytes in base64), names, failures, notes, counters."""
        return jsonio.dumps(self.records, self.max_records, self.dropped, self.names, self.failed,
                            self.notes)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """Load :meth:`to_json` output; raises ``TraceFormatError`` (a ParseError)."""
        loaded = jsonio.loads(text)
        trace = cls(loaded.max_records, loaded.names)
        for entry in loaded.records:
            trace._append(entry)
        trace.dropped = loaded.dropped
        trace.failed = dict(loaded.failed)
        trace._notes.extend(loaded.notes)
        return trace

    def save(self, path: str | PathLike[str]) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Trace:
        return cls.from_json(Path(path).read_bytes())

    # -- pcap -----------------------------------------------------------------------
    def to_pcap(self, path: str | PathLike[str] | None = None, *, time_offset: float = 0.0) -> bytes:
        """The trace as a libpcap capture (see :mod:`imkit.trace.pcap`),
        written to ``path`` when given; returns the bytes."""
        if path is None:
            return pcap.pcap_bytes(self.records, time_offset=time_offset)
        return pcap.write_pcap(path, self.records, time_offset=time_offset)

    def tshark_decode_as(self) -> list[str]:
        """``-d`` arguments for tshark/Wireshark (see :func:`imkit.trace.pcap.tshark_decode_as`)."""
        return pcap.tshark_decode_as(self.records)

    # -- pictures ---------------------------------------------------------------------
    def _names(self, names: Mapping[Address, str] | None) -> Mapping[Address, str]:
        return {**self.names, **(names or {})}

    def _failed(self, failed: Mapping[int, str] | set[int] | None) -> dict[int, str]:
        extra = {seq: "failed" for seq in failed} if isinstance(failed, set) else dict(failed or {})
        return {**self.failed, **extra}

    def ladder_text(self, names: Mapping[Address, str] | None = None,
                    failed: Mapping[int, str] | set[int] | None = None) -> str:
        """A plain-text ladder, one lane per endpoint, for the terminal."""
        return ladder.ladder_text(self.records, self._names(names), self._failed(failed))

    def to_mermaid(self, names: Mapping[Address, str] | None = None,
                   failed: Mapping[int, str] | set[int] | None = None) -> str:
        """A Mermaid ``sequenceDiagram``."""
        return ladder.to_mermaid(self.records, self._names(names), self._failed(failed))

    def to_graphviz(self, names: Mapping[Address, str] | None = None,
                    failed: Mapping[int, str] | set[int] | None = None) -> graphviz.Digraph:
        """A graphviz ladder (needs the ``graphviz`` package; ``dot`` to render)."""
        from imkit.trace import graphviz_ladder

        return graphviz_ladder.to_graphviz(self.records, self._names(names), self._failed(failed))

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the trace; ``None`` (text repr instead) when
        graphviz is not installed or there is nothing to draw."""
        if not self._records:
            return None
        try:
            import graphviz
        except ImportError:
            return None
        try:
            return self.to_graphviz().pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            return None
