"""REFER to the IM Session Identity: adding users (7.1.1.7) and removing one
(7.1.1.14), with RFC 4488 Refer-Sub and RFC 5368 multiple-refer."""

from __future__ import annotations

import asyncio

import pytest

from imkit.payloads.resource_lists import CONTENT_TYPE as LIST_TYPE
from imkit.payloads.resource_lists import DISPOSITION, ResourceLists
from imkit.payloads.sipfrag import SipFrag
from imkit.server.conference import Role
from imkit.server.focus import FocusConfig
from imkit.server.groups import parse_groups
from imkit.server.refer import ReferError, refer_targets
from imkit.sip import BodyPart, Multipart, Request, SipURI
from tests.server.focus_harness import Call, Client, eventually, focus_of, start_server


async def conference(server: object, creator: Client, *others: Client) -> tuple[Call, object]:
    call = await creator.invite(server.factory_uri, invitees=[str(c.aor) for c in others])  # type: ignore[attr-defined]
    assert isinstance(call, Call)
    conf = focus_of(server).conferences[call.identity.user or ""]  # type: ignore[arg-type]
    await eventually(lambda: len(conf.participants) == 1 + len(others))
    return call, conf


def sipfrag(notify: Request) -> SipFrag:
    assert notify.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    return SipFrag.parse(notify.body)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_single_refer_with_refer_sub_false_is_echoed_and_silent(transport: str) -> None:
    server = await start_server()
    alice = await Client("alice", server, transport).start()
    bob = await Client("bob", server, transport).start()
    try:
        call, conf = await conference(server, alice)
        _, response, notifies = await alice.refer(
            call.identity, "<sip:bob@example.com>", rows=[("Refer-Sub", "false")], call=call)
        wire = bytes(response)
        assert wire.startswith(b"SIP/2.0 202 Accepted\r\n")
        # RFC 4488: the recipient honouring "Refer-Sub: false" says so in the 2xx
        assert b"\r\nRefer-Sub: false\r\n" in wire
        invited = await asyncio.wait_for(bob.invited.get(), 10)
        raw = bytes(invited.request)
        assert b"\r\nReferred-By: <sip:alice@example.com>\r\n" in raw and b";isfocus\r\n" in raw
        await eventually(lambda: "sip:bob@example.com" in conf.participants)  # type: ignore[attr-defined]
        participant = conf.participant("sip:bob@example.com")  # type: ignore[attr-defined]
        assert participant.referred_by == "<sip:alice@example.com>"
        await asyncio.sleep(0.3)
        assert notifies.empty() and not [r for r in alice.received if r.method == "NOTIFY"]
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_out_of_dialog_refer_reports_progress_in_sipfrag() -> None:
    server = await start_server(users={"erin": "busy"})
    alice = await Client("alice", server).start()
    try:
        call, conf = await conference(server, alice)
        _, response, notifies = await alice.refer(alice.identity_uri(call), "<sip:bob@example.com>")
        assert response.status == 202 and response.headers.get("Refer-Sub") is None
        assert b";isfocus\r\n" in bytes(response)
        trying = await asyncio.wait_for(notifies.get(), 5)
        raw = bytes(trying)
        assert b"\r\nEvent: refer;id=1\r\n" in raw
        assert b"\r\nSubscription-State: active;expires=" in raw
        assert trying.body == b"SIP/2.0 100 Trying\r\n"
        final = await asyncio.wait_for(notifies.get(), 10)
        assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
        assert final.body == b"SIP/2.0 200 OK\r\n" and sipfrag(final).is_final
        assert "sip:bob@example.com" in conf.participants  # type: ignore[attr-defined]
        # a dial-out that fails: its final status
        _, response, notifies = await alice.refer(alice.identity_uri(call), "<sip:erin@example.com>",
                                                  rows=[("Refer-Sub", "true")])
        assert response.status == 202 and response.headers.get("Refer-Sub") == "true"
        assert (await asyncio.wait_for(notifies.get(), 5)).body == b"SIP/2.0 100 Trying\r\n"
        busy = await asyncio.wait_for(notifies.get(), 10)
        assert busy.body == b"SIP/2.0 486 Busy Here\r\n"
        await eventually(lambda: len(focus_of(server).dialogs) == 2)  # alice's and bob's sessions only
    finally:
        await server.close()
        await alice.close()


