"""``imkit run CLAUSE`` as a person runs it: a process, real sockets, exit codes.

* against the embedded test server, over UDP and TCP, for all 14 clauses;
* against a standalone ``imkit server`` process, directly;
* through Kamailio (the reference SIP/IP Core) in front of that server, with
  the client registering first: Via, Record-Route and Route handling proven
  against a real proxy.

Each run must exit 0 (the procedure succeeded and no SHALL rule failed) and
its report must show the clause's own rules passing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from imkit.scenarios import SCENARIOS
from tests.support.process import LogLine

CLAUSES = list(SCENARIOS)
IMKIT = [sys.executable, "-m", "imkit.cli"]


def imkit_run(*args: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IMKIT, "run", *args], capture_output=True, text=True, timeout=timeout)


def assert_conforms(result: subprocess.CompletedProcess[str], clause: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = re.search(r"SHALL: (\d+) pass, (\d+) fail", result.stdout)
    assert summary is not None and summary.group(2) == "0", output
    assert re.search(rf"^{re.escape(clause)}/\S+\s+SHALL\s+pass", result.stdout, re.MULTILINE), output


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("clause", CLAUSES)
def test_run_against_the_embedded_server(clause: str, transport: str) -> None:
    assert_conforms(imkit_run(clause, "--transport", transport), clause)


def test_run_writes_pcap_trace_and_ladders(tmp_path: Path, tshark) -> None:
    files = {name: tmp_path / name for name in ("run.pcap", "run.json", "run.svg", "run.mmd")}
    result = imkit_run("7.1.1.7", "--pcap", str(files["run.pcap"]), "--trace", str(files["run.json"]),
                       "--ladder", str(files["run.svg"]), "--mermaid", str(files["run.mmd"]))
    assert_conforms(result, "7.1.1.7")
    assert files["run.svg"].read_text().lstrip().startswith(("<?xml", "<svg"))
    assert files["run.mmd"].read_text().startswith("sequenceDiagram")
    assert b"REFER" in files["run.json"].read_bytes()
    assert tshark.malformed(files["run.pcap"]) == []
    protocols = {row[0] for row in tshark.fields(files["run.pcap"], ["_ws.col.Protocol"])}
    assert {"SIP", "MSRP"} <= protocols, protocols


def test_group_size_exceeded_fails_the_run() -> None:
    invitees = [arg for i in range(12) for arg in ("--invite", f"sip:user{i}@example.com")]
    result = imkit_run("7.1.1.3", *invitees)
    assert result.returncode == 1
    assert "MAX-ADHOC-GROUP-SIZE" in result.stderr


def start_server(spawn, port: int, clause: str) -> None:
    """``imkit server`` as its own process; for 7.1.1.13 the factory INVITE is
    held (ringing) so there is something to CANCEL."""
    faults = ["--fault", "INVITE:delay=3@conference-factory"] if clause == "7.1.1.13" else []
    spawn([*IMKIT, "server", "--port", str(port), *faults], name="imkit-server", ready=[LogLine(r"listening")])


@pytest.mark.parametrize("clause", CLAUSES)
def test_run_against_a_standalone_server(clause: str, spawn, free_udp_tcp_port: int) -> None:
    start_server(spawn, free_udp_tcp_port, clause)
    assert_conforms(imkit_run(clause, "--server", f"127.0.0.1:{free_udp_tcp_port}"), clause)


@pytest.mark.parametrize("clause", CLAUSES)
def test_run_through_kamailio(clause: str, spawn, free_udp_tcp_port: int, kamailio) -> None:
    port = free_udp_tcp_port
    start_server(spawn, port, clause)
    proxy = kamailio.proxy(f"127.0.0.1:{port}:udp", unregistered_to_im_server=True)
    result = imkit_run(clause, "--proxy", proxy.uri("udp"), "--password", "alice-secret")
    assert "REGISTER: 200" in result.stdout, result.stdout + result.stderr
    assert_conforms(result, clause)
    # the proxy saw the traffic: it Record-Routes initial requests
    assert "imkit-proxy" in proxy.log()
