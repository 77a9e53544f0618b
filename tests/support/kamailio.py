"""Kamailio 5.6 as a real SIP/IP core (and MSRP relay) for integration tests.

The configs are templates shipped in the package (imkit/data/kamailio/):
`proxy.cfg`, a registrar with digest auth that routes conference URIs to the
IM server, and `msrp_relay.cfg`, an RFC 4976 relay.  `render_config` fills
their `{{name}}` placeholders; `start_proxy` / `start_msrp_relay` run
`kamailio -DD -E` (creator not daemonized, log to stderr) with a private
runtime dir, listening on 127.0.0.1 only, and wait until it answers.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tests.support.ports import LOOPBACK, free_tcp_port, free_udp_tcp_port
from tests.support.process import ManagedProcess, Probe, TcpListen, UdpBound

DEFAULT_USERS: Mapping[str, str] = {
    "alice": "alice-secret",
    "bob": "bob-secret",
    "carol": "carol-secret",
    "dave": "dave-secret",
    "erin": "erin-secret",
}
DEFAULT_DOMAIN = "example.com"
DEFAULT_CONF_DOMAIN = "conf.example.com"
# user parts at the home domain that belong to the IM server
DEFAULT_CONF_USER_PATTERN = "^(conference-factory|conf-|group-|chat-)"

SHM_MB = 32
PKG_MB = 8
START_TIMEOUT = 15.0

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
_UNSAFE_IN_STRING = re.compile(r'["\\$\r\n]')


class ConfigError(ValueError):
    """A template parameter is missing, unknown or unsafe to put in a config."""


def template_text(name: str) -> str:
    """The text of a shipped config template, e.g. ``template_text("proxy.cfg")``."""
    return resources.files("imkit").joinpath("data", "kamailio", name).read_text()


def render_config(template: str, params: Mapping[str, object]) -> str:
    """Fill every ``{{name}}``; a missing or an unused parameter is an error."""
    wanted = set(_PLACEHOLDER.findall(template))
    missing = wanted - params.keys()
    unused = params.keys() - wanted
    if missing or unused:
        raise ConfigError(f"template parameters missing {sorted(missing)}, unused {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), template)


def _safe_string(what: str, value: str) -> str:
    if _UNSAFE_IN_STRING.search(value):
        raise ConfigError(f"{what} {value!r} may not contain quotes, backslashes, $ or newlines")
    return value


def _hostname(what: str, value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ConfigError(f"{what} {value!r} is not a host name")
    return value


def credentials_block(users: Mapping[str, str]) -> str:
    """The htable initialisation lines for the plain-text test credentials."""
    lines = []
    for user, password in users.items():
        if not _USER.match(user):
            raise ConfigError(f"user name {user!r} must match {_USER.pattern}")
        lines.append(f'\t$sht(cred=>{user}) = "{_safe_string("password", password)}";')
    return "\n".join(lines)


@dataclass(frozen=True)
class ImServerAddress:
    """Where the proxy forwards conference traffic: an IP, a port, udp or tcp."""

    host: str
    port: int
    transport: str = "udp"

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.host)  # no DNS inside the test network
        if self.transport not in ("udp", "tcp"):
            raise ConfigError(f"IM server transport {self.transport!r} is not udp or tcp")
        if not 0 < self.port < 65536:
            raise ConfigError(f"IM server port {self.port} out of range")

    @classmethod
    def parse(cls, text: str) -> ImServerAddress:
        """``host:port[:transport]``, e.g. ``127.0.0.1:5070:tcp``."""
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"IM server address {text!r} is not host:port[:transport]")
        return cls(parts[0], int(parts[1]), parts[2] if len(parts) == 3 else "udp")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}:{self.transport}"


@dataclass(frozen=True)
class ProxySettings:
    """The parameters of proxy.cfg that a test chooses."""

    im_server: ImServerAddress
    domain: str = DEFAULT_DOMAIN
    conf_domain: str = DEFAULT_CONF_DOMAIN
    conf_user_pattern: str = DEFAULT_CONF_USER_PATTERN
    proxy_auth: bool = False
    #: relay users with no registration to the IM server (its simulated users)
    unregistered_to_im_server: bool = False
    users: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))
    children: int = 2

    def params(self, udp_port: int, tcp_port: int) -> dict[str, object]:
        return {
            "listen_ip": LOOPBACK,
            "udp_port": udp_port,
            "tcp_port": tcp_port,
            "domain": _hostname("domain", self.domain),
            "conf_domain": _hostname("conf_domain", self.conf_domain),
            "conf_user_pattern": _safe_string("conf_user_pattern", self.conf_user_pattern),
            "im_server_host": self.im_server.host,
            "im_server_host_re": self.im_server.host.replace(".", "[.]"),
            "im_server_port": self.im_server.port,
            "im_server_transport": self.im_server.transport,
            "proxy_auth": int(self.proxy_auth),
            "unregistered_to_im_server": int(self.unregistered_to_im_server),
            "auth_secret": secrets.token_hex(16),
            "children": self.children,
            "credentials": credentials_block(self.users),
        }


def sip_options_probe(host: str, port: int, timeout: float = 0.5) -> bytes | None:
    """Send one OPTIONS over UDP; the first datagram back, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(timeout)
        local = sock.getsockname()[1]
        tag = secrets.token_hex(6)
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{local};branch=z9hG4bK-probe-{tag}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{LOOPBACK}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: probe-{tag}@{LOOPBACK}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        sock.sendto(request, (host, port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def kamailio_argv(binary: str, config: Path, runtime_dir: Path, workdir: Path) -> list[str]:
    """Foreground Kamailio: -DD keeps the creator in the foreground, -E logs to stderr."""
    return [
        binary, "-DD", "-E",
        "-f", str(config),
        "-Y", str(runtime_dir),
        "-w", str(workdir),
        "-m", str(SHM_MB),
        "-M", str(PKG_MB),
    ]  # fmt: skip


def _launch(binary: str, workdir: Path, name: str, text: str) -> tuple[ManagedProcess, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    runtime_dir = workdir / f"{name}-run"
    runtime_dir.mkdir(exist_ok=True)
    config = workdir / f"{name}.cfg"
    config.write_text(text)
    proc = ManagedProcess(
        kamailio_argv(binary, config, runtime_dir, workdir),
        log_path=workdir / f"{name}.log",
        name=name,
    )
    return proc, config


@dataclass
class KamailioProxy:
    """A running proxy.cfg instance: registrar, digest auth, routing to the IM server."""

    process: ManagedProcess
    config_path: Path
    settings: ProxySettings
    host: str
    udp_port: int
    tcp_port: int

    @property
    def port(self) -> int:
        """The UDP port (the TCP port is the same unless chosen otherwise)."""
        return self.udp_port

    def uri(self, transport: str = "udp") -> str:
        """The proxy's SIP URI, suitable as an outbound proxy (``--proxy``)."""
        port = self.udp_port if transport == "udp" else self.tcp_port
        return f"sip:{self.host}:{port};transport={transport};lr"

    def log(self) -> str:
        return self.process.output()

    def stop(self) -> int | None:
        return self.process.stop()


@dataclass
class MsrpRelay:
    """A running msrp_relay.cfg instance."""

    process: ManagedProcess
    config_path: Path
    host: str
    port: int
    domain: str
    users: Mapping[str, str]

    @property
    def uri(self) -> str:
        return f"msrp://{self.host}:{self.port};tcp"

    def log(self) -> str:
        return self.process.output()

    def stop(self) -> int | None:
        return self.process.stop()


def start_proxy(
    binary: str,
    workdir: Path,
    settings: ProxySettings,
    udp_port: int | None = None,
    tcp_port: int | None = None,
    name: str = "kamailio-proxy",
    timeout: float = START_TIMEOUT,
) -> KamailioProxy:
    """Render proxy.cfg, start Kamailio, wait until it answers an OPTIONS."""
    if udp_port is None and tcp_port is None:
        udp_port = tcp_port = free_udp_tcp_port()
    elif udp_port is None or tcp_port is None:
        raise ConfigError("give both udp_port and tcp_port, or neither")
    text = render_config(template_text("proxy.cfg"), settings.params(udp_port, tcp_port))
    proc, config = _launch(binary, workdir, name, text)
    answered = Probe(
        lambda: sip_options_probe(LOOPBACK, udp_port) is not None,
        f"a response to OPTIONS on UDP {LOOPBACK}:{udp_port}",
    )
    proc.start([UdpBound(udp_port), TcpListen(tcp_port), answered], timeout)
    return KamailioProxy(proc, config, settings, LOOPBACK, udp_port, tcp_port)


def start_msrp_relay(
    binary: str,
    workdir: Path,
    domain: str = DEFAULT_DOMAIN,
    users: Mapping[str, str] = DEFAULT_USERS,
    port: int | None = None,
    name: str = "kamailio-msrp-relay",
    timeout: float = START_TIMEOUT,
) -> MsrpRelay:
    """Render msrp_relay.cfg, start Kamailio, wait until its TCP port listens."""
    port = free_tcp_port() if port is None else port
    params = {
        "listen_ip": LOOPBACK,
        "msrp_port": port,
        "domain": _hostname("domain", domain),
        "auth_secret": secrets.token_hex(16),
        "children": 2,
        "credentials": credentials_block(users),
    }
    text = render_config(template_text("msrp_relay.cfg"), params)
    proc, config = _launch(binary, workdir, name, text)
    proc.start([TcpListen(port)], timeout)
    return MsrpRelay(proc, config, LOOPBACK, port, domain, dict(users))
