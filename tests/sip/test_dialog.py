"""imkit.sip.dialog: dialog state (RFC 3261 12), routing, CSeq, target
refresh, usages (RFC 5057, RFC 6665 4.5, RFC 3515, RFC 4488) and DialogSet."""

from __future__ import annotations

import random

import pytest

from imkit.errors import LocalProtocolError, RemoteProtocolError
from imkit.sip import NameAddr, Request, Response, Via, parse
from imkit.sip.builders import make_response, new_request
from imkit.sip.dialog import (
    MAX_USAGES,
    Dialog,
    DialogId,
    DialogSet,
    DialogState,
    RequestCheck,
    Role,
    UsageKey,
)
from imkit.sip.ids import IdGenerator
from tests.sip.test_builders import ALICE_SDP, BOB_SDP, F5_AT_BOB

ALICE = NameAddr.parse("Alice <sip:alice@atlanta.com>")
BOB = NameAddr.parse("Bob <sip:bob@biloxi.com>")
ALICE_CONTACT = NameAddr.parse("<sip:alice@pc33.atlanta.com>")
BOB_CONTACT = NameAddr.parse("<sip:bob@192.0.2.4>")


def _via(branch: str, host: str = "pc33.atlanta.com") -> Via:
    return Via.parse(f"SIP/2.0/UDP {host};branch={branch}")


def _roundtrip(message: Request | Response) -> Request | Response:
    """What the peer sees: the bytes, parsed again."""
    return parse(bytes(message))


def alice_request(method: str = "INVITE", *, headers: list[tuple[str, str]] | None = None,
                  uri: str = "sip:bob@biloxi.com", cseq: int = 314159) -> Request:
    """Alice's F1 (RFC 3261 24.2), or another dialog-creating request like it."""
    return new_request(
        method, uri,
        from_addr=ALICE.with_tag("1928301774"), to_addr=BOB,
        call_id="a84b4c76e66710", cseq=cseq,
        via=_via("z9hG4bKnashds8").with_param("rport"),
        contact=ALICE_CONTACT,
        headers=headers or [],
        body=ALICE_SDP if method == "INVITE" else b"",
        content_type="application/sdp" if method == "INVITE" else None,
    )


def bob_answer(request: Request, status: int = 200, *, tag: str = "a6c85cf",
               headers: list[tuple[str, str]] | None = None) -> Response:
    rows = [("Contact", str(BOB_CONTACT))] + (headers or [])
    return make_response(request, status, to_tag=tag, headers=rows)


def confirmed_pair(*, record_route: list[str] | None = None) -> tuple[Dialog, Dialog, Request]:
    """Alice (UAC) and Bob (UAS) dialogs after INVITE / 200, over bytes."""
    invite = alice_request()
    for value in record_route or []:
        invite.headers.add("Record-Route", value, first=True)
    at_bob = _roundtrip(invite)
    assert isinstance(at_bob, Request)
    ok = bob_answer(at_bob)
    bob = Dialog.from_uas(at_bob, ok, local_via=_via("z9hG4bKx", "192.0.2.4"),
                          ids=IdGenerator(random.Random(2)))
    at_alice = _roundtrip(ok)
    assert isinstance(at_alice, Response)
    alice = Dialog.from_uac(invite, at_alice, ids=IdGenerator(random.Random(1)))
    return alice, bob, invite


# ---------------------------------------------------------------- RFC 3261 24.2


