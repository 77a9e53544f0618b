"""7.1.1.13: the CANCEL of a conference INVITE without a final response
copies the INVITE (RFC 3261 9.1)."""

from __future__ import annotations

import pytest

from imkit.procedures import adhoc_conference, cancel_session
from imkit.procedures.errors import NotCancellable
from imkit.procedures.state import SessionKind, SessionPhase, SessionState
from tests.procedures.context import FixedContext
from tests.procedures.flows import BOB, CAROL, FACTORY, sip
from tests.procedures.wire import assert_wire, cites


def invite():
    out = adhoc_conference.build(FixedContext(), [BOB, CAROL])
    out.request.headers.add("Route", "<sip:proxy.example.com;lr>", first=True)
    return out.request


def test_cancel_copies_the_invite() -> None:
    request = invite()
    out = cancel_session.build(SessionState(SessionKind.ADHOC, sip(FACTORY)), request)
    copied = {name: request.headers.get(name) for name in ("Max-Forwards", "Route", "From", "To", "Call-ID")}
    assert_wire(out, [
        f"CANCEL {FACTORY} SIP/2.0",
        f"Via: {request.headers.get('Via')}",
        *(f"{name}: {value}" for name, value in copied.items()),
        f"CSeq: {request.cseq.seq} CANCEL",
    ])
    assert out.clause == "7.1.1.13"
    assert all(cites(out, name, "RFC 3261", "9.1") for name in ("Via", "Route", "From", "To", "Call-ID", "CSeq"))
    assert cites(out, "Request-URI", "7.1.1.13", "1")


@pytest.mark.parametrize("kind", [SessionKind.ADHOC, SessionKind.PREDEFINED])
def test_only_a_pending_conference_invite_is_cancelled(kind: SessionKind) -> None:
    cancel_session.build(SessionState(kind, sip(FACTORY)), invite())
    with pytest.raises(NotCancellable):
        cancel_session.build(SessionState(kind, sip(FACTORY), phase=SessionPhase.ESTABLISHED), invite())


@pytest.mark.parametrize("kind", [k for k in SessionKind if k not in cancel_session.CANCELLABLE])
def test_other_sessions_are_not_cancelled_by_this_clause(kind: SessionKind) -> None:
    with pytest.raises(NotCancellable) as refused:
        cancel_session.build(SessionState(kind, sip(FACTORY)), invite())
    assert refused.value.rule == "7.1.1.13"
