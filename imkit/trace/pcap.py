"""Write trace records as a classic libpcap capture (Wireshark, tshark, sngrep).

Format: the libpcap file format (magic ``0xa1b2c3d4``, microsecond
timestamps, version 2.4) with link type ``LINKTYPE_ETHERNET`` (1), which
every tool reads.  Each record becomes synthesised frames:

* Ethernet with locally administered MAC addresses derived from the IP
  address (``02:00:`` + 4 bytes), then IPv4 (or IPv6 when the addresses are
  IPv6) with a correct header checksum, then UDP or TCP with correct lengths
  and checksums over the pseudo-header (RFC 768, RFC 793, RFC 8200 8.1);
* UDP: one datagram per record;
* TCP (and TLS): one connection per address pair, opened by whoever spoke
  first with a SYN / SYN-ACK / ACK handshake, so Wireshark's TCP analysis has
  consistent sequence numbers; each record's bytes go out as segments of at
  most one IP packet (records above 64 KiB are split), followed by the
  peer's ACK.  A record may hold part of a message, or several: the bytes are
  the stream as it was written or read, and tshark reassembles them.

TLS records are written as their plaintext over TCP: the trace holds the
decrypted bytes.  Timestamps are the records' ``now`` plus ``time_offset``
(pass ``time.time() - loop.time()`` to turn loop time into wall time).

Dissection: tshark/Wireshark 4.0 find SIP over UDP and TCP and MSRP over TCP
on any port through their heuristic dissectors (``sip_udp``, ``sip_tcp``,
``msrp_tcp``), which are enabled by default, so ``tshark -r F`` is enough.
Where those heuristics are off (``--disable-heuristic``, a profile), "decode
as" rules make it explicit; :func:`tshark_decode_as` returns them, e.g.
``["-d", "tcp.port==40002,msrp", "-d", "tcp.port==5061,sip"]`` (in the
Wireshark GUI: Analyze > Decode As).
"""

from __future__ import annotations

import ipaddress
import math
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike

from imkit.trace.record import Address, Protocol, TraceRecord, Transport

LINKTYPE_ETHERNET = 1
PCAP_MAGIC = 0xA1B2C3D4
SNAPLEN = 262144
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IPPROTO_TCP = 6
IPPROTO_UDP = 17
TTL = 64
TCP_WINDOW = 65535
#: Largest TCP payload of one packet: an IPv4 total length is 16 bits.
MAX_TCP_PAYLOAD = {4: 65535 - 20 - 20, 6: 65535 - 20}
#: Largest UDP payload of one datagram.
MAX_UDP_PAYLOAD = {4: 65535 - 20 - 8, 6: 65535 - 8}
SIP_DEFAULT_PORT = 5060

_SYN, _ACK, _PSH = 0x02, 0x10, 0x08

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's
    complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(host: str) -> _IP:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise ValueError(f"pcap export needs IP addresses, not {host!r}") from None


def _mac(ip: _IP) -> bytes:
    return b"\x02\x00" + struct.pack("!I", zlib.crc32(ip.packed))


def _ip_packet(src: _IP, dst: _IP, proto: int, payload: bytes, ident: int) -> bytes:
    if src.version == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF,
                             0x4000, TTL, proto, 0, src.packed, dst.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return header + payload
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, TTL,
                       src.packed, dst.packed) + payload


def _pseudo_header(src: _IP, dst: _IP, proto: int, length: int) -> bytes:
    if src.version == 4:
        return struct.pack("!4s4sBBH", src.packed, dst.packed, 0, proto, length)
    return struct.pack("!16s16sIxxxB", src.packed, dst.packed, length, proto)


def udp_datagram(src: _IP, sport: int, dst: _IP, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    value = checksum(_pseudo_header(src, dst, IPPROTO_UDP, length) + header + payload)
    # RFC 768: "If the computed checksum is zero, it is transmitted as all ones"
    header = header[:6] + struct.pack("!H", value or 0xFFFF)
    return header + payload


def tcp_segment(src: _IP, sport: int, dst: _IP, dport: int, seq: int, ack: int, flags: int,
                payload: bytes) -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         5 << 4, flags, TCP_WINDOW, 0, 0)
    value = checksum(_pseudo_header(src, dst, IPPROTO_TCP, len(header) + len(payload)) + header + payload)
    return header[:16] + struct.pack("!H", value) + header[18:] + payload


