"""Helpers for tests that drive real programs: processes, ports, Kamailio,
sipp, tshark, network namespaces and JupyterLab.  The pytest fixtures that
wrap them live in tests/conftest.py."""

from tests.support.kamailio import (
    DEFAULT_CONF_DOMAIN,
    DEFAULT_CONF_USER_PATTERN,
    DEFAULT_DOMAIN,
    DEFAULT_USERS,
    ImServerAddress,
    KamailioProxy,
    MsrpRelay,
    ProxySettings,
    render_config,
    sip_options_probe,
    start_msrp_relay,
    start_proxy,
)
from tests.support.netns import NetNamespace, NetnsUnavailable
from tests.support.ports import LOOPBACK, free_tcp_port, free_udp_port, free_udp_tcp_port
from tests.support.process import (
    LogLine,
    ManagedProcess,
    Probe,
    ProcessError,
    TcpListen,
    TcpListening,
    UdpBound,
)
from tests.support.tools import find_binary, in_ci, require_binary, unavailable, venv_bin

__all__ = [
    "DEFAULT_CONF_DOMAIN",
    "DEFAULT_CONF_USER_PATTERN",
    "DEFAULT_DOMAIN",
    "DEFAULT_USERS",
    "ImServerAddress",
    "KamailioProxy",
    "LOOPBACK",
    "LogLine",
    "ManagedProcess",
    "MsrpRelay",
    "NetNamespace",
    "NetnsUnavailable",
    "Probe",
    "ProcessError",
    "ProxySettings",
    "TcpListen",
    "TcpListening",
    "UdpBound",
    "find_binary",
    "free_tcp_port",
    "free_udp_port",
    "free_udp_tcp_port",
    "in_ci",
    "render_config",
    "require_binary",
    "sip_options_probe",
    "start_msrp_relay",
    "start_proxy",
    "unavailable",
    "venv_bin",
]
