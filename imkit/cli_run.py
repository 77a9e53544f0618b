"""``imkit run CLAUSE``: run one clause's scenario live and judge it.

With no ``--server`` it starts the embedded test IM Server on 127.0.0.1;
otherwise it talks to ``--server HOST:PORT`` (any IM Server) or through
``--proxy URI`` (a SIP/IP Core such as Kamailio).  It prints a text ladder
and the conformance report, writes ``--pcap``, ``--trace``, ``--ladder``
and ``--mermaid`` when asked, and exits non-zero when the procedure failed
or a SHALL rule failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from imkit import conformance
from imkit.client import IMClient
from imkit.errors import ProtocolError
from imkit.scenarios import SCENARIOS, ScenarioOptions, report_clauses, run
from imkit.trace import Trace

EXIT_OK, EXIT_PROCEDURE_FAILED, EXIT_SHALL_FAILED = 0, 1, 2


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("run", help="run one 7.1.1 clause live and check its rules")
    parser.add_argument("clause", choices=list(SCENARIOS), help="the clause, e.g. 7.1.1.7")
    parser.add_argument("--server", help="HOST:PORT of the IM Server (default: start the embedded test server)")
    parser.add_argument("--proxy", help="outbound proxy URI of a SIP/IP Core, e.g. sip:127.0.0.1:5060;lr")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--from", dest="from_", default=None, help="the IM User's address (default sip:alice@DOMAIN)")
    parser.add_argument("--domain", default="example.com", help="home domain of the IM Users")
    parser.add_argument("--invite", action="append", default=[], metavar="URI",
                        help="an IM User to invite (repeat; in 7.1.1.7 several give a multiple REFER)")
    parser.add_argument("--conference", help="group or public conference URI (7.1.1.4, 7.1.1.10)")
    parser.add_argument("--factory", help="Conference-factory-URI (default sip:conference-factory@DOMAIN)")
    parser.add_argument("--anonymous", action="store_true", help="ask for anonymity (Privacy: id)")
    parser.add_argument("--user", help="digest user name (default: the user part of --from)")
    parser.add_argument("--password", help="digest password; with a SIP/IP Core the client REGISTERs first")
    parser.add_argument("--pcap", type=Path, help="write the exchange as a pcap file")
    parser.add_argument("--trace", type=Path, help="write the trace as JSON")
    parser.add_argument("--ladder", type=Path, help="write a graphviz ladder (.svg or .png)")
    parser.add_argument("--mermaid", type=Path, help="write a Mermaid sequenceDiagram")
    parser.add_argument("--all-rules", action="store_true", help="list rules that were not applicable too")
    parser.set_defaults(command=command)


def command(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    trace = Trace()
    failure: str | None = None
    async with AsyncExitStack() as stack:
        server_address = args.server
        if server_address is None and args.proxy is None:
            from imkit.server import TestServer

            server = TestServer(domain=args.domain, transports=(args.transport,))
            await stack.enter_async_context(server)
            if args.clause == "7.1.1.13":
                # give the CANCEL something to cancel: the focus answers the factory INVITE late
                server.faults.add(method="INVITE", to="conference-factory", action="delay", delay=3.0)
            host, port = server.address
            server_address = f"{host}:{port}"
        client = IMClient(
            args.from_ or f"sip:alice@{args.domain}", server=server_address, proxy=args.proxy,
            transport=args.transport, username=args.user, password=args.password,
            conference_factory=args.factory, trace=trace,
        )
        await stack.enter_async_context(client)
        options = ScenarioOptions(invite=args.invite, conference=args.conference, anonymous=args.anonymous, domain=args.domain)
        try:
            if args.password and args.proxy:
                response = await client.register()
                print(f"REGISTER: {response.status} {response.reason}")
            result = await asyncio.wait_for(run(args.clause, client, options), 60.0)
            for step in result.steps:
                print(f"* {step}")
        except (ProtocolError, asyncio.TimeoutError, OSError, ValueError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(0.2)  # let the last NOTIFYs and responses land in the trace
    report = conformance.check(trace, report_clauses(args.clause, trace))
    _write_outputs(args, trace, report)
    print()
    print(trace.ladder_text(failed=report.failed_seqs()))
    print()
    print(report.to_text(show_not_applicable=args.all_rules))
    if failure is not None:
        print(f"\nprocedure failed: {failure}", file=sys.stderr)
        return EXIT_PROCEDURE_FAILED
    return EXIT_OK if report.ok else EXIT_SHALL_FAILED


def _write_outputs(args: argparse.Namespace, trace: Trace, report: conformance.Report) -> None:
    if args.trace:
        trace.save(args.trace)
    if args.pcap:
        trace.to_pcap(args.pcap)
    if args.mermaid:
        args.mermaid.write_text(trace.to_mermaid(failed=report.failed_seqs()))
    if args.ladder:
        graph = trace.to_graphviz(failed=report.failed_seqs())
        graph.format = args.ladder.suffix.lstrip(".") or "svg"
        args.ladder.write_bytes(graph.pipe())
