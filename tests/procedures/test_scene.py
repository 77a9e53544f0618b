"""The hand-made exchanges the rule tests read are well formed: every record
parses, the server's documents are what their packages define, and the
client's notes are about the messages they name."""

from __future__ import annotations

import pytest

from imkit.payloads.conference_info import ConferenceInfo
from imkit.payloads.sipfrag import SipFrag
from imkit.trace import Protocol
from tests.procedures.flows import (
    ALICE,
    IDENTITY,
    add_flow,
    adhoc_flow,
    conference_info,
    trace_of,
)
from tests.procedures.rule_cases import CONFORMING
from tests.procedures.scene import Scene, drop, mutation


@pytest.mark.parametrize("name", list(CONFORMING))
def test_every_record_parses_and_every_note_is_about_one(name: str) -> None:
    trace = CONFORMING[name]()
    assert all(record.message is not None for record in trace), [r.parse_error for r in trace]
    messages = [r.message for r in trace if r.protocol is Protocol.SIP]
    for note in trace.notes:
        assert note.call_id is None or any(note.is_about(m) for m in messages), note


def test_the_conference_state_names_the_client_as_its_own_user() -> None:
    info = ConferenceInfo.from_xml(conference_info(IDENTITY))
    assert info.own_user(ALICE).entity == ALICE and info.own_user(ALICE).yourown is True


def test_refer_progress_is_a_sipfrag() -> None:
    trace = trace_of(add_flow)
    notify = next(r.message for r in trace if r.title == "NOTIFY" and r.message.event.value == "refer")
    assert SipFrag.parse(notify.body).status_code == 200


def test_a_mutation_changes_the_wire_copy_only() -> None:
    scene = Scene(mutation(edit={"7.1.1.3": drop("Require")}, skip={"7.1.1.3/ack"}, drop_notes={"user-plane"},
                           note_text={"session-identity": "sip:elsewhere@example.com"}))
    state = adhoc_flow(scene)
    invite = scene.trace[0].message
    assert "Require" not in invite.headers
    assert state.dialog is not None  # the exchange went on from the INVITE as built
    assert "ACK" not in [r.title for r in scene.trace]
    keys = [n.key for n in scene.trace.notes]
    assert "user-plane" not in keys
    assert [n.text for n in scene.trace.notes if n.key == "session-identity"] == ["sip:elsewhere@example.com"]