def test_alice_dialog_and_ack_match_rfc_f12() -> None:
    invite = alice_request()
    ok = _roundtrip(bob_answer(invite))
    assert isinstance(ok, Response)
    dialog = Dialog.from_uac(invite, ok)
    assert dialog.id == DialogId("a84b4c76e66710", "1928301774", "a6c85cf")
    assert dialog.state is DialogState.CONFIRMED and dialog.role is Role.UAC
    assert str(dialog.remote_target) == "sip:bob@192.0.2.4"
    assert dialog.route_set == ()
    assert (dialog.local_seq, dialog.remote_seq) == (314159, None)
    assert str(dialog.local_uri) == "Alice <sip:alice@atlanta.com>"
    assert str(dialog.remote_uri) == "Bob <sip:bob@biloxi.com>"
    assert dialog.secure is False
    assert set(dialog.usages) == {UsageKey.invite()}
    ack = dialog.create_ack(ok, via=_via("z9hG4bKnashds9"))
    assert bytes(ack) == (
        b"ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds9\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 314159 ACK\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert dialog.local_seq == 314159


def test_bob_dialog_and_bye_match_rfc_f13() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    ok = make_response(invite, 200, to_tag="a6c85cf", headers=[("Contact", str(BOB_CONTACT))],
                       body=BOB_SDP, content_type="application/sdp")
    dialog = Dialog.from_uas(invite, ok)
    assert dialog.id == DialogId("a84b4c76e66710", "a6c85cf", "1928301774")
    assert dialog.state is DialogState.CONFIRMED and dialog.role is Role.UAS
    assert str(dialog.remote_target) == "sip:alice@pc33.atlanta.com"
    assert (dialog.local_seq, dialog.remote_seq) == (None, 314159)
    assert dialog.local_contact == BOB_CONTACT
    dialog.local_seq = 230
    bye = dialog.create_request("BYE", via=Via.parse("SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10"))
    assert bytes(bye) == (
        b"BYE sip:alice@pc33.atlanta.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        b"To: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710\r\n"
        b"CSeq: 231 BYE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def test_initial_local_cseq_and_via_come_from_the_dialog() -> None:
    alice, bob, _ = confirmed_pair()
    expected_seq = IdGenerator(random.Random(2)).cseq()
    info = bob.create_request("INFO")
    assert info.cseq is not None and info.cseq.seq == expected_seq
    via = info.top_via
    assert via is not None and via.host == "192.0.2.4" and via.branch is not None
    assert via.branch.startswith("z9hG4bK") and via.branch != "z9hG4bKx"
    # Alice's template is her INVITE's Via: rport kept as a flag, new branch.
    alice_info = alice.create_request("INFO")
    assert str(alice_info.top_via).startswith("SIP/2.0/UDP pc33.atlanta.com;rport;branch=z9hG4bK")
    assert alice_info.top_via is not None and alice_info.top_via.branch != "z9hG4bKnashds8"


def test_a_dialog_without_via_template_needs_one() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    dialog = Dialog.from_uas(invite, bob_answer(invite))
    with pytest.raises(LocalProtocolError):
        dialog.create_request("BYE")


# ---------------------------------------------------------------- creation rules


def test_early_dialog_confirmed_by_2xx_recomputes_route_set() -> None:
    invite = alice_request()
    ringing = bob_answer(invite, 180, headers=[("Record-Route", "<sip:p1.example.com;lr>")])
    dialog = Dialog.from_uac(invite, ringing)
    assert dialog.state is DialogState.EARLY
    assert [str(r) for r in dialog.route_set] == ["<sip:p1.example.com;lr>"]
    ok = make_response(invite, 200, to_tag="a6c85cf", headers=[
        ("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>"),
        ("Contact", "<sip:bob@198.51.100.9>"),
    ])
    dialog.receive_response(invite, ok)
    assert dialog.state is DialogState.CONFIRMED
    assert [str(r) for r in dialog.route_set] == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(dialog.remote_target) == "sip:bob@198.51.100.9"


def test_provisional_contact_updates_an_early_dialog_target() -> None:
    invite = alice_request()
    dialog = Dialog.from_uac(invite, bob_answer(invite, 180))
    dialog.receive_response(invite, make_response(invite, 183, to_tag="a6c85cf",
                                                  headers=[("Contact", "<sip:bob@203.0.113.5>")]))
    assert str(dialog.remote_target) == "sip:bob@203.0.113.5"
    assert dialog.state is DialogState.EARLY


def test_failure_final_response_terminates_the_early_dialog() -> None:
    invite = alice_request()
    dialog = Dialog.from_uac(invite, bob_answer(invite, 180))
    dialog.receive_response(invite, make_response(invite, 486, to_tag="a6c85cf"))
    assert dialog.state is DialogState.TERMINATED and not dialog.usages


def test_uas_early_dialog_confirmed_or_terminated_by_what_it_sends() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    ringing = bob_answer(invite, 180)
    dialog = Dialog.from_uas(invite, ringing)
    assert dialog.state is DialogState.EARLY
    dialog.send_response(invite, bob_answer(invite, 200))
    assert dialog.state is DialogState.CONFIRMED
    other = Dialog.from_uas(invite, ringing)
    other.send_response(invite, bob_answer(invite, 603))
    assert other.state is DialogState.TERMINATED


def test_responses_that_create_no_dialog() -> None:
    invite = alice_request()
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(invite, make_response(invite, 100))
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(invite, make_response(invite, 404, to_tag="x"))
    untagged = make_response(invite, 100)
    untagged.status, untagged.reason = 180, "Ringing"
    with pytest.raises(RemoteProtocolError):
        Dialog.from_uac(invite, untagged)
    message = alice_request("MESSAGE")
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(message, bob_answer(message))


def test_2xx_without_to_tag_gives_a_null_remote_tag() -> None:
    invite = alice_request()
    ok = make_response(invite, 100)
    ok.status, ok.reason = 200, "OK"
    ok.headers.add("Contact", str(BOB_CONTACT))
    dialog = Dialog.from_uac(invite, ok)
    assert dialog.remote_tag == ""
    bye = dialog.create_request("BYE")
    assert bye.headers.get("To") == "Bob <sip:bob@biloxi.com>"


def test_uas_needs_the_request_contact() -> None:
    invite = parse(F5_AT_BOB)
    assert isinstance(invite, Request)
    invite.headers.remove("Contact")
    with pytest.raises(RemoteProtocolError):
        Dialog.from_uas(invite, bob_answer(invite))


def test_secure_flag_follows_a_sips_request_uri() -> None:
    invite = alice_request(uri="sips:bob@biloxi.com")
    dialog = Dialog.from_uac(invite, bob_answer(invite))
    assert dialog.secure is True
    at_bob = _roundtrip(invite)
    assert isinstance(at_bob, Request)
    assert Dialog.from_uas(at_bob, bob_answer(at_bob)).secure is True


def test_ack_carries_the_invite_credentials() -> None:
    invite = alice_request(headers=[("Proxy-Authorization", 'Digest username="alice", realm="atlanta.com"')])
    ok = bob_answer(invite)
    dialog = Dialog.from_uac(invite, ok)
    ack = dialog.create_ack(ok)
    assert ack.headers.get_all("Proxy-Authorization") == ['Digest username="alice", realm="atlanta.com"']
    with pytest.raises(LocalProtocolError):
        dialog.create_ack(bob_answer(invite, 180))


# ---------------------------------------------------------------- routing


RR_TWO = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]  # p2 is nearest to Bob


def test_route_set_reversed_for_uac_kept_for_uas() -> None:
    alice, bob, _ = confirmed_pair(record_route=RR_TWO)
    assert [str(r) for r in bob.route_set] == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert [str(r) for r in alice.route_set] == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    info = alice.create_request("INFO")
    assert str(info.uri) == "sip:bob@192.0.2.4"
    assert info.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    bye = bob.create_request("BYE")
    assert str(bye.uri) == "sip:alice@pc33.atlanta.com"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]


