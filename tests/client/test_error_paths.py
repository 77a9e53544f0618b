"""The IM Client's error paths, on real sockets: what the user is told, what
is (not) sent, and what is stored afterwards (issue 4: group size exceeded,
no stored identity for rejoin, 4xx/5xx answers, CANCEL racing a 200)."""

from __future__ import annotations

import asyncio

import pytest

from imkit.client import IMClient, ProcedureFailed
from imkit.procedures.errors import GroupSizeExceeded, NoStoredSessionIdentity
from imkit.procedures.state import SessionPhase
from imkit.runtime import Endpoint, IncomingRequest
from imkit.server import TestServer
from imkit.sip import Response
from imkit.sip.builders import make_response
from imkit.sip.sdp import SessionDescription, Setup, build_msrp_answer
from imkit.trace import Trace
from imkit.trace.record import Direction


def sent_methods(trace: Trace) -> list[str]:
    return [r.message.method for r in trace if r.direction is Direction.SENT and hasattr(r.message, "method")]


@pytest.fixture
async def server():
    async with TestServer(domain="example.com") as running:
        yield running


@pytest.fixture
async def alice(server):
    trace = Trace()
    host, port = server.address
    async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace, max_adhoc_group_size=3) as client:
        yield client


async def test_group_size_exceeded_tells_the_user_and_sends_nothing(alice: IMClient) -> None:
    with pytest.raises(GroupSizeExceeded) as refused:
        await alice.start_adhoc_conference([f"sip:user{i}@example.com" for i in range(4)])
    assert (refused.value.invited, refused.value.maximum, refused.value.rule) == (4, 3, "7.1.1.3/4")
    assert sent_methods(alice.trace) == []
    assert [n.key for n in alice.trace.notes] == ["7.1.1.3/size-exceeded"]


async def test_rejoin_without_a_stored_identity_is_an_error_and_sends_nothing(alice: IMClient) -> None:
    with pytest.raises(NoStoredSessionIdentity, match=r"7\.1\.1\.9/1"):
        await alice.rejoin()
    assert sent_methods(alice.trace) == []
    assert "7.1.1.9/1-error" in [n.key for n in alice.trace.notes]


@pytest.mark.parametrize("status", [403, 486, 503])
async def test_failure_answers_raise_with_the_status_and_store_nothing(alice: IMClient, server, status: int) -> None:
    server.faults.add(method="INVITE", to="conference-factory", status=status)
    with pytest.raises(ProcedureFailed) as failed:
        await alice.start_adhoc_conference(["sip:bob@example.com"])
    assert failed.value.status == status and failed.value.clause == "7.1.1.3"
    session = alice.sessions[-1]
    assert session.state.phase is SessionPhase.FAILED and session.identity is None
    assert sent_methods(alice.trace) == ["INVITE", "ACK"]  # the non-2xx ACK of RFC 3261 17.1.1.3


async def test_busy_user_gives_486(alice: IMClient, server) -> None:
    server.users.add("erin", behaviour="busy")
    with pytest.raises(ProcedureFailed) as failed:
        await alice.start_session("sip:erin@example.com")
    assert failed.value.status == 486


async def test_leave_then_rejoin_uses_the_stored_identity(alice: IMClient) -> None:
    conference = await alice.start_adhoc_conference(["sip:bob@example.com"])
    identity = str(conference.identity)
    await conference.leave()
    assert alice.stored_identity() == identity
    again = await alice.rejoin()
    invite = [r for r in alice.trace if r.label == "7.1.1.9" and r.message.method == "INVITE"][-1]
    assert str(invite.message.uri) == identity
    await again.leave()


async def test_cancel_that_crosses_the_200_ends_the_session_with_bye() -> None:
    """RFC 3261 15: the 200 came before the CANCEL could stop the INVITE, so the
    session exists; the client, which wanted none, ends it with BYE."""
    trace = Trace()
    answered = asyncio.Event()

    async def focus(incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if request.method == "INVITE":
            focus_endpoint.respond(incoming, make_response(request, 180, to_tag="f1"))
            body = _answer_from(request)
            response = make_response(request, 200, to_tag="f1", headers=[("Contact", f"<sip:conf-1@127.0.0.1:{port}>;isfocus")],
                                     body=body, content_type="application/sdp")
            answered.set()
            return response
        if request.method == "BYE":
            return make_response(request, 200)
        return None

    focus_endpoint = Endpoint(handler=focus)
    await focus_endpoint.start()
    port = focus_endpoint.local_address("UDP")[1]
    async with IMClient("sip:alice@example.com", server=f"127.0.0.1:{port}", trace=trace, auto_subscribe=False) as alice:
        pending = alice.begin(alice.prepare.start_adhoc_conference(["sip:bob@example.com"]))
        await pending.cancel()
        session = await pending.session()
        assert session.state.phase is SessionPhase.ENDED
    await focus_endpoint.close()
    methods = sent_methods(trace)
    assert methods[0] == "INVITE" and "ACK" in methods and methods[-1] == "BYE"


def _answer_from(request) -> bytes:
    from imkit.procedures.general_checks import sdp_body

    offer = SessionDescription.parse(sdp_body(request, multipart=True))
    return bytes(build_msrp_answer(offer, path="msrp://127.0.0.1:9/focus;tcp", session_id=1, prefer=Setup.PASSIVE))
