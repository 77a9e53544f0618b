"""JSON save and load (imkit/trace/jsonio.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import ParseError
from imkit.trace import Direction, Note, Protocol, Provenance, Trace, TraceFormatError, Transport
from tests.trace.trace_messages import ALICE_SIP, SERVER_SIP, sip_request


def _rich_trace(exchange: Trace) -> Trace:
    exchange.record(0.1 + 0.2, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                    b"\xff\x00 malformed \r\n", label="garbage")
    exchange.record(7.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                    sip_request("INVITE"),
                    provenance={"accept-contact": [Provenance("7.1.1.1", "1", "feature tag")],
                                "cseq": [Provenance("7.1.1.2", "1"), Provenance("RFC3261", "8.1.1.5")]})
    exchange.names[ALICE_SIP] = "alice"
    exchange.names[("::1", 5061)] = "server (v6)"
    exchange.mark_failed(3, "7.1.1.2 item 3: no Contact")
    exchange.note(Note(7.5, "session-identity", "sip:conf1@example.com", "c1@127.0.0.1", 1,
                       "INVITE", 200))
    exchange.note(Note(8.0, "anonymous", "yes"))
    return exchange


def test_json_round_trip_is_exact(exchange: Trace) -> None:
    trace = _rich_trace(exchange)
    text = trace.to_json()
    loaded = Trace.from_json(text)
    assert loaded.records == trace.records
    assert [r.raw for r in loaded] == [r.raw for r in trace]
    assert loaded[9].now == 0.1 + 0.2  # floats come back bit for bit
    assert loaded.names == trace.names and loaded.failed == trace.failed
    assert loaded.notes == trace.notes and len(loaded.notes) == 2
    assert loaded.max_records == trace.max_records and loaded.dropped == 0
    assert loaded.to_json() == text
    document = json.loads(text)
    assert document["format"] == "imkit-trace" and document["version"] == 1
    assert document["records"][9]["raw"] == "/wAgbWFsZm9ybWVkIA0K"


def test_a_loaded_trace_goes_on_numbering_and_bounding(exchange: Trace) -> None:
    small = Trace(max_records=4)
    for record in exchange.records[:6]:
        small.record(record.now, record.direction, record.protocol, record.transport,
                     record.local, record.remote, record.raw)
    loaded = Trace.from_json(small.to_json())
    assert loaded.dropped == 2 and [r.seq for r in loaded] == [2, 3, 4, 5]
    added = loaded.record(9.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                          sip_request("BYE"))
    assert added.seq == 6 and loaded.dropped == 3 and len(loaded) == 4


def test_save_and_load(tmp_path: Path, exchange: Trace) -> None:
    path = tmp_path / "trace.json"
    trace = _rich_trace(exchange)
    trace.save(path)
    loaded = Trace.load(path)
    assert loaded.records == trace.records and loaded.to_json() == path.read_text()


def _document(exchange: Trace) -> dict:
    return json.loads(_rich_trace(exchange).to_json())


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda d: d.update(format="pcap"), "not an imkit trace"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.pop("records"), "missing 'records'"),
        (lambda d: d.update(max_records=1), "disagree"),
        (lambda d: d.update(dropped=-1), "disagree"),
        (lambda d: d["records"][0].update(raw="!!"), "base64"),
        (lambda d: d["records"][0].update(direction="sideways"), "record 0"),
        (lambda d: d["records"][0].update(now=True), "wrong type"),
        (lambda d: d["records"][0].update(local=["127.0.0.1", 99999]), "address"),
        (lambda d: d["records"][0].update(label=5), "label"),
        (lambda d: d["records"][1].update(seq=5), "follow each other"),
        (lambda d: d["records"][0].update(provenance={"via": "7.1.1.1"}), "list"),
        (lambda d: d["records"][0].update(provenance={"via": [{"clause": "7"}]}), "missing 'item'"),
        (lambda d: d["records"][0].update(protocol="MSRP", transport="UDP"), "UDP"),
        (lambda d: d.update(names=[["h", 1]]), "names"),
        (lambda d: d.update(failed=[[99, "x"]]), "failed"),
        (lambda d: d.update(failed=[[True, "x"]]), "failed"),
        (lambda d: d["notes"][0].pop("text"), "note 0"),
        (lambda d: d["notes"][1].update(cseq="1"), "note 1"),
        (lambda d: d["notes"][1].update(extra=1), "note 1"),
        (lambda d: d.update(notes={}), "'notes' has the wrong type"),
    ],
)
def test_malformed_documents_raise_trace_format_error(exchange: Trace, change, what: str) -> None:
    document = _document(exchange)
    change(document)
    with pytest.raises(TraceFormatError, match=what):
        Trace.from_json(json.dumps(document))


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"format": NaN}', b"\xff\xfe", "[" * 100000])
def test_non_json_raises_trace_format_error(text: str | bytes) -> None:
    with pytest.raises(TraceFormatError) as info:
        Trace.from_json(text)
    assert isinstance(info.value, ParseError)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_documents_raise_only_trace_format_error(data) -> None:
    trace = Trace()
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_request("INVITE"), provenance={"via": [Provenance("7.1.1.1", "2")]})
    text = trace.to_json()
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 10))
    insert = data.draw(st.text(max_size=5))
    mutated = text[:position] + insert + text[position + cut:]
    try:
        loaded = Trace.from_json(mutated)
    except TraceFormatError:
        return
    assert len(loaded) <= 1
