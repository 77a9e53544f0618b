"""Bad input (issue 5 item 9): a battery of malformed and unwelcome requests
written by hand and sent from raw sockets over UDP and TCP; each gets its
status (or, when nothing can be answered, nothing) and the server still
answers OPTIONS afterwards.  Then the checks themselves, on parsed requests."""

from __future__ import annotations

import asyncio

import pytest

from imkit.server import TestServer
from imkit.server.config import SUPPORTED_OPTIONS
from imkit.server.validation import (
    Rejection,
    check_body,
    check_method,
    check_proxy_require,
    check_request,
    check_require,
    error_response,
)
from imkit.sip import Request, parse
from tests.server.sip_ua import parse_reply, raw_request, tcp_exchange, udp_exchange

H = "{h}"  # replaced by the server's host:port

#: name -> (request bytes, status expected, start of the reason phrase or None)
BATTERY: dict[str, tuple[bytes, int | None, str | None]] = {
    "garbage": (b"hello world\r\n\r\n", None, None),
    "no Via": (raw_request("OPTIONS", f"sip:{H}", drop=["Via"]), None, None),
    "no Call-ID": (raw_request("OPTIONS", f"sip:{H}", drop=["Call-ID"]), 400, "Missing Call-ID"),
    "no From": (raw_request("OPTIONS", f"sip:{H}", drop=["From"]), 400, "Missing From"),
    "no Max-Forwards": (raw_request("OPTIONS", f"sip:{H}", drop=["Max-Forwards"]), 400, "Missing Max-Forwards"),
    "bad CSeq": (raw_request("OPTIONS", f"sip:{H}").replace(b"CSeq: 1 OPTIONS", b"CSeq: abc OPTIONS"),
                 400, "Bad Request"),
    "CSeq method": (raw_request("OPTIONS", f"sip:{H}").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"),
                    400, "CSeq method"),
    "SIP/3.0": (raw_request("OPTIONS", f"sip:{H}", version="SIP/3.0"), 505, "Version Not Supported"),
    "tel: URI": (raw_request("INVITE", "tel:+15551234"), 416, "Unsupported URI Scheme"),
    "http: URI": (raw_request("OPTIONS", "http://example.com/"), 416, "Unsupported URI Scheme"),
    "sips: URI": (raw_request("OPTIONS", "sips:bob@example.com"), 416, "Unsupported URI Scheme"),
    "body without Content-Type": (raw_request("OPTIONS", f"sip:{H}", body=b"abc"), 400, "Body without"),
    "From without tag": (raw_request("OPTIONS", f"sip:{H}").replace(b";tag=m1", b""), 400, "From has no tag"),
    "bad Via host": (raw_request("OPTIONS", f"sip:{H}").replace(b"127.0.0.1:9;", b"@@@;"), 400, "Bad Request"),
    "bad Max-Forwards": (raw_request("OPTIONS", f"sip:{H}", max_forwards="abc"), 400, "Bad Request"),
    "INVITE without Contact": (raw_request("INVITE", "sip:bob@example.com", drop=["Contact"]), 400, "Dialog-creating"),
    "headers in the Request-URI": (raw_request("OPTIONS", "sip:bob@example.com?Subject=x"), 400, "Header fields"),
    "bad Contact": (raw_request("INVITE", "sip:bob@example.com").replace(b"<sip:mallory@127.0.0.1:9>", b"<<<"),
                    400, "Bad Contact"),
    "bad Session-Expires": (raw_request("OPTIONS", f"sip:{H}", extra="Session-Expires: abc\r\n"),
                            400, "Bad Session-Expires"),
    "not UTF-8": (raw_request("OPTIONS", f"sip:{H}").replace(b"Call-ID: ", b"Call-ID: \x00\xff"), 400, "Bad Request"),
    "unknown method": (raw_request("FOO", f"sip:{H}"), 501, "Not Implemented"),
    "known method not allowed": (raw_request("MESSAGE", f"sip:{H}"), 405, "Method Not Allowed"),
    "unknown Require": (raw_request("OPTIONS", f"sip:{H}", extra="Require: foo, timer\r\n"), 420, "Bad Extension"),
    "unknown body type": (raw_request("OPTIONS", f"sip:{H}", extra="Content-Type: text/foo\r\n", body=b"x"),
                          415, "Unsupported Media Type"),
    "BYE for no dialog": (raw_request("BYE", f"sip:{H}").replace(b">\r\nCall-ID", b">;tag=zz\r\nCall-ID"), 481, None),
    "NOTIFY for no subscription": (raw_request("NOTIFY", f"sip:{H}", extra="Event: conference\r\n"), 481, None),
    "SUBSCRIBE unknown event": (raw_request("SUBSCRIBE", f"sip:{H}", extra="Event: presence\r\n"), 489, "Bad Event"),
    "SUBSCRIBE without Event": (raw_request("SUBSCRIBE", f"sip:{H}"), 400, "Missing Event"),
    "INVITE to the server": (raw_request("INVITE", f"sip:{H}"), 404, "Not Found"),
    "Max-Forwards 0 to a user": (raw_request("OPTIONS", "sip:carol@example.com", max_forwards="0"), 483, None),
    "Max-Forwards 0 to the server": (raw_request("OPTIONS", f"sip:{H}", max_forwards="0"), 200, None),
    "compact forms": (raw_request("OPTIONS", f"sip:{H}").replace(b"Call-ID:", b"i:").replace(b"From:", b"f:"),
                      200, None),
}


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_battery_then_options(transport: str) -> None:
    async with TestServer() as server:
        host, port = server.address
        exchange = udp_exchange if transport == "UDP" else tcp_exchange
        for index, (name, (data, status, reason)) in enumerate(BATTERY.items()):
            data = (data.replace(b"{h}", f"{host}:{port}".encode())
                    .replace(b"SIP/2.0/UDP", f"SIP/2.0/{transport}".encode())
                    .replace(b"z9hG4bKraw1", f"z9hG4bKbat{index}".encode()))
            reply = await asyncio.to_thread(exchange, server.address, data, 1.0 if status is None else 5.0)
            if status is None:
                assert reply is None, name
                continue
            # read as text: some answers copy a malformed row as written (8.2.6.2)
            assert reply is not None, name
            lines = reply.decode("utf-8", "replace").split("\r\n")
            code, _, phrase = lines[0].removeprefix("SIP/2.0 ").partition(" ")
            assert int(code) == status, (name, lines[0])
            if reason is not None:
                assert phrase.startswith(reason), (name, phrase)
            rows = {line.partition(":")[0].lower(): line.partition(":")[2].strip() for line in lines[1:] if line}
            # RFC 3261 8.2.6.2: CSeq and the Via (with its branch) are copied
            sent_cseq = next(line for line in data.split(b"\r\n") if line.startswith(b"CSeq: "))
            assert sent_cseq.decode("utf-8", "replace") in lines, name
            assert lines[1].startswith(f"Via: SIP/2.0/{transport}"), name
            assert f"branch=z9hG4bKbat{index}" in lines[1], name
            assert ";tag=" in rows.get("to", ""), name
            if status in (405, 501):
                assert "OPTIONS" in rows["allow"]
            if status == 420:
                assert rows["unsupported"] == "foo"
            if status == 415:
                assert "application/sdp" in rows["accept"]
            if status == 489:
                assert rows["allow-events"] == "conference"
        # still alive and well
        options = raw_request("OPTIONS", f"sip:{host}:{port}", transport=transport, branch="z9hG4bKafter")
        reply = parse_reply(await asyncio.to_thread(exchange, server.address, options))
        assert reply.status == 200
        assert reply.headers.get_all("Supported") == sorted(SUPPORTED_OPTIONS)


