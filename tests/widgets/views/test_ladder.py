"""imkit.widgets.views.ladder: the picture reaches the browser as the trace grows."""

from __future__ import annotations

import pytest

from imkit import conformance
from imkit.trace import Direction, Protocol, Transport
from imkit.widgets.live import LiveTrace
from imkit.widgets.views import Ladder
from tests.widgets.support import ALICE, SERVER, refer_trace, response_to
from tests.widgets.views.conftest import sent_values


def check(trace: object) -> conformance.Report:
    return conformance.check(trace, ["7.1.1.7"])  # type: ignore[arg-type]


def test_each_new_record_sends_a_new_picture() -> None:
    trace, _ = refer_trace(refer_sub=False)
    view = Ladder(trace, check=check)
    assert "record&#45;2" in view.picture.value and "#d32f2f" in view.picture.value
    before = len(sent_values(view.picture))
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    pictures = sent_values(view.picture)
    assert len(pictures) == before + 1 and "record&#45;3" in pictures[-1]


def test_check_again_reruns_the_rules() -> None:
    trace, _ = refer_trace()
    calls: list[int] = []

    def counting(t: object) -> conformance.Report:
        calls.append(1)
        return check(t)

    view = Ladder(trace, check=counting)
    view.recheck_button.click()
    assert len(calls) == 2 and view.live.refreshes == 2


def test_closing_a_view_stops_the_live_trace_it_made_but_not_one_it_was_given() -> None:
    trace, _ = refer_trace()
    own = Ladder(trace)
    shared = LiveTrace(trace)
    given = Ladder(shared)
    own.close()
    given.close()
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    assert own.live.refreshes == 1 and shared.refreshes == 2
    with pytest.raises(TypeError):
        Ladder(shared, check=check)
