"""Random identifiers of SIP: branch, tag, Call-ID, initial CSeq, cnonce
(RFC 3261 sections 8.1.1.4, 8.1.1.5, 8.1.1.7, 19.3).

All randomness comes from one injectable source, any object with
``getrandbits(k)`` (``random.Random(seed)`` in tests, ``secrets.SystemRandom()``
otherwise), so every message the core builds can be reproduced exactly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

#: RFC 3261 8.1.1.7: "the branch ID inserted by an element compliant with this
#: specification MUST always begin with the characters "z9hG4bK"."
MAGIC_COOKIE = "z9hG4bK"

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class RandomSource(Protocol):
    """What the generator needs from a random source."""

    def getrandbits(self, k: int, /) -> int: ...


def _word(rng: RandomSource, bits: int) -> str:
    value = rng.getrandbits(bits)
    digits: list[str] = []
    while True:
        value, rest = divmod(value, len(_ALPHABET))
        digits.append(_ALPHABET[rest])
        if value == 0:
            break
    # fixed width so identifiers of one kind all have the same length
    width = (bits * 100 + 516) // 517  # ceil(bits / log2(36))
    return "".join(reversed(digits)).rjust(width, "0")


@dataclass(slots=True)
class IdGenerator:
    """Makes the random identifiers a user agent needs."""

    rng: RandomSource = field(default_factory=secrets.SystemRandom)

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
