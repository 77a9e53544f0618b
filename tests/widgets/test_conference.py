"""imkit.widgets.conference: roster, own user, block list, last change, raw XML."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from imkit.payloads.conference_info import ConferenceInfo, RosterDiff, diff
from imkit.sip import parse_uri
from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.widgets.conference import (
    ConferenceModel,
    OwnMark,
    change_html,
    is_blocked,
    last_notify,
    roster_rows,
    user_changes,
)
from tests.widgets.support import (
    ALICE,
    FULL,
    PARTIAL,
    SERVER,
    row_with,
    table_rows,
    visible_text,
)

OLD = ConferenceInfo.from_xml(FULL)
NEW = OLD.apply(ConferenceInfo.from_xml(PARTIAL))


def notify(body: bytes, call_id: str = "sub-1", cseq: int = 1) -> bytes:
    return (f"NOTIFY sip:alice@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn{cseq}\r\n"
            f"From: <sip:conf-1@ims.example.com>;tag=f\r\nTo: <sip:alice@example.com>;tag=t\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} NOTIFY\r\nEvent: conference\r\n"
            f"Subscription-State: active;expires=3600\r\nContent-Type: application/conference-info+xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_roster_rows_mark_own_decode_uris_and_flag_blocked() -> None:
    rows = roster_rows(OLD, own_aor="sip:alice@example.com", blocklist=["sip:mallory@EXAMPLE.com"])
    assert [(r.shown, r.own, r.blocked) for r in rows] == [
        ("sip:alice@example.com", OwnMark.YOUROWN, False),
        ("sip:böb@example.com", None, False),
        ("sip:mallory@example.com", None, True),  # RFC 3261 19.1.4: hosts compare case-insensitively
    ]
    assert rows[1].entity == "sip:b%C3%B6b@example.com" and rows[0].roles == ("chairman",)
    assert rows[2].statuses == ("alerting",) and rows[2].display_text == "Mallory <the spammer>"


def test_own_user_falls_back_to_the_entity() -> None:
    plain = ConferenceInfo.from_xml(FULL.replace(b' o:yourown="true"', b""))
    rows = roster_rows(plain, own_aor="sip:alice@example.com")
    assert [r.own for r in rows] == [OwnMark.ENTITY, None, None]
    assert [r.own for r in roster_rows(plain)] == [None, None, None]


@pytest.mark.parametrize(("entity", "blocklist", "blocked"), [
    ("sip:mallory@EXAMPLE.com;x=1", ["sip:mallory@example.com"], True),  # a parameter in one only is ignored
    ("sip:mallory@example.com", ["sip:mallory@example.com;transport=udp"], False),  # but not transport
    ("sip:Mallory@example.com", ["sip:mallory@example.com"], False),  # the user part is case-sensitive
    ("tel:+15551234", ["tel:+15551234"], True),
    ("tel:+15551234", ["sip:+15551234@example.com"], False),
    ("not a uri", ["not a uri"], True),
])
def test_is_blocked(entity: str, blocklist: list[str], blocked: bool) -> None:
    assert is_blocked(entity, blocklist) is blocked


def test_the_roster_table_shows_what_the_rows_say() -> None:
    model = ConferenceModel(own_aor="sip:alice@example.com", blocklist=["sip:mallory@example.com"])
    model.update(OLD)
    alice = row_with(model.roster_html(), "Alice")
    assert alice[:4] == ["sip:alice@example.com", "Alice", "connected", "chairman"]
    assert alice[4] == "you (yourown attribute)" and alice[5] == ""
    bob = row_with(model.roster_html(), "Böb")
    assert bob[0] == "sip:böb@example.comas received: sip:b%C3%B6b@example.com"
    assert row_with(model.roster_html(), "Mallory")[5] == "⛔ blocked user joined"
    assert model.blocked_joined == ["sip:mallory@example.com"]
    summary = visible_text(model.summary_html())
    assert "version 1, 3 users, user-count 3" in summary and "blocked users joined: sip:mallory@example.com" in summary


def test_what_the_partial_notify_changed() -> None:
    change = diff(OLD, NEW)
    text = visible_text(change_html(change))
    assert "+ joined sip:carol@example.com" in text
    assert "− left sip:mallory@example.com" in text
    assert "~ changed sip:böb@example.com" in text
    assert "endpoint sip:bob@127.0.0.1:5072: connected → on-hold" in text
    assert visible_text(change_html(RosterDiff())) == "the roster did not change"
    assert "first NOTIFY" in visible_text(change_html(None))


def test_user_changes_in_words() -> None:
    alice = OLD.roster[0]
    from dataclasses import replace

    after = replace(alice, display_text="Alice B.", roles=("participant",), endpoints=())
    assert user_changes(alice, after) == [
        "display-text: Alice → Alice B.",
        "endpoint sip:alice@127.0.0.1:5070: connected → absent",
        "roles: chairman → participant",
    ]
    assert user_changes(alice, replace(alice, attributes=(("x", "y"),))) == ["other details changed (see the XML)"]


def test_xml_tabs_show_the_bytes_received_and_the_merged_state() -> None:
    trace = Trace()
    for cseq, (body, call_id) in enumerate([(FULL, "sub-1"), (PARTIAL, "sub-1"), (FULL, "another")], start=1):
        trace.record(float(cseq), Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                     notify(body, call_id, cseq))
    record = last_notify(trace, "sub-1")
    assert record is not None and record.seq == 1
    model = ConferenceModel()
    model.update(NEW, diff(OLD, NEW), notify=record)
    received = visible_text(model.notify_html())
    assert "body of NOTIFY record #1 as received" in received and f"({len(PARTIAL)} bytes)" in received
    assert 'state="deleted"' in received
    merged = visible_text(model.state_xml_html())
    assert "serialised by imkit" in merged and "sip:carol@example.com" in merged and "mallory" not in merged
    assert last_notify(trace, "nobody") is None


def test_nothing_yet() -> None:
    model = ConferenceModel()
    assert "no conference state yet" in visible_text(model.summary_html())
    assert model.rows == [] and model.state_xml_html() == "" and "give the trace" in model.notify_html()


@dataclass
class FakeSubscription:
    """What the model reads of a ConferenceSubscription."""

    state: ConferenceInfo | None = None
    last_change: RosterDiff | None = None
    terminated: bool = False
    call_id: str = "sub-1"
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    client: object = field(default_factory=lambda: SimpleNamespace(
        aor=parse_uri("sip:alice@example.com"), profile=SimpleNamespace(blocklist={"sip:mallory@example.com"})))

    def notified(self, state: ConferenceInfo, change: RosterDiff | None, *, last: bool = False) -> None:
        self.state, self.last_change, self.terminated = state, change, last
        self.changed.set()


async def test_watch_follows_the_subscription_until_it_ends() -> None:
    subscription = FakeSubscription(state=OLD)
    model = ConferenceModel.for_subscription(subscription)  # type: ignore[arg-type]
    assert model.own_aor == "sip:alice@example.com" and model.blocked_joined == ["sip:mallory@example.com"]
    task = model.watch_soon(subscription)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    subscription.notified(NEW, diff(OLD, NEW))
    await asyncio.sleep(0)
    assert model.state is NEW and model.change == diff(OLD, NEW) and model.blocked_joined == []
    assert [r.shown for r in model.rows] == ["sip:alice@example.com", "sip:böb@example.com", "sip:carol@example.com"]
    subscription.notified(OLD, diff(NEW, OLD), last=True)
    await asyncio.wait_for(task, 1)
    assert model.state is OLD and model.updates == 4  # for_subscription, watch's first read, two NOTIFYs
    assert "+ joined sip:mallory@example.com" in visible_text(model._repr_html_())


def test_the_html_of_the_model_is_all_of_it() -> None:
    model = ConferenceModel(own_aor="sip:alice@example.com")
    model.update(NEW, diff(OLD, NEW))
    text = visible_text(model._repr_html_())
    assert "version 2" in text and "Carol" in text and "+ joined" in text
    assert len(table_rows(model._repr_html_())) == 3
