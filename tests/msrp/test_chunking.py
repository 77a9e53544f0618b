"""Cutting messages into chunks and putting them back (RFC 4975 section 5.1)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.msrp import ByteRange, Flag, Outcome, Reassembler, cut


def test_cut() -> None:
    body = b"abcdefghij"
    assert cut(body, 0, 4) == (ByteRange(1, 4, 10), b"abcd", False)
    assert cut(body, 8, 4) == (ByteRange(9, 10, 10), b"ij", True)
    assert cut(b"", 0, 4) == (ByteRange(1, 0, 0), b"", True)
    with pytest.raises(LocalProtocolError):
        cut(body, 11, 4)
    with pytest.raises(LocalProtocolError):
        cut(body, 0, 0)


def reassembler(**kw: int) -> Reassembler:
    return Reassembler(**{"max_message_size": 1000, "max_messages": 2, **kw})


def test_rfc_4975_section_5_1_chunks() -> None:
    r = reassembler()
    assert r.add("4564dpWd", ByteRange(1, None, 8), b"abcd", Flag.MORE, "text/plain", 0).outcome is Outcome.PENDING
    assert r.received("4564dpWd") == 4 and r.total("4564dpWd") == 8
    done = r.add("4564dpWd", ByteRange(5, 8, 8), b"EFGH", Flag.END, None, 1)
    assert (done.outcome, done.body, done.content_type) == (Outcome.COMPLETE, b"abcdEFGH", "text/plain")
    assert len(r) == 0
    # a late duplicate of a finished message is recognised
    assert r.add("4564dpWd", ByteRange(5, 8, 8), b"EFGH", Flag.END, None, 2).outcome is Outcome.DUPLICATE


def test_last_chunk_first_and_unknown_totals() -> None:
    r = reassembler()
    assert r.add("m", ByteRange(4, None, None), b"def", Flag.END, None, 0).outcome is Outcome.PENDING
    assert r.total("m") == 6
    assert r.add("m", ByteRange(1, None, None), b"abc", Flag.MORE, "text/plain", 0).body == b"abcdef"


def test_without_byte_range_a_chunk_is_the_whole_message() -> None:
    result = reassembler().add("m", None, b"hello", Flag.END, "text/plain", 0)
    assert (result.outcome, result.body) == (Outcome.COMPLETE, b"hello")


def test_abort_discards() -> None:
    r = reassembler()
    r.add("m", ByteRange(1, 3, 9), b"abc", Flag.MORE, None, 0)
    assert r.add("m", ByteRange(4, 6, 9), b"def", Flag.ABORT, None, 0).outcome is Outcome.ABORTED
    assert "m" not in r
    assert r.add("m", ByteRange(7, 9, 9), b"ghi", Flag.END, None, 0).outcome is Outcome.DUPLICATE


def test_bounds_and_inconsistencies() -> None:
    r = reassembler(max_message_size=10, max_messages=1)
    assert r.add("big", ByteRange(1, 5, 11), b"abcde", Flag.MORE, None, 0).outcome is Outcome.TOO_LARGE
    assert r.add("big", ByteRange(9, None, None), b"abc", Flag.MORE, None, 0).outcome is Outcome.TOO_LARGE
    assert r.add("a", ByteRange(1, 2, 4), b"ab", Flag.MORE, None, 0).outcome is Outcome.PENDING
    assert r.add("b", ByteRange(1, 2, 4), b"ab", Flag.MORE, None, 0).outcome is Outcome.TOO_MANY
    assert r.add("a", ByteRange(3, 4, 5), b"cd", Flag.MORE, None, 0).outcome is Outcome.INCONSISTENT
    assert "a" not in r
    assert r.add("c", ByteRange(3, None, 4), b"cde", Flag.MORE, None, 0).outcome is Outcome.INCONSISTENT
    r.add("d", ByteRange(5, 8, None), b"efgh", Flag.MORE, None, 0)
    assert r.add("d", ByteRange(1, 4, 4), b"abcd", Flag.END, None, 0).outcome is Outcome.INCONSISTENT
    with pytest.raises(LocalProtocolError):
        Reassembler(max_message_size=1, max_messages=0)


def test_expiry() -> None:
    r = reassembler()
    r.add("a", ByteRange(1, 2, 4), b"ab", Flag.MORE, None, 10.0)
    r.add("b", ByteRange(1, 2, 4), b"ab", Flag.MORE, None, 12.0)
    assert r.next_expiry(5.0) == 15.0
    assert r.expire(14.9, 5.0) == []
    assert r.expire(15.0, 5.0) == ["a"]
    assert r.next_expiry(5.0) == 17.0
    assert r.add("a", ByteRange(3, 4, 4), b"cd", Flag.END, None, 20).outcome is Outcome.DUPLICATE


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[tuple[ByteRange, bytes, Flag]]]:
    """A body, chunks covering it (overlapping, duplicated, any order)."""
    body = draw(st.binary(max_size=600))
    n = len(body)
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=12))) | {0, n})
    spans = list(pairwise(cuts)) or [(0, 0)]
    extra = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=4))
    spans += [(min(a, b), max(a, b)) for a, b in extra]
    spans += draw(st.lists(st.sampled_from(spans), max_size=4))          # duplicates
    chunks = []
    for start, end in spans:
        last = end == n and (start, end) == spans[len(cuts) - 2 if len(cuts) > 1 else 0]
        total = n if draw(st.booleans()) else None
        range_end = end if draw(st.booleans()) else None
        chunks.append((ByteRange(start + 1, range_end, total), body[start:end],
                       Flag.END if last else Flag.MORE))
    return body, draw(st.permutations(chunks))


@given(chunked())
def test_any_chunking_any_order_gives_the_same_bytes(case: tuple) -> None:
    body, chunks = case
    r = Reassembler(max_message_size=len(body), max_messages=1)
    outcomes = [r.add("m", br, piece, flag, "text/plain", 0) for br, piece, flag in chunks]
    complete = [o for o in outcomes if o.outcome is Outcome.COMPLETE]
    assert len(complete) == 1 and complete[0].body == body
    after = outcomes[outcomes.index(complete[0]) + 1:]
    assert all(o.outcome is Outcome.DUPLICATE for o in after)
    before = outcomes[:outcomes.index(complete[0])]
    assert all(o.outcome is Outcome.PENDING for o in before)
    assert len(r) == 0
