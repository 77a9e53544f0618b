"""7.1.1.7: the REFER that adds IM Users: one (Refer-To the user,
``Refer-Sub: false``) or several (RFC 5368: Refer-To a ``cid:`` body)."""

from __future__ import annotations

from functools import partial

import pytest

from imkit.procedures import add_participants
from imkit.procedures.errors import GroupSizeExceeded
from imkit.procedures.state import SessionKind
from tests.procedures.flows import (
    CAROL,
    DAVE,
    ERIN,
    IDENTITY,
    adhoc_flow,
    context,
    too_many_flow,
    trace_of,
)
from tests.procedures.scene import Scene
from tests.procedures.wire import assert_initial_request, cites, resource_lists


def refer(invited, *, ctx=None, kind: SessionKind = SessionKind.ADHOC, **kw):
    scene = Scene(ctx=ctx)
    session = adhoc_flow(scene)
    session.kind = kind
    return scene, add_participants.build(scene.ctx, session, invited, **kw)


def test_one_invitee() -> None:
    _, out = refer([DAVE])
    assert_initial_request(out, IDENTITY, [f"Refer-To: <{DAVE}>", "Refer-Sub: false"])
    assert cites(out, "Request-URI", "7.1.1.7", "2")
    assert cites(out, "Refer-To", "7.1.1.7", "3a") and cites(out, "Refer-Sub", "7.1.1.7", "3b")


def test_several_invitees() -> None:
    _, out = refer([DAVE, ERIN])
    cid = f"uri-list.{out.request.call_id.split('@')[0]}@127.0.0.1"
    rows = [f"Refer-To: <cid:{cid}>", "Refer-Sub: true", "Require: multiple-refer, norefersub",
            "Content-Disposition: recipient-list", f"Content-ID: <{cid}>"]
    assert_initial_request(out, IDENTITY, rows, resource_lists(DAVE, ERIN), "application/resource-lists+xml")
    assert cites(out, "Refer-To", "7.1.1.7", "4a") and cites(out, "Content-ID", "7.1.1.7", "4a")
    assert cites(out, "Content-Type", "7.1.1.7", "4b")
    assert cites(out, "Refer-Sub", "7.1.1.7", "4c")
    assert [(p.clause, p.item) for p in out.why("Require")] == [("7.1.1.7", "4d")]


def test_anonymity_and_a_chosen_content_id() -> None:
    _, out = refer([DAVE, ERIN], anonymous=True, content_id="list1@example.com")
    assert str(out.request.refer_to.uri) == "cid:list1@example.com"
    assert out.request.content_id == "list1@example.com"
    assert out.request.headers.get("Privacy") == "id"
    assert cites(out, "Privacy", "7.1.1.1", "5") and cites(out, "Privacy", "7.1.1.7", "6")


def test_group_size_of_an_adhoc_session_is_checked() -> None:
    with pytest.raises(GroupSizeExceeded) as refused:
        refer([CAROL, DAVE, ERIN], ctx=context(max_adhoc_group_size=2)())
    assert refused.value.rule == "7.1.1.7/5"
    trace = trace_of(partial(too_many_flow, clause="7.1.1.7"), ctx=context(max_adhoc_group_size=2))
    assert not [r for r in trace if r.title == "REFER"]
    assert trace.notes[-1].key == "7.1.1.7/size-exceeded"


def test_group_size_of_a_predefined_group_is_not_checked() -> None:
    # item 5: only "an Ad-hoc IM Group Session or 1-1 IM Session"
    _, out = refer([CAROL, DAVE, ERIN], ctx=context(max_adhoc_group_size=2)(), kind=SessionKind.PREDEFINED)
    assert out.request.method == "REFER"


def test_nobody_to_add_or_no_identity() -> None:
    scene = Scene()
    session = adhoc_flow(scene)
    with pytest.raises(ValueError):
        add_participants.build(scene.ctx, session, [])
    session.identity = None
    with pytest.raises(ValueError):
        add_participants.build(scene.ctx, session, [DAVE])