def test_strict_routing_example_of_12_2_1_1() -> None:
    # RFC 3261 12.2.1.1: route set <sip:proxy1>, <sip:proxy2>, <sip:proxy3;lr>,
    # <sip:proxy4>, remote target sip:user@remoteua gives "METHOD sip:proxy1"
    # and "Route: <sip:proxy2>,<sip:proxy3;lr>,<sip:proxy4>,<sip:user@remoteua>".
    invite = new_request(
        "INVITE", "sip:me@example.com",
        from_addr=NameAddr.parse("<sip:user@example.org>;tag=r1"),
        to_addr=NameAddr.parse("<sip:me@example.com>"), call_id="strict", cseq=1,
        via=_via("z9hG4bKs1", "remoteua"), contact=NameAddr.parse("<sip:user@remoteua>"),
        headers=[("Record-Route", "<sip:proxy1>, <sip:proxy2>, <sip:proxy3;lr>, <sip:proxy4>")],
    )
    ok = make_response(invite, 200, to_tag="l1", headers=[("Contact", "<sip:me@192.0.2.9>")])
    dialog = Dialog.from_uas(invite, ok, local_via=_via("z9hG4bKunused", "192.0.2.9"))
    bye = dialog.create_request("BYE", via=_via("z9hG4bKb1", "192.0.2.9"))
    assert bytes(bye).split(b"\r\n")[:7] == [
        b"BYE sip:proxy1 SIP/2.0",
        b"Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKb1",
        b"Max-Forwards: 70",
        b"Route: <sip:proxy2>",
        b"Route: <sip:proxy3;lr>",
        b"Route: <sip:proxy4>",
        b"Route: <sip:user@remoteua>",
    ]


