"""7.1.1.14: the REFER that removes an IM User: ``Refer-To`` with
``method=BYE`` and ``Refer-Sub: false``."""

from __future__ import annotations

import pytest

from imkit.procedures import remove_participant
from imkit.sip import ParseError
from tests.procedures.flows import CAROL, IDENTITY, adhoc_flow
from tests.procedures.scene import Scene
from tests.procedures.wire import assert_initial_request, cites


def test_refer_on_the_wire() -> None:
    scene = Scene()
    out = remove_participant.build(scene.ctx, adhoc_flow(scene), CAROL, anonymous=True)
    assert_initial_request(out, IDENTITY, [f"Refer-To: <{CAROL};method=BYE>", "Refer-Sub: false"], privacy=True)
    assert out.clause == "7.1.1.14"
    assert cites(out, "Request-URI", "7.1.1.14", "2")
    assert cites(out, "Refer-To", "7.1.1.14", "3") and cites(out, "Refer-Sub", "7.1.1.14", "4")


@pytest.mark.parametrize(("removed", "error"), [("tel:+15551234", ValueError), ("carol", ParseError)])
def test_the_removed_user_needs_a_sip_uri(removed: str, error: type[Exception]) -> None:
    scene = Scene()
    with pytest.raises(error):
        remove_participant.build(scene.ctx, adhoc_flow(scene), removed)


def test_no_identity_no_refer() -> None:
    scene = Scene()
    session = adhoc_flow(scene)
    session.identity = None
    with pytest.raises(ValueError):
        remove_participant.build(scene.ctx, session, CAROL)