async def test_oversized_stream_message_closes_only_that_connection() -> None:
    async with TestServer(focus=False) as server:
        host, port = server.address
        huge = raw_request("OPTIONS", f"sip:{host}:{port}", transport="TCP").replace(
            b"Content-Length: 0", b"Content-Length: 999999999")
        assert await asyncio.to_thread(tcp_exchange, server.address, huge, 1.0) is None
        options = raw_request("OPTIONS", f"sip:{host}:{port}", transport="TCP", branch="z9hG4bKok")
        assert parse_reply(await asyncio.to_thread(tcp_exchange, server.address, options)).status == 200


def _parsed(data: bytes) -> Request:
    message = parse(data)
    assert isinstance(message, Request)
    return message


def test_check_request_accepts_a_good_request() -> None:
    assert check_request(_parsed(raw_request("INVITE", "sip:bob@example.com"))) is None


@pytest.mark.parametrize(("data", "status"), [
    (raw_request("OPTIONS", "tel:+1555"), 416),
    (raw_request("OPTIONS", "sip:bob@example.com", drop=["Max-Forwards"]), 400),
    (raw_request("SUBSCRIBE", "sip:bob@example.com", drop=["Contact"]), 400),
    (raw_request("OPTIONS", "sip:bob@example.com", extra="Refer-Sub: maybe\r\n"), 400),
])
def test_check_request_rejects(data: bytes, status: int) -> None:
    rejection = check_request(_parsed(data))
    assert rejection is not None and rejection.status == status


def test_require_and_proxy_require() -> None:
    request = _parsed(raw_request("INVITE", "sip:bob@example.com",
                                  extra="Require: timer, 100rel, foo, 100rel\r\nProxy-Require: timer\r\n"))
    rejection = check_require(request, SUPPORTED_OPTIONS)
    assert rejection == Rejection(420, "Bad Extension", (("Unsupported", "100rel, foo"),))
    assert check_proxy_require(request, SUPPORTED_OPTIONS) is None
    ack = _parsed(raw_request("ACK", "sip:bob@example.com", extra="Require: foo\r\n"))
    assert check_require(ack, SUPPORTED_OPTIONS) is None  # RFC 3261 8.2.2.3: ignored for ACK


def test_body_checks() -> None:
    sdp = _parsed(raw_request("OPTIONS", "sip:b@example.com", extra="Content-Type: application/sdp\r\n", body=b"v=0\r\n"))
    assert check_body(sdp, ("application/sdp",)) is None
    zipped = _parsed(raw_request("OPTIONS", "sip:b@example.com",
                                 extra="Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", body=b"x"))
    rejection = check_body(zipped, ("application/sdp",))
    assert rejection is not None and ("Accept-Encoding", "identity") in rejection.headers


def test_check_method() -> None:
    assert check_method("INVITE", ("INVITE",), frozenset({"INVITE", "MESSAGE"})) is None
    assert check_method("MESSAGE", ("INVITE",), frozenset({"INVITE", "MESSAGE"})).status == 405
    assert check_method("FOO", ("INVITE",), frozenset({"INVITE"})).status == 501


def test_error_response_copies_rows_as_written() -> None:
    request = _parsed(raw_request("OPTIONS", "sip:b@example.com"))
    response = error_response(request, Rejection(420, "Bad Extension", (("Unsupported", "foo"),)), "t1", "IM-serv/x")
    text = bytes(response)
    assert text.startswith(b"SIP/2.0 420 Bad Extension\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKraw1;rport\r\n")
    assert b"To: <sip:b@example.com>;tag=t1\r\n" in text
    assert text.endswith(b"Unsupported: foo\r\nServer: IM-serv/x\r\nContent-Length: 0\r\n\r\n")