def test_strict_router_uri_loses_method_and_headers() -> None:
    invite = alice_request()
    ok = bob_answer(invite, headers=[("Record-Route", "<sip:p9.example.com;transport=tcp;method=INVITE?X=1>")])
    dialog = Dialog.from_uac(invite, ok)
    info = dialog.create_request("INFO")
    assert str(info.uri) == "sip:p9.example.com;transport=tcp"
    assert info.headers.get_all("Route") == ["<sip:bob@192.0.2.4>"]


# ---------------------------------------------------------------- CSeq


def test_local_cseq_increments_ack_reuses() -> None:
    alice, _, invite = confirmed_pair()
    assert [alice.create_request(m).cseq for m in ("INFO", "UPDATE")] == [
        parse(b"X sip:a@b SIP/2.0\r\nCSeq: 314160 INFO\r\n\r\n").cseq,
        parse(b"X sip:a@b SIP/2.0\r\nCSeq: 314161 UPDATE\r\n\r\n").cseq,
    ]
    reinvite = alice.create_request("INVITE", body=ALICE_SDP, content_type="application/sdp")
    assert reinvite.cseq is not None and reinvite.cseq.seq == 314162
    assert reinvite.headers.get("Contact") == str(ALICE_CONTACT)
    ok = make_response(reinvite, 200, headers=[("Contact", str(BOB_CONTACT))])
    alice.receive_response(reinvite, ok)
    ack = alice.create_ack(ok)
    assert ack.cseq is not None and (ack.cseq.seq, ack.cseq.method) == (314162, "ACK")
    assert alice.local_seq == 314162
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError):
            alice.create_request(method)


def test_cseq_limit() -> None:
    alice, _, _ = confirmed_pair()
    alice.local_seq = 2**31 - 1
    with pytest.raises(LocalProtocolError):
        alice.create_request("INFO")


def test_remote_cseq_check_gives_500_for_old_requests() -> None:
    alice, bob, _ = confirmed_pair()
    bob.local_seq = 9
    first = _roundtrip(bob.create_request("INFO"))
    second = _roundtrip(bob.create_request("INFO"))
    assert isinstance(first, Request) and isinstance(second, Request)
    assert alice.remote_seq is None
    assert alice.receive_request(second) is RequestCheck.ACCEPT
    assert alice.remote_seq == 11
    check = alice.receive_request(first)
    assert check is RequestCheck.OUT_OF_ORDER and check.status == 500
    assert alice.remote_seq == 11
    assert RequestCheck.ACCEPT.status is None


def test_ack_is_not_checked_against_remote_cseq() -> None:
    alice, bob, invite = confirmed_pair()
    assert bob.remote_seq == 314159
    newer = _roundtrip(alice.create_request("INFO"))
    assert isinstance(newer, Request)
    assert bob.receive_request(newer) is RequestCheck.ACCEPT
    ack = _roundtrip(alice.create_ack(make_response(invite, 200, to_tag="a6c85cf")))
    assert isinstance(ack, Request)
    assert bob.receive_request(ack) is RequestCheck.ACCEPT
    assert bob.remote_seq == 314160


# ---------------------------------------------------------------- target refresh


def test_uas_target_refresh_on_reinvite_update_notify_but_not_info() -> None:
    alice, bob, _ = confirmed_pair()
    for method, moves in (("INFO", False), ("INVITE", True), ("UPDATE", True)):
        request = alice.create_request(method)
        request.headers.set("Contact", f"<sip:alice@{method.lower()}.example.com>")
        before = str(bob.remote_target)
        assert bob.receive_request(_roundtrip(request)) is RequestCheck.ACCEPT  # type: ignore[arg-type]
        after = str(bob.remote_target)
        assert (after == f"sip:alice@{method.lower()}.example.com") is moves
        assert (after != before) is moves


def test_uac_target_refresh_on_2xx_to_target_refresh_only() -> None:
    alice, _, _ = confirmed_pair()
    info = alice.create_request("INFO")
    alice.receive_response(info, make_response(info, 200, headers=[("Contact", "<sip:bob@info.example.com>")]))
    assert str(alice.remote_target) == "sip:bob@192.0.2.4"
    update = alice.create_request("UPDATE")
    alice.receive_response(update, make_response(update, 200, headers=[("Contact", "<sip:bob@new.example.com>")]))
    assert str(alice.remote_target) == "sip:bob@new.example.com"
    assert str(alice.create_request("BYE").uri) == "sip:bob@new.example.com"


