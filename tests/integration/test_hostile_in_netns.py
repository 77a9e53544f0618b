"""Runs the ``hostile`` tests inside a fresh network namespace whose only
interface is loopback, so no packet built from a foreign address in a test
message can leave the machine (the brief: "tests that feed addresses from
hostile or example messages run inside a network namespace that has only
loopback")."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_hostile_tests_pass_inside_a_loopback_only_namespace(netns) -> None:
    links = netns.run(["ip", "-o", "link", "show"]).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    result = netns.run(
        ["env", "IMKIT_NETNS=1", f"PYTHONPATH={ROOT}", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-m", "hostile", str(ROOT / "tests")],
        timeout=300.0,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " passed" in output and " failed" not in output, output
