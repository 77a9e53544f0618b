"""Hypothesis properties of imkit.payloads.conference_info: round trips, merging
against a plain-dict model of the roster, and hostile bytes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.payloads import PayloadError
from imkit.payloads.conference_info import (
    ConferenceDescription,
    ConferenceInfo,
    ConferenceState,
    DisconnectionMethod,
    Endpoint,
    EndpointStatus,
    Execution,
    JoiningMethod,
    Media,
    MediaStatus,
    Outcome,
    State,
    UriEntry,
    Uris,
    User,
    Users,
    diff,
)
from imkit.payloads.xml import Extension

FULL = (Path(__file__).parent / "data" / "conference_full.xml").read_bytes()
CONF = "sip:conf@im.example.com"

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=1, max_size=8)
URI = st.builds(lambda u, h: f"sip:{u}@{h}.example.com", TOKEN, TOKEN)
# Any text XML 1.0 can carry: no C0 controls but TAB/LF/CR, no surrogates, no U+FFFE/FFFF.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or ord(c) >= 0x20
    ),
    max_size=16,
)
WORDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=6), max_size=3).map(tuple)
EXTENSIONS = st.lists(
    st.builds(lambda n, t: Extension(f'<v:{n} xmlns:v="urn:vendor">{t}</v:{n}>'.encode()), st.sampled_from(["a", "b"]), TOKEN),
    max_size=2,
).map(tuple)
FOREIGN = st.lists(st.tuples(st.sampled_from(["{urn:vendor}x", "{urn:vendor}y"]), TOKEN), max_size=2, unique_by=lambda p: p[0]).map(tuple)
EXECUTION = st.builds(Execution, when=st.none() | st.just("2024-05-03T10:00:00Z"), reason=st.none() | TEXT, by=st.none() | URI)


def _unique(items: list, key: str) -> tuple:
    seen: dict = {}
    for item in items:
        seen.setdefault(getattr(item, key), item)
    return tuple(seen.values())


MEDIA = st.builds(
    Media,
    id=TOKEN,
    display_text=st.none() | TEXT,
    type=st.none() | st.sampled_from(["message", "audio"]),
    label=st.none() | TOKEN,
    src_id=st.none() | TOKEN,
    status=st.none() | st.sampled_from(MediaStatus),
    extensions=EXTENSIONS,
)
ENDPOINTS = st.builds(
    Endpoint,
    entity=URI,
    display_text=st.none() | TEXT,
    referred=st.none() | EXECUTION,
    status=st.none() | st.sampled_from(EndpointStatus),
    joining_method=st.none() | st.sampled_from(JoiningMethod),
    joining_info=st.none() | EXECUTION,
    disconnection_method=st.none() | st.sampled_from(DisconnectionMethod),
    media=st.lists(MEDIA, max_size=2).map(lambda m: _unique(m, "id")),
    attributes=FOREIGN,
)
USERS = st.builds(
    User,
    entity=URI,
    state=st.none() | st.just(State.FULL),
    yourown=st.none() | st.booleans(),
    display_text=st.none() | TEXT,
    associated_aors=st.none() | st.builds(Uris, entries=st.lists(st.builds(UriEntry, uri=URI, display_text=st.none() | TEXT), max_size=2).map(lambda e: _unique(e, "uri"))),
    roles=st.none() | st.lists(TEXT, max_size=3).map(tuple),
    languages=st.none() | WORDS,
    cascaded_focus=st.none() | URI,
    endpoints=st.lists(ENDPOINTS, max_size=2).map(lambda e: _unique(e, "entity")),
    extensions=EXTENSIONS,
    attributes=FOREIGN,
)
ROSTERS = st.lists(USERS, max_size=6).map(lambda u: _unique(u, "entity"))
# Lighter rosters for the merge property, where the data, not the shape, matters.
SMALL_URI = st.sampled_from([f"sip:user{i}@example.com" for i in range(8)])
LIGHT_USERS = st.builds(
    User,
    entity=SMALL_URI,
    display_text=st.none() | TOKEN,
    roles=st.none() | st.lists(TOKEN, max_size=2).map(tuple),
    endpoints=st.lists(st.builds(Endpoint, entity=SMALL_URI, status=st.none() | st.sampled_from(EndpointStatus)), max_size=2).map(
        lambda e: _unique(e, "entity")
    ),
)
LIGHT_ROSTERS = st.lists(LIGHT_USERS, max_size=6).map(lambda u: _unique(u, "entity"))
INFOS = st.builds(
    ConferenceInfo,
    entity=st.just(CONF),
    state=st.just(State.FULL),
    version=st.integers(0, 2**32 - 2),
    description=st.none() | st.builds(ConferenceDescription, subject=st.none() | TEXT, keywords=st.none() | WORDS, maximum_user_count=st.none() | st.integers(0, 2**32 - 1)),
    conference_state=st.none() | st.builds(ConferenceState, user_count=st.none() | st.integers(0, 100), active=st.none() | st.booleans(), locked=st.none() | st.booleans()),
    users=st.builds(Users, users=ROSTERS),
    extensions=EXTENSIONS,
    attributes=FOREIGN,
)


@given(INFOS)
@settings(max_examples=100, deadline=None)
def test_random_documents_round_trip(info: ConferenceInfo) -> None:
    assert ConferenceInfo.from_xml(info.to_xml()) == info


@given(st.integers(0, 2**32 - 2), LIGHT_ROSTERS, LIGHT_ROSTERS, st.data())
@settings(max_examples=150, deadline=None)
def test_partial_merge_matches_a_dict_model(
    version: int, roster: tuple[User, ...], incoming: tuple[User, ...], data: st.DataObject
) -> None:
    """Users in a partial: full ones replace or join, deleted ones leave, the rest stay."""
    base = ConferenceInfo(
        CONF, state=State.FULL, version=version, conference_state=ConferenceState(user_count=len(roster)), users=Users(users=roster)
    )
    present = [u.entity for u in base.roster]
    deletions = data.draw(st.lists(st.sampled_from(present), unique=True) if present else st.just([]))
    changes = [u for u in incoming if u.entity not in deletions] + [User(e, state=State.DELETED) for e in deletions]
    notification = ConferenceInfo(
        CONF, state=State.PARTIAL, version=base.version + 1, users=Users(state=State.PARTIAL, users=tuple(changes))
    )
    # Through the wire, as a subscriber gets it.
    result = base.try_apply(ConferenceInfo.from_xml(notification.to_xml()))
    assert result.outcome is Outcome.APPLIED
    expected = {u.entity: u for u in base.roster}
    for user in changes:
        if user.state is State.DELETED:
            expected.pop(user.entity, None)
        else:
            expected[user.entity] = user
    assert {u.entity: u for u in result.info.roster} == expected
    assert list(expected) == [u.entity for u in result.info.roster]
    assert result.info.version == base.version + 1
    assert (result.info.description, result.info.conference_state) == (base.description, base.conference_state)
    roster_diff = diff(base, result.info)
    assert {u.entity for u in roster_diff.left} == set(deletions) - {u.entity for u in incoming if u.entity not in deletions}
    assert {u.entity for u in roster_diff.joined} == {u.entity for u in incoming if u.entity not in present}
    assert ConferenceInfo.from_xml(result.info.to_xml()) == result.info


@given(st.integers(3, 2**32 - 4), st.integers(-3, 3))
@settings(max_examples=100, deadline=None)
def test_version_ordering(current: int, step: int) -> None:
    base = ConferenceInfo(CONF, state=State.FULL, version=current)
    version = current + step
    outcome = base.try_apply(ConferenceInfo(CONF, state=State.PARTIAL, version=version)).outcome
    assert outcome is (Outcome.STALE if step <= 0 else Outcome.APPLIED if step == 1 else Outcome.GAP)


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_payload_error(data: bytes) -> None:
    try:
        ConferenceInfo.from_xml(data)
    except PayloadError:
        pass


@given(st.data())
@settings(max_examples=400, deadline=None)
def test_mutated_documents_raise_only_payload_error(data: st.DataObject) -> None:
    doc = bytearray(FULL)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(doc) - 1))
        doc[at : at + data.draw(st.integers(0, 6))] = data.draw(
            st.sampled_from([b"", b"<", b">", b'"', b"x", b"&amp;", b"-1", b"deleted", b"</users>", b"<user/>", b"\xff"])
            | st.binary(max_size=4)
        )
    try:
        info = ConferenceInfo.from_xml(bytes(doc))
    except PayloadError:
        return
    assert ConferenceInfo.from_xml(info.to_xml()) == info


TAGS = ["display-text", "status", "user-count", "active", "locked", "maximum-user-count", "joining-method", "languages", "uri"]


@given(st.sampled_from(TAGS), st.text(st.characters(blacklist_categories=("Cs",)), max_size=8))
@settings(max_examples=200, deadline=None)
def test_odd_element_values_raise_only_payload_error(tag: str, text: str) -> None:
    """Whatever text lands in a typed element, the reader answers a model or a PayloadError."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    doc = FULL.decode().replace(f"<{tag}>", f"<{tag}>{escaped}", 1).encode()
    try:
        ConferenceInfo.from_xml(doc)
    except PayloadError:
        pass
