"""A trace as JSON, and back, exactly.

Format (``"format": "imkit-trace"``, ``"version": 1``)::

    {"format": "imkit-trace", "version": 1, "max_records": 10000, "dropped": 0,
     "names": [["127.0.0.1", 5060, "server"]],
     "failed": [[3, "7.1.1.1 item 1: no Accept-Contact"]],
     "records": [{"seq": 0, "now": 12.5, "direction": "sent", "protocol": "SIP",
                  "transport": "UDP", "local": ["127.0.0.1", 5070],
                  "remote": ["127.0.0.1", 5060], "raw": "<base64>",
                  "provenance": {"accept-contact": [{"clause": "7.1.1.1",
                                  "item": "1", "note": ""}]},
                  "label": null}],
     "notes": [{"now": 12.6, "key": "session-identity", "text": "sip:conf1@example.com",
                "call_id": "c1", "cseq": 1, "method": "INVITE", "status": 200}]}

Raw bytes are base64, so malformed and non-UTF-8 messages survive; floats
are written with ``repr`` precision, so ``now`` comes back bit for bit.
Loading is a parser: anything malformed raises :class:`TraceFormatError`
(an ``imkit.ParseError``), never another exception.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imkit.errors import ParseError
from imkit.trace.notes import Note
from imkit.trace.provenance import Provenance
from imkit.trace.record import Address, Direction, Protocol, TraceRecord, Transport

FORMAT = "imkit-trace"
VERSION = 1
#: A saved trace larger than this is refused (1 GiB of JSON).
MAX_JSON_SIZE = 1 << 30


class TraceFormatError(ParseError):
    """A JSON trace that is not what :func:`dumps` writes."""


@dataclass(frozen=True)
class LoadedTrace:
    max_records: int
    dropped: int
    names: dict[Address, str]
    failed: dict[int, str]
    records: tuple[TraceRecord, ...]
    notes: tuple[Note, ...]


def _record_to_json(record: TraceRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "now": record.now,
        "direction": record.direction.value,
        "protocol": record.protocol.value,
        "transport": record.transport.value,
        "local": list(record.local),
        "remote": list(record.remote),
        "raw": base64.b64encode(record.raw).decode("ascii"),
        "provenance": {
            name: [{"clause": p.clause, "item": p.item, "note": p.note} for p in reasons]
            for name, reasons in record.provenance.items()
        },
        "label": record.label,
    }


def dumps(records: Iterable[TraceRecord], max_records: int, dropped: int,
          names: Mapping[Address, str], failed: Mapping[int, str], notes: Iterable[Note]) -> str:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "max_records": max_records,
        "dropped": dropped,
        "names": [[host, port, name] for (host, port), name in names.items()],
        "failed": [[seq, reason] for seq, reason in sorted(failed.items())],
        "records": [_record_to_json(r) for r in records],
        "notes": [note.to_dict() for note in notes],
    }
    return json.dumps(document, indent=1, allow_nan=False)


def _fail(what: str) -> TraceFormatError:
    return TraceFormatError(what, 0)


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _fail(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise _fail(f"{where}: {key!r} has the wrong type")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _address(value: Any, where: str) -> Address:
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
            or not value[0] or isinstance(value[1], bool) or not isinstance(value[1], int)
            or not 0 <= value[1] <= 65535):
        raise _fail(f"{where}: an address is [host, port]")
    return (value[0], value[1])


def _provenance(value: Any, where: str) -> dict[str, list[Provenance]]:
    if not isinstance(value, dict):
        raise _fail(f"{where}: provenance is an object")
    result: dict[str, list[Provenance]] = {}
    for name, reasons in value.items():
        if not isinstance(reasons, list):
            raise _fail(f"{where}: provenance of {name!r} is a list")
        result[name] = [Provenance(_get(r, "clause", str, where), _get(r, "item", str, where),
                                   _get(r, "note", str, where)) for r in reasons]
    return result


def _record(value: Any, index: int) -> TraceRecord:
    where = f"record {index}"
    try:
        raw = base64.b64decode(_get(value, "raw", str, where), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise _fail(f"{where}: raw is not base64") from None
    label = value.get("label") if isinstance(value, dict) else None
    if label is not None and not isinstance(label, str):
        raise _fail(f"{where}: label is a string or null")
    try:
        return TraceRecord(
            seq=_get(value, "seq", int, where),
            now=float(_get(value, "now", (int, float), where)),
            direction=Direction(_get(value, "direction", str, where)),
            protocol=Protocol(_get(value, "protocol", str, where)),
            transport=Transport(_get(value, "transport", str, where)),
            local=_address(_get(value, "local", list, where), where),
            remote=_address(_get(value, "remote", list, where), where),
            raw=raw,
            provenance=_provenance(_get(value, "provenance", dict, where), where),
            label=label,
        )
    except ValueError as exc:  # a bad enum value, address or number
        raise _fail(f"{where}: {exc}") from None


def loads(text: str | bytes) -> LoadedTrace:
    if len(text) > MAX_JSON_SIZE:
        raise TraceFormatError(f"trace larger than {MAX_JSON_SIZE} bytes", MAX_JSON_SIZE)
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"not JSON: {exc.msg}", exc.pos) from None
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise TraceFormatError(f"not JSON: {exc}", 0) from None
    if _get(document, "format", str, "trace") != FORMAT:
        raise _fail("not an imkit trace")
    if _get(document, "version", int, "trace") != VERSION:
        raise _fail(f"unknown trace version (this imkit reads version {VERSION})")
    max_records = _get(document, "max_records", int, "trace")
    dropped = _get(document, "dropped", int, "trace")
    raw_records = _get(document, "records", list, "trace")
    if max_records < 1 or dropped < 0 or len(raw_records) > max_records:
        raise _fail("max_records, dropped and the number of records disagree")
    records = tuple(_record(value, index) for index, value in enumerate(raw_records))
    for before, after in zip(records, records[1:], strict=False):
        if after.seq != before.seq + 1:
            raise _fail(f"record numbers must follow each other ({before.seq}, {after.seq})")
    names: dict[Address, str] = {}
    for entry in _get(document, "names", list, "trace"):
        if not isinstance(entry, list) or len(entry) != 3 or not isinstance(entry[2], str):
            raise _fail("names: each entry is [host, port, name]")
        names[_address(entry[:2], "names")] = entry[2]
    failed: dict[int, str] = {}
    kept = {r.seq for r in records}
    for entry in _get(document, "failed", list, "trace"):
        if (not isinstance(entry, list) or len(entry) != 2 or isinstance(entry[0], bool)
                or not isinstance(entry[0], int) or not isinstance(entry[1], str)
                or entry[0] not in kept):
            raise _fail("failed: each entry is [seq of a record, reason]")
        failed[entry[0]] = entry[1]
    raw_notes = _get(document, "notes", list, "trace")
    if len(raw_notes) > max_records:
        raise _fail("more notes than max_records")
    notes = tuple(_note(value, index) for index, value in enumerate(raw_notes))
    return LoadedTrace(max_records, dropped, names, failed, records, notes)


# the fields of a Note and the JSON types each may have
_NOTE_FIELDS: dict[str, tuple[type, ...]] = {
    "now": (int, float), "key": (str,), "text": (str,), "call_id": (str, type(None)),
    "cseq": (int, type(None)), "method": (str, type(None)), "status": (int, type(None)),
}


def _note(value: Any, index: int) -> Note:
    where = f"note {index}"
    if not isinstance(value, dict) or set(value) != set(_NOTE_FIELDS):
        raise _fail(f"{where}: a note has exactly the fields {sorted(_NOTE_FIELDS)}")
    for name, kinds in _NOTE_FIELDS.items():
        if not isinstance(value[name], kinds) or isinstance(value[name], bool):
            raise _fail(f"{where}: {name!r} has the wrong type")
    return Note.from_dict(value)


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON and never written by dumps
    raise ValueError(f"{name} is not allowed")
