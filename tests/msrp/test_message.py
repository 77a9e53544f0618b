"""MSRP requests and responses: the RFC examples, the builder, the checks."""

from __future__ import annotations

import random

import pytest

from imkit.errors import LocalProtocolError
from imkit.msrp import (
    MSRPURI,
    ByteRange,
    FailureReport,
    Flag,
    Headers,
    Method,
    MSRPRequest,
    MSRPResponse,
    Status,
    new_transaction_id,
    parse,
)
from tests.msrp import examples as ex


@pytest.mark.parametrize("name", sorted(ex.ALL))
def test_rfc_examples_round_trip(name: str) -> None:
    data = ex.ALL[name]
    message = parse(data)
    assert bytes(message) == data
    assert parse(bytes(message)) == message


def test_section_4_send_views() -> None:
    send = parse(ex.SECTION_4_SEND)
    assert isinstance(send, MSRPRequest)
    assert (send.transaction_id, send.method, send.flag) == ("a786hjs2", "SEND", Flag.END)
    assert send.to_path == (MSRPURI("msrp", "biloxi.example.com", 12763, "kjhd37s2s20w2a", "tcp"),)
    assert str(send.from_path[0]) == "msrp://atlanta.example.com:7654/jshA7weztas;tcp"
    assert send.message_id == "87652491"
    assert send.byte_range == ByteRange(1, 25, 25)
    assert send.content_type == "text/plain" and send.media_type == "text/plain"
    assert send.body == b"Hey Bob, are you there?"
    assert send.success_report is False and send.failure_report is FailureReport.YES
    ok = parse(ex.SECTION_4_OK)
    assert isinstance(ok, MSRPResponse)
    assert (ok.transaction_id, ok.code, ok.comment, ok.body) == ("a786hjs2", 200, "OK", None)


def test_chunk_flags_and_ranges() -> None:
    first, second = parse(ex.SECTION_5_1_CHUNK_1), parse(ex.SECTION_5_1_CHUNK_2)
    assert first.flag is Flag.MORE and second.flag is Flag.END
    assert first.byte_range == ByteRange(1, None, 8) and second.byte_range == ByteRange(5, 8, 8)
    assert first.body + second.body == b"abcdEFGH"
    assert first.message_id == second.message_id == "4564dpWd"


def test_report_and_report_headers() -> None:
    send = parse(ex.SECTION_11_5_SEND)
    assert send.success_report is True and send.failure_report is FailureReport.NO
    report = parse(ex.SECTION_11_5_REPORT)
    assert report.method == Method.REPORT.value and report.body is None
    assert report.status == Status(200, "OK", 0)
    assert report.byte_range == ByteRange(1, 106, 106)


def test_relay_auth_messages() -> None:
    auth = parse(ex.RFC4976_AUTH)
    assert auth.method == "AUTH"
    assert auth.to_path[0].user == "alice" and auth.to_path[0].port is None
    assert auth.to_path[0].session_id is None
    challenge = parse(ex.RFC4976_401)
    assert challenge.code == 401 and challenge.headers.get("WWW-Authenticate").startswith("Digest ")
    ok = parse(ex.RFC4976_200)
    assert [str(u) for u in ok.use_path] == ["msrps://intra.example.com:9000/jui787s2f;tcp"]
    assert ok.headers.get("Expires") == "900"


def test_unknown_methods_are_kept() -> None:
    data = ex.SECTION_4_SEND.replace(b"a786hjs2 SEND", b"a786hjs2 NICKNAME")
    message = parse(data)
    assert message.method == "NICKNAME" and bytes(message) == data


def test_create_orders_fields_and_picks_a_fresh_transaction_id() -> None:
    rng = random.Random(7)
    request = MSRPRequest.create(
        Method.SEND, to_path=[ex.BOB], from_path=[ex.ALICE], message_id="m1",
        byte_range=ByteRange(1, 5, 5), success_report=True, failure_report=FailureReport.PARTIAL,
        content_type="text/plain", body=b"hello", headers=[("Content-Disposition", "inline")], rng=rng,
    )
    assert [name for name, _ in request.headers] == [
        "To-Path", "From-Path", "Message-ID", "Success-Report", "Failure-Report", "Byte-Range",
        "Content-Disposition", "Content-Type",
    ]
    assert bytes(request) == (
        f"MSRP {request.transaction_id} SEND\r\nTo-Path: {ex.BOB}\r\nFrom-Path: {ex.ALICE}\r\n"
        "Message-ID: m1\r\nSuccess-Report: yes\r\nFailure-Report: partial\r\nByte-Range: 1-5/5\r\n"
        f"Content-Disposition: inline\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        f"-------{request.transaction_id}$\r\n"
    ).encode()
    assert parse(bytes(request)) == request


