"""The collector settings of ``imkit server`` run standalone (in a child
process: tune_gc changes the whole interpreter)."""

from __future__ import annotations

import subprocess
import sys

from imkit.server.standalone import GC_THRESHOLDS

CHILD = """
import gc
from imkit.server.standalone import tune_gc
before = gc.get_freeze_count()
tune_gc()
print(before, gc.get_freeze_count(), *gc.get_threshold())
"""


def test_tune_gc_freezes_start_up_and_raises_the_thresholds() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60)
    before, frozen, *thresholds = (int(word) for word in out.stdout.split())
    assert before == 0 and frozen > 1000  # the imported modules are frozen
    assert tuple(thresholds) == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # CPython's default young threshold


def test_an_embedded_server_leaves_the_collector_alone() -> None:
    import gc

    from imkit.server import TestServer

    before = gc.get_threshold()
    TestServer(focus=False)
    assert gc.get_threshold() == before
