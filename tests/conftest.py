"""Shared pytest set-up: the --slow option and fixtures for real programs.

Fixtures (helpers in tests/support/):
  free_udp_port, free_tcp_port, free_udp_tcp_port -> int   ports on 127.0.0.1
  spawn(argv, *, name=, ready=, timeout=, env=, cwd=) -> ManagedProcess
  kamailio             .proxy(im_server=..., **settings) -> KamailioProxy
                       .msrp_relay(**kw) -> MsrpRelay
  kamailio_proxy       a running proxy.cfg; its IM server address is reserved, not bound
  sipp                 .argv(...) / .start(...) / .run(...) around the sipp binary
  tshark               .fields / .verbose / .malformed / .capture
  netns                a fresh network namespace with only loopback up

A fixture whose program is not installed skips the test with the reason; with
CI=true it fails instead, so a broken install step cannot pass unnoticed.
Processes are stopped by PID at teardown; their logs are printed then, and
pytest shows them for failed tests.
"""

from __future__ import annotations

import os

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import kamailio as kam
from tests.support import ports
from tests.support import sipp as sipp_support
from tests.support import tshark as tshark_support
from tests.support.netns import NetNamespace, NetnsUnavailable
from tests.support.process import ManagedProcess, Readiness
from tests.support.tools import require_binary

# ---------------------------------------------------------------- --slow


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (long soaks and fuzz runs)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that feed addresses from hostile or example messages to a live
    # server run only inside a network namespace with nothing but loopback:
    # tests/integration/test_hostile_in_netns.py starts them there (IMKIT_NETNS=1).
    in_netns = os.environ.get("IMKIT_NETNS") == "1"
    skip_hostile = pytest.mark.skip(reason="hostile-address test: runs inside a loopback-only netns")
    skip_slow = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "hostile" in item.keywords and not in_netns:
            item.add_marker(skip_hostile)
        if "slow" in item.keywords and not config.getoption("--slow"):
            item.add_marker(skip_slow)


# ---------------------------------------------------------------- ports


@pytest.fixture
def free_udp_port() -> int:
    return ports.free_udp_port()


@pytest.fixture
def free_tcp_port() -> int:
    return ports.free_tcp_port()


@pytest.fixture
def free_udp_tcp_port() -> int:
    return ports.free_udp_tcp_port()


# ---------------------------------------------------------------- processes


@dataclass
class _Processes:
    """Every process a test started through the fixtures, stopped at teardown."""

    workdir: Path
    started: list[ManagedProcess] = field(default_factory=list)

    def add(self, proc: ManagedProcess) -> ManagedProcess:
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
            print(f"\n===== {proc.name} =====\n{proc.describe()}")


@pytest.fixture
def _processes(tmp_path: Path) -> Iterator[_Processes]:
    registry = _Processes(tmp_path / "proc")
    registry.workdir.mkdir()
    try:
        yield registry
    finally:
        registry.stop_all()