def test_transaction_id_never_occurs_in_the_body() -> None:
    class Scripted(random.Random):
        """Offers the ids that occur in the body first."""

        def __init__(self, ids: list[str]) -> None:
            super().__init__(0)
            self.ids = ids

        def choices(self, population, k=1, **kw):  # type: ignore[override]
            return list(self.ids.pop(0)) if self.ids else super().choices(population, k=k, **kw)

    body = b"aaaaaaaaaaaa and bbbbbbbbbbbb"
    tid = new_transaction_id(body, Scripted(["aaaaaaaaaaaa", "bbbbbbbbbbbb"]))
    assert tid.encode() not in body and len(tid) == 12
    request = MSRPRequest.create("SEND", to_path=[ex.BOB], from_path=[ex.ALICE], message_id="m",
                                 content_type="text/plain", body=body,
                                 rng=Scripted(["aaaaaaaaaaaa"]))
    assert request.transaction_id.encode() not in body
    with pytest.raises(LocalProtocolError):
        MSRPRequest.create("SEND", to_path=[ex.BOB], from_path=[ex.ALICE], content_type="text/plain",
                           body=b"xx abcd1234 xx", transaction_id="abcd1234")


def test_body_holding_its_end_line_is_refused() -> None:
    headers = Headers((("To-Path", ex.BOB), ("From-Path", ex.ALICE), ("Content-Type", "text/plain")))
    for flag in "$+#":
        with pytest.raises(LocalProtocolError):
            MSRPRequest("abcd1234", "SEND", headers, f"x\r\n-------abcd1234{flag}y".encode())
    # a near miss is fine: no CRLF before, or no flag after
    for body in (b"x-------abcd1234$", b"\r\n-------abcd1234x", b"-------abcd1234$"):
        request = MSRPRequest("abcd1234", "SEND", headers, body)
        assert parse(bytes(request)).body == body


@pytest.mark.parametrize("kwargs", [
    {"transaction_id": "has space"}, {"method": "send"}, {"method": "S3ND"},
    {"headers": Headers((("From-Path", ex.ALICE),))},                    # no To-Path
    {"headers": Headers((("To-Path", "nonsense"), ("From-Path", ex.ALICE)))},
    {"headers": Headers((("To-Path", ex.BOB), ("From-Path", ex.ALICE), ("Byte-Range", "3-1/1")))},
    {"headers": Headers((("To-Path", ex.BOB), ("To-Path", ex.BOB), ("From-Path", ex.ALICE)))},
    {"headers": Headers((("To-Path", ex.BOB), ("From-Path", ex.ALICE), ("Failure-Report", "maybe")))},
])
def test_constructor_checks(kwargs: dict) -> None:
    base = {"transaction_id": "abcd1234", "method": "SEND",
            "headers": Headers((("To-Path", ex.BOB), ("From-Path", ex.ALICE)))}
    with pytest.raises(LocalProtocolError):
        MSRPRequest(**{**base, **kwargs})


def test_response_answering() -> None:
    request = parse(ex.SECTION_11_1_SEND)
    response = MSRPResponse.answering(request, 481, local_uri=request.to_path[0])
    assert bytes(response) == (
        f"MSRP d93kswow 481 No Such Session\r\nTo-Path: {ex.ALICE}\r\nFrom-Path: {ex.BOB}\r\n"
        "-------d93kswow$\r\n"
    ).encode()
    assert MSRPResponse.answering(request, 200, local_uri=ex.BOB) == parse(ex.SECTION_11_1_OK)
    with pytest.raises(LocalProtocolError):
        MSRPResponse("abcd1234", 42, None, response.headers)
    with pytest.raises(LocalProtocolError):
        MSRPResponse("abcd1234", 200, "two\r\nlines", response.headers)
