"""Process settings for ``imkit server`` run standalone (:mod:`imkit.cli`).

Only the command line calls :func:`tune_gc`: an embedded
:class:`~imkit.server.TestServer` shares its process with its host (a test
run, an application), whose collector settings are not the server's to
change.

Why: under load every finished call stays in memory for its transactions'
32 s (RFC 3261 Timers H, J and K, 64*T1; RFC 6026 Timer L).  Settled
transactions keep only bytes and keys (about 18 tracked objects per call,
see :mod:`imkit.sip.transaction`), and a finished call leaves no reference
cycle, so reference counting frees everything else at once.  Still, at a
few hundred calls/s the young generation is mostly such live objects, and
CPython's default thresholds (700, 10, 10) would walk them again and again.
Freezing what start-up built and collecting the young generation every
50 000 allocations keeps the collector to a few percent of the CPU with
pauses of tens of milliseconds (BENCHMARKS.md, "1-1 session load").
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "tune_gc"]

#: (young, middle, old) collection thresholds for the standalone server:
#: a young collection every 50 000 net allocations instead of 700.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Collect once, move every object alive now (modules, the started
    server) to the permanent generation (:func:`gc.freeze`), and raise the
    thresholds.  Call it once, after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