def uri_list(*uris: str) -> bytes:
    return ResourceLists.from_uris(list(uris)).to_xml()


@pytest.mark.parametrize("multipart", [False, True])
async def test_multiple_refer_invites_everyone_and_reports_once(multipart: bool) -> None:
    """7.1.1.7 items 4a-4d: Refer-To cid:, Refer-Sub: true, Require: multiple-refer, norefersub."""
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call, conf = await conference(server, alice)
        listing = uri_list("sip:bob@example.com", "sip:carol@example.com", "sip:dave@example.com")
        rows = [("Refer-Sub", "true"), ("Require", "multiple-refer, norefersub")]
        if multipart:
            body = Multipart([BodyPart.build(listing, LIST_TYPE, content_id="list@alice", disposition=DISPOSITION)])
            payload, content_type = bytes(body), body.content_type
        else:
            rows += [("Content-Disposition", DISPOSITION), ("Content-ID", "<list@alice>")]
            payload, content_type = listing, LIST_TYPE
        _, response, notifies = await alice.refer(call.identity, "<cid:list@alice>", rows=rows,
                                                  body=payload, content_type=content_type, call=call)
        assert response.status == 202 and response.headers.get("Refer-Sub") == "true"
        assert (await asyncio.wait_for(notifies.get(), 5)).body == b"SIP/2.0 100 Trying\r\n"
        final = await asyncio.wait_for(notifies.get(), 10)
        assert final.body == b"SIP/2.0 200 OK\r\n"
        assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
        assert set(conf.participants) == {  # type: ignore[attr-defined]
            "sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com", "sip:dave@example.com"}
        await asyncio.sleep(0.2)
        assert notifies.empty()  # no per-recipient notifications (RFC 5368)
    finally:
        await server.close()
        await alice.close()


async def test_multiple_refer_needs_the_option_tag() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    try:
        call, _ = await conference(server, alice)
        _, response, _ = await alice.refer(
            call.identity, "<cid:list@alice>", call=call, body=uri_list("sip:bob@example.com"),
            content_type=LIST_TYPE, rows=[("Content-ID", "<list@alice>")])
        assert response.status == 421 and response.headers.get("Require") == "multiple-refer"
        _, response, _ = await alice.refer(
            call.identity, "<cid:other@alice>", call=call, body=uri_list("sip:bob@example.com"),
            content_type=LIST_TYPE, rows=[("Content-ID", "<list@alice>"), ("Require", "multiple-refer")])
        assert response.status == 400
    finally:
        await server.close()
        await alice.close()


@pytest.mark.parametrize("refer_to", [
    "<sip:bob@example.com;method=BYE>",       # URI parameter (RFC 3261, RFC 4579)
    "<sip:bob@example.com?method=BYE>",       # URI header (RFC 5368's example)
    "<sip:bob@example.com>;method=BYE",       # header parameter
])
async def test_creator_removes_a_participant(refer_to: str) -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    bob = await Client("bob", server).start()
    try:
        call, conf = await conference(server, alice, bob)
        bob_call = await bob.invited.get()
        watch = await alice.subscribe(alice.identity_uri(call))
        await watch.next()
        _, response, notifies = await alice.refer(call.identity, refer_to, rows=[("Refer-Sub", "false")], call=call)
        assert response.status == 202 and response.headers.get("Refer-Sub") == "false"
        bye = await asyncio.wait_for(bob.byes.get(), 10)
        assert bye.call_id == bob_call.dialog.call_id
        partial = await watch.next()
        assert b'state="deleted"' in partial.body and b"sip:bob@example.com" in partial.body
        assert "sip:bob@example.com" not in conf.participants  # type: ignore[attr-defined]
        assert notifies.empty()
    finally:
        await server.close()
        await alice.close()
        await bob.close()


