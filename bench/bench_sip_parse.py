"""Benchmark: SIP message parse and serialise, imkit against other pure-Python parsers.

Issue 2's benchmark.  One process, one run, the same four realistic OMA IM
messages (bench/sip_messages.py: an MSRP INVITE of about 560 bytes, a
multipart/mixed URI-list INVITE, a conference-info NOTIFY and a REFER) for
imkit and for each peer installed: sipmessage, aiosipua and sippy.

Operations timed, each in microseconds per message:

``parse``
    the library's own "bytes to message object" call.  For every library
    this locates every header row and keeps the body as opaque bytes.
``full``
    parse, then read the typed Via (all values), From, To, CSeq and Call-ID
    through the library's typed accessors: what a transaction layer needs.
    For imkit this is the "full parse" of the issue's target.
``serialise``
    the parsed message written back to bytes (``bytes(msg)``, or
    ``str(msg).encode()`` for sippy, whose messages are text).

Before any timing, each library's result is checked: the same Call-ID,
CSeq number and top Via branch as imkit, and the header names in the same
order (a peer that cannot parse a message is reported, not timed).

Timing: ``time.perf_counter`` (or, with ``--clock process``, the process's
CPU time, steadier on a shared machine) around a loop of N calls, N
calibrated so one sample lasts at least ``--min-time`` seconds; ``--repeat``
samples per case, interleaved across libraries so drift hits all alike; the
median is reported.  The garbage collector is left on, as in a real receive
loop.

``--distinct N`` makes every parse and full-parse call of a sample read a
different message: N variants of each message, each with its own Via
branches, tags and Call-ID (the values that change from call to call on a
real wire), taken in turn.  imkit remembers recently parsed header lines and
values (bounded caches, ``imkit.sip.params.MEMO_LIMIT``); the default run
parses one message again and again, so it shows imkit's cached path, and a
run with ``--distinct 20000`` (more variants than any cache holds) shows the
path for values never seen before.  The peers cache nothing, so both runs
time the same work for them.

Run (after ``bash bench/setup.sh``)::

    .venv-bench/bin/python bench/bench_sip_parse.py            # text tables
    .venv-bench/bin/python bench/bench_sip_parse.py --markdown # for BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sip_messages import MESSAGES

# --------------------------------------------------------------------------
# The libraries, each behind the same small adapter
# --------------------------------------------------------------------------


@dataclass
class Facts:
    """What a library found, to check all of them parsed the same message."""

    call_id: str
    cseq: int
    branch: str | None
    names: list[str]  # lower-case full header names, wire order, repeats collapsed


@dataclass
class Adapter:
    name: str
    dist: str
    parse: Callable[[bytes], Any]
    full: Callable[[bytes], tuple[Any, ...]]  # (message, typed values ...)
    serialise: Callable[[Any], bytes]
    facts: Callable[[Any], Facts]
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return importlib.metadata.version(self.dist)


def _collapse(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        if not out or out[-1] != n:
            out.append(n)
    return out


def _imkit() -> Adapter:
    from imkit.sip import parse

    def full(data: bytes) -> Any:
        m = parse(data)
        return m, m.via, m.from_, m.to, m.cseq, m.call_id

    def facts(m: Any) -> Facts:
        return Facts(
            m.call_id, m.cseq.seq, m.via[0].branch,
            _collapse([f.key for f in m.headers]),
        )

    return Adapter("imkit", "imkit", parse, full, bytes, facts)


def _sipmessage() -> Adapter:
    from sipmessage import Message

    parse = Message.parse

    def full(data: bytes) -> Any:
        m = parse(data)
        return m, m.via, m.from_address, m.to_address, m.cseq, m.call_id

    def facts(m: Any) -> Facts:
        return Facts(
            m.call_id, m.cseq.sequence, m.via[0].parameters.get("branch"),
            _collapse([k.lower() for k in m.headers.keys()])  # noqa: SIM118 - sipmessage.Headers is no dict,
        )

    return Adapter(
        "sipmessage", "sipmessage", parse, full, bytes, facts,
        ["groups rows of one name at its first row"],
    )


def _aiosipua() -> Adapter:
    from aiosipua import SipMessage

    parse = SipMessage.parse

    def full(data: bytes) -> Any:
        m = parse(data)
        return m, m.via, m.from_addr, m.to_addr, m.cseq, m.call_id

    def facts(m: Any) -> Facts:
        return Facts(
            m.call_id, m.cseq.seq, m.via[0].branch,
            _collapse([name.lower() for name, _ in m.headers.items()]),
        )

    return Adapter(
        "aiosipua", "aiosipua", parse, full, bytes, facts,
        ["dict of names: groups rows of one name", "splits list headers into values"],
    )


def _sippy() -> Adapter:
    from sippy.SipRequest import SipRequest
    from sippy.SipResponse import SipResponse

    # sippy's messages are text; decoding is part of its parse.
    def parse(data: bytes) -> Any:
        text = data.decode("utf-8")
        if text.startswith("SIP/"):
            return SipResponse(buf=text)
        return SipRequest(buf=text)

    def full(data: bytes) -> Any:
        m = parse(data)
        return (
            m, m.getHFBodys("via"), m.getHFBody("from"), m.getHFBody("to"),
            m.getHFBody("cseq"), m.getHFBody("call-id"),
        )

    def serialise(m: Any) -> bytes:
        return str(m).encode("utf-8")

    def facts(m: Any) -> Facts:
        names = [h.name for h in m.headers]
        # sippy keeps Content-Type and Content-Length aside, with the body.
        names += ["content-type", "content-length"] if m.body is not None else ["content-length"]
        return Facts(
            str(m.getHFBody("call-id")), m.getHFBody("cseq").getCSeqNum(),
            m.getHFBody("via").getBranch(), _collapse(names),
        )

    return Adapter(
        "sippy", "sippy", parse, full, serialise, facts,
        ["parses str (decode timed)", "writes Content-Type/Length last",
         "changes the case of header names it does not know", "splits list headers into rows"],
    )


PEER_FACTORIES = {"sipmessage": _sipmessage, "aiosipua": _aiosipua, "sippy": _sippy}


def load_adapters(names: list[str]) -> tuple[list[Adapter], dict[str, str]]:
    adapters = [_imkit()]
    missing: dict[str, str] = {}
    for name in names:
        try:
            adapters.append(PEER_FACTORIES[name]())
        except ImportError as exc:
            missing[name] = f"not installed ({exc})"
    return adapters, missing


# --------------------------------------------------------------------------
# Checking and timing
# --------------------------------------------------------------------------


def check(adapter: Adapter, data: bytes, reference: Facts | None) -> str | None:
    """``None`` when the adapter parses ``data`` as imkit does, else why not."""
    try:
        message = adapter.full(data)[0]
        found = adapter.facts(message)
        adapter.serialise(message)
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a result to report, not a crash
        return f"{type(exc).__name__}: {exc}"[:120]
    if reference is None:
        return None
    for what in ("call_id", "cseq", "branch"):
        if getattr(found, what) != getattr(reference, what):
            return f"{what} {getattr(found, what)!r} != {getattr(reference, what)!r}"
    if sorted(set(found.names)) != sorted(set(reference.names)):
        return f"header names differ: {found.names} vs {reference.names}"
    return None


def order_kept(adapter: Adapter, data: bytes, reference: Facts) -> bool:
    return adapter.facts(adapter.parse(data)).names == reference.names


def round_trips(adapter: Adapter, data: bytes) -> bool:
    return adapter.serialise(adapter.parse(data)) == data


CLOCKS: dict[str, Callable[[], float]] = {
    "perf": time.perf_counter,  # wall time: the default, as timeit uses
    "process": time.process_time,  # CPU time of this process: steadier on a shared machine
}


def _loop(fn: Callable[[Any], Any], arg: Any, number: int, clock: Callable[[], float]) -> float:
    start = clock()
    for _ in range(number):
        fn(arg)
    return clock() - start


def calibrate(fn: Callable[[Any], Any], arg: Any, min_time: float, clock: Callable[[], float]) -> int:
    number = 1
    while True:
        if _loop(fn, arg, number, clock) >= min_time:
            return number
        number *= 2


@dataclass
class Case:
    library: str
    message: str
    op: str
    fn: Callable[[Any], Any]
    arg: Any
    number: int = 0
    samples: list[float] = field(default_factory=list)

    @property
    def usec(self) -> float:
        return statistics.median(self.samples) * 1e6


_PER_CALL = re.compile(rb"(branch=z9hG4bK|tag=|Call-ID: )([A-Za-z0-9.]+)")


def variants(data: bytes, count: int) -> list[bytes]:
    """``count`` copies of ``data`` with their own branches, tags and Call-ID."""
    return [_PER_CALL.sub(lambda m, n=n: m[1] + m[2] + b"x%d" % n, data) for n in range(count)]


def each(fn: Callable[[Any], Any]) -> Callable[[Iterator[bytes]], Any]:
    """``fn`` on the next message of a cycle: one new message per call."""
    return lambda pool: fn(next(pool))


def run_cases(cases: list[Case], repeat: int, min_time: float, clock: Callable[[], float]) -> None:
    for case in cases:
        _loop(case.fn, case.arg, 100, clock)  # warm up
        case.number = calibrate(case.fn, case.arg, min_time, clock)
    for _ in range(repeat):
        for case in cases:
            case.samples.append(_loop(case.fn, case.arg, case.number, clock) / case.number)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

OPS = ("parse", "full", "serialise")


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {cpu}; {platform.python_implementation()} "
        f"{platform.python_version()}; {platform.system()} {platform.release()}"
    )


def render(
    adapters: list[Adapter], results: dict[tuple[str, str, str], float],
    failures: dict[tuple[str, str], str], properties: dict[tuple[str, str], tuple[bool, bool]],
    markdown: bool,
) -> str:
    peers = [a for a in adapters if a.name != "imkit"]
    out: list[str] = []

    def table(header: list[str], rows: list[list[str]]) -> None:
        numeric = [
            i > 0 and all(r[i] == "" or r[i][:1].isdigit() or r[i] == "n/a" for r in rows)
            for i in range(len(header))
        ]

        def line(cells: list[str], widths: list[int]) -> str:
            return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric))

        if markdown:
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
            out.extend("| " + " | ".join(r) + " |" for r in rows)
        else:
            widths = [max(len(x) for x in col) for col in zip(header, *rows)]
            out.append(line(header, widths))
            out.append("  ".join("-" * w for w in widths))
            out.extend(line(r, widths) for r in rows)
        out.append("")

    for op in OPS:
        title = {
            "parse": "parse (µs per message; ratio = peer / imkit)",
            "full": "full parse: parse + typed Via, From, To, CSeq, Call-ID (µs; ratio = peer / imkit)",
            "serialise": "serialise a parsed message (µs; ratio = peer / imkit)",
        }[op]
        out.append(f"### {title}" if markdown else title)
        out.append("")
        header = ["message", "bytes", "imkit"]
        for p in peers:
            header += [p.name, "ratio"]
        rows = []
        for msg, data in MESSAGES.items():
            base = results.get(("imkit", msg, op))
            row = [msg, str(len(data)), f"{base:.1f}" if base else "n/a"]
            for p in peers:
                value = results.get((p.name, msg, op))
                if value is None or base is None:
                    row += ["n/a", ""]
                else:
                    row += [f"{value:.1f}", f"{value / base:.2f}x"]
            rows.append(row)
        table(header, rows)

    out.append("### target" if markdown else "target")
    out.append("")
    imkit_full = results.get(("imkit", "invite_msrp", "full"))
    for other_op in ("parse", "full"):
        peer = results.get(("sipmessage", "invite_msrp", other_op))
        if imkit_full and peer:
            ratio = peer / imkit_full
            verdict = "met" if ratio >= 2.0 else "MISSED"
            out.append(
                f"- imkit full parse of invite_msrp vs sipmessage {other_op}: "
                f"{peer:.1f} / {imkit_full:.1f} µs = {ratio:.2f}x (target >= 2x: {verdict})"
            )
    out.append("")

    out.append("### what each library kept" if markdown else "what each library kept")
    out.append("")
    header = ["library", "version"] + list(MESSAGES)
    rows = []
    for a in adapters:
        row = [a.name, a.version]
        for msg in MESSAGES:
            if (a.name, msg) in failures:
                row.append("parse failed")
                continue
            ordered, identical = properties[(a.name, msg)]
            row.append(("order kept" if ordered else "order changed") + ", " + ("same bytes" if identical else "bytes differ"))
        rows.append(row)
    table(header, rows)
    for a in adapters:
        if a.notes:
            out.append(f"- {a.name}: " + "; ".join(a.notes))
    out.append("")
    if failures:
        out.append("### failures (not timed)" if markdown else "failures (not timed)")
        out.append("")
        for (lib, msg), why in failures.items():
            out.append(f"- {lib} on {msg}: {why}")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=15, help="samples per case (median reported)")
    ap.add_argument("--min-time", type=float, default=0.02, help="seconds per sample, at least")
    ap.add_argument("--peers", default="sipmessage,aiosipua,sippy", help="comma-separated peers")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="perf",
                    help="perf: time.perf_counter (wall); process: time.process_time (CPU)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--distinct", type=int, default=0, metavar="N",
                    help="parse N variants of each message in turn (own branches, tags, Call-ID)")
    args = ap.parse_args(argv)

    adapters, missing = load_adapters([p for p in args.peers.split(",") if p])
    imkit = adapters[0]
    reference: dict[str, Facts] = {}
    for msg, data in MESSAGES.items():
        why = check(imkit, data, None)
        if why:
            print(f"imkit cannot parse {msg}: {why}", file=sys.stderr)
            return 1
        if not round_trips(imkit, data):
            print(f"imkit does not round-trip {msg}", file=sys.stderr)
            return 1
        reference[msg] = imkit.facts(imkit.parse(data))

    failures: dict[tuple[str, str], str] = {}
    properties: dict[tuple[str, str], tuple[bool, bool]] = {}
    cases: list[Case] = []
    for msg, data in MESSAGES.items():
        for a in adapters:
            why = check(a, data, reference[msg])
            if why:
                failures[(a.name, msg)] = why
                continue
            properties[(a.name, msg)] = (order_kept(a, data, reference[msg]), round_trips(a, data))
            parsed = a.parse(data)
            if args.distinct:
                pool = variants(data, args.distinct)
                cases.append(Case(a.name, msg, "parse", each(a.parse), itertools.cycle(pool)))
                cases.append(Case(a.name, msg, "full", each(a.full), itertools.cycle(pool)))
            else:
                cases.append(Case(a.name, msg, "parse", a.parse, data))
                cases.append(Case(a.name, msg, "full", a.full, data))
            cases.append(Case(a.name, msg, "serialise", a.serialise, parsed))

    started = datetime.datetime.now(datetime.UTC)
    load_before = _load()
    run_cases(cases, args.repeat, args.min_time, CLOCKS[args.clock])
    load_after = _load()
    results = {(c.library, c.message, c.op): c.usec for c in cases}

    print(f"date: {started:%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print("libraries: " + ", ".join(f"{a.name} {a.version}" for a in adapters))
    for name, why in missing.items():
        print(f"not measured: {name}: {why}")
    clock_name = {"perf": "time.perf_counter", "process": "time.process_time"}[args.clock]
    print(f"method: {clock_name}, median of {args.repeat} samples of >= {args.min_time}s each, "
          "cases interleaved, gc on"
          + (f"; each parse reads the next of {args.distinct} variants of its message" if args.distinct else ""))
    print(f"load average (1 min) before / after: {load_before} / {load_after}")
    print()
    print(render(adapters, results, failures, properties, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
