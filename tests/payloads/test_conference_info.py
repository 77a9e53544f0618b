"""imkit.payloads.conference_info: RFC 4575 model, section 4.6 merging, yourown, diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from imkit.errors import LocalProtocolError, RemoteProtocolError
from imkit.payloads import PayloadError
from imkit.payloads.conference_info import (
    CONTENT_TYPE,
    NAMESPACE,
    YOUROWN_NAMESPACE,
    ConferenceInfo,
    ConferenceState,
    DisconnectionMethod,
    Endpoint,
    EndpointStatus,
    Execution,
    JoiningMethod,
    MediaStatus,
    Outcome,
    RosterDiff,
    State,
    User,
    Users,
    VersionGap,
    diff,
    display_uri,
)
from imkit.payloads.xml import Extension

DATA = Path(__file__).parent / "data"
CI = "{urn:ietf:params:xml:ns:conference-info}"
CONF = "sip:team-42@im.example.com"
ALICE, BOB, CAROL, DAVE = (
    "sip:alice@example.com",
    "sip:bob@example.com",
    "sip:carol%40home@example.com",
    "sip:dave@example.com",
)


def full() -> ConferenceInfo:
    return ConferenceInfo.from_xml((DATA / "conference_full.xml").read_bytes())


def partial(version: int, body: str, entity: str = CONF) -> ConferenceInfo:
    return ConferenceInfo.from_xml(
        (
            f'<conference-info xmlns="{NAMESPACE}" entity="{entity}" state="partial" version="{version}">'
            f"{body}</conference-info>"
        ).encode()
    )


def test_constants() -> None:
    assert CONTENT_TYPE == "application/conference-info+xml"
    assert NAMESPACE == "urn:ietf:params:xml:ns:conference-info"


# --- the model ------------------------------------------------------------------


def test_full_document_model() -> None:
    info = full()
    assert (info.entity, info.state, info.version) == (CONF, State.FULL, 1)
    d = info.description
    assert d is not None
    assert (d.display_text, d.subject, d.free_text) == ("Release planning", "What ships on Friday", "Bring the test report.")
    assert d.keywords == ("release", "planning")
    assert d.conf_uris is not None and d.conf_uris.entries[0].uri == "sip:team-42@im.example.com;isfocus"
    assert d.conf_uris.entries[0].purpose == "participation"
    assert d.service_uris is not None and d.service_uris.entries[0].purpose == "web-page"
    assert d.maximum_user_count == 10
    assert d.available_media is not None
    (chat,) = d.available_media.entries
    assert (chat.label, chat.type, chat.status, chat.display_text) == ("11", "message", MediaStatus.SENDRECV, "Chat")
    assert info.host_info is not None and info.host_info.web_page == "http://im.example.com/"
    assert info.host_info.uris is not None and info.host_info.uris.entries[0].uri == "sip:conference-factory@im.example.com"
    assert info.conference_state == ConferenceState(user_count=3, active=True, locked=False)
    assert [u.entity for u in info.roster] == [ALICE, BOB, CAROL]


def test_user_and_endpoint_model() -> None:
    alice, bob, carol = full().roster
    assert alice.display_text == "Alice" and alice.state is State.FULL
    assert alice.roles == ("chair", "participant")
    assert alice.languages == ("en", "fr")
    assert alice.associated_aors is not None and alice.associated_aors.entries[0].display_text == "desk"
    (laptop,) = alice.endpoints
    assert laptop.entity == "sip:alice@pc1.example.com"
    assert (laptop.status, laptop.joining_method) == (EndpointStatus.CONNECTED, JoiningMethod.DIALED_IN)
    assert laptop.joining_info == Execution("2024-05-03T10:00:00Z", "created the conference", ALICE)
    (media,) = laptop.media
    assert (media.id, media.type, media.label, media.src_id, media.status) == ("m1", "message", "11", "0", MediaStatus.SENDRECV)
    assert laptop.call_info is not None and laptop.call_info.sip is not None
    assert (laptop.call_info.sip.call_id, laptop.call_info.sip.from_tag, laptop.call_info.sip.to_tag) == (
        "a84b4c76e66710@pc1.example.com",
        "1928301774",
        "a6c85cf",
    )
    assert bob.endpoints[0].referred is not None and bob.endpoints[0].referred.reason == "invited by URI list"
    assert carol.cascaded_focus == "sip:conf-7@other.example.net"
    assert carol.endpoints[0].status is EndpointStatus.ALERTING


def test_elements_are_read_by_place_not_by_tag_name() -> None:
    info = full()
    # Five different <entry> elements; each is read as what its parent makes it.
    assert info.description is not None and info.description.conf_uris is not None
    assert info.roster[0].roles == ("chair", "participant")
    assert info.sidebars_by_ref is not None and info.sidebars_by_ref.entries[0].display_text == "Side chat"
    assert info.sidebars_by_val is not None
    (side,) = info.sidebars_by_val.entries
    assert isinstance(side, ConferenceInfo) and side.entity == "sip:team-42-side2@im.example.com"
    assert [u.entity for u in side.roster] == [BOB]
    # A <user> outside <users> is not a participant.
    stray = ConferenceInfo.from_xml(
        f'<conference-info xmlns="{NAMESPACE}" entity="{CONF}"><user entity="{BOB}"/></conference-info>'.encode()
    )
    assert stray.roster == ()
    assert stray.extensions[0].tag == CI + "user"


def test_full_document_round_trip() -> None:
    info = full()
    out = info.to_xml()
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert ConferenceInfo.from_xml(out) == info
    assert ConferenceInfo.from_xml(info.to_xml(pretty=True)) == info


def test_written_bytes_follow_the_schema_order() -> None:
    info = ConferenceInfo(
        CONF,
        state=State.FULL,
        version=0,
        conference_state=ConferenceState(user_count=1, active=True),
        users=Users(
            users=(
                User(
                    BOB,
                    display_text="Bob",
                    roles=("participant",),
                    endpoints=(Endpoint("sip:bob@pc", status=EndpointStatus.CONNECTED, disconnection_method=None),),
                ),
            )
        ),
    )
    assert info.to_xml() == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:team-42@im.example.com"'
        b' state="full" version="0"><conference-state><user-count>1</user-count><active>true</active>'
        b'</conference-state><users><user entity="sip:bob@example.com"><display-text>Bob</display-text>'
        b"<roles><entry>participant</entry></roles>"
        b'<endpoint entity="sip:bob@pc"><status>connected</status></endpoint></user></users></conference-info>'
    )


def test_percent_encoded_uris_are_kept_and_decoded_for_display() -> None:
    carol = full().roster[2]
    assert carol.entity == CAROL
    assert carol.display_uri == "sip:carol@home@example.com"
    assert display_uri("sip:%E2%82%AC@x") == "sip:\u20ac@x"
    assert display_uri("sip:%FF@x") == "sip:\ufffd@x"
    assert b'entity="sip:carol%40home@example.com"' in full().to_xml()


# --- yourown ----------------------------------------------------------------------


def _with_yourown(attribute: str, declaration: str = "") -> ConferenceInfo:
    return ConferenceInfo.from_xml(
        (
            f'<conference-info xmlns="{NAMESPACE}" {declaration} entity="{CONF}"><users>'
            f'<user entity="{ALICE}"/><user entity="{BOB}" {attribute}/></users></conference-info>'
        ).encode()
    )


@pytest.mark.parametrize(
    ("attribute", "declaration", "expected"),
    [
        ('o:yourown="true"', f'xmlns:o="{YOUROWN_NAMESPACE}"', True),
        ('x:yourown="true"', 'xmlns:x="urn:oma:xml:poc:some-other-guess"', True),
        ('x:yourown="1"', 'xmlns:x="http://example.com/vendor"', True),
        ('yourown="true"', "", True),
        ('yourown="false"', "", False),
        ('x:yourown=" 0 "', 'xmlns:x="urn:x"', False),
    ],
)
def test_yourown_is_read_in_any_namespace(attribute: str, declaration: str, expected: bool) -> None:
    info = _with_yourown(attribute, declaration)
    alice, bob = info.roster
    assert alice.yourown is None and bob.yourown is expected
    assert bob.attributes == ()
    assert info.own_user() == (bob if expected else None)


def test_yourown_is_written_in_our_namespace() -> None:
    info = _with_yourown('x:yourown="true"', 'xmlns:x="http://example.com/vendor"')
    out = info.to_xml()
    assert f'xmlns:oma="{YOUROWN_NAMESPACE}"'.encode() in out
    assert b'<user entity="sip:bob@example.com" oma:yourown="true"/>' in out
    assert b"example.com/vendor" not in out
    assert ConferenceInfo.from_xml(out) == info
    assert YOUROWN_NAMESPACE.encode() not in full().to_xml()


def test_own_user_falls_back_to_the_entity() -> None:
    info = full()
    assert info.own_user() is None
    assert info.own_user(BOB) == info.roster[1]
    marked = _with_yourown('yourown="true"')
    assert marked.own_user(ALICE) == marked.roster[1]


@pytest.mark.parametrize(
    "attribute,declaration",
    [('yourown="yes"', ""), ('yourown="true" x:yourown="true"', 'xmlns:x="urn:x"')],
)
def test_bad_yourown(attribute: str, declaration: str) -> None:
    with pytest.raises(PayloadError, match="yourown"):
        _with_yourown(attribute, declaration)


# --- unknown extensions -------------------------------------------------------------


EXTENDED = (
    f'<conference-info xmlns="{NAMESPACE}" xmlns:v="urn:vendor:conf" xmlns:w="urn:vendor:w" '
    f'entity="{CONF}" v:region="eu" version="3">'
    "<conference-description><subject>s</subject><v:topic lang='en'>Q3 <w:b>budget</w:b></v:topic>"
    "</conference-description>"
    f'<users w:sorted="yes"><user entity="{BOB}" v:avatar="http://x/b.png">'
    '<endpoint entity="sip:bob@pc" v:client="imkit"><status>connected</status>'
    '<media id="1" v:codec="none"><type>message</type><v:stats sent="3"/></media>'
    "<v:device>laptop</v:device></endpoint><v:presence>away</v:presence></user></users>"
    "<v:recording active='false'/><custom-in-our-namespace/>"
    "</conference-info>"
).encode()


def test_unknown_elements_and_attributes_are_kept() -> None:
    info = ConferenceInfo.from_xml(EXTENDED)
    assert info.attributes == (("{urn:vendor:conf}region", "eu"),)
    assert [e.tag for e in info.extensions] == ["{urn:vendor:conf}recording", CI + "custom-in-our-namespace"]
    assert info.description is not None
    assert info.description.extensions == (
        Extension(b'<v:topic xmlns:v="urn:vendor:conf" lang="en">Q3 <w:b xmlns:w="urn:vendor:w">budget</w:b></v:topic>'),
    )
    assert info.users is not None and info.users.attributes == (("{urn:vendor:w}sorted", "yes"),)
    (bob,) = info.roster
    assert bob.attributes == (("{urn:vendor:conf}avatar", "http://x/b.png"),)
    assert bob.extensions[0].tag == "{urn:vendor:conf}presence"
    endpoint = bob.endpoints[0]
    assert endpoint.attributes == (("{urn:vendor:conf}client", "imkit"),)
    assert endpoint.media[0].attributes == (("{urn:vendor:conf}codec", "none"),)
    assert endpoint.media[0].extensions[0].tag == "{urn:vendor:conf}stats"


def test_unknown_elements_and_attributes_survive_a_round_trip() -> None:
    info = ConferenceInfo.from_xml(EXTENDED)
    out = info.to_xml()
    assert ConferenceInfo.from_xml(out) == info
    root = etree.fromstring(out)
    assert root.get("{urn:vendor:conf}region") == "eu"
    assert root.find(f"{CI}conference-description/{{urn:vendor:conf}}topic/{{urn:vendor:w}}b").text == "budget"
    device = root.find(f"{CI}users/{CI}user/{CI}endpoint/{{urn:vendor:conf}}device")
    assert device is not None and device.text == "laptop"


def test_unknown_elements_survive_a_merge() -> None:
    base = ConferenceInfo.from_xml(EXTENDED)
    update = partial(
        4,
        f'<users state="partial"><user entity="{BOB}" state="partial" xmlns:v="urn:vendor:conf">'
        "<v:presence>back</v:presence></user></users>",
    )
    bob = base.apply(update).roster[0]
    assert bob.extensions == (Extension(b'<v:presence xmlns:v="urn:vendor:conf">back</v:presence>'),)
    assert bob.attributes == (("{urn:vendor:conf}avatar", "http://x/b.png"),)
    assert bob.endpoints == base.roster[0].endpoints


# --- RFC 4575 section 4.6: partial state ----------------------------------------------


def test_user_joins() -> None:
    before = full()
    after = before.apply(
        partial(
            2,
            f'<conference-state><user-count>4</user-count></conference-state><users state="partial">'
            f'<user entity="{DAVE}" state="full"><display-text>Dave</display-text>'
            '<endpoint entity="sip:dave@pc" state="full"><status>connected</status>'
            "<joining-method>dialed-in</joining-method></endpoint></user></users>",
        )
    )
    assert after.version == 2 and after.state is State.FULL
    assert [u.entity for u in after.roster] == [ALICE, BOB, CAROL, DAVE]
    assert after.roster[:3] == before.roster
    assert after.conference_state == ConferenceState(user_count=4, active=True, locked=False)
    assert after.description == before.description and after.host_info == before.host_info
    assert diff(before, after) == RosterDiff(joined=(after.roster[3],))


def test_user_leaves_by_deletion() -> None:
    before = full()
    after = before.apply(partial(2, f'<users state="partial"><user entity="{CAROL}" state="deleted"/></users>'))
    assert [u.entity for u in after.roster] == [ALICE, BOB]
    assert diff(before, after) == RosterDiff(left=(before.roster[2],))
    assert f'entity="{CAROL}"'.encode() not in after.to_xml().split(b"<sidebars")[0]


def test_deleting_an_unknown_user_changes_nothing() -> None:
    before = full()
    after = before.apply(partial(2, f'<users state="partial"><user entity="{DAVE}" state="deleted"/></users>'))
    assert after.roster == before.roster and after.version == 2


def test_role_change_replaces_roles_and_keeps_the_rest() -> None:
    before = full()
    after = before.apply(
        partial(2, f'<users state="partial"><user entity="{ALICE}" state="partial"><roles><entry>participant</entry></roles></user></users>')
    )
    alice = after.roster[0]
    assert alice.roles == ("participant",)
    assert alice.endpoints == before.roster[0].endpoints
    assert alice.display_text == "Alice" and alice.languages == ("en", "fr") and alice.state is State.FULL
    changes = diff(before, after)
    assert changes.changed == ((before.roster[0], alice),) and not changes.joined and not changes.left


def test_endpoint_status_change_merges_into_the_endpoint() -> None:
    before = full()
    after = before.apply(
        partial(
            2,
            f'<users state="partial"><user entity="{BOB}" state="partial">'
            '<endpoint entity="sip:bob@phone.example.com" state="partial"><status>on-hold</status></endpoint>'
            "</user></users>",
        )
    )
    (endpoint,) = after.roster[1].endpoints
    assert endpoint.status is EndpointStatus.ON_HOLD
    old = before.roster[1].endpoints[0]
    assert (endpoint.referred, endpoint.joining_method, endpoint.media) == (old.referred, old.joining_method, old.media)
    assert diff(before, after).changed == ((before.roster[1], after.roster[1]),)


def test_user_disconnects_then_is_removed() -> None:
    state = full()
    state = state.apply(
        partial(
            2,
            f'<users state="partial"><user entity="{BOB}" state="partial">'
            '<endpoint entity="sip:bob@phone.example.com" state="partial"><status>disconnected</status>'
            "<disconnection-method>departed</disconnection-method>"
            "<disconnection-info><when>2024-05-03T11:00:00Z</when><reason>BYE</reason></disconnection-info>"
            "</endpoint></user></users>",
        )
    )
    endpoint = state.user(BOB).endpoints[0]  # type: ignore[union-attr]
    assert endpoint.status is EndpointStatus.DISCONNECTED
    assert endpoint.disconnection_method is DisconnectionMethod.DEPARTED
    assert endpoint.disconnection_info == Execution("2024-05-03T11:00:00Z", "BYE")
    state = state.apply(partial(3, f'<users state="partial"><user entity="{BOB}" state="deleted"/></users>'))
    assert state.user(BOB) is None


def test_full_user_in_partial_replaces_the_user() -> None:
    before = full()
    after = before.apply(partial(2, f'<users state="partial"><user entity="{ALICE}"><display-text>A.</display-text></user></users>'))
    assert after.roster[0] == User(ALICE, display_text="A.")


def test_media_added_and_deleted_by_id() -> None:
    state = full().apply(
        partial(
            2,
            f'<users state="partial"><user entity="{ALICE}" state="partial">'
            '<endpoint entity="sip:alice@pc1.example.com" state="partial">'
            '<media id="m9"><type>file</type><status>recvonly</status></media></endpoint></user></users>',
        )
    )
    assert [m.id for m in state.roster[0].endpoints[0].media] == ["m1", "m9"]
    state = state.apply(
        partial(
            3,
            f'<users state="partial"><user entity="{ALICE}" state="partial">'
            '<endpoint entity="sip:alice@pc1.example.com" state="partial">'
            '<media id="m1" state="deleted"/></endpoint></user></users>',
        )
    )
    assert [(m.id, m.status) for m in state.roster[0].endpoints[0].media] == [("m9", MediaStatus.RECVONLY)]


def test_uri_lists_merge_by_uri() -> None:
    state = full().apply(
        partial(
            2,
            f'<users state="partial"><user entity="{ALICE}" state="partial"><associated-aors state="partial">'
            "<entry><uri>sip:alice@work.example.com</uri></entry>"
            "<entry><uri>tel:+15551230001</uri><display-text>office</display-text></entry>"
            "</associated-aors></user></users>",
        )
    )
    aors = state.roster[0].associated_aors
    assert aors is not None
    assert [(e.uri, e.display_text) for e in aors.entries] == [("tel:+15551230001", "office"), ("sip:alice@work.example.com", None)]
    state = state.apply(
        partial(3, '<sidebars-by-ref state="deleted"/><sidebars-by-val state="partial">'
                   '<entry entity="sip:team-42-side2@im.example.com" state="deleted"/></sidebars-by-val>')
    )
    assert state.sidebars_by_ref is None
    assert state.sidebars_by_val is not None and state.sidebars_by_val.entries == ()


def test_description_merges_field_by_field() -> None:
    before = full()
    after = before.apply(
        partial(
            2,
            "<conference-description><subject>Moved to Monday</subject>"
            '<available-media><entry label="12"><type>file</type></entry></available-media>'
            "</conference-description><conference-state><locked>true</locked></conference-state>",
        )
    )
    d = after.description
    assert d is not None and before.description is not None
    assert d.subject == "Moved to Monday" and d.display_text == "Release planning"
    assert d.conf_uris == before.description.conf_uris
    assert d.available_media is not None and [e.label for e in d.available_media.entries] == ["11", "12"]
    assert after.conference_state == ConferenceState(user_count=3, active=True, locked=True)
    assert after.roster == before.roster
    assert not diff(before, after)


def test_new_partial_user_is_stored_as_local_state() -> None:
    after = full().apply(
        partial(
            2,
            f'<users state="partial"><user entity="{DAVE}" state="partial">'
            '<endpoint entity="sip:dave@pc" state="partial"><status>pending</status>'
            '<media id="x" state="deleted"/></endpoint></user></users>',
        )
    )
    dave = after.user(DAVE)
    assert dave is not None and dave.state is None and dave.endpoints[0].state is None
    assert dave.endpoints[0].media == ()
    assert b'state="partial"' not in after.to_xml()


def test_a_sequence_of_notifications() -> None:
    state = full()
    versions = []
    for version, body in [
        (2, f'<users state="partial"><user entity="{DAVE}"><display-text>Dave</display-text></user></users>'),
        (3, f'<users state="partial"><user entity="{CAROL}" state="deleted"/></users>'),
        (4, f'<users state="partial"><user entity="{DAVE}" state="partial"><roles><entry>chair</entry></roles></user></users>'),
    ]:
        state = state.apply(partial(version, body))
        versions.append(state.version)
    assert versions == [2, 3, 4]
    assert [(u.entity, u.roles) for u in state.roster] == [
        (ALICE, ("chair", "participant")),
        (BOB, ("participant",)),
        (DAVE, ("chair",)),
    ]
    assert ConferenceInfo.from_xml(state.to_xml()) == state


# --- versions -----------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_duplicate_or_older_version_is_ignored(version: int) -> None:
    state = full()
    stale = partial(version, f'<users state="partial"><user entity="{ALICE}" state="deleted"/></users>')
    result = state.try_apply(stale)
    assert result.outcome is Outcome.STALE and result.info is state and not result.refetch
    assert state.apply(stale) is state


def test_out_of_order_notification_is_ignored_after_a_newer_one() -> None:
    state = full()
    three = partial(3, f'<users state="partial"><user entity="{ALICE}" state="deleted"/></users>')
    two = partial(2, f'<users state="partial"><user entity="{DAVE}"/></users>')
    state = state.apply(two).apply(three)
    assert state.apply(two) is state
    assert state.user(DAVE) is not None and state.user(ALICE) is None


def test_version_gap_is_reported() -> None:
    state = full()
    gap = partial(3, f'<users state="partial"><user entity="{DAVE}"/></users>')
    result = state.try_apply(gap)
    assert result.outcome is Outcome.GAP and result.refetch and result.info is state
    with pytest.raises(VersionGap) as caught:
        state.apply(gap)
    assert (caught.value.current, caught.value.received) == (1, 3)


def test_full_state_after_a_gap_replaces_everything() -> None:
    state = full()
    fresh = ConferenceInfo.from_xml(
        f'<conference-info xmlns="{NAMESPACE}" entity="{CONF}" state="full" version="7"><users>'
        f'<user entity="{DAVE}"/></users></conference-info>'.encode()
    )
    result = state.try_apply(fresh)
    assert result.outcome is Outcome.REPLACED and result.info == fresh
    assert diff(state, result.info) == RosterDiff(joined=(User(DAVE),), left=state.roster)


def test_partial_needs_versions_and_a_full_base() -> None:
    base = full()
    unversioned = ConferenceInfo.from_xml(
        f'<conference-info xmlns="{NAMESPACE}" entity="{CONF}" state="partial"/>'.encode()
    )
    assert base.try_apply(unversioned).outcome is Outcome.GAP
    assert partial(1, "").try_apply(partial(2, "")).outcome is Outcome.GAP
    with pytest.raises(VersionGap) as caught:
        partial(1, "").apply(partial(2, ""))
    assert (caught.value.current, caught.value.received) == (1, 2)


def test_notification_for_another_conference_is_refused() -> None:
    with pytest.raises(RemoteProtocolError):
        full().apply(partial(2, "", entity="sip:other@im.example.com"))


# --- diff -------------------------------------------------------------------------


def test_diff_of_identical_states_is_empty() -> None:
    assert diff(full(), full()) == RosterDiff()
    assert not diff(full(), full())


# --- malformed documents -------------------------------------------------------------


def _doc(body: str, attributes: str = f'entity="{CONF}"') -> bytes:
    return f'<conference-info xmlns="{NAMESPACE}" {attributes}>\n{body}\n</conference-info>'.encode()


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"<conference-info/>", "root element"),
        (_doc("", 'state="full"'), "lacks attribute 'entity'"),
        (_doc("", f'entity="{CONF}" version="-1"'), "unsignedInt"),
        (_doc("", f'entity="{CONF}" version="4294967296"'), "unsignedInt"),
        (_doc("", f'entity="{CONF}" version="\u0661"'), "unsignedInt"),
        (_doc("", f'entity="{CONF}" state="gone"'), "not one of full, partial, deleted"),
        (_doc("<users><user/></users>"), "lacks attribute 'entity'"),
        (_doc(f'<users><user entity="{BOB}"><endpoint/></user></users>'), "lacks attribute 'entity'"),
        (_doc(f'<users><user entity="{BOB}"><endpoint entity="e"><media/></endpoint></user></users>'), "'id'"),
        (_doc(f'<users><user entity="{BOB}"><endpoint entity="e"><status>online</status></endpoint></user></users>'), "status"),
        (_doc("<conference-state><active>yes</active></conference-state>"), "boolean"),
        (_doc("<conference-state><user-count>2</user-count><user-count>3</user-count></conference-state>"), "more than one"),
        (_doc("<conference-description><subject>a<b/></subject></conference-description>"), "text only"),
        (_doc("<sidebars-by-ref><entry><display-text>x</display-text></entry></sidebars-by-ref>"), "uri"),
        (_doc("<conference-description><available-media><entry/></available-media></conference-description>"), "label"),
        (
            _doc("<sidebars-by-val>" + f'<entry entity="{CONF}"><sidebars-by-val>' * 20 + "</sidebars-by-val></entry>" * 20 + "</sidebars-by-val>"),
            "nests deeper",
        ),
    ],
)
def test_malformed_documents(data: bytes, what: str) -> None:
    with pytest.raises(PayloadError, match=what):
        ConferenceInfo.from_xml(data)


def test_error_offset_points_at_the_offending_element() -> None:
    data = _doc(f'<users>\n<user entity="{BOB}">\n<endpoint entity="e"><status>online</status></endpoint>\n</user>\n</users>')
    with pytest.raises(PayloadError) as caught:
        ConferenceInfo.from_xml(data)
    assert data[caught.value.offset :].startswith(b'<endpoint entity="e"><status>online')


@pytest.mark.parametrize(
    "info",
    [
        ConferenceInfo(CONF, version=-1),
        ConferenceInfo(CONF, version=True),  # type: ignore[arg-type]
        ConferenceInfo(CONF, users=Users(users=(User("sip:a\x00@x"),))),
        ConferenceInfo(CONF, users=Users(users=(User(ALICE, languages=("en fr",)),))),
        ConferenceInfo(CONF, users=Users(users=(User(ALICE, languages=("",)),))),
        ConferenceInfo(CONF, extensions=(Extension(b"<broken"),)),
    ],
)
def test_unwritable_values_raise_local_protocol_error(info: ConferenceInfo) -> None:
    with pytest.raises(LocalProtocolError):
        info.to_xml()


def test_html_repr_shows_the_roster_escaped() -> None:
    html = _with_yourown('yourown="true"')._repr_html_()
    assert "sip:bob@example.com (you)" in html and "2 users" in html
    carol = full()._repr_html_()
    assert "sip:carol@home@example.com" in carol and "chair, participant" in carol and "alerting" in carol
    hostile = ConferenceInfo(CONF, users=Users(users=(User("sip:<script>@x", display_text="<b>"),)))._repr_html_()
    assert "<script>" not in hostile and "&lt;b&gt;" in hostile
