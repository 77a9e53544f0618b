"""The external tools the integration tests rely on work here: sipp places a
call between two sipp processes on loopback (captured live by tshark), tshark
dissects a pcap written byte by byte and flags a malformed frame, and a
network namespace starts with only its own loopback.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.netns import NetNamespace
from tests.support.pcapfile import IPPROTO_UDP, ipv4_packet, ipv4_udp, write_pcap
from tests.support.ports import LOOPBACK
from tests.support.ports import free_udp_port as another_udp_port
from tests.support.tools import require_binary

pytestmark = pytest.mark.integration

OPTIONS = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-tools-1\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:alice@example.com>;tag=a1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: tools-call-1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_sipp_reports_its_version() -> None:
    sipp = require_binary("sipp")
    done = subprocess.run([sipp, "-v"], capture_output=True, text=True, timeout=30, check=False)
    assert re.search(r"SIPp v\d+\.\d+", done.stdout + done.stderr)


def test_sipp_call_between_uac_and_uas_captured_by_tshark(
    sipp, tshark, free_udp_port: int, tmp_path: Path
) -> None:
    uas_port = free_udp_port
    pcap = tmp_path / "sipp-call.pcap"
    capture = tshark.capture(pcap, f"udp port {uas_port}")
    uas = sipp.start("uas", uas_port)
    uac = sipp.run("uac", another_udp_port(), remote=f"{LOOPBACK}:{uas_port}", timeout=60)
    assert uac.returncode == 0, uac.describe()
    assert uas.wait(20) == 0, uas.describe()
    capture.stop()

    rows = tshark.fields(pcap, ["sip.Method", "sip.Status-Code", "sip.CSeq.method"], "sip")
    seen = [(method or f"{code} {cseq}") for method, code, cseq in rows]
    for expected in ("INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"):
        assert expected in seen, seen
    assert seen.index("INVITE") < seen.index("200 INVITE") < seen.index("ACK") < seen.index("BYE")
    assert tshark.malformed(pcap) == []


def test_tshark_reads_a_written_pcap_and_flags_malformed_frames(tshark, tmp_path: Path) -> None:
    good = ipv4_udp((LOOPBACK, 5070), (LOOPBACK, 5060), OPTIONS)
    # an IPv4 packet whose UDP header is cut to 4 of its 8 bytes
    truncated_udp = ipv4_packet(LOOPBACK, LOOPBACK, IPPROTO_UDP, struct.pack("!HH", 5070, 5060))
    pcap = tmp_path / "written.pcap"
    write_pcap(pcap, [good, truncated_udp, good])

    rows = tshark.fields(
        pcap, ["frame.number", "ip.src", "udp.dstport", "sip.Method", "sip.Call-ID"]
    )
    assert rows[0] == ["1", LOOPBACK, "5060", "OPTIONS", "tools-call-1"]
    assert rows[2] == ["3", LOOPBACK, "5060", "OPTIONS", "tools-call-1"]
    assert tshark.malformed(pcap) == [2]
    verbose = tshark.verbose(pcap)
    assert "Session Initiation Protocol (OPTIONS)" in verbose
    assert "Malformed Packet" in verbose


def test_netns_has_only_loopback(netns: NetNamespace) -> None:
    links = netns.run(["ip", "-o", "link", "show"])
    assert links.returncode == 0, links.stderr
    names = [line.split(":")[1].strip() for line in links.stdout.splitlines()]
    assert names == ["lo"]
    assert "state UNKNOWN" in links.stdout or "LOWER_UP" in links.stdout


def test_netns_ports_are_private(netns: NetNamespace, free_udp_port: int) -> None:
    """A UDP port bound on the host is still free inside the namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as host_sock:
        host_sock.bind((LOOPBACK, free_udp_port))
        script = (
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.bind(('{LOOPBACK}', {free_udp_port})); print('bound')"
        )
        inside = netns.run([sys.executable, "-c", script])
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == "bound"
