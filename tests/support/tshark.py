"""tshark over a capture file, and live loopback captures with dumpcap/tshark.

`tshark_fields` returns `tshark -r F -T fields -e ...` as rows, `tshark_verbose`
the full `-V` dissection, `malformed_frames` the numbers of the frames that a
dissector flagged as malformed (`_ws.malformed`); `start_capture` records a
loopback capture with a BPF filter into a pcap file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.support.process import LogLine, ManagedProcess

TSHARK_TIMEOUT = 60.0


class TsharkError(RuntimeError):
    """tshark exited non-zero; the message carries its stderr."""


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=TSHARK_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise TsharkError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def _decode_as(decode_as: Sequence[str]) -> list[str]:
    args: list[str] = []
    for rule in decode_as:
        args += ["-d", rule]
    return args


def tshark_fields(
    binary: str,
    pcap: Path,
    fields: Sequence[str],
    display_filter: str | None = None,
    decode_as: Sequence[str] = (),
) -> list[list[str]]:
    """One row per frame (matching the filter), one column per field."""
    argv = [binary, "-n", "-r", str(pcap), *_decode_as(decode_as), "-T", "fields"]
    argv += ["-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        argv += ["-e", name]
    if display_filter:
        argv += ["-Y", display_filter]
    return [line.split("\t") for line in _run(argv).splitlines()]


def tshark_verbose(binary: str, pcap: Path, decode_as: Sequence[str] = ()) -> str:
    """The full dissection (`tshark -V`) of every frame."""
    return _run([binary, "-n", "-r", str(pcap), *_decode_as(decode_as), "-V"])


def malformed_frames(binary: str, pcap: Path, decode_as: Sequence[str] = ()) -> list[int]:
    """Numbers of the frames a dissector reported as malformed."""
    rows = tshark_fields(binary, pcap, ["frame.number"], "_ws.malformed", decode_as)
    return [int(row[0]) for row in rows if row and row[0]]


def start_capture(
    binary: str,
    pcap: Path,
    capture_filter: str,
    log_dir: Path,
    interface: str = "lo",
    timeout: float = 15.0,
) -> ManagedProcess:
    """Capture on the loopback interface until stopped; the pcap is complete after stop()."""
    argv = [binary, "-n", "-i", interface, "-f", capture_filter, "-w", str(pcap), "-q"]
    proc = ManagedProcess(argv, log_path=log_dir / f"capture-{pcap.stem}.log", name="tshark")
    return proc.start([LogLine(r"^Capturing on ")], timeout)
