"""The re-INVITEs in an established session: 7.1.1.5 (modification) and
7.1.1.8 (session refresh), both carrying the 7.1.1.1 headers."""

from __future__ import annotations

import pytest

from imkit.procedures import modify_session, refresh_session
from imkit.procedures.general import SessionTimer
from imkit.procedures.state import SessionState
from tests.procedures.flows import one_to_one_flow
from tests.procedures.scene import Scene
from tests.procedures.wire import assert_reinvite, cites, sdp_offer

IN_DIALOG_TO = "<sip:bob@example.com>;tag=srv1"


def session() -> tuple[Scene, SessionState]:
    scene = Scene()
    return scene, one_to_one_flow(scene)


def test_modification_on_the_wire() -> None:
    scene, state = session()
    offer = sdp_offer("message/cpim")
    out = modify_session.build(scene.ctx, state, offer, anonymous=True)
    assert str(out.request.uri) == "sip:bob@127.0.0.1:5080"  # the remote target, from the 200's Contact
    assert_reinvite(out, IN_DIALOG_TO, offer, privacy=True)
    assert out.request.cseq.seq == 2
    assert cites(out, "Content-Type", "7.1.1.5", "0")


def test_refresh_on_the_wire() -> None:
    scene, state = session()
    out = refresh_session.build(scene.ctx, state)
    # "4. SHALL include an SDP body with the SDP parameters being used in the session"
    assert_reinvite(out, IN_DIALOG_TO, state.offer)
    assert cites(out, "Session-Expires", "7.1.1.8", "2")
    assert cites(out, "Supported", "7.1.1.8", "3")
    assert cites(out, "Content-Type", "7.1.1.8", "4")


@pytest.mark.parametrize(("timer", "interval", "min_se", "expected"), [
    (SessionTimer(600, "uac"), None, None, "600;refresher=uac"),
    (None, None, None, "1800;refresher=uac"),  # the provisioned value
    (SessionTimer(600, "uas"), 90, None, "90;refresher=uac"),
    (SessionTimer(600, "uac"), None, 3600, "3600;refresher=uac"),  # raised after a 422 (RFC 4028 7.4)
])
def test_refresh_interval(timer, interval, min_se, expected: str) -> None:
    scene, state = session()
    state.timer = timer
    out = refresh_session.build(scene.ctx, state, interval=interval, min_se=min_se)
    assert out.request.headers.get("Session-Expires") == expected
    assert out.request.headers.get("Min-SE") == (None if min_se is None else str(min_se))


@pytest.mark.parametrize("build", [lambda ctx, s: modify_session.build(ctx, s, b""), refresh_session.build])
def test_no_dialog_nothing_to_reinvite(build) -> None:
    scene, state = session()
    state.dialog = None
    with pytest.raises(ValueError):
        build(scene.ctx, state)
