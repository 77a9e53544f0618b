"""Splitting messages into chunks and putting them back (RFC 4975 section 5.1).

A message travels as one or more SEND chunks sharing its Message-ID; each
says which bytes it carries in ``Byte-Range`` and ends with ``+`` (more
follow), ``$`` (last) or ``#`` (aborted).  :func:`cut` splits a body;
:class:`Reassembler` rebuilds incoming messages from chunks in any order,
tolerating duplicates and overlaps, with bounds on the size of each message
and on how many are in flight.  No clock is read: callers pass ``now``.
"""

from __future__ import annotations

import bisect
import enum
from collections import OrderedDict
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError
from imkit.msrp.headers import ByteRange
from imkit.msrp.message import Flag

__all__ = ["ChunkResult", "Outcome", "Reassembler", "cut"]


def cut(body: bytes, offset: int, chunk_size: int) -> tuple[ByteRange, bytes, bool]:
    """The chunk of ``body`` starting at ``offset`` (0-based): its Byte-Range,
    its bytes, and whether it is the last one."""
    if chunk_size < 1 or not 0 <= offset <= len(body):
        raise LocalProtocolError("chunk_size >= 1 and 0 <= offset <= len(body)")
    piece = body[offset:offset + chunk_size]
    # Byte-Range counts from 1 and its end is inclusive: 1-0/0 for no bytes.
    byte_range = ByteRange(offset + 1, offset + len(piece), len(body))
    return byte_range, piece, offset + len(piece) >= len(body)


class Outcome(enum.Enum):
    """What one incoming chunk did to its message."""

    PENDING = "pending"            # stored; the message is not complete yet
    COMPLETE = "complete"          # the message is complete (body in the result)
    DUPLICATE = "duplicate"        # belongs to a message already completed or aborted
    ABORTED = "aborted"            # the sender aborted the message (``#``)
    TOO_LARGE = "too-large"        # beyond the size bound: answer 413
    TOO_MANY = "too-many"          # too many messages in flight: answer 413
    INCONSISTENT = "inconsistent"  # contradicts earlier chunks of the message: answer 400


@dataclass(frozen=True)
class ChunkResult:
    outcome: Outcome
    body: bytes | None = None
    content_type: str | None = None


@dataclass
class _Partial:
    """One message being reassembled."""

    data: bytearray = field(default_factory=bytearray)
    starts: list[int] = field(default_factory=list)   # received intervals [start, end),
    ends: list[int] = field(default_factory=list)     # sorted, disjoint, not adjacent
    total: int | None = None
    content_type: str | None = None
    last_activity: float = 0.0

    def covered(self) -> bool:
        return self.total is not None and (
            self.total == 0 or (self.starts == [0] and self.ends == [self.total])
        )

    def received(self) -> int:
        return sum(end - start for start, end in zip(self.starts, self.ends))

    def add(self, start: int, piece: bytes) -> None:
        end = start + len(piece)
        if len(self.data) < end:
            self.data.extend(bytes(end - len(self.data)))
        self.data[start:end] = piece
        if start == end:
            return
        # merge [start, end) with every interval it touches
        left = bisect.bisect_left(self.ends, start)
        right = bisect.bisect_right(self.starts, end)
        if left < right:
            start = min(start, self.starts[left])
            end = max(end, self.ends[right - 1])
        self.starts[left:right] = [start]
        self.ends[left:right] = [end]


class Reassembler:
    """Incoming messages in flight, keyed by Message-ID.

    ``max_message_size`` bounds each message (its total, or how far its
    chunks reach); ``max_messages`` bounds how many are incomplete at once;
    the ids of the last ``remember`` finished messages are kept so late
    duplicates are recognised.
    """

    def __init__(self, *, max_message_size: int, max_messages: int, remember: int = 256) -> None:
        if max_message_size < 0 or max_messages < 1 or remember < 0:
            raise LocalProtocolError("bad reassembly bounds")
        self.max_message_size = max_message_size
        self.max_messages = max_messages
        self._remember = remember
        self._partial: dict[str, _Partial] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._partial)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._partial

    def received(self, message_id: str) -> int:
        """Bytes received so far of an incomplete message."""
        partial = self._partial.get(message_id)
        return 0 if partial is None else partial.received()

    def total(self, message_id: str) -> int | None:
        partial = self._partial.get(message_id)
        return None if partial is None else partial.total

    def add(
        self,
        message_id: str,
        byte_range: ByteRange | None,
        piece: bytes,
        flag: Flag,
        content_type: str | None,
        now: float,
    ) -> ChunkResult:
        """Store one chunk.  Without Byte-Range a chunk is ``1-*/*``; its
        body's length, not the range-end, says which bytes it carries."""
        if message_id in self._finished:
            return ChunkResult(Outcome.DUPLICATE)
        if flag is Flag.ABORT:
            # RFC 4975 section 5.1: "#" means the sender is aborting the
            # message; what was received of it is discarded.
            self._finish(message_id)
            return ChunkResult(Outcome.ABORTED)
        start = 0 if byte_range is None else byte_range.start - 1
        end = start + len(piece)
        total = None if byte_range is None else byte_range.total
        if flag is Flag.END:
            # The last chunk ends the message: its end is the total, whatever
            # total it declares (RFC 4975's own examples count bytes loosely).
            total = end
        elif total is not None and end > total:
            self.discard(message_id)
            return ChunkResult(Outcome.INCONSISTENT)
        if max(end, total or 0) > self.max_message_size:
            self.discard(message_id)
            return ChunkResult(Outcome.TOO_LARGE)
        partial = self._partial.get(message_id)
        if partial is None:
            if start == 0 and flag is Flag.END:
                # the common case: the whole message in one chunk
                self._finish(message_id)
                return ChunkResult(Outcome.COMPLETE, piece, content_type)
            if len(self._partial) >= self.max_messages:
                return ChunkResult(Outcome.TOO_MANY)
            partial = self._partial[message_id] = _Partial()
        if total is not None:
            if partial.total is not None and partial.total != total:
                self.discard(message_id)
                return ChunkResult(Outcome.INCONSISTENT)
            partial.total = total
        if partial.total is not None and partial.ends and partial.ends[-1] > partial.total:
            self.discard(message_id)
            return ChunkResult(Outcome.INCONSISTENT)
        if partial.content_type is None or start == 0:
            partial.content_type = content_type or partial.content_type
        partial.add(start, piece)
        partial.last_activity = now
        if partial.covered():
            assert partial.total is not None
            body = bytes(partial.data[:partial.total])
            self._finish(message_id)
            return ChunkResult(Outcome.COMPLETE, body, partial.content_type)
        return ChunkResult(Outcome.PENDING)

    def discard(self, message_id: str) -> None:
        """Forget an incomplete message (its later chunks start afresh)."""
        self._partial.pop(message_id, None)

    def _finish(self, message_id: str) -> None:
        self._partial.pop(message_id, None)
        if self._remember:
            self._finished[message_id] = None
            self._finished.move_to_end(message_id)
            while len(self._finished) > self._remember:
                self._finished.popitem(last=False)

    def next_expiry(self, idle_timeout: float) -> float | None:
        """When the first incomplete message will have been idle too long."""
        if not self._partial:
            return None
        return min(p.last_activity for p in self._partial.values()) + idle_timeout

    def expire(self, now: float, idle_timeout: float) -> list[str]:
        """Drop and return the messages idle for ``idle_timeout`` or more."""
        stale = [mid for mid, p in self._partial.items() if p.last_activity + idle_timeout <= now]
        for message_id in stale:
            self._finish(message_id)
        return stale
