"""7.1.1.11: the SUBSCRIBE to the conference event package, its refresh and
its end (``Expires: 0``)."""

from __future__ import annotations

import pytest

from imkit.procedures import conference_events
from tests.procedures.context import FixedContext
from tests.procedures.flows import GROUP, IDENTITY, sip, subscribe_flow
from tests.procedures.scene import Scene
from tests.procedures.wire import (
    assert_initial_request,
    assert_wire,
    cites,
    in_dialog_head,
)

EVENT_ROWS = ["Event: conference", "Accept: application/conference-info+xml"]


@pytest.mark.parametrize(("expires", "row"), [(None, "Expires: 3600"), (60, "Expires: 60")])
def test_subscribe_on_the_wire(expires: int | None, row: str) -> None:
    out = conference_events.build_subscribe(FixedContext(), sip(IDENTITY), expires=expires)
    assert_initial_request(out, IDENTITY, [*EVENT_ROWS, row])
    assert cites(out, "Request-URI", "7.1.1.11", "2")
    assert cites(out, "Event", "7.1.1.11", "1") and cites(out, "Accept", "7.1.1.11", "1")
    assert cites(out, "Expires", "RFC 6665", "4.1.2.1")


@pytest.mark.parametrize(("expires", "item"), [(600, "1"), (0, "term")])
def test_refresh_and_termination_in_the_subscription_dialog(expires: int, item: str) -> None:
    scene = Scene()
    subscribe_flow(scene)
    out = conference_events.build_refresh(scene.ctx, scene.subscription, expires=expires)
    to = f"<{GROUP}>;tag=srv1"
    assert_wire(out, in_dialog_head(out.request, to, contact=True) + EVENT_ROWS + [f"Expires: {expires}"])
    assert out.request.cseq.seq == 2
    assert cites(out, "Expires", "7.1.1.11", item)
