"""imkit.widgets.views.explorer: ladder and inspector on one live trace."""

from __future__ import annotations

from imkit import conformance
from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.widgets.views import Explorer
from tests.widgets.support import ALICE, SERVER, refer_trace, response_to


def test_one_check_serves_both_views() -> None:
    trace, _ = refer_trace()
    checks: list[int] = []

    def check(t: Trace) -> conformance.Report:
        checks.append(len(t))
        return conformance.check(t, ["7.1.1.7"])

    view = Explorer(trace, check=check)
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    assert checks == [3, 4]
    assert "record&#45;3" in view.ladder.picture.value and view.inspector.picker.value == 3
    view.close()
    trace.record(4.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    assert checks == [3, 4]
