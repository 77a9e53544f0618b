"""7.1.1.6: extending a 1-1 IM Session: the URI list names the original peer
first, with a Replaces URI header for the 1-1 dialog (RFC 3891, Appendix L)."""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

import pytest

from imkit.procedures import extend_to_conference
from imkit.procedures.errors import GroupSizeExceeded
from imkit.procedures.state import SessionKind
from imkit.procedures.uri_list import uri_list_entries
from imkit.sip import Replaces, parse_uri
from tests.procedures.flows import (
    BOB,
    CAROL,
    DAVE,
    FACTORY,
    adhoc_flow,
    context,
    one_to_one_flow,
    too_many_flow,
    trace_of,
)
from tests.procedures.scene import Scene
from tests.procedures.wire import assert_initial_request, cites, sdp_and_uri_list


def extended(invited, **kw):
    scene = Scene()
    session = one_to_one_flow(scene)
    return session, extend_to_conference.build(scene.ctx, session, invited, **kw)


def test_invite_on_the_wire() -> None:
    session, out = extended([CAROL, BOB])  # the original peer is listed once, first
    dialog = session.dialog
    escaped = quote(f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}", safe="")
    content_type, body = sdp_and_uri_list(out.request, [f"{BOB}?Replaces={escaped}", CAROL])
    assert_initial_request(out, FACTORY, ["Require: recipient-list-invite"], body, content_type)
    assert cites(out, "Request-URI", "7.1.1.6", "2")
    assert cites(out, "Require", "7.1.1.6", "4")
    assert cites(out, "Content-Type", "7.1.1.6", "6")


def test_replaces_names_the_1_1_dialog_as_the_peer_sees_it() -> None:
    session, out = extended([CAROL])
    peer = uri_list_entries(out.request)[0]
    replaces = Replaces.parse(parse_uri(peer).header("Replaces"))
    # RFC 3891 3: to-tag is the tag of the peer (the INVITE's recipient), from-tag ours
    assert (replaces.call_id, replaces.to_tag, replaces.from_tag) == (
        session.dialog.call_id, session.dialog.remote_tag, session.dialog.local_tag)


def test_group_size_counts_the_original_peer() -> None:
    scene = Scene(ctx=context(max_adhoc_group_size=2)())
    session = one_to_one_flow(scene)
    made = len(scene.ctx.made)
    with pytest.raises(GroupSizeExceeded) as refused:
        extend_to_conference.build(scene.ctx, session, [CAROL, DAVE])
    assert (refused.value.invited, refused.value.rule) == (3, "7.1.1.6/5")
    assert len(scene.ctx.made) == made
    trace = trace_of(partial(too_many_flow, clause="7.1.1.6"), ctx=context(max_adhoc_group_size=2))
    assert [r.label for r in trace if r.label == "7.1.1.6"] == []
    assert [n.key for n in trace.notes][-1] == "7.1.1.6/size-exceeded"


def test_only_a_1_1_session_with_a_dialog_is_extended() -> None:
    scene = Scene()
    with pytest.raises(ValueError):
        extend_to_conference.build(scene.ctx, adhoc_flow(scene), [CAROL])
    session = one_to_one_flow(scene)
    session.dialog = None
    with pytest.raises(ValueError):
        extend_to_conference.build(scene.ctx, session, [CAROL])
    assert session.kind is SessionKind.ONE_TO_ONE
