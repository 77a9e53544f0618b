"""What happened on the wire: records, JSON, ladders and pcap.

:class:`Trace` is the recorder the runtime feeds with every message sent or
received (see :mod:`imkit.trace.recorder`); :class:`TraceRecord` is one
message; :class:`Provenance` says which clause and item put a header there;
:class:`Note` is something the client did that does not travel on the wire.
Exporters: JSON (:mod:`~imkit.trace.jsonio`), libpcap
(:mod:`~imkit.trace.pcap`), text and Mermaid ladders
(:mod:`~imkit.trace.ladder`) and a graphviz ladder
(:mod:`~imkit.trace.graphviz_ladder`, needs the ``graphviz`` package).
"""

from __future__ import annotations

from imkit.trace.jsonio import TraceFormatError
from imkit.trace.notes import Note
from imkit.trace.pcap import pcap_bytes, tshark_decode_as, write_pcap
from imkit.trace.provenance import Provenance
from imkit.trace.record import Address, Direction, Protocol, TraceRecord, Transport, format_address
from imkit.trace.recorder import DEFAULT_MAX_RECORDS, Trace

__all__ = [
    "Trace", "TraceRecord", "Provenance", "Note", "Direction", "Protocol", "Transport", "Address",
    "TraceFormatError", "DEFAULT_MAX_RECORDS", "format_address",
    "pcap_bytes", "write_pcap", "tshark_decode_as",
]
