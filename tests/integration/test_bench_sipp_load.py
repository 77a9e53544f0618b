"""The short version of ``bench/bench_sipp_load.py`` (issue 5's load
benchmark): every callee climbs two low rates and holds the second, so the
benchmark keeps working and imkit server completes every call of a sustained
run, with its descriptors back to where they were.  The full ladder is run by
hand (BENCHMARKS.md); it takes minutes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp not installed (apt-get install sip-tester)"),
]

ROOT = Path(__file__).resolve().parents[2]


def test_every_callee_sustains_a_low_rate(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_sipp_load.py"), "--rates", "10,20", "--step-seconds", "1",
         "--min-calls", "10", "--refine", "0", "--sustain", "2", "--sustain-tries", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["highest"] == {"imkit": 20, "python-proxy": 20, "python-uas": 20, "sipp": 20}
    steps = result["steps"]
    assert [(s["callee"], s["kind"], s["rate"]) for s in steps] == [
        (callee, kind, rate)
        for callee in ("imkit", "python-proxy", "python-uas", "sipp")
        for kind, rate in (("ladder", 10), ("ladder", 20), ("sustained", 20))
    ]
    for step in steps:
        assert step["passed"] and step["successful"] == step["calls"] and step["failed"] == 0, step
    imkit_held = next(s for s in steps if s["callee"] == "imkit" and s["kind"] == "sustained")
    # bob's UDP and TCP SIP sockets and its one MSRP listener, all opened on the
    # first call: nothing stays open per call
    assert imkit_held["fds_after"] == imkit_held["fds_before"] + 3
    # both reached the top of this two-rate ladder, hence the "+"
    assert result["verdict"].startswith("imkit / sipp = 20+ / 20+ = 1.000 (target ≥ 0.25: met)")
