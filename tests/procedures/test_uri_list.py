"""The URI-list helpers (RFC 5366, RFC 5368) the group procedures and the
size-check rules share."""

from __future__ import annotations

import pytest

from imkit.procedures import add_participants, adhoc_conference, one_to_one
from imkit.procedures.uri_list import (
    invited_from_part,
    invited_on_wire,
    uri_list_entries,
    uri_list_part,
)
from tests.procedures.context import FixedContext
from tests.procedures.flows import BOB, CAROL, DAVE, adhoc_flow, sip
from tests.procedures.scene import Scene, put, replace_body
from tests.procedures.wire import resource_lists


def test_uri_list_part() -> None:
    part = uri_list_part([BOB, CAROL], content_id="list@example.com")
    assert part.body == resource_lists(BOB, CAROL)
    assert part.headers.get("Content-Type") == "application/resource-lists+xml"
    assert part.headers.get("Content-Disposition") == "recipient-list"
    assert part.content_id == "list@example.com"
    assert invited_from_part(part) == (BOB, CAROL)


def referral(invited):
    scene = Scene()
    return add_participants.build(scene.ctx, adhoc_flow(scene), invited).request


@pytest.mark.parametrize(("make", "invited"), [
    (lambda: adhoc_conference.build(FixedContext(), [BOB, CAROL]).request, (BOB, CAROL)),
    (lambda: referral([CAROL, DAVE]), (CAROL, DAVE)),
    (lambda: referral([DAVE]), (DAVE,)),
    (lambda: one_to_one.build(FixedContext(), sip(BOB)).request, None),
])
def test_invited_on_the_wire(make, invited) -> None:
    assert invited_on_wire(make()) == invited


@pytest.mark.parametrize("spoil", [
    put("Content-Type", "multipart/mixed"),  # no boundary
    replace_body(b"--x\r\nContent-Type: application/resource-lists+xml\r\n\r\n<oops\r\n--x--\r\n",
                 "multipart/mixed;boundary=x"),
])
def test_unreadable_uri_lists_name_nobody(spoil) -> None:
    request = adhoc_conference.build(FixedContext(), [BOB]).request
    spoil(request)
    assert uri_list_entries(request) is None and invited_on_wire(request) is None


@pytest.mark.parametrize("spoil", [put("Refer-To", "<<<"), replace_body(b"<oops", "application/resource-lists+xml")])
def test_unreadable_referrals_name_nobody(spoil) -> None:
    request = referral([CAROL, DAVE])
    spoil(request)
    assert invited_on_wire(request) is None
    request.headers.remove("Refer-To")
    assert invited_on_wire(request) is None
