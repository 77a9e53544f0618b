"""sipp (Debian package sip-tester) as a scripted SIP peer.

`sipp_argv` builds a command for a built-in (`-sn uas`, `-sn uac`) or XML
scenario bound to 127.0.0.1, with no stdin and a global timeout so it always
ends; `start_sipp` runs it as a ManagedProcess and waits until its port is
bound (for a UAS) so a peer can call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.support.ports import LOOPBACK
from tests.support.process import ManagedProcess, TcpListen, UdpBound

DEFAULT_TIMEOUT_S = 20


def sipp_argv(
    binary: str,
    scenario: str | Path,
    local_port: int,
    remote: str | None = None,
    calls: int = 1,
    transport: str = "u1",
    timeout_s: int = DEFAULT_TIMEOUT_S,
    extra: Sequence[str] = (),
) -> list[str]:
    """Command line for one sipp run.

    scenario: a built-in name ("uac", "uas", ...) or the path of an XML file.
    transport: sipp's -t value, "u1" (UDP, one socket) or "t1" (TCP, one connection).
    remote: "host:port" of the peer (UAC side).
    """
    argv = [binary]
    if isinstance(scenario, Path) or str(scenario).endswith(".xml"):
        argv += ["-sf", str(scenario)]
    else:
        argv += ["-sn", str(scenario)]
    argv += [
        "-i", LOOPBACK,
        "-p", str(local_port),
        "-t", transport,
        "-m", str(calls),
        "-nostdin",
        "-timeout", f"{timeout_s}s",
        "-timeout_error",
        "-trace_err",
    ]  # fmt: skip
    argv += list(extra)
    if remote is not None:
        argv.append(remote)
    return argv


def start_sipp(
    argv: Sequence[str],
    workdir: Path,
    name: str,
    wait_bound_port: int | None = None,
    tcp: bool = False,
    timeout: float = 10.0,
) -> ManagedProcess:
    """Start sipp in workdir (it writes its logs there); wait for its port if given."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(argv, log_path=workdir / f"{name}.log", name=name, cwd=workdir)
    ready = []
    if wait_bound_port is not None:
        ready.append(TcpListen(wait_bound_port) if tcp else UdpBound(wait_bound_port))
    return proc.start(ready, timeout)
