"""Benchmark: RFC 4575 conference-info documents of a large conference.

Builds a full-state document of ``--users`` users (500 by default), each with
one endpoint carrying status, joining method and joining info, one media
stream and a role, and times, in milliseconds per call:

``from_xml``
    bytes of the full document to :class:`ConferenceInfo`;
``to_xml``
    the model back to bytes;
``apply join``
    RFC 4575 section 4.6 merge of a one-user partial notification that adds
    a user;
``apply status``
    the same for a partial that changes one existing endpoint's status;
``apply + parse``
    parsing that status partial from bytes, then applying it: what a
    subscriber does per NOTIFY.

Timing: ``time.perf_counter`` around a loop of N calls, N calibrated so one
sample lasts at least ``--min-time`` seconds; ``--repeat`` samples, the
median and the minimum reported. No pass or fail: it prints a table.

Run::

    .venv/bin/python bench/bench_conference_info.py [--users 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from typing import Callable

from lxml import etree

from imkit.payloads.conference_info import NAMESPACE, ConferenceInfo

CONF = "sip:big-conference@im.example.com"


def full_document(users: int) -> bytes:
    rows = []
    for i in range(users):
        rows.append(
            f'<user entity="sip:user{i}@example.com" state="full">'
            f"<display-text>User {i}</display-text>"
            f"<roles><entry>participant</entry></roles>"
            f'<endpoint entity="sip:user{i}@10.0.{i // 250}.{i % 250}:5060">'
            f"<status>connected</status><joining-method>dialed-in</joining-method>"
            f"<joining-info><when>2024-05-03T10:00:00Z</when><reason>URI list</reason>"
            f"<by>sip:user0@example.com</by></joining-info>"
            f'<media id="m{i}"><type>message</type><label>11</label><status>sendrecv</status></media>'
            f"</endpoint></user>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<conference-info xmlns="{NAMESPACE}" '
        f'entity="{CONF}" state="full" version="1"><conference-description>'
        f"<subject>All hands</subject><maximum-user-count>{users + 10}</maximum-user-count>"
        f"</conference-description><conference-state><user-count>{users}</user-count>"
        f'<active>true</active></conference-state><users state="full">{"".join(rows)}</users>'
        f"</conference-info>"
    ).encode()


def partial_document(version: int, body: str) -> bytes:
    return (
        f'<conference-info xmlns="{NAMESPACE}" entity="{CONF}" state="partial" version="{version}">'
        f'<users state="partial">{body}</users></conference-info>'
    ).encode()


def measure(call: Callable[[], object], min_time: float, repeat: int) -> tuple[float, float]:
    """(median, minimum) seconds per call."""
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            call()
        elapsed = time.perf_counter() - started
        if elapsed >= min_time:
            break
        loops *= 2 if elapsed < min_time / 4 else 1 + int(min_time / max(elapsed, 1e-9))
    samples = [elapsed / loops]
    for _ in range(repeat - 1):
        started = time.perf_counter()
        for _ in range(loops):
            call()
        samples.append((time.perf_counter() - started) / loops)
    return statistics.median(samples), min(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args(argv)

    data = full_document(args.users)
    info = ConferenceInfo.from_xml(data, max_size=max(len(data), 256 * 1024))
    join = ConferenceInfo.from_xml(
        partial_document(
            2,
            '<user entity="sip:newcomer@example.com" state="full"><display-text>Newcomer</display-text>'
            '<endpoint entity="sip:newcomer@10.9.9.9"><status>connected</status></endpoint></user>',
        )
    )
    middle = args.users // 2
    status_bytes = partial_document(
        2,
        f'<user entity="sip:user{middle}@example.com" state="partial">'
        f'<endpoint entity="sip:user{middle}@10.0.{middle // 250}.{middle % 250}:5060" state="partial">'
        f"<status>on-hold</status></endpoint></user>",
    )
    status = ConferenceInfo.from_xml(status_bytes)

    # Check before timing: the work being timed does what it should.
    assert len(info.roster) == args.users
    assert ConferenceInfo.from_xml(info.to_xml(), max_size=len(data) * 2) == info
    assert len(info.apply(join).roster) == args.users + 1
    changed = info.apply(status).roster[middle].endpoints[0].status
    assert changed is not None and changed.value == "on-hold"

    cases: list[tuple[str, Callable[[], object]]] = [
        ("from_xml", lambda: ConferenceInfo.from_xml(data, max_size=len(data))),
        ("to_xml", info.to_xml),
        ("apply join", lambda: info.apply(join)),
        ("apply status", lambda: info.apply(status)),
        ("apply + parse", lambda: info.apply(ConferenceInfo.from_xml(status_bytes))),
    ]
    print(f"conference-info, {args.users} users, full document {len(data):,} bytes")
    print(f"Python {platform.python_version()} ({platform.machine()}), lxml {etree.__version__}, libxml2 "
          f"{'.'.join(map(str, etree.LIBXML_VERSION))}")
    print(f"{'operation':<16}{'median ms':>12}{'min ms':>12}")
    print("-" * 40)
    for name, call in cases:
        median, minimum = measure(call, args.min_time, args.repeat)
        print(f"{name:<16}{median * 1e3:>12.3f}{minimum * 1e3:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