# ---------------------------------------------------------------- usages


def _notify(dialog: Dialog, event: str, state: str) -> Request:
    return dialog.create_request("NOTIFY", headers=[
        ("Event", event), ("Subscription-State", state), ("Content-Type", "message/sipfrag"),
    ])


def test_refer_usage_outlives_bye_and_ends_with_the_last_notify() -> None:
    alice, bob, _ = confirmed_pair()
    refer = alice.create_request("REFER", headers=[("Refer-To", "<sip:carol@chicago.com>")])
    refer_seq = refer.cseq.seq if refer.cseq else -1
    key = UsageKey.subscription("refer", str(refer_seq))
    usage = alice.usage(key)
    assert usage is not None and usage.pending and usage.role is Role.UAC
    # Bob accepts the REFER: he is the notifier.
    at_bob = _roundtrip(refer)
    assert isinstance(at_bob, Request)
    assert bob.receive_request(at_bob) is RequestCheck.ACCEPT
    accepted = make_response(at_bob, 202)
    bob.send_response(at_bob, accepted)
    assert bob.usage(key) is not None and bob.usage(key).role is Role.UAS  # type: ignore[union-attr]
    # The first NOTIFY may beat the 202 to Alice: the pending usage matches it.
    first = _roundtrip(_notify(bob, "refer", "active;expires=60"))
    assert isinstance(first, Request)
    assert alice.receive_request(first) is RequestCheck.ACCEPT
    alice.send_response(first, make_response(first, 200))
    alice.receive_response(refer, _roundtrip(accepted))  # type: ignore[arg-type]
    assert not alice.usages[key].pending
    # BYE ends the session only.
    bye = alice.create_request("BYE")
    at_bob_bye = _roundtrip(bye)
    assert isinstance(at_bob_bye, Request)
    assert bob.receive_request(at_bob_bye) is RequestCheck.ACCEPT
    bye_ok = make_response(at_bob_bye, 200)
    bob.send_response(at_bob_bye, bye_ok)
    alice.receive_response(bye, _roundtrip(bye_ok))  # type: ignore[arg-type]
    for dialog in (alice, bob):
        assert dialog.state is DialogState.CONFIRMED
        assert set(dialog.usages) == {key}
    # The final NOTIFY ends the subscription and with it both dialogs.
    last = _notify(bob, "refer", "terminated;reason=noresource")
    at_alice = _roundtrip(last)
    assert isinstance(at_alice, Request)
    assert alice.receive_request(at_alice) is RequestCheck.ACCEPT
    last_ok = make_response(at_alice, 200)
    alice.send_response(at_alice, last_ok)
    bob.receive_response(last, _roundtrip(last_ok))  # type: ignore[arg-type]
    assert alice.state is DialogState.TERMINATED and bob.state is DialogState.TERMINATED
    assert alice.receive_request(at_alice) is RequestCheck.DOES_NOT_EXIST
    with pytest.raises(LocalProtocolError):
        alice.create_request("INFO")


def test_second_refer_needs_the_id_parameter() -> None:
    alice, bob, _ = confirmed_pair()
    seqs = []
    for target in ("carol", "dave"):
        refer = alice.create_request("REFER", headers=[("Refer-To", f"<sip:{target}@chicago.com>")])
        alice.receive_response(refer, make_response(refer, 202))
        seqs.append(refer.cseq.seq if refer.cseq else -1)
    assert {k.id for k in alice.usages if k.event == "refer"} == {str(s) for s in seqs}
    bob.local_seq = 50
    without_id = _roundtrip(_notify(bob, "refer", "active"))
    assert alice.receive_request(without_id) is RequestCheck.DOES_NOT_EXIST  # type: ignore[arg-type]
    with_id = _roundtrip(_notify(bob, f"Refer;id={seqs[1]}", "terminated"))
    assert alice.receive_request(with_id) is RequestCheck.ACCEPT  # type: ignore[arg-type]
    alice.send_response(with_id, make_response(with_id, 200))  # type: ignore[arg-type]
    assert UsageKey.subscription("refer", str(seqs[1])) not in alice.usages
    assert UsageKey.subscription("refer", str(seqs[0])) in alice.usages


