"""imkit.widgets.views.inspector: picking a record in the browser shows it."""

from __future__ import annotations

from imkit import conformance
from imkit.trace import Direction, Protocol, Transport
from imkit.widgets.live import LiveTrace
from imkit.widgets.views import Inspector
from tests.widgets.support import (
    ALICE,
    SERVER,
    refer_trace,
    response_to,
    row_with,
    visible_text,
)
from tests.widgets.views.conftest import from_front_end, sent_values


def inspector(**kwargs: object) -> Inspector:
    trace, _ = refer_trace(refer_sub=False)
    return Inspector(LiveTrace(trace, check=lambda t: conformance.check(t, ["7.1.1.7"])), **kwargs)  # type: ignore[arg-type]


def test_picking_in_the_browser_shows_that_record() -> None:
    view = inspector()
    assert view.picker.options[0][0] == "#0  1.000  → REFER [7.1.1.7]  ✗"
    assert row_with(view.headers.value, "(no Refer-Sub header)")[3] == "7.1.1.7/4c fail"
    from_front_end(view.picker, index=1)
    assert view.model.seq == 1
    assert visible_text(sent_values(view.meta)[-1]).startswith("#1 202 Accepted")
    assert "SIP/2.0 202 Accepted␍␊" in visible_text(view.bytes.value)
    assert visible_text(view.hex.value).startswith("000000  53 49 50 2f 32 2e 30 20 32 30 32")


def test_previous_next_and_follow() -> None:
    view = inspector()
    view.next_button.click()
    view.next_button.click()
    assert view.picker.value == 2 and "MSRP" in view.meta.value
    view.previous_button.click()
    assert view.model.seq == 1
    from_front_end(view.follow_box, value=True)
    assert view.model.follow and view.picker.value == 2
    trace = view.live.trace
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    assert view.picker.value == 3 and len(view.picker.options) == 4
    assert sent_values(view.picker, "index")[-1] == 3
