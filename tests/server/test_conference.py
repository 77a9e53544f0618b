"""imkit.server.conference: admission, roster, roles and the RFC 4575 documents."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.payloads.conference_info import (
    YOUROWN_NAMESPACE,
    ConferenceInfo,
    State,
    diff,
)
from imkit.server.conference import Conference, ConferenceKind, Refusal, Role
from imkit.server.groups import GroupDefinition
from imkit.sip import SipURI

IDENTITY = SipURI(host="127.0.0.1", port=5060, user="conf-abc")


def conference(max_size: int = 10, **kw: object) -> Conference:
    return Conference(IDENTITY, ConferenceKind.ADHOC, max_size, **kw)  # type: ignore[arg-type]


def test_admission_limits_size_counting_pending_dialouts() -> None:
    conf = conference(max_size=3)
    conf.join("sip:alice@example.com", roles=(Role.CREATOR,))
    conf.pending.add("sip:bob@example.com")
    assert conf.check_admission("sip:carol@example.com") is None
    refusal = conf.check_admission("sip:carol@example.com", adding=2)
    assert refusal == Refusal(403, "group size exceeds the maximum of 3 participants")
    # someone already in (or being dialled) does not count twice
    assert conf.check_admission("sip:bob@example.com", adding=2) is None


def test_admission_anonymity_and_membership() -> None:
    group = GroupDefinition(SipURI(host="example.com", user="group-x"), members=("sip:alice@example.com",))
    conf = Conference(IDENTITY, ConferenceKind.GROUP, 5, anonymity_allowed=False, group=group)
    assert conf.check_admission("sip:alice@example.com", anonymous=True) == Refusal(
        403, "anonymity is not allowed in this IM Group")
    refusal = conf.check_admission("sip:mallory@example.com")
    assert refusal is not None and refusal.status == 403 and "not a member" in refusal.text
    # RFC 3261 19.1.4: the host compares case-insensitively, the user part does not
    assert conf.check_admission("sip:alice@Example.COM") is None
    assert conf.check_admission("sip:ALICE@example.com") is not None
    # the focus's own dial-outs to members are not membership-checked again
    assert conf.check_admission("sip:mallory@example.com", dialled=True) is None
    public = Conference(IDENTITY, ConferenceKind.PUBLIC, 5,
                        group=GroupDefinition(SipURI(host="example.com", user="chat-x"), public=True))
    assert public.check_admission("sip:anyone@example.com") is None


def test_ended_conference_refuses_with_404() -> None:
    conf = conference()
    conf.end()
    assert conf.ended and conf.check_admission("sip:a@example.com") == Refusal(404, "the conference has ended")


def test_warning_row_quotes_the_text() -> None:
    assert Refusal(403, 'say "hi"').warning("127.0.0.1:5060") == ("Warning", '399 127.0.0.1:5060 "say \\"hi\\""')


def test_observers_hear_joins_and_leaves_and_roles() -> None:
    conf = conference()
    heard: list[tuple[str, bool]] = []
    conf.observe(lambda c, p, present: heard.append((p.aor, present)))
    alice = conf.join("sip:alice@example.com", roles=(Role.CREATOR,))
    conf.join("sip:bob@example.com")
    assert conf.creator == "sip:alice@example.com" and alice.may_remove_others
    assert not conf.may_remove("sip:bob@example.com") and conf.may_remove("sip:alice@example.com")
    conf.grant("sip:bob@example.com", Role.HOST)
    assert conf.may_remove("sip:bob@example.com")
    assert conf.leave("sip:bob@example.com") is not None
    assert conf.leave("sip:bob@example.com") is None
    assert heard == [("sip:alice@example.com", True), ("sip:bob@example.com", True),
                     ("sip:bob@example.com", True), ("sip:bob@example.com", False)]


def test_rejoin_keeps_roles_and_anonymous_number() -> None:
    conf = conference()
    first = conf.join("sip:alice@example.com", roles=(Role.CREATOR,), anonymous=True)
    again = conf.join("sip:alice@example.com", anonymous=True)
    assert again.roles == (Role.CREATOR,) and again.serial == first.serial


def test_full_document_marks_yourown_and_masks_anonymous_and_bcc() -> None:
    conf = conference()
    conf.join("sip:alice@example.com", display_name="Alice", roles=(Role.CREATOR,),
              contact="sip:alice@127.0.0.1:5070", joined_at="2024-01-01T00:00:00Z")
    conf.join("sip:bob@example.com", display_name="Bob", anonymous=True, contact="sip:bob@127.0.0.1:5071")
    conf.join("sip:carol@example.com", hidden=True)
    xml = conf.full_document("sip:alice@example.com", 1).to_xml()
    info = ConferenceInfo.from_xml(xml)
    assert info.state is State.FULL and info.version == 1 and info.entity == str(IDENTITY)
    entities = [u.entity for u in info.roster]
    assert entities == ["sip:alice@example.com", "sip:anonymous-2@anonymous.invalid"]
    alice, bob = info.roster
    assert alice.yourown is True and alice.roles == ("creator",) and alice.display_text == "Alice"
    assert bob.yourown is None and bob.display_text is None
    assert bob.endpoints[0].entity == "sip:anonymous-2@anonymous.invalid"
    assert info.conference_state is not None and info.conference_state.user_count == 2
    assert f'xmlns:oma="{YOUROWN_NAMESPACE}"'.encode() in xml and b'oma:yourown="true"' in xml
    assert b"bob@" not in xml and b"carol" not in xml and b"Bob" not in xml
    # the anonymous user and the bcc user each see themselves, with yourown
    own = ConferenceInfo.from_xml(conf.full_document("sip:bob@example.com", 1).to_xml()).own_user()
    assert own is not None and own.entity == "sip:bob@example.com" and own.display_text == "Bob"
    carol_view = ConferenceInfo.from_xml(conf.full_document("sip:carol@example.com", 1).to_xml())
    assert [u.entity for u in carol_view.roster][-1] == "sip:carol@example.com"


def test_partial_document_holds_only_the_change() -> None:
    conf = conference()
    alice = conf.join("sip:alice@example.com")
    bob = conf.join("sip:bob@example.com")
    joined = ConferenceInfo.from_xml(conf.partial_document("sip:alice@example.com", 2, [(bob, True)]).to_xml())
    assert joined.state is State.PARTIAL and joined.version == 2
    assert joined.users is not None and joined.users.state is State.PARTIAL
    assert [u.entity for u in joined.roster] == ["sip:bob@example.com"]
    conf.leave(bob.aor)
    left = ConferenceInfo.from_xml(conf.partial_document("sip:alice@example.com", 3, [(bob, False)]).to_xml())
    assert [(u.entity, u.state) for u in left.roster] == [("sip:bob@example.com", State.DELETED)]
    assert left.conference_state is not None and left.conference_state.user_count == 1
    hidden = conf.join("sip:carol@example.com", hidden=True)
    assert conf.partial_document("sip:alice@example.com", 4, [(hidden, True)]) is None
    assert alice.aor in conf.participants


def test_partial_size_does_not_grow_with_the_roster() -> None:
    sizes = []
    for n in (10, 100, 200):
        conf = conference(max_size=1000)
        for i in range(n):
            conf.join(f"sip:user{i:04d}@example.com", contact=f"sip:user{i:04d}@127.0.0.1:5070",
                      joined_at="2024-01-01T00:00:00Z")
        newcomer = conf.join("sip:zed@example.com", contact="sip:zed@127.0.0.1:5070",
                             joined_at="2024-01-01T00:00:00Z")
        sizes.append(len(conf.partial_document("sip:user0000@example.com", 2, [(newcomer, True)]).to_xml()))
    # only user-count's digits may differ
    assert max(sizes) - min(sizes) <= 2, sizes


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), max_size=25))
def test_partials_applied_to_the_full_state_give_the_new_full_state(steps: list[tuple[int, bool]]) -> None:
    """RFC 4575 section 4.6: a subscriber merging our partials keeps our state."""
    conf = conference(max_size=100)
    viewer = "sip:user0@example.com"
    conf.join(viewer)
    local = ConferenceInfo.from_xml(conf.full_document(viewer, 1).to_xml())
    version = 1
    for index, join in steps:
        aor = f"sip:user{index + 1}@example.com"
        if join:
            participant = conf.join(aor, anonymous=index % 3 == 0)
            present = True
        else:
            participant = conf.leave(aor)
            present = False
            if participant is None:
                continue
        partial = conf.partial_document(viewer, version + 1, [(participant, present)])
        assert partial is not None
        version += 1
        local = local.apply(ConferenceInfo.from_xml(partial.to_xml()))
    expected = ConferenceInfo.from_xml(conf.full_document(viewer, version).to_xml())
    assert not diff(local, expected)
    assert local.conference_state == expected.conference_state


@pytest.mark.parametrize("kind", list(ConferenceKind))
def test_identity_user_part_is_the_id(kind: ConferenceKind) -> None:
    conf = Conference(IDENTITY, kind, 4)
    assert conf.id == "conf-abc" and conf.is_empty and not conf.ended


def test_compact_full_document_leaves_endpoints_out() -> None:
    conf = conference()
    conf.join("sip:alice@example.com", contact="sip:alice@127.0.0.1:5070", joined_at="2024-01-01T00:00:00Z")
    full = conf.full_document("sip:alice@example.com", 1).to_xml()
    compact = conf.full_document("sip:alice@example.com", 1, compact=True).to_xml()
    assert b"<endpoint" in full and b"<endpoint" not in compact and len(compact) < len(full)
    (user,) = ConferenceInfo.from_xml(compact).roster
    assert user.yourown is True and user.roles == ("participant",)
