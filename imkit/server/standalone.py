"""Process settings for ``imkit server`` run standalone (:mod:`imkit.cli`).

Only the command line calls :func:`tune_gc`: an embedded
:class:`~imkit.server.TestServer` shares its process with its host (a test
run, an application), whose collector settings are not the server's to
change.

Why: under load every finished call stays in memory for its transactions'
32 s (RFC 3261 Timers H, J and K, 64*T1), about 600 parsed objects per
call, so the collector's older generations hold hundreds of thousands of
live objects and CPython's default thresholds (700, 10, 10) walk them again
and again: about 29 % of the server's CPU at 80 calls/s (BENCHMARKS.md,
"1-1 session load").  Freezing what start-up built and collecting the
young generation less often removes most of that; cyclic garbage is still
collected, in larger batches.
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
