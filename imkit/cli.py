"""The ``imkit`` command.

``imkit server`` runs the test IM Server in the foreground: it prints where
it listens, then one line per SIP (and MSRP) message, and stops cleanly on
Ctrl-C or SIGTERM.  ``imkit run`` (:mod:`imkit.cli_run`) and ``imkit lab``
are written in their own modules; each exposes ``add_parser(subparsers)``,
which sets ``command`` (a function of the parsed arguments returning the exit
status) as the subcommand's default.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

from imkit.errors import ProtocolError

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED = 0, 1

#: Subcommands defined in their own modules (``imkit run``, ``imkit lab``):
#: each has ``add_parser(subparsers)``.
EXTERNAL_COMMANDS = ("imkit.cli_run", "imkit.cli_lab")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imkit", description="Explore the OMA SIMPLE IM client procedures (7.1.1) live.",
    )
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    add_server_parser(subparsers)
    # -- `imkit run` and `imkit lab`: their own modules -------------------------
    for name in EXTERNAL_COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


# ---------------------------------------------------------------- imkit server

def add_server_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "server", help="run the test IM Server in the foreground",
        description="Run the test IM Server: registrar, proxy, conference focus, simulated users. "
                    "One line per message; Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5060, help="UDP and TCP port (default 5060; 0: any free one)")
    parser.add_argument("--transport", default="udp,tcp", help="udp, tcp or udp,tcp (default)")
    parser.add_argument("--domain", default="example.com", help="the home domain (default example.com)")
    parser.add_argument("--groups", help="pre-defined groups file (JSON or TOML) for the focus")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault: METHOD:ACTION[:COUNT][@TO], ACTION a status, drop or "
                             "delay=SECONDS, COUNT a number or * (e.g. INVITE:503, REGISTER:drop:*); repeat")
    parser.add_argument("--user", action="append", default=[], metavar="NAME=BEHAVIOUR",
                        help="a simulated user and its behaviour: answer, busy, decline, no-answer[:S[:STATUS]], "
                             "delay[:S], reject-replaces[:STATUS] (+active, +silent); repeat")
    parser.add_argument("--default-behaviour", metavar="BEHAVIOUR",
                        help="behaviour of users created on demand (default answer)")
    parser.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                        help="require digest authentication for REGISTER with these credentials; repeat")
    parser.add_argument("--core", metavar="URI",
                        help="SIP/IP Core (e.g. Kamailio) for users with no binding here")
    parser.add_argument("--min-se", type=int, help="session timer minimum in seconds (default 90)")
    parser.add_argument("--max-user-sessions", type=int, metavar="N",
                        help="sessions a simulated user holds at once; past them it answers 486 (default 64)")
    parser.add_argument("--no-auto-users", action="store_true",
                        help="answer 404 for unknown users instead of creating simulated ones")
    parser.add_argument("--no-focus", action="store_true", help="run without the conference focus")
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per message")
    parser.set_defaults(command=server_command)


def _server_options(args: argparse.Namespace) -> dict[str, object]:
    users: dict[str, str] = {}
    for item in args.user:
        name, eq, behaviour = item.partition("=")
        if not eq or not name:
            raise ValueError(f"--user {item!r} is not NAME=BEHAVIOUR")
        users[name] = behaviour
    credentials: dict[str, str] = {}
    for item in args.auth:
        user, colon, password = item.partition(":")
        if not colon or not user:
            raise ValueError(f"--auth {item!r} is not USER:PASSWORD")
        credentials[user] = password
    options: dict[str, object] = {
        "domain": args.domain, "host": args.host, "port": args.port, "transports": args.transport,
        "groups": args.groups, "users": users, "require_auth": bool(credentials),
        "credentials": credentials, "focus": not args.no_focus,
    }
    if args.core:
        options["core"] = args.core
    if args.min_se is not None:
        options["min_se"] = args.min_se
    if args.max_user_sessions is not None:
        options["max_user_sessions"] = args.max_user_sessions
    if args.default_behaviour:
        options["default_behaviour"] = args.default_behaviour
    if args.no_auto_users:
        options["auto_users"] = False
    return options


def server_command(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stdout,
        format="%(asctime)s %(message)s",
    )
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return EXIT_OK


async def _serve(args: argparse.Namespace) -> int:
    from imkit.server import TestServer
    from imkit.server.standalone import tune_gc

    try:
        server = TestServer(**_server_options(args))  # type: ignore[arg-type]
        for spec in args.fault:
            server.faults.add_spec(spec)
    except (ProtocolError, ValueError) as exc:
        print(f"imkit server: {exc}", file=sys.stderr)
        return EXIT_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except (ProtocolError, OSError) as exc:
        print(f"imkit server: {exc}", file=sys.stderr)
        await server.close()
        return EXIT_FAILED
    tune_gc()  # this process is the server's alone (see imkit.server.standalone)
    host, port = server.address
    where = ", ".join(f"{t} {host}:{port}" for t in server.transports)
    print(f"imkit server listening on {where} (domain {server.domain})", flush=True)
    for fault in server.faults:
        print(f"imkit server: fault {fault}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
        print("imkit server stopped", flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.command(args))


if __name__ == "__main__":
    sys.exit(main())
