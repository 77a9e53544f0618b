"""``imkit server`` as a process: it prints where it listens, answers
OPTIONS over UDP and TCP, logs one line per message, refuses a port that is
taken, and exits 0 on SIGTERM sent to its PID."""

from __future__ import annotations

import signal
import socket
import sys

import pytest

from tests.server.sip_ua import parse_reply, raw_request, tcp_exchange, udp_exchange
from tests.support.process import LogLine, UdpBound

IMKIT = [sys.executable, "-m", "imkit.cli", "server"]

pytestmark = pytest.mark.integration


def test_start_options_and_sigterm(spawn, free_udp_tcp_port) -> None:
    port = free_udp_tcp_port
    proc = spawn(
        [*IMKIT, "--port", str(port), "--user", "carol=busy", "--fault", "INVITE:503@dave"],
        name="imkit-server", ready=[UdpBound(port), LogLine(r"^imkit server listening on ")],
    )
    assert f"imkit server listening on udp 127.0.0.1:{port}, tcp 127.0.0.1:{port} (domain example.com)" in proc.output()
    assert "fault INVITE:503:1@dave" in proc.output()
    for transport, exchange in (("UDP", udp_exchange), ("TCP", tcp_exchange)):
        options = raw_request("OPTIONS", f"sip:127.0.0.1:{port}", transport=transport,
                              branch=f"z9hG4bKproc{transport}")
        reply = exchange(("127.0.0.1", port), options, 5.0)
        response = parse_reply(reply)
        assert response.status == 200
        assert response.headers.get("Server", "").startswith("IM-serv/OMA1.0")
        assert reply.startswith(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/" + transport.encode())
    busy = parse_reply(udp_exchange(("127.0.0.1", port), raw_request("INVITE", "sip:carol@example.com",
                                                                      branch="z9hG4bKprocbusy"), 5.0))
    assert busy.status == 486
    faulted = parse_reply(udp_exchange(("127.0.0.1", port), raw_request("INVITE", "sip:dave@example.com",
                                                                        branch="z9hG4bKprocdave"), 5.0))
    assert faulted.status == 503
    proc._popen.send_signal(signal.SIGTERM)  # by PID: the process we started
    assert proc.wait(10) == 0
    output = proc.output()
    assert output.rstrip().endswith("imkit server stopped")
    # one line per message: the OPTIONS in and the 200 out, over each transport
    assert len([line for line in output.splitlines() if " recv UDP " in line and "OPTIONS sip:" in line]) == 1
    assert len([line for line in output.splitlines() if " sent TCP " in line and "200 OK (1 OPTIONS" in line]) == 1
    assert "Traceback" not in output


def test_port_taken_exits_1(spawn, free_udp_tcp_port) -> None:
    port = free_udp_tcp_port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        proc = spawn([*IMKIT, "--port", str(port)], name="imkit-server-taken")
        assert proc.wait(15) == 1
    assert "imkit server: cannot listen on 127.0.0.1" in proc.output()


def test_ctrl_c(spawn, free_udp_tcp_port) -> None:
    port = free_udp_tcp_port
    proc = spawn([*IMKIT, "--port", str(port), "-q"], name="imkit-server-int",
                 ready=[UdpBound(port), LogLine(r"^imkit server listening on ")])
    proc._popen.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.output().splitlines()[-1] == "imkit server stopped"
