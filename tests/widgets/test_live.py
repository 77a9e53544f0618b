"""imkit.widgets.live: a trace and its report, refreshed as the trace grows."""

from __future__ import annotations

import asyncio

from imkit import conformance
from imkit.conformance import Report
from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.widgets.live import LiveTrace
from tests.widgets.support import ALICE, SERVER, refer_trace, response_to


class CountingCheck:
    def __init__(self) -> None:
        self.lengths: list[int] = []

    def __call__(self, trace: Trace) -> Report:
        self.lengths.append(len(trace))
        return conformance.check(trace, ["7.1.1.7"])


def record_ok(trace: Trace) -> None:
    trace.record(5.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))


def test_without_a_loop_each_record_refreshes_at_once() -> None:
    trace, _ = refer_trace(refer_sub=False)
    check = CountingCheck()
    live = LiveTrace(trace, check=check)
    told: list[int] = []
    live.changed.subscribe(lambda: told.append(len(live.records)))
    failed_rules = [r.rule_id for r in live.report.failures() if r.seq == 0]
    assert "7.1.1.7/4c" in failed_rules and check.lengths == [3]
    assert live.failed == {0: ", ".join(failed_rules)}  # every failed rule, where failed_seqs() keeps one
    record_ok(trace)
    assert check.lengths == [3, 4] and told == [4] and live.refreshes == 2


async def test_with_a_loop_a_burst_refreshes_once_after_the_delay() -> None:
    trace, _ = refer_trace()
    check = CountingCheck()
    live = LiveTrace(trace, check=check, delay=0.01)
    for _ in range(3):
        record_ok(trace)
    assert check.lengths == [3]
    await asyncio.sleep(0.05)
    assert check.lengths == [3, 6] and live.refreshes == 2


def test_a_failing_check_is_kept_and_the_views_still_told() -> None:
    trace, _ = refer_trace()

    def broken(trace: Trace) -> Report:
        raise ValueError("a rule crashed")

    live = LiveTrace(trace, check=broken)
    told: list[bool] = []
    live.changed.subscribe(lambda: told.append(True))
    live.refresh()
    assert isinstance(live.error, ValueError) and live.report is None and told == [True]


def test_failed_merges_the_trace_marks_and_the_report() -> None:
    trace, _ = refer_trace(refer_sub=False)
    trace.mark_failed(2, "no MSRP 200 within 30 s")
    trace.mark_failed(0, "sent twice")
    live = LiveTrace(trace)
    assert live.report is None and live.failed == {0: "sent twice", 2: "no MSRP 200 within 30 s"}
    assert live.results_for(0) == []
    report = conformance.check(trace, ["7.1.1.7"])
    live.set_report(report)
    rules = ", ".join(r.rule_id for r in report.failures() if r.seq == 0)
    assert live.failed == {0: f"sent twice; {rules}", 2: "no MSRP 200 within 30 s"}
    assert {r.rule_id for r in live.results_for(0)} >= {"7.1.1.7/4c", "7.1.1.7/1"}
    assert all(r.seq == 0 for r in live.results_for(0))


def test_close_stops_listening() -> None:
    trace, _ = refer_trace()
    live = LiveTrace(trace, names={("127.0.0.1", 40002): "bob"})
    assert live.all_names[("127.0.0.1", 40002)] == "bob" and live.all_names[ALICE] == "alice"
    live.close()
    record_ok(trace)
    assert live.refreshes == 1