def test_refer_sub_false_creates_no_subscription() -> None:
    alice, _, _ = confirmed_pair()
    refer = alice.create_request("REFER", headers=[("Refer-To", "<sip:c@h>"), ("Refer-Sub", "false")])
    alice.receive_response(refer, make_response(refer, 202, headers=[("Refer-Sub", "false")]))
    assert set(alice.usages) == {UsageKey.invite()}
    # Out of dialog: the REFER's dialog is born without a usage, hence terminated.
    out = alice_request("REFER", headers=[("Refer-To", "<sip:c@h>"), ("Refer-Sub", "false")])
    dialog = Dialog.from_uac(out, bob_answer(out, 202, headers=[("Refer-Sub", "false")]))
    assert dialog.state is DialogState.TERMINATED
    # Not echoed: the implicit subscription exists (RFC 4488).
    dialog = Dialog.from_uac(out, bob_answer(out, 202))
    assert set(dialog.usages) == {UsageKey.subscription("refer", "314159")}


def test_rejected_refer_drops_its_pending_usage() -> None:
    alice, _, _ = confirmed_pair()
    refer = alice.create_request("REFER", headers=[("Refer-To", "<sip:c@h>")])
    assert len(alice.usages) == 2
    alice.receive_response(refer, make_response(refer, 603))
    assert set(alice.usages) == {UsageKey.invite()} and alice.state is DialogState.CONFIRMED


def test_subscription_dialog_from_subscribe_and_notify() -> None:
    subscribe = alice_request("SUBSCRIBE", headers=[("Event", "conference"), ("Expires", "600")])
    ok = bob_answer(subscribe)
    dialog = Dialog.from_uac(subscribe, ok)
    assert dialog.state is DialogState.CONFIRMED
    assert set(dialog.usages) == {UsageKey.subscription("conference")}
    assert dialog.usages[UsageKey.subscription("conference")].role is Role.UAC
    # The notifier's side of the same dialog.
    at_bob = _roundtrip(subscribe)
    assert isinstance(at_bob, Request)
    notifier = Dialog.from_uas(at_bob, ok, local_via=_via("z9hG4bKn", "192.0.2.4"))
    notify = notifier.create_request("NOTIFY", headers=[
        ("Event", "presence"), ("Subscription-State", "active")])
    at_alice = _roundtrip(notify)
    assert dialog.receive_request(at_alice) is RequestCheck.DOES_NOT_EXIST  # type: ignore[arg-type]
    final = _roundtrip(notifier.create_request("NOTIFY", headers=[
        ("Event", "conference"), ("Subscription-State", "terminated;reason=timeout")]))
    assert isinstance(final, Request)
    assert dialog.receive_request(final) is RequestCheck.ACCEPT
    dialog.send_response(final, make_response(final, 200))
    assert dialog.state is DialogState.TERMINATED


def test_notify_before_the_2xx_creates_the_subscriber_dialog() -> None:
    subscribe = alice_request("SUBSCRIBE", headers=[("Event", "conference")])
    notify = new_request(
        "NOTIFY", "sip:alice@pc33.atlanta.com",
        from_addr=BOB.with_tag("n1"), to_addr=ALICE.with_tag("1928301774"),
        call_id="a84b4c76e66710", cseq=1, via=_via("z9hG4bKn1", "192.0.2.4"),
        contact=BOB_CONTACT,
        headers=[("Event", "conference"), ("Subscription-State", "active;expires=600")],
    )
    ok = make_response(notify, 200, headers=[("Contact", str(ALICE_CONTACT))])
    dialog = Dialog.from_uas(notify, ok)
    assert dialog.id == DialogId("a84b4c76e66710", "1928301774", "n1")
    usage = dialog.usage(UsageKey.subscription("conference"))
    assert usage is not None and usage.role is Role.UAC
    assert subscribe.call_id == dialog.call_id


def test_408_or_481_ends_the_dialog_or_only_the_subscription() -> None:
    alice, _, _ = confirmed_pair()
    subscribe = alice.create_request("SUBSCRIBE", headers=[("Event", "conference")])
    alice.receive_response(subscribe, make_response(subscribe, 200))
    refresh = alice.create_request("SUBSCRIBE", headers=[("Event", "conference")])
    alice.receive_response(refresh, make_response(refresh, 481))
    assert set(alice.usages) == {UsageKey.invite()} and alice.state is DialogState.CONFIRMED
    info = alice.create_request("INFO")
    alice.receive_response(info, make_response(info, 408))
    assert alice.state is DialogState.TERMINATED


