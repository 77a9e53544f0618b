"""7.1.1.3: the ad-hoc conference INVITE (SDP offer + URI list) and the
MAX-ADHOC-GROUP-SIZE check."""

from __future__ import annotations

from functools import partial

import pytest

from imkit.procedures import adhoc_conference
from imkit.procedures.errors import GroupSizeExceeded
from tests.procedures.context import FixedContext
from tests.procedures.flows import (
    BOB,
    CAROL,
    DAVE,
    FACTORY,
    context,
    too_many_flow,
    trace_of,
)
from tests.procedures.wire import assert_initial_request, cites, sdp_and_uri_list


def test_invite_on_the_wire() -> None:
    out = adhoc_conference.build(FixedContext(), [BOB, CAROL])
    content_type, body = sdp_and_uri_list(out.request, [BOB, CAROL])
    assert_initial_request(out, FACTORY, ["Require: recipient-list-invite"], body, content_type)
    assert cites(out, "Request-URI", "7.1.1.3", "2")
    assert cites(out, "Require", "7.1.1.3", "3") and cites(out, "Require", "RFC 5366", "4")
    assert cites(out, "Content-Type", "7.1.1.3", "3")


def test_other_formats_follow_message_cpim() -> None:
    out = adhoc_conference.build(FixedContext(), [BOB], extra_accept_types=["*"], anonymous=True)
    _, body = sdp_and_uri_list(out.request, [BOB], "message/cpim text/plain *")
    assert out.request.body == body
    assert out.request.headers.get("Privacy") == "id"


def test_group_size_exceeded_is_refused_before_anything_is_built() -> None:
    ctx = context(max_adhoc_group_size=2)()
    with pytest.raises(GroupSizeExceeded) as refused:
        adhoc_conference.build(ctx, [BOB, CAROL, DAVE])
    assert (refused.value.invited, refused.value.maximum, refused.value.rule) == (3, 2, "7.1.1.3/4")
    assert ctx.made == []
    adhoc_conference.build(ctx, [BOB, CAROL])  # exactly the limit is allowed
    assert len(ctx.made) == 1


def test_the_user_is_told_and_nothing_is_sent() -> None:
    trace = trace_of(partial(too_many_flow, clause="7.1.1.3"), ctx=context(max_adhoc_group_size=2))
    assert len(trace) == 0
    assert [n.key for n in trace.notes] == ["7.1.1.3/size-exceeded"]
    assert trace.notes[0].text == "3 invited IM Users exceed MAX-ADHOC-GROUP-SIZE of 2 [7.1.1.3/4]"


@pytest.mark.parametrize(("invited", "factory"), [([], FACTORY), ([BOB], None)])
def test_nothing_to_invite_or_nowhere_to_send(invited: list[str], factory: str | None) -> None:
    ctx = FixedContext()
    ctx.profile.conference_factory = factory
    with pytest.raises(ValueError):
        adhoc_conference.build(ctx, invited)
