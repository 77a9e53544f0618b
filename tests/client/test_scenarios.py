"""Every clause of 7.1.1 run end to end: an IMClient against the embedded
TestServer over real sockets (UDP and TCP), judged by the clause's rules.

A run passes when the scenario completes, no SHALL rule fails, and the
clause's own key rules actually passed on the wire (not merely "not
applicable"), so a scenario that silently skipped its procedure fails.
"""

from __future__ import annotations

import asyncio

import pytest

from imkit import conformance
from imkit.client import IMClient
from imkit.procedures.rules import Verdict
from imkit.scenarios import SCENARIOS, ScenarioOptions, report_clauses, run
from imkit.server import TestServer
from imkit.trace import Trace

#: Rules that must pass (not just "not fail") in each clause's run.
MUST_PASS = {
    "7.1.1.1": ["7.1.1.1/1", "7.1.1.1/2", "7.1.1.1/4", "7.1.1.1/6", "7.1.1.1/r1", "7.1.1.1/r2", "7.1.1.1/ok1"],
    "7.1.1.2": ["7.1.1.2/1", "7.1.1.2/2", "7.1.1.2/3", "7.1.1.2/4", "7.1.1.2/ok1", "7.1.1.2/ok2"],
    "7.1.1.3": ["7.1.1.3/1", "7.1.1.3/2", "7.1.1.3/3", "7.1.1.3/4", "7.1.1.3/5", "7.1.1.3/5-i", "7.1.1.3/ok1", "7.1.1.3/ok2", "7.1.1.1/ok2"],
    "7.1.1.4": ["7.1.1.4/1", "7.1.1.4/1a", "7.1.1.4/1b", "7.1.1.4/ok1", "7.1.1.4/ok2"],
    "7.1.1.5": ["7.1.1.5/0", "7.1.1.5/ok1"],
    "7.1.1.6": ["7.1.1.6/3", "7.1.1.6/6", "7.1.1.6/8", "7.1.1.6/ok1", "7.1.1.6/note"],
    "7.1.1.7": ["7.1.1.7/1", "7.1.1.7/2", "7.1.1.7/4a", "7.1.1.7/4b", "7.1.1.7/4c", "7.1.1.7/4d", "7.1.1.7/7"],
    "7.1.1.8": ["7.1.1.8/0", "7.1.1.8/1", "7.1.1.8/2", "7.1.1.8/3", "7.1.1.8/4", "7.1.1.8/5"],
    "7.1.1.9": ["7.1.1.9/1", "7.1.1.9/3", "7.1.1.9/ok2"],
    "7.1.1.10": ["7.1.1.10/2", "7.1.1.10/3", "7.1.1.10/ok2"],
    "7.1.1.11": ["7.1.1.11/1", "7.1.1.11/2", "7.1.1.11/ok1", "7.1.1.11/n1", "7.1.1.11/n2", "7.1.1.11/n3", "7.1.1.11/term"],
    "7.1.1.12": ["7.1.1.12/1", "7.1.1.12/2", "7.1.1.12/ok"],
    "7.1.1.13": ["7.1.1.13/1"],
    "7.1.1.14": ["7.1.1.14/1", "7.1.1.14/2", "7.1.1.14/3", "7.1.1.14/4", "7.1.1.14/5"],
}


async def run_clause(clause: str, transport: str) -> tuple[conformance.Report, Trace]:
    trace = Trace()
    async with TestServer(domain="example.com", transports=(transport,)) as server:
        if clause == "7.1.1.13":
            server.faults.add(method="INVITE", to="conference-factory", action="delay", delay=3.0)
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", transport=transport, trace=trace) as alice:
            await asyncio.wait_for(run(clause, alice, ScenarioOptions()), 30)
            await asyncio.sleep(0.2)
    return conformance.check(trace, report_clauses(clause, trace)), trace


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("clause", list(SCENARIOS))
async def test_clause_runs_live_and_conforms(clause: str, transport: str) -> None:
    report, trace = await run_clause(clause, transport)
    assert report.ok, report.to_text() + "\n" + trace.ladder_text()
    for rule_id in MUST_PASS[clause]:
        assert report.verdict(rule_id) is Verdict.PASS, f"{rule_id}\n{report.to_text(show_not_applicable=True)}"