def test_usage_bound() -> None:
    alice, bob, _ = confirmed_pair()
    for n in range(MAX_USAGES - 1):
        bob.add_usage(UsageKey.subscription("conference", str(n)), Role.UAS)
    with pytest.raises(LocalProtocolError):
        bob.add_usage(UsageKey.subscription("conference", "overflow"), Role.UAS)
    subscribe = _roundtrip(alice.create_request("SUBSCRIBE", headers=[("Event", "conference;id=new")]))
    check = bob.receive_request(subscribe)  # type: ignore[arg-type]
    assert check is RequestCheck.TOO_MANY_USAGES and check.status == 503
    # A refresh of an existing subscription is still fine.
    refresh = _roundtrip(alice.create_request("SUBSCRIBE", headers=[("Event", "conference;id=3")]))
    assert bob.receive_request(refresh) is RequestCheck.ACCEPT  # type: ignore[arg-type]
    # Building a request that would exceed the bound fails without using a CSeq number.
    seq = bob.local_seq
    with pytest.raises(LocalProtocolError):
        bob.create_request("REFER", headers=[("Refer-To", "<sip:c@h>")])
    assert bob.local_seq == seq


def test_ending_the_last_usage_terminates() -> None:
    alice, _, _ = confirmed_pair()
    alice.add_usage(UsageKey.subscription("conference"), Role.UAC)
    alice.end_usage(UsageKey.invite())
    assert alice.state is DialogState.CONFIRMED
    alice.end_usage(UsageKey.subscription("conference"))
    assert alice.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        alice.add_usage(UsageKey.invite(), Role.UAC)


# ---------------------------------------------------------------- DialogSet


def test_dialog_set_matches_both_directions() -> None:
    alice, bob, _ = confirmed_pair()
    alices, bobs = DialogSet(), DialogSet()
    alices.add(alice)
    bobs.add(bob)
    info = _roundtrip(alice.create_request("INFO"))
    assert isinstance(info, Request)
    assert bobs.match_request(info) is bob
    assert alices.match_request(info) is None
    ok = _roundtrip(make_response(info, 200))
    assert isinstance(ok, Response)
    assert alices.match_response(ok) is alice
    assert bobs.match_response(ok) is None
    out_of_dialog = _roundtrip(alice_request("OPTIONS"))
    assert bobs.match_request(out_of_dialog) is None  # type: ignore[arg-type]
    assert bobs.get(bob.id) is bob and len(bobs) == 1 and list(bobs) == [bob]
    with pytest.raises(LocalProtocolError):
        bobs.add(bob)


def test_forked_early_dialogs() -> None:
    invite = alice_request()
    dialogs = DialogSet()
    for tag in ("fork1", "fork2"):
        dialogs.add(Dialog.from_uac(invite, bob_answer(invite, 180, tag=tag)))
    early = dialogs.early_dialogs("a84b4c76e66710", "1928301774")
    assert sorted(d.remote_tag for d in early) == ["fork1", "fork2"]
    ok = bob_answer(invite, 200, tag="fork2")
    chosen = dialogs.match_response(ok)
    assert chosen is not None and chosen.remote_tag == "fork2"
    chosen.receive_response(invite, ok)
    assert [d.remote_tag for d in dialogs.early_dialogs("a84b4c76e66710", "1928301774")] == ["fork1"]


def test_dialog_set_is_bounded_and_prunes_terminated() -> None:
    invite = alice_request()
    dialogs = DialogSet(max_dialogs=2)
    first = dialogs.add(Dialog.from_uac(invite, bob_answer(invite, tag="t1")))
    dialogs.add(Dialog.from_uac(invite, bob_answer(invite, tag="t2")))
    with pytest.raises(LocalProtocolError):
        dialogs.add(Dialog.from_uac(invite, bob_answer(invite, tag="t3")))
    first.terminate()
    dialogs.add(Dialog.from_uac(invite, bob_answer(invite, tag="t3")))
    assert sorted(d.remote_tag for d in dialogs) == ["t2", "t3"]
    dialogs.remove(dialogs.get(DialogId("a84b4c76e66710", "1928301774", "t2")))  # type: ignore[arg-type]
    assert len(dialogs) == 1 and dialogs.prune() == 0
