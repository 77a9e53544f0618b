"""pcap export (imkit/trace/pcap.py): bytes checked field by field, then by tshark."""

from __future__ import annotations

import ipaddress
import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from imkit.trace import Direction, Protocol, Trace, Transport, pcap_bytes, tshark_decode_as
from imkit.trace.pcap import checksum
from tests.support.tools import require_binary
from tests.trace.trace_messages import (
    ALICE_MSRP,
    ALICE_SIP,
    ALICE_TCP,
    BOB_MSRP,
    SERVER_SIP,
    SERVER_TCP,
)


def _ones_complement_sum(data: bytes) -> int:
    """Written apart from imkit's: add 16-bit words with end-around carry."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


@dataclass
class Packet:
    seconds: int
    micros: int
    version: int
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    seq: int = 0
    ack: int = 0
    flags: int = 0
    payload: bytes = b""


def _read(data: bytes) -> list[Packet]:
    """Parse a pcap written by imkit, checking every length and checksum."""
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, zone, sigfigs, linktype) == (0xA1B2C3D4, 2, 4, 0, 0, 1)
    packets = []
    position = 24
    while position < len(data):
        seconds, micros, incl, orig = struct.unpack("<IIII", data[position:position + 16])
        assert incl == orig <= snaplen and micros < 1_000_000
        frame = data[position + 16:position + 16 + incl]
        assert len(frame) == incl
        position += 16 + incl
        ethertype = struct.unpack("!H", frame[12:14])[0]
        assert frame[0] & 0x02 and frame[6] & 0x02  # locally administered MACs
        ip = frame[14:]
        if ethertype == 0x0800:
            assert ip[0] == 0x45 and struct.unpack("!H", ip[2:4])[0] == len(ip)
            assert _ones_complement_sum(ip[:20]) == 0xFFFF  # header checksum
            proto, src, dst, body = ip[9], ip[12:16], ip[16:20], ip[20:]
            pseudo = src + dst + struct.pack("!BBH", 0, proto, len(body))
            version = 4
        else:
            assert ethertype == 0x86DD and ip[0] >> 4 == 6
            assert struct.unpack("!H", ip[4:6])[0] == len(ip) - 40
            proto, src, dst, body = ip[6], ip[8:24], ip[24:40], ip[40:]
            pseudo = src + dst + struct.pack("!I3xB", len(body), proto)
            version = 6
        assert _ones_complement_sum(pseudo + body) == 0xFFFF  # UDP or TCP checksum
        sport, dport = struct.unpack("!HH", body[:4])
        packet = Packet(seconds, micros, version, str(ipaddress.ip_address(src)),
                        str(ipaddress.ip_address(dst)), proto, sport, dport)
        if proto == 17:
            assert struct.unpack("!H", body[4:6])[0] == len(body)
            packet.payload = body[8:]
        else:
            assert proto == 6 and body[12] >> 4 == 5
            packet.seq, packet.ack = struct.unpack("!II", body[4:12])
            packet.flags = body[13]
            packet.payload = body[20:]
        packets.append(packet)
    return packets


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2
    assert checksum(b"\x01") == 0xFEFF


def test_udp_records_become_one_datagram_each(exchange: Trace) -> None:
    packets = _read(exchange.to_pcap(time_offset=1000.0))
    udp = [p for p in packets if p.proto == 17]
    assert [p.payload for p in udp] == [r.raw for r in exchange.records[:2]]
    assert (udp[0].sport, udp[0].dport, udp[1].sport, udp[1].dport) == (5070, 5060, 5060, 5070)
    assert (udp[0].seconds, udp[0].micros) == (1001, 0)
    assert (udp[1].seconds, udp[1].micros) == (1001, 250000)


def test_tcp_connections_have_a_handshake_and_consistent_numbers(exchange: Trace) -> None:
    packets = [p for p in _read(exchange.to_pcap()) if p.proto == 6]
    by_connection: dict[frozenset, list[Packet]] = {}
    for p in packets:
        by_connection.setdefault(frozenset({(p.src, p.sport), (p.dst, p.dport)}), []).append(p)
    assert len(by_connection) == 3  # SIP/TCP, MSRP, SIP/TLS (v6)
    for flow in by_connection.values():
        syn, syn_ack, ack = flow[:3]
        assert (syn.flags, syn_ack.flags, ack.flags) == (0x02, 0x12, 0x10)
        assert syn_ack.ack == syn.seq + 1 and ack.seq == syn.seq + 1 and ack.ack == syn_ack.seq + 1
        next_seq = {(syn.src, syn.sport): syn.seq + 1, (syn_ack.src, syn_ack.sport): syn_ack.seq + 1}
        for p in flow[3:]:
            sender, receiver = (p.src, p.sport), (p.dst, p.dport)
            assert p.seq == next_seq[sender]
            assert p.ack == next_seq[receiver]  # every segment acknowledges all it has seen
            assert p.flags == (0x18 if p.payload else 0x10)
            next_seq[sender] += len(p.payload)
    sip_tcp = by_connection[frozenset({ALICE_TCP, SERVER_TCP})]
    stream = b"".join(p.payload for p in sip_tcp if p.dport == SERVER_TCP[1])
    assert stream == exchange[2].raw + exchange[3].raw  # the split INVITE, in order
    replies = b"".join(p.payload for p in sip_tcp if p.sport == SERVER_TCP[1])
    assert replies == exchange[4].raw
    v6 = [p for p in packets if p.version == 6]
    assert v6 and all(p.src == "::1" and p.dst == "::1" for p in v6)


def test_records_above_64k_are_split_into_segments() -> None:
    trace = Trace()
    body = bytes(range(256)) * 600  # 153600 bytes
    trace.record(1.0, Direction.SENT, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, body)
    data = [p for p in _read(trace.to_pcap()) if p.payload]
    assert [len(p.payload) for p in data] == [65495, 65495, 153600 - 2 * 65495]
    assert b"".join(p.payload for p in data) == body
    assert data[1].seq == data[0].seq + 65495


def test_to_pcap_writes_the_file(tmp_path: Path, exchange: Trace) -> None:
    path = tmp_path / "x.pcap"
    data = exchange.to_pcap(path)
    assert path.read_bytes() == data == pcap_bytes(exchange.records)


def test_impossible_exports_are_refused() -> None:
    trace = Trace()
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ("127.0.0.1", 1), ("::1", 2), b"x")
    with pytest.raises(ValueError, match="mixes"):
        trace.to_pcap()
    named = Trace()
    named.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ("alice.example", 1),
                 ("127.0.0.1", 2), b"x")
    with pytest.raises(ValueError, match="IP addresses"):
        named.to_pcap()
    early = Trace()
    early.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP, b"x")
    with pytest.raises(ValueError, match="time_offset"):
        early.to_pcap(time_offset=-5.0)
    huge = Trace()
    huge.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP, b"x" * 70000)
    with pytest.raises(ValueError, match="UDP"):
        huge.to_pcap()


def test_decode_as_arguments(exchange: Trace) -> None:
    assert tshark_decode_as(exchange.records) == exchange.tshark_decode_as() == [
        "-d", "udp.port==5070,sip",  # the response to ALICE_SIP; 5060 needs none
        "-d", "tcp.port==5062,sip",
        "-d", "tcp.port==40002,msrp",
        "-d", "tcp.port==5061,sip",  # TLS written as plaintext
    ]


# -- tshark -----------------------------------------------------------------------


def _dissect(path: Path, *extra: str) -> list[list[str]]:
    fields = ["frame.number", "_ws.col.Protocol", "tcp.len", "tcp.reassembled_in", "_ws.expert",
              "sip.Method", "sip.Status-Code", "msrp.method", "msrp.status.code"]
    command = [require_binary("tshark"), "-2", "-r", str(path), "-o", "ip.check_checksum:TRUE",
               "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", *extra,
               "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,",
               *[arg for f in fields for arg in ("-e", f)]]
    result = subprocess.run(command, capture_output=True, timeout=60, check=True,
                            env={**os.environ, "HOME": str(path.parent)})
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert rows and all(len(row) == len(fields) for row in rows)
    return rows


# tshark 4.0 finds SIP and MSRP on any port by its heuristics (on by default);
# with them off, the decode-as arguments alone must be enough.
NO_HEURISTICS = ("--disable-heuristic", "sip_udp", "--disable-heuristic", "sip_tcp",
                 "--disable-heuristic", "msrp_tcp")


@pytest.mark.parametrize("decode_as", [False, True])
def test_tshark_dissects_every_message(tmp_path: Path, exchange: Trace, decode_as: bool) -> None:
    path = tmp_path / "exchange.pcap"
    exchange.to_pcap(path)
    rows = _dissect(path, *(NO_HEURISTICS + tuple(exchange.tshark_decode_as()) if decode_as else ()))
    protocol = {row[0]: row[1] for row in rows}
    for number, proto, tcp_len, reassembled_in, expert, *_ in rows:
        assert "Malformed" not in expert and "checksum" not in expert.lower()
        carries_data = proto != "TCP" or tcp_len not in ("", "0")
        if carries_data:  # a data segment is SIP/MSRP itself or part of one
            assert proto in ("SIP", "SIP/SDP", "MSRP") or protocol[reassembled_in] == "SIP/SDP", (
                number, proto)
    sip_methods = [row[5] for row in rows if row[5]]
    sip_statuses = [row[6] for row in rows if row[6]]
    assert sip_methods == ["INVITE", "INVITE", "OPTIONS"]
    assert sip_statuses == ["200", "100,200", "200"]  # two responses in one segment
    assert [row[7] for row in rows if row[7]] == ["SEND"]
    assert [row[8] for row in rows if row[8]] == ["200"]
    split = [row for row in rows if row[3]]
    assert len(split) == 1 and protocol[split[0][3]] == "SIP/SDP"  # the INVITE's first 100 bytes


def test_without_heuristics_or_decode_as_plaintext_tls_is_not_sip(tmp_path: Path, exchange: Trace) -> None:
    """Shows the decode-as arguments are what makes the difference above."""
    path = tmp_path / "exchange.pcap"
    exchange.to_pcap(path)
    rows = _dissect(path, *NO_HEURISTICS)
    assert [row[5] for row in rows if row[5]] == ["INVITE"]  # only SIP on 5060
    assert not [row[7] for row in rows if row[7]]
