"""The initial INVITEs with one SDP offer: 7.1.1.2 (1-1), 7.1.1.4 (pre-defined
group), 7.1.1.9 (rejoin) and 7.1.1.10 (public conference), byte for byte and
with the clause item behind each header."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from imkit.procedures import (
    one_to_one,
    predefined_conference,
    public_conference,
    rejoin_conference,
)
from imkit.procedures.errors import NoStoredSessionIdentity
from imkit.procedures.outgoing import OutgoingRequest
from tests.procedures.context import FixedContext
from tests.procedures.flows import (
    BOB,
    GROUP,
    IDENTITY,
    PUBLIC,
    rejoin_refused_flow,
    sip,
    trace_of,
)
from tests.procedures.wire import assert_initial_request, cites, sdp_offer

Build = Callable[..., OutgoingRequest]

# (builder, target, the item citing the Request-URI, the item citing the SDP body)
INVITES: dict[str, tuple[Build, str, str, str]] = {
    "7.1.1.2": (one_to_one.build, BOB, "2", "3"),
    "7.1.1.4": (predefined_conference.build, GROUP, "1a", "1b"),
    "7.1.1.9": (rejoin_conference.build, IDENTITY, "3", "4"),
    "7.1.1.10": (public_conference.build, PUBLIC, "2", "4"),
}


@pytest.mark.parametrize("clause", list(INVITES))
@pytest.mark.parametrize("anonymous", [False, True])
def test_invite_on_the_wire(clause: str, anonymous: bool) -> None:
    build, target, uri_item, body_item = INVITES[clause]
    out = build(FixedContext(), sip(target), anonymous=anonymous)
    assert_initial_request(out, target, (), sdp_offer(), "application/sdp", privacy=anonymous)
    assert out.clause == clause
    assert cites(out, "Session-Expires", "7.1.1.1", "7")
    assert cites(out, "Request-URI", clause, uri_item)
    assert cites(out, "Content-Type", clause, body_item)
    assert cites(out, "Privacy", "7.1.1.1", "5") is anonymous


def test_public_conference_cites_item_3_for_application_sdp() -> None:
    out = public_conference.build(FixedContext(), sip(PUBLIC))
    assert cites(out, "Content-Type", "7.1.1.10", "3")


@pytest.mark.parametrize("build", [predefined_conference.build, public_conference.build])
def test_conference_offers_may_list_other_formats(build: Build) -> None:
    out = build(FixedContext(), sip(GROUP), extra_accept_types=("*", "text/plain"))
    assert out.request.body == sdp_offer("message/cpim text/plain *")


def test_rejoin_without_a_stored_identity_is_refused_and_nothing_is_sent() -> None:
    with pytest.raises(NoStoredSessionIdentity) as refused:
        rejoin_conference.build(FixedContext(), None)
    assert refused.value.rule == "7.1.1.9/1"
    trace = trace_of(rejoin_refused_flow)
    assert len(trace) == 0
    assert [(n.key, n.text) for n in trace.notes] == [
        ("7.1.1.9/1", "stored IM Session Identity: none"),
        ("7.1.1.9/1-error", str(refused.value)),
    ]
