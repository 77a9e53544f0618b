"""Write small classic pcap files (LINKTYPE_RAW: bare IPv4 packets) for tests
that need a capture without capturing, e.g. to check the tshark helpers.

Format: pcap global header and record headers as in libpcap's savefile
format; IPv4 header per RFC 791 with its checksum; UDP per RFC 768 with the
checksum left 0 ("all zero transmitted checksum value means that the
transmitter generated no checksum").
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from pathlib import Path

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_RAW = 101
SNAPLEN = 65535
IPPROTO_UDP = 17


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(src: str, dst: str, protocol: int, payload: bytes) -> bytes:
    """One IPv4 packet (20-byte header, checksum filled in) around a payload."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(payload), 0, 0x4000, 64, protocol, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def ipv4_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    """One IPv4 packet carrying one UDP datagram."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    return ipv4_packet(src[0], dst[0], IPPROTO_UDP, udp)


def write_pcap(path: Path, packets: Sequence[bytes], start: float = 1_700_000_000.0) -> None:
    """A pcap with one record per raw IPv4 packet, 10 ms apart."""
    out = [struct.pack("!IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)]
    for index, packet in enumerate(packets):
        stamp = start + index * 0.01
        seconds, micros = int(stamp), round((stamp % 1) * 1_000_000)
        out.append(struct.pack("!IIII", seconds, micros, len(packet), len(packet)) + packet)
    path.write_bytes(b"".join(out))