@dataclass
class _Writer:
    time_offset: float
    frames: list[bytes] = field(default_factory=list)
    ident: int = 0
    #: per TCP connection (its two addresses, sorted): each sender's next sequence number
    connections: dict[tuple[Address, Address], dict[Address, int]] = field(default_factory=dict)

    def frame(self, when: float, src: Address, dst: Address, proto: int, payload: bytes) -> None:
        src_ip, dst_ip = _ip(src[0]), _ip(dst[0])
        self.ident += 1
        packet = _ip_packet(src_ip, dst_ip, proto, payload, self.ident)
        ethertype = ETHERTYPE_IPV4 if src_ip.version == 4 else ETHERTYPE_IPV6
        frame = _mac(dst_ip) + _mac(src_ip) + struct.pack("!H", ethertype) + packet
        stamp = when + self.time_offset
        if not math.isfinite(stamp) or stamp < 0:
            raise ValueError(f"timestamp {stamp} cannot be written to pcap (see time_offset)")
        seconds = math.floor(stamp)
        micros = round((stamp - seconds) * 1_000_000)
        seconds, micros = seconds + micros // 1_000_000, micros % 1_000_000
        self.frames.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)

    def udp(self, when: float, src: Address, dst: Address, payload: bytes) -> None:
        src_ip, dst_ip = _ip(src[0]), _ip(dst[0])
        if len(payload) > MAX_UDP_PAYLOAD[src_ip.version]:
            raise ValueError(f"a {len(payload)}-byte UDP datagram cannot exist")
        self.frame(when, src, dst, IPPROTO_UDP, udp_datagram(src_ip, src[1], dst_ip, dst[1], payload))

    def tcp(self, when: float, src: Address, dst: Address, seq: int, ack: int, flags: int,
            payload: bytes = b"") -> None:
        segment = tcp_segment(_ip(src[0]), src[1], _ip(dst[0]), dst[1], seq, ack, flags, payload)
        self.frame(when, src, dst, IPPROTO_TCP, segment)

    def stream(self, when: float, src: Address, dst: Address, payload: bytes) -> None:
        key = (min(src, dst), max(src, dst))
        next_seq = self.connections.get(key)
        if next_seq is None:
            # whoever speaks first opened the connection; deterministic initial
            # sequence numbers, different per direction
            isn = {a: zlib.crc32(repr((a, b)).encode()) for a, b in ((src, dst), (dst, src))}
            self.tcp(when, src, dst, isn[src], 0, _SYN)
            self.tcp(when, dst, src, isn[dst], isn[src] + 1, _SYN | _ACK)
            self.tcp(when, src, dst, isn[src] + 1, isn[dst] + 1, _ACK)
            next_seq = self.connections[key] = {src: isn[src] + 1, dst: isn[dst] + 1}
        limit = MAX_TCP_PAYLOAD[_ip(src[0]).version]
        chunks = [payload[i:i + limit] for i in range(0, len(payload), limit)] or [b""]
        for chunk in chunks:
            seq = next_seq[src]
            self.tcp(when, src, dst, seq, next_seq[dst], _PSH | _ACK, chunk)
            next_seq[src] = (seq + len(chunk)) & 0xFFFFFFFF
        self.tcp(when, dst, src, next_seq[dst], next_seq[src], _ACK)


def pcap_bytes(records: Iterable[TraceRecord], *, time_offset: float = 0.0) -> bytes:
    """The records as a libpcap file, in the order given."""
    writer = _Writer(time_offset)
    for record in records:
        src, dst = record.source, record.destination
        if _ip(src[0]).version != _ip(dst[0]).version:
            raise ValueError(f"record {record.seq} mixes IPv4 and IPv6 addresses")
        if record.transport is Transport.UDP:
            writer.udp(record.now, src, dst, record.raw)
        else:
            writer.stream(record.now, src, dst, record.raw)
    header = struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)
    return header + b"".join(writer.frames)


def write_pcap(path: str | PathLike[str], records: Iterable[TraceRecord], *,
               time_offset: float = 0.0) -> bytes:
    """Write :func:`pcap_bytes` to ``path``; return the bytes written."""
    data = pcap_bytes(records, time_offset=time_offset)
    with open(path, "wb") as out:
        out.write(data)
    return data


def tshark_decode_as(records: Iterable[TraceRecord]) -> list[str]:
    """tshark/Wireshark ``-d`` arguments that make every record dissect as
    its protocol: ``tcp.port==P,msrp`` for each MSRP connection, and
    ``udp.port==P,sip`` / ``tcp.port==P,sip`` for SIP away from port 5060 or
    over TLS (written as plaintext, which Wireshark would otherwise take for
    TLS on 5061).  ``P`` is the port of the side that did not open the
    connection (for UDP, the destination of each datagram)."""
    ports: dict[str, None] = {}
    opened: set[tuple[Address, Address]] = set()
    for record in records:
        src, dst = record.source, record.destination
        if record.transport is Transport.UDP:
            if dst[1] != SIP_DEFAULT_PORT:
                ports[f"udp.port=={dst[1]},sip"] = None
            continue
        key = (min(src, dst), max(src, dst))
        if key in opened:
            continue
        opened.add(key)
        if record.protocol is Protocol.MSRP:
            ports[f"tcp.port=={dst[1]},msrp"] = None
        elif dst[1] != SIP_DEFAULT_PORT or record.transport is Transport.TLS:
            ports[f"tcp.port=={dst[1]},sip"] = None
    return [arg for decode in ports for arg in ("-d", decode)]