@pytest.fixture
def spawn(_processes: _Processes) -> Callable[..., ManagedProcess]:
    """Start any command as a ManagedProcess; it is stopped at teardown."""

    def start(
        argv: Sequence[str],
        *,
        name: str = "",
        ready: Sequence[Readiness] = (),
        timeout: float = 15.0,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        label = name or Path(argv[0]).name
        proc = ManagedProcess(
            argv,
            log_path=_processes.workdir / f"{label}-{len(_processes.started)}.log",
            name=label,
            env=env,
            cwd=cwd,
        )
        _processes.add(proc)
        return proc.start(ready, timeout)

    return start


# ---------------------------------------------------------------- kamailio


@dataclass
class KamailioLauncher:
    """Starts proxy.cfg / msrp_relay.cfg instances on free 127.0.0.1 ports."""

    binary: str
    processes: _Processes

    def proxy(
        self,
        im_server: kam.ImServerAddress | str | None = None,
        *,
        udp_port: int | None = None,
        tcp_port: int | None = None,
        **settings: Any,
    ) -> kam.KamailioProxy:
        """im_server: ImServerAddress or "host:port[:transport]"; None reserves a free port.

        settings: the other ProxySettings fields (domain, conf_domain,
        conf_user_pattern, proxy_auth, users, children).
        """
        if im_server is None:
            im_server = kam.ImServerAddress(ports.LOOPBACK, ports.free_udp_tcp_port())
        elif isinstance(im_server, str):
            im_server = kam.ImServerAddress.parse(im_server)
        index = len(self.processes.started)
        instance = kam.start_proxy(
            self.binary,
            self.processes.workdir,
            kam.ProxySettings(im_server=im_server, **settings),
            udp_port=udp_port,
            tcp_port=tcp_port,
            name=f"kamailio-proxy-{index}",
        )
        self.processes.add(instance.process)
        return instance

    def msrp_relay(self, **kwargs: Any) -> kam.MsrpRelay:
        """kwargs: domain, users, port (see start_msrp_relay)."""
        index = len(self.processes.started)
        instance = kam.start_msrp_relay(
            self.binary, self.processes.workdir, name=f"kamailio-msrp-{index}", **kwargs
        )
        self.processes.add(instance.process)
        return instance


@pytest.fixture
def kamailio(_processes: _Processes) -> KamailioLauncher:
    return KamailioLauncher(require_binary("kamailio"), _processes)


@pytest.fixture
def kamailio_proxy(kamailio: KamailioLauncher) -> kam.KamailioProxy:
    return kamailio.proxy()


# ---------------------------------------------------------------- sipp


@dataclass
class SippRunner:
    binary: str
    processes: _Processes

    def argv(self, scenario: str | Path, local_port: int, **kwargs: Any) -> list[str]:
        """kwargs: remote, calls, transport, timeout_s, extra (see sipp_argv)."""
        return sipp_support.sipp_argv(self.binary, scenario, local_port, **kwargs)

    def start(
        self,
        scenario: str | Path,
        local_port: int,
        *,
        wait_bound: bool = True,
        **kwargs: Any,
    ) -> ManagedProcess:
        """Start sipp; with wait_bound, return once its local port is bound."""
        argv = self.argv(scenario, local_port, **kwargs)
        tcp = str(kwargs.get("transport", "u1")).startswith("t")
        index = len(self.processes.started)
        proc = sipp_support.start_sipp(
            argv,
            self.processes.workdir / f"sipp-{index}",
            name=f"sipp-{scenario if isinstance(scenario, str) else scenario.stem}-{index}",
            wait_bound_port=local_port if wait_bound else None,
            tcp=tcp,
        )
        return self.processes.add(proc)

    def run(
        self, scenario: str | Path, local_port: int, timeout: float = 60.0, **kwargs: Any
    ) -> ManagedProcess:
        """Run sipp to completion; check proc.returncode (0: every call succeeded)."""
        proc = self.start(scenario, local_port, wait_bound=False, **kwargs)
        proc.wait(timeout)
        return proc


@pytest.fixture
def sipp(_processes: _Processes) -> SippRunner:
    return SippRunner(require_binary("sipp"), _processes)


# ---------------------------------------------------------------- tshark


@dataclass
class TsharkRunner:
    binary: str
    processes: _Processes

    def fields(self, pcap: Path, fields: Sequence[str], display_filter: str | None = None,
               decode_as: Sequence[str] = ()) -> list[list[str]]:  # fmt: skip
        return tshark_support.tshark_fields(self.binary, pcap, fields, display_filter, decode_as)

    def verbose(self, pcap: Path, decode_as: Sequence[str] = ()) -> str:
        return tshark_support.tshark_verbose(self.binary, pcap, decode_as)

    def malformed(self, pcap: Path, decode_as: Sequence[str] = ()) -> list[int]:
        return tshark_support.malformed_frames(self.binary, pcap, decode_as)

    def capture(self, pcap: Path, capture_filter: str, interface: str = "lo") -> ManagedProcess:
        """Live capture until the returned process is stopped (stop() flushes the pcap)."""
        proc = tshark_support.start_capture(
            self.binary, pcap, capture_filter, self.processes.workdir, interface
        )
        return self.processes.add(proc)


@pytest.fixture
def tshark(_processes: _Processes) -> TsharkRunner:
    return TsharkRunner(require_binary("tshark"), _processes)


# ---------------------------------------------------------------- netns


@pytest.fixture
def netns() -> Iterator[NetNamespace]:
    """A fresh namespace with only loopback up; skipped where namespaces are not permitted."""
    ip = require_binary("ip")
    try:
        ns = NetNamespace.create(ip)
    except NetnsUnavailable as exc:
        pytest.skip(f"network namespaces not permitted here: {exc}")
    try:
        yield ns
    finally:
        ns.delete()
