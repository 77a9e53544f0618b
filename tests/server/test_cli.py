"""``imkit server``: the argument parser, the options it gives the server,
and faults given on the command line hitting live requests.  (The process
itself -- start, OPTIONS, SIGTERM -- is tests/integration/test_server_process.py.)"""

from __future__ import annotations

import pytest

from imkit import cli
from imkit.server import FaultAction, TestServer
from imkit.server.app import Transport


def test_subcommands() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["server"])
    assert args.command is cli.server_command
    assert (args.host, args.port, args.transport, args.domain) == ("127.0.0.1", 5060, "udp,tcp", "example.com")
    # `imkit run` (imkit/cli_run.py) plugs in through the same subparsers
    assert parser.parse_args(["run", "7.1.1.2"]).command is not cli.server_command
    with pytest.raises(SystemExit):
        parser.parse_args([])


def test_server_options() -> None:
    args = cli.build_parser().parse_args([
        "server", "--port", "0", "--transport", "tcp", "--domain", "ims.test", "--user", "carol=busy",
        "--user", "dave=no-answer:3", "--auth", "bob:pw", "--core", "127.0.0.1:5070", "--min-se", "30",
        "--no-auto-users", "--no-focus", "--default-behaviour", "decline", "--max-user-sessions", "500",
    ])
    options = cli._server_options(args)
    server = TestServer(**options)  # type: ignore[arg-type]
    assert server.config.transports == (Transport.TCP,)
    assert server.config.domain == "ims.test" and server.config.min_se == 30
    assert server.config.require_auth and server.config.credentials == {"bob": "pw"}
    assert str(server.core) == "sip:127.0.0.1:5070;lr"
    assert not server.config.auto_users
    assert str(server.users.default) == "decline"
    assert str(server.users["carol"].behaviour) == "busy"
    assert str(server.users["dave"].behaviour) == "no-answer:3:480"
    assert server.config.max_user_sessions == 500 and server.users["carol"].max_sessions == 500


@pytest.mark.parametrize("bad", [["--user", "carol"], ["--auth", "bob"], ["--user", "carol=sleepy"],
                                 ["--fault", "INVITE:2xx"], ["--transport", "sctp"],
                                 ["--default-behaviour", "grumpy"], ["--max-user-sessions", "0"]])
def test_bad_options_exit_with_1(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["server", "--port", "0", "-q", *bad]) == 1
    assert capsys.readouterr().err.startswith("imkit server: ")


async def test_faults_from_the_command_line(make_ua) -> None:
    args = cli.build_parser().parse_args([
        "server", "--port", "0", "--no-focus", "--fault", "INVITE:486@carol", "--fault", "OPTIONS:delay=0.1:*",
    ])
    server = TestServer(**cli._server_options(args))  # type: ignore[arg-type]
    for spec in args.fault:
        server.faults.add_spec(spec)
    assert [f.action for f in server.faults] == [FaultAction.RESPOND, FaultAction.DELAY]
    async with server:
        alice = await make_ua("alice")
        _, refused, _ = await alice.call("carol", server.address)
        assert refused.status == 486
        _, answered, _ = await alice.call("carol", server.address)
        assert answered.status == 200
        for _ in range(2):  # count * : every OPTIONS is delayed, and still answered
            assert (await alice.send(alice.request("OPTIONS", "carol"), server.address)).status == 200
        assert len(server.faults) == 1
