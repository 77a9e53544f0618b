"""imkit.widgets.reprs: rich HTML for objects of other layers, and its registration."""

from __future__ import annotations

from types import SimpleNamespace

from IPython.core.formatters import HTMLFormatter

import imkit.widgets
from imkit.client import ConferenceSubscription, IMSession, Referral
from imkit.payloads.conference_info import ConferenceInfo, diff
from imkit.procedures.general import SessionTimer
from imkit.procedures.state import SessionPhase
from imkit.sip import NameAddr, parse, parse_uri
from imkit.widgets.reprs import (
    header_rows,
    html_of,
    message_html,
    outgoing_html,
    record_html,
    referral_html,
    register_reprs,
    roster_diff_html,
    session_html,
    subscription_html,
)
from tests.widgets.support import (
    FULL,
    PARTIAL,
    FixedBuilder,
    conference_session,
    refer_trace,
    row_with,
    table_rows,
    visible_text,
)

CLIENT = SimpleNamespace(aor=parse_uri("sip:alice@example.com"),
                         profile=SimpleNamespace(blocklist={"sip:mallory@example.com"}))


def refer() -> object:
    return FixedBuilder()("7.1.1.7", invited=["sip:bob@example.com"], anonymous=True)


def test_header_rows_give_the_byte_offset_of_each_row() -> None:
    message = parse(b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                    b"Subject: folded\r\n over two lines\r\nv: SIP/2.0/UDP g;branch=z9hG4bK2\r\n\r\n")
    data = bytes(message)
    rows = header_rows(message)
    assert [(row.name, row.key) for row in rows] == [("Via", "via"), ("Subject", "subject"), ("v", "via")]
    assert [row.offset for row in rows] == [data.index(b"Via"), data.index(b"Subject"), data.index(b"v:")]


def test_outgoing_html_explains_every_row() -> None:
    out = refer()
    shown = outgoing_html(out)  # type: ignore[arg-type]
    rows = table_rows(shown)
    assert len(rows) == 1 + len(out.request.headers)  # type: ignore[attr-defined]
    assert row_with(shown, "Privacy: id")[2] == "".join(f"← {p}" for p in out.why("Privacy"))  # type: ignore[attr-defined]
    assert [p.clause for p in out.why("Privacy")] == ["7.1.1.1", "7.1.1.7"]  # type: ignore[attr-defined]
    assert row_with(shown, "Refer-Sub: false")[2] == "← 7.1.1.7 item 3b (RFC 4488)"
    assert "no body" not in visible_text(shown) and "body: 0 bytes" in visible_text(shown)


def test_message_html_is_the_bytes_and_the_content_length_check() -> None:
    data = b"SIP/2.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    text = visible_text(message_html(parse(data)))
    assert f"body: 2 bytes, Content-Type text/plain, Content-Length 2 ✓; {len(data)} bytes on the wire" in text
    assert f"   5 {data.index(b'hi'):>6} │ hi" in text


def test_record_html_shows_meta_reasons_and_bytes() -> None:
    trace, _ = refer_trace()
    text = visible_text(record_html(trace[0], names=trace.names))
    assert text.startswith("#0 REFER [7.1.1.7] — sent at 1.000000, SIP over UDP: alice (127.0.0.1:5070) → server")
    assert "← 7.1.1.7 item 4d" in text and "REFER sip:conf-1@ims.example.com SIP/2.0␍␊" in text


def test_session_html_shows_what_was_stored() -> None:
    state = conference_session()
    state.phase = SessionPhase.ESTABLISHED
    state.server.allow = ["INVITE", "BYE"]
    state.server.contact = [NameAddr(parse_uri("sip:conf-1@ims.example.com")).with_param("isfocus")]
    state.timer = SessionTimer(1800, "uac")
    session = IMSession(CLIENT, state)  # type: ignore[arg-type]
    session.expires_at = 1810.5
    facts = {row[0]: row[1] for row in table_rows(session_html(session))}
    assert facts["IM Session Identity"] == "sip:conf-1@ims.example.com"
    assert facts["Allow stored (7.1.1.1)"] == "INVITE, BYE"
    assert facts["Contact stored (7.1.1.1)"] == "<sip:conf-1@ims.example.com>;isfocus"
    assert facts["session timer"] == "1800 s, refresher uac, expires at 1810.500"
    assert facts["phase"] == "established" and facts["conference state (7.1.1.11)"] == "not subscribed"


def test_subscription_html_shows_the_roster_with_own_and_blocked() -> None:
    subscription = ConferenceSubscription(CLIENT, parse(bytes(refer())))  # type: ignore[arg-type]
    assert "no conference state yet" in visible_text(subscription_html(subscription))
    old = ConferenceInfo.from_xml(FULL)
    subscription.state = old.apply(ConferenceInfo.from_xml(PARTIAL))
    subscription.last_change = diff(old, subscription.state)
    subscription.notifications = 2
    shown = subscription_html(subscription)
    assert "2 NOTIFYs" in visible_text(shown) and "+ joined sip:carol@example.com" in visible_text(shown)
    assert row_with(shown, "Alice")[4] == "you (yourown attribute)"
    subscription.state = old
    assert row_with(subscription_html(subscription), "Mallory")[5] == "⛔ blocked user joined"


def test_referral_html() -> None:
    referral = Referral(CLIENT, refer())  # type: ignore[arg-type]
    facts = {row[0]: row[1] for row in table_rows(referral_html(referral))}
    assert facts["Refer-To"] == "<sip:bob@example.com>" and facts["answer"] == "pending"
    referral.response = parse(b"SIP/2.0 202 Accepted\r\nRefer-Sub: false\r\nContent-Length: 0\r\n\r\n")
    referral.progress.append("SIP/2.0 200 OK")
    facts = {row[0]: row[1] for row in table_rows(referral_html(referral))}
    assert facts["answer"] == "SIP/2.0 202 Accepted" and facts["implicit subscription"].startswith("refused")
    assert facts["progress (sipfrag)"] == "SIP/2.0 200 OK"


def test_html_of_dispatches_by_class_then_repr_html_then_repr() -> None:
    old = ConferenceInfo.from_xml(FULL)
    assert html_of(diff(old, old)) == roster_diff_html(diff(old, old))
    assert html_of(old) == old._repr_html_()
    assert html_of("<x>") == "<code>&#x27;&lt;x&gt;&#x27;</code>"


def test_registered_reprs_win_over_the_classes_own() -> None:
    formatter = HTMLFormatter()
    out = refer()
    assert formatter(out) == out._repr_html_()  # type: ignore[attr-defined]
    register_reprs(formatter)
    assert formatter(out) == outgoing_html(out)  # type: ignore[arg-type]
    request = parse(bytes(out))  # type: ignore[arg-type]
    assert formatter(request) == message_html(request)


def test_load_ipython_extension_registers_with_the_shell() -> None:
    formatter = HTMLFormatter()
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"text/html": formatter}))
    imkit.widgets.load_ipython_extension(shell)
    trace, _ = refer_trace()
    assert formatter(trace[0]) == record_html(trace[0])
