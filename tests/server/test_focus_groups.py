"""Pre-defined groups (7.1.1.4) and public conferences (7.1.1.10): the groups file
and the focus's handling of group URIs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from imkit.errors import LocalProtocolError
from imkit.server.focus import Focus, FocusConfig
from imkit.server.groups import (
    GroupDefinition,
    GroupsFileError,
    load_groups,
    parse_groups,
)
from imkit.sip import Response, SipURI, parse_uri
from tests.server.focus_harness import Call, Client, eventually, focus_of, start_server

TOML = """
[[groups]]
uri = "sip:group-friends@example.com"
members = ["sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com", "sip:dave@example.com"]
max_size = 3
subject = "Friends"

[[groups]]
uri = "sip:chat-lobby@example.com"
public = true
anonymity = true
"""


def test_toml_and_json_give_the_same_groups(tmp_path: Path) -> None:
    toml_path = tmp_path / "groups.toml"
    toml_path.write_text(TOML)
    from_toml = load_groups(toml_path)
    json_path = tmp_path / "groups.json"
    json_path.write_text(json.dumps({"groups": [
        {"uri": "sip:group-friends@example.com", "max_size": 3, "subject": "Friends",
         "members": ["sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com",
                     "sip:dave@example.com"]},
        {"uri": "sip:chat-lobby@example.com", "public": True, "anonymity": True},
    ]}))
    assert load_groups(json_path) == from_toml
    friends, lobby = from_toml
    assert friends.user == "group-friends" and friends.max_size == 3 and not friends.public
    assert not friends.anonymity_allowed and friends.is_member("sip:bob@EXAMPLE.com")
    assert lobby.public and lobby.anonymity_allowed and lobby.members == () and lobby.max_size is None


@pytest.mark.parametrize("text, fmt, what", [
    ("{", "json", "bad JSON"),
    ("[[groups]]\nuri = 1", "toml", "must be a string"),
    ('{"groups": [{"uri": "tel:+123"}]}', "json", "not a SIP URI"),
    ('{"groups": [{"uri": "sip:example.com"}]}', "json", "no user part"),
    ('{"groups": [{"uri": "sip:g@x", "colour": "red"}]}', "json", "unknown keys"),
    ('{"groups": [{"uri": "sip:g@x", "max_size": 0}]}', "json", "max_size"),
    ('{"groups": [{"uri": "sip:g@x", "public": "yes"}]}', "json", "true or false"),
    ('{"groups": [{"uri": "sip:g@x"}, {"uri": "sip:g@X"}]}', "json", "defined twice"),
    ('{"groups": [{"uri": "sip:g@x", "members": "sip:a@x"}]}', "json", "must be a list"),
    ('{"clubs": []}', "json", "unknown top-level"),
])
def test_bad_groups_files_are_refused(text: str, fmt: str, what: str) -> None:
    with pytest.raises(GroupsFileError) as info:
        parse_groups(text, fmt)
    assert what in str(info.value)


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text("groups: []")
    with pytest.raises(GroupsFileError):
        load_groups(path)


def groups() -> tuple[GroupDefinition, ...]:
    return parse_groups(TOML, "toml")


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_member_starts_the_group_session_and_the_others_are_invited(transport: str) -> None:
    server = await start_server(groups=groups())
    alice = await Client("alice", server, transport).start()
    bob = await Client("bob", server, transport).start()
    dave = await Client("dave", server, transport).start()
    try:
        group_uri = SipURI(host="example.com", user="group-friends")
        call = await alice.invite(group_uri)
        assert isinstance(call, Call)
        assert b";isfocus" in bytes(call.response) and call.identity.user.startswith("conf-")  # type: ignore[union-attr]
        invited = await asyncio.wait_for(bob.invited.get(), 10)
        assert invited.identity == call.identity
        focus = focus_of(server)
        conference = focus.group_sessions["group-friends"]
        await eventually(lambda: len(conference.participants) == 3)  # carol is simulated
        assert conference.subject == "Friends"
        # max_size 3: dave, the fourth member, was not dialled, and may not join either
        assert dave.invited.empty()
        full = await dave.invite(group_uri)
        assert isinstance(full, Response) and full.status == 403
        assert "group size exceeds the maximum of 3" in (full.headers.get("Warning") or "")
        # a member already in may INVITE the group URI again: its new session replaces the old
        again = await bob.invite(group_uri)
        assert isinstance(again, Call) and again.identity == call.identity
        bye = await asyncio.wait_for(bob.byes.get(), 10)
        assert bye.call_id == invited.dialog.call_id
        assert len(conference.participants) == 3
        # the group URI also takes SUBSCRIBE while its session runs (7.1.1.11 item 2)
        subscription = await alice.subscribe(group_uri)
        assert subscription.response.status == 200
        notify = await subscription.next()
        assert b'state="full"' in notify.body and b"sip:carol@example.com" in notify.body
    finally:
        await server.close()
        await alice.close()
        await bob.close()
        await dave.close()


async def test_non_member_and_forbidden_anonymity_get_403_with_warning() -> None:
    server = await start_server(groups=groups())
    alice = await Client("alice", server).start()
    mallory = await Client("mallory", server).start()
    try:
        group_uri = SipURI(host="example.com", user="group-friends")
        refused = await mallory.invite(group_uri)
        assert isinstance(refused, Response) and refused.status == 403
        assert "is not a member of" in (refused.headers.get("Warning") or "")
        anonymous = await alice.invite(group_uri, privacy=True)
        assert isinstance(anonymous, Response) and anonymous.status == 403
        host, port = server.address
        assert anonymous.headers.get("Warning") == f'399 {host}:{port} "anonymity is not allowed in this IM Group"'
        assert focus_of(server).conferences == {}
        nothing = await alice.subscribe(group_uri)
        assert nothing.response.status == 404
    finally:
        await server.close()
        await alice.close()
        await mallory.close()


async def test_public_conference_is_open_and_ends_with_its_last_participant() -> None:
    server = await start_server(groups=groups(), config=FocusConfig(max_group_size=5))
    alice = await Client("alice", server).start()
    zed = await Client("zed", server).start()
    try:
        lobby = SipURI(host="example.com", user="chat-lobby")
        first = await alice.invite(lobby)
        second = await zed.invite(lobby, privacy=True)
        assert isinstance(first, Call) and isinstance(second, Call)
        assert first.identity == second.identity
        focus = focus_of(server)
        conference = focus.group_sessions["chat-lobby"]
        assert conference.max_size == 5 and conference.creator is None
        assert set(conference.participants) == {"sip:alice@example.com", "sip:zed@example.com"}
        # nobody is dialled out for a public conference
        await asyncio.sleep(0.2)
        assert len(server.users) == 0
        zed_entry = conference.participant("sip:zed@example.com")
        assert zed_entry is not None and zed_entry.anonymous
        assert (await first.bye()).status == 200 and (await second.bye()).status == 200
        await eventually(lambda: focus.conferences == {} and focus.group_sessions == {})
        # the next INVITE starts a new public session with a new identity
        again = await alice.invite(lobby)
        assert isinstance(again, Call) and again.identity != first.identity
    finally:
        await server.close()
        await alice.close()
        await zed.close()


@pytest.mark.parametrize("uris", [
    ("sip:group-a@example.com", "sip:group-a@other.example.com"),
    ("sip:conf-abc@example.com",),
    ("sip:conference-factory@example.com",),
])
async def test_group_user_parts_must_not_clash(uris: tuple[str, ...]) -> None:
    server = await start_server()
    try:
        with pytest.raises(LocalProtocolError):
            Focus(server, groups=[GroupDefinition(_uri(u)) for u in uris])
    finally:
        await server.close()


def _uri(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri
