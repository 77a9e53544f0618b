"""imkit.sip.ids: identifiers and their random source."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.sip.ids import MAGIC_COOKIE, IdGenerator, UrandomPool, _word

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class _Fixed:
    """A random source that always gives ``value``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def getrandbits(self, k: int, /) -> int:
        return self.value


def _base36(value: int, width: int) -> str:
    """Base 36, one digit at a time, left-padded with zeros to ``width``."""
    digits = ""
    while True:
        value, rest = divmod(value, 36)
        digits = _ALPHABET[rest] + digits
        if value == 0:
            return digits.rjust(width, "0")


@given(st.integers(1, 160), st.integers(0, 2**200))
def test_word_is_the_base36_number_padded(bits: int, value: int) -> None:
    value %= 2**bits
    width = len(_base36(2**bits - 1, 0))
    assert _word(_Fixed(value), bits) == _base36(value, width)


def test_identifiers_have_fixed_widths_and_the_cookie() -> None:
    ids = IdGenerator(random.Random(3))
    branches = {ids.branch() for _ in range(200)}
    tags = {ids.tag() for _ in range(200)}
    assert len(branches) == len(tags) == 200
    assert all(b.startswith(MAGIC_COOKIE) and len(b) == len(MAGIC_COOKIE) + 19 for b in branches)
    assert all(len(t) == 13 for t in tags)
    assert all(1 <= ids.cseq() <= 2**15 for _ in range(200))


def test_the_default_source_is_the_pool() -> None:
    assert isinstance(IdGenerator().rng, UrandomPool)


@pytest.mark.parametrize("bits", [0, 1, 7, 8, 9, 32, 64, 96, 128])
def test_pool_gives_k_random_bits(bits: int) -> None:
    pool = UrandomPool()
    values = [pool.getrandbits(bits) for _ in range(3000)]
    assert all(0 <= v < 2**bits for v in values)
    if bits >= 32:
        # RFC 3261 19.3: tags need "at least 32 bits of randomness".
        assert len(set(values)) == len(values)
        assert max(v.bit_length() for v in values) == bits


def test_pool_refills_and_reads_large_draws_directly() -> None:
    pool = UrandomPool()
    seen = {pool.getrandbits(128) for _ in range(3 * UrandomPool.POOL_SIZE // 16)}
    assert len(seen) == 3 * UrandomPool.POOL_SIZE // 16
    assert pool.getrandbits(8 * UrandomPool.POOL_SIZE + 8) < 2 ** (8 * UrandomPool.POOL_SIZE + 8)
    with pytest.raises(ValueError):
        pool.getrandbits(-1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_other_bits_than_its_parent() -> None:
    ids = IdGenerator()
    ids.tag()  # the pool holds bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, ids.branch().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    assert child.startswith(MAGIC_COOKIE)
    assert child != ids.branch()