async def test_removal_rules() -> None:
    server = await start_server()
    alice = await Client("alice", server).start()
    bob = await Client("bob", server).start()
    carol = await Client("carol", server).start()
    mallory = await Client("mallory", server).start()
    try:
        call, conf = await conference(server, alice, bob, carol)
        bob_call = await bob.invited.get()
        # only the creator (or a host) may remove
        _, response, _ = await bob.refer(bob_call.identity, "<sip:carol@example.com;method=BYE>", call=bob_call)
        assert response.status == 403
        conf.grant("sip:bob@example.com", Role.HOST)  # type: ignore[attr-defined]
        _, response, notifies = await bob.refer(bob_call.identity, "<sip:carol@example.com;method=BYE>",
                                                call=bob_call)
        assert response.status == 202
        assert (await asyncio.wait_for(notifies.get(), 5)).body == b"SIP/2.0 100 Trying\r\n"
        # the final NOTIFY carries the BYE's response
        assert (await asyncio.wait_for(notifies.get(), 10)).body == b"SIP/2.0 200 OK\r\n"
        _, response, _ = await alice.refer(call.identity, "<sip:nobody@example.com;method=BYE>", call=call)
        assert response.status == 404
        # outsiders may not refer at all
        _, response, _ = await mallory.refer(alice.identity_uri(call), "<sip:zed@example.com>")
        assert response.status == 403
    finally:
        await server.close()
        for client in (alice, bob, carol, mallory):
            await client.close()


async def test_refer_limits_and_anonymity() -> None:
    groups = parse_groups('{"groups": [{"uri": "sip:group-club@example.com", "max_size": 2, '
                          '"members": ["sip:alice@example.com", "sip:carol@example.com", "sip:bob@example.com"]}]}',
                          "json")
    server = await start_server(groups=groups, config=FocusConfig(max_group_size=2))
    alice = await Client("alice", server).start()
    bob = await Client("bob", server).start()
    try:
        call = await alice.invite(SipURI(host="example.com", user="group-club"))
        assert isinstance(call, Call)
        conf = focus_of(server).group_sessions["group-club"]
        # max_size 2: carol (listed first) is dialled, bob is not
        await eventually(lambda: not conf.pending and len(conf.participants) == 2)
        assert bob.invited.empty()
        host, port = server.address
        _, response, _ = await alice.refer(call.identity, "<sip:bob@example.com>", call=call,
                                           rows=[("Privacy", "id")])
        assert response.status == 403
        assert response.headers.get("Warning") == f'399 {host}:{port} "anonymity is not allowed in this IM Group"'
        _, response, _ = await alice.refer(call.identity, "<sip:mallory@example.com>", call=call)
        assert response.status == 403 and "not a member" in (response.headers.get("Warning") or "")
        assert "sip:carol@example.com" in conf.participants
        _, response, _ = await alice.refer(call.identity, "<sip:bob@example.com>", call=call)
        assert response.status == 403 and "group size exceeds" in (response.headers.get("Warning") or "")
        _, response, _ = await alice.refer(call.identity, "<tel:+15551234>", call=call)
        assert response.status == 416
    finally:
        await server.close()
        await alice.close()
        await bob.close()


def refer(rows: list[tuple[str, str]]) -> Request:
    request = Request("REFER", "sip:conf-x@127.0.0.1")
    for name, value in rows:
        request.headers.add(name, value)
    return request


def test_refer_targets_parse_the_three_bye_forms_and_replaces() -> None:
    for refer_to in ("<sip:bob@x.org;method=BYE>", "<sip:bob@x.org?method=BYE>", "<sip:bob@x.org>;method=BYE",
                     "sip:bob@x.org;method=BYE"):
        (target,) = refer_targets(refer([("Refer-To", refer_to)]))
        assert target.method == "BYE" and str(target.uri) == "sip:bob@x.org"
    (invite,) = refer_targets(refer([("Refer-To", "<sip:bob@x.org?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>")]))
    assert invite.method == "INVITE" and invite.replaces is not None
    assert (invite.replaces.call_id, invite.replaces.to_tag, invite.replaces.from_tag) == ("abc@h", "1", "2")
    for rows, status in (([], 400), ([("Refer-To", "<sip:a@x>"), ("Refer-To", "<sip:b@x>")], 400),
                         ([("Refer-To", "<sip:a@x;method=MESSAGE>")], 403), ([("Refer-To", "<<")], 400)):
        with pytest.raises(ReferError) as info:
            refer_targets(refer(rows))
        assert info.value.status == status
