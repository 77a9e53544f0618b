"""Random identifiers of SIP: branch, tag, Call-ID, initial CSeq, cnonce
(RFC 3261 sections 8.1.1.4, 8.1.1.5, 8.1.1.7, 19.3).

All randomness comes from one injectable source, any object with
``getrandbits(k)`` (``random.Random(seed)`` in tests, so every message the
core builds can be reproduced exactly).  The default is :class:`UrandomPool`:
the operating system's cryptographic random bytes, as
``secrets.SystemRandom`` gives them, read 4 KiB at a time rather than one
system call per identifier.  RFC 3261 19.3: tags need "at least 32 bits of
randomness" and must be unguessable; imkit's carry 64, branches 96 and
Call-IDs 128, all from that source.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Protocol

#: RFC 3261 8.1.1.7: "the branch ID inserted by an element compliant with this
#: specification MUST always begin with the characters "z9hG4bK"."
MAGIC_COOKIE = "z9hG4bK"

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class RandomSource(Protocol):
    """What the generator needs from a random source."""

    def getrandbits(self, k: int, /) -> int: ...


class UrandomPool:
    """``getrandbits`` from ``os.urandom``, like ``secrets.SystemRandom``
    (the same bits: the leading ``k`` of ``ceil(k / 8)`` random bytes), with
    the bytes read :data:`POOL_SIZE` at a time.  Safe across threads (a
    lock) and across ``fork`` (a child starts with an empty pool, never the
    bytes its parent will use)."""

    POOL_SIZE = 4096

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        self._lock = threading.Lock()

    def getrandbits(self, k: int, /) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        size = (k + 7) // 8
        if size > self.POOL_SIZE:
            return int.from_bytes(os.urandom(size), "big") >> (size * 8 - k)
        with self._lock:
            at = self._at
            if at + size > len(self._pool):
                self._pool = os.urandom(self.POOL_SIZE)
                at = 0
            self._at = at + size
            chunk = self._pool[at : at + size]
        return int.from_bytes(chunk, "big") >> (size * 8 - k)

    def _forget(self) -> None:
        self._pool = b""
        self._at = 0
        self._lock = threading.Lock()


_POOL = UrandomPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL._forget)


def _default_source() -> RandomSource:
    return _POOL


#: Every two-digit base-36 string, by value (00 .. zz).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def _word(rng: RandomSource, bits: int) -> str:
    value = rng.getrandbits(bits)
    # The base-36 digits, two at a time, without leading zeros.
    pairs: list[str] = []
    while True:
        value, rest = divmod(value, 1296)
        pairs.append(_PAIRS[rest])
        if value == 0:
            break
    digits = "".join(reversed(pairs)).lstrip("0") or "0"
    # fixed width so identifiers of one kind all have the same length
    width = (bits * 100 + 516) // 517  # ceil(bits / log2(36))
    return digits.rjust(width, "0")


@dataclass(slots=True)
class IdGenerator:
    """Makes the random identifiers a user agent needs."""

    rng: RandomSource = field(default_factory=_default_source)

    def branch(self) -> str:
        """A Via branch: unique "across space and time" (RFC 3261 8.1.1.7), with the magic cookie."""
        return MAGIC_COOKIE + _word(self.rng, 96)

    def tag(self) -> str:
        """A From/To tag: "at least 32 bits of randomness" (RFC 3261 19.3)."""
        return _word(self.rng, 64)

    def call_id(self, host: str | None = None) -> str:
        """A Call-ID, ``word@host`` when a host is given (RFC 3261 8.1.1.4)."""
        word = _word(self.rng, 128)
        return f"{word}@{host}" if host else word

    def cseq(self) -> int:
        """An initial CSeq number: "MUST be less than 2**31" (RFC 3261 8.1.1.5);
        kept small so a dialog never runs out of numbers."""
        return self.rng.getrandbits(15) + 1

    def cnonce(self) -> str:
        """A digest client nonce (RFC 7616 3.4)."""
        return _word(self.rng, 128)


_DEFAULT = IdGenerator()


def new_branch(rng: RandomSource | None = None) -> str:
    return (IdGenerator(rng) if rng is not None else _DEFAULT).branch()


def new_tag(rng: RandomSource | None = None) -> str:
    return (IdGenerator(rng) if rng is not None else _DEFAULT).tag()


def new_call_id(host: str | None = None, rng: RandomSource | None = None) -> str:
    return (IdGenerator(rng) if rng is not None else _DEFAULT).call_id(host)
