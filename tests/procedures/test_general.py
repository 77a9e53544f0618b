"""7.1.1.1: the headers every initial request gets, what the client keeps
from responses, and the session timer."""

from __future__ import annotations

import pytest

from imkit.procedures.general import (
    SessionTimer,
    StoredServerInfo,
    add_option_tags,
    apply_initial_request_rules,
    session_timer_from_ok,
    store_response_info,
)
from imkit.sip import NameAddr
from imkit.sip.builders import make_response
from tests.procedures.context import FixedContext
from tests.procedures.flows import GROUP, sip
from tests.procedures.wire import assert_initial_request, cites


def initial(method: str):
    ctx = FixedContext()
    return ctx, ctx.initial_request(method, sip(GROUP), NameAddr(sip(GROUP)), "7.1.1.11", "test")


@pytest.mark.parametrize(("method", "anonymous"), [("SUBSCRIBE", True), ("INVITE", False), ("REFER", False)])
def test_every_initial_request_gets_the_general_headers(method: str, anonymous: bool) -> None:
    ctx, out = initial(method)
    apply_initial_request_rules(out, ctx.profile, ctx.contact, anonymous=anonymous)
    # Session-Expires (item 7) only where RFC 4028 defines it: INVITE
    assert_initial_request(out, GROUP, privacy=anonymous)
    assert cites(out, "Accept-Contact", "7.1.1.1", "1")
    assert cites(out, "Privacy", "7.1.1.1", "5") is anonymous
    assert cites(out, "Session-Expires", "7.1.1.1", "7") is (method == "INVITE")


def test_option_tags_are_added_once_and_cited() -> None:
    _, out = initial("INVITE")
    out.request.headers.add("Supported", "100rel")
    add_option_tags(out, "Supported", ["timer", "timer"], "7.1.1.1", "6")
    add_option_tags(out, "Supported", ["100rel"], "7.1.1.3", "x")
    assert out.request.headers.get_all("Supported") == ["100rel", "timer"]
    assert cites(out, "Supported", "7.1.1.1", "6") and cites(out, "Supported", "7.1.1.3", "x")


def test_allow_and_contact_of_any_response_are_stored() -> None:
    _, out = initial("INVITE")
    stored = StoredServerInfo()
    ringing = make_response(out.request, 180, to_tag="t")
    assert store_response_info(stored, ringing) == [] and stored == StoredServerInfo()
    ok = make_response(out.request, 200, to_tag="t", headers=(
        ("Allow", "INVITE, BYE"), ("Allow", "REFER"), ("Contact", "<sip:conf-7@example.com>;isfocus")))
    assert store_response_info(stored, ok) == [
        ("7.1.1.1/r1", "INVITE, BYE, REFER"), ("7.1.1.1/r2", "<sip:conf-7@example.com>;isfocus")]
    assert stored.allow == ["INVITE", "BYE", "REFER"]
    assert [str(c.uri) for c in stored.contact] == ["sip:conf-7@example.com"]


@pytest.mark.parametrize(("value", "timer"), [
    (None, None),  # RFC 4028 7.2: no Session-Expires, no session expiration
    ("1800", SessionTimer(1800, "uac")),  # no refresher: the UAC refreshes
    ("90;refresher=uas", SessionTimer(90, "uas")),
])
def test_session_timer_from_the_200(value: str | None, timer: SessionTimer | None) -> None:
    _, out = initial("INVITE")
    headers = () if value is None else (("Session-Expires", value),)
    assert session_timer_from_ok(make_response(out.request, 200, to_tag="t", headers=headers)) == timer


@pytest.mark.parametrize(("interval", "refresh", "expire"), [(1800, 900, 1768), (60, 30, 40)])
def test_session_timer_deadlines(interval: int, refresh: float, expire: float) -> None:
    # RFC 4028 10: refresh at half the interval; expire min(32, interval/3) before its end
    timer = SessionTimer(interval, "uac")
    assert (timer.refresh_after(), timer.expire_after()) == (refresh, expire)
