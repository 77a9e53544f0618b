"""Start a real program for a test, wait until it is ready, stop it by PID.

`ManagedProcess` runs one command with stdout and stderr captured to a log
file, waits (with a deadline) for readiness conditions — a TCP port accepting
connections, a UDP port bound, a log line, or any probe — and stops the
program with SIGTERM, then SIGKILL.  The program gets its own process group,
so forked workers (Kamailio forks a dozen) are reaped by the group id, which
is the PID of the process we started: never by name.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

LOG_TAIL_BYTES = 4000
POLL_INTERVAL = 0.05
_TCP_LISTEN = "0A"  # st column of /proc/net/tcp


class ProcessError(RuntimeError):
    """The program exited early or never became ready; the message has its log."""


class Readiness(Protocol):
    """A condition polled until it holds."""

    def __call__(self, proc: ManagedProcess) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class TcpListening:
    """A TCP connect to host:port succeeds."""

    port: int
    host: str = "127.0.0.1"

    def __call__(self, proc: ManagedProcess) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def describe(self) -> str:
        return f"TCP {self.host}:{self.port} accepting connections"


def _proc_net_has(table: str, host: str, port: int, state: str | None) -> bool:
    """Whether /proc/net/<table> has a socket bound to host:port (IPv4)."""
    packed = socket.inet_aton(host)
    want = f"{int.from_bytes(packed, 'little'):08X}:{port:04X}"
    wildcard = f"00000000:{port:04X}"
    try:
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        cols = line.split()
        if len(cols) > 3 and cols[1] in (want, wildcard):
            if state is None or cols[3] == state:
                return True
    return False


@dataclass(frozen=True)
class UdpBound:
    """Some socket is bound to UDP host:port (read from /proc/net/udp)."""

    port: int
    host: str = "127.0.0.1"

    def __call__(self, proc: ManagedProcess) -> bool:
        return _proc_net_has("udp", self.host, self.port, None)

    def describe(self) -> str:
        return f"UDP {self.host}:{self.port} bound"


@dataclass(frozen=True)
class TcpListen:
    """Some socket listens on TCP host:port (read from /proc/net/tcp, no traffic)."""

    port: int
    host: str = "127.0.0.1"

    def __call__(self, proc: ManagedProcess) -> bool:
        return _proc_net_has("tcp", self.host, self.port, _TCP_LISTEN)

    def describe(self) -> str:
        return f"TCP {self.host}:{self.port} listening"


@dataclass(frozen=True)
class LogLine:
    """A line of the program's output matches the regular expression."""

    pattern: str

    def __call__(self, proc: ManagedProcess) -> bool:
        return re.search(self.pattern, proc.output(), re.MULTILINE) is not None

    def describe(self) -> str:
        return f"output matching {self.pattern!r}"


@dataclass(frozen=True)
class Probe:
    """Any callable returning True once the program is ready."""

    check: Callable[[], bool]
    what: str

    def __call__(self, proc: ManagedProcess) -> bool:
        try:
            return bool(self.check())
        except (OSError, ValueError):
            return False

    def describe(self) -> str:
        return self.what


@dataclass
class ManagedProcess:
    """One program under test.  Use as a context manager or call start/stop."""

    argv: Sequence[str]
    log_path: Path
    name: str = ""
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = Path(self.argv[0]).name

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise ProcessError(f"{self.name} was not started")
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self, ready: Sequence[Readiness] = (), timeout: float = 15.0) -> ManagedProcess:
        """Start the program and wait until every readiness condition holds."""
        if self._popen is not None:
            raise ProcessError(f"{self.name} already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        env = dict(os.environ if self.env is None else self.env)
        self._popen = subprocess.Popen(
            list(self.argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
        )
        try:
            self.wait_ready(ready, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, ready: Sequence[Readiness], timeout: float) -> None:
        pending = list(ready)
        deadline = time.monotonic() + timeout
        while pending:
            pending = [cond for cond in pending if not cond(self)]
            if not pending:
                return
            if not self.running():
                raise ProcessError(
                    f"{self.name} exited with {self.returncode} before "
                    f"{pending[0].describe()}\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                raise ProcessError(
                    f"{self.name} not ready after {timeout}s: waiting for "
                    f"{', '.join(c.describe() for c in pending)}\n{self.describe()}"
                )
            time.sleep(POLL_INTERVAL)

    def wait(self, timeout: float) -> int:
        """Wait for the program to exit by itself; raise ProcessError on timeout."""
        if self._popen is None:
            raise ProcessError(f"{self.name} was not started")
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(
                f"{self.name} still running after {timeout}s\n{self.describe()}"
            ) from None

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM the program, SIGKILL it (and its group) if it lingers."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            _signal_pid(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout)
        # forked workers left behind by a parent that died: same group id
        _reap_group(popen.pid, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return popen.returncode

    def output(self) -> str:
        """Everything the program printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        """Command, PID, log file and the tail of the log: for failure messages."""
        text = self.output()
        tail = text[-LOG_TAIL_BYTES:]
        cut = "...\n" if len(text) > len(tail) else ""
        pid = self._popen.pid if self._popen is not None else "-"
        return (
            f"command: {' '.join(self.argv)}\npid: {pid}\nlog: {self.log_path}\n"
            f"--- output ---\n{cut}{tail}\n--- end ---"
        )

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is left in process group pgid."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = text[text.rindex(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _reap_group(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
