"""7.1.1.12: the BYE that leaves an IM Session, to its IM Session Identity."""

from __future__ import annotations

import pytest

from imkit.procedures import leave_session
from tests.procedures.flows import FACTORY, IDENTITY, adhoc_flow
from tests.procedures.scene import Scene
from tests.procedures.wire import assert_wire, cites, in_dialog_head


@pytest.mark.parametrize("anonymous", [False, True])
def test_bye_on_the_wire(anonymous: bool) -> None:
    scene = Scene()
    out = leave_session.build(scene.ctx, adhoc_flow(scene), anonymous=anonymous)
    assert str(out.request.uri) == IDENTITY  # the focus's Contact: the IM Session Identity
    rows = in_dialog_head(out.request, f"<{FACTORY}>;tag=srv1", contact=False)
    assert_wire(out, rows + (["Privacy: id"] if anonymous else []))
    assert cites(out, "Request-URI", "7.1.1.12", "2")
    assert cites(out, "Privacy", "7.1.1.12", "3") is anonymous


def test_no_dialog_nothing_to_leave() -> None:
    scene = Scene()
    state = adhoc_flow(scene)
    state.dialog = None
    with pytest.raises(ValueError):
        leave_session.build(scene.ctx, state)
