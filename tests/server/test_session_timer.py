"""RFC 4028 on the UAS side: negotiation (a table of requests and what the
2xx says) and the timer itself, with short intervals."""

from __future__ import annotations

import asyncio

import pytest

from imkit.server.session_timer import (
    Negotiated,
    Refresher,
    SessionTimer,
    TimerPolicy,
    TooSmall,
    negotiate,
)
from imkit.sip import Request, parse
from tests.server.sip_ua import raw_request

POLICY = TimerPolicy(min_se=90, interval=1800)


def invite(extra: str) -> Request:
    message = parse(raw_request("INVITE", "sip:bob@example.com", extra=extra))
    assert isinstance(message, Request)
    return message


@pytest.mark.parametrize(("extra", "expected"), [
    # the UAC supports timers and asks refresher=uac: granted as asked
    ("Supported: timer\r\nSession-Expires: 600;refresher=uac\r\n", Negotiated(600, Refresher.UAC, True)),
    ("Supported: timer\r\nSession-Expires: 600;refresher=uas\r\n", Negotiated(600, Refresher.UAS, True)),
    # no refresher: the UAS picks uac (OMA 7.1.1.1 item 7 wants the client to refresh)
    ("Supported: timer\r\nSession-Expires: 600\r\n", Negotiated(600, Refresher.UAC, True)),
    # supports timers, asks no interval: ours, at least the request's Min-SE
    ("Supported: timer\r\n", Negotiated(1800, Refresher.UAC, True)),
    ("Supported: timer\r\nMin-SE: 3600\r\n", Negotiated(3600, Refresher.UAC, True)),
    # below our minimum: 422 with our Min-SE
    ("Supported: timer\r\nSession-Expires: 30\r\n", TooSmall(90)),
    # a UAC without timer support cannot retry: we take the floor and refresh
    ("Session-Expires: 30\r\n", Negotiated(90, Refresher.UAS, False)),
    ("Session-Expires: 600;refresher=uac\r\n", Negotiated(600, Refresher.UAS, False)),
    # neither support nor interval: no timer
    ("", None),
])
def test_negotiate(extra: str, expected: object) -> None:
    assert negotiate(invite(extra), POLICY) == expected


def test_response_headers() -> None:
    assert Negotiated(600, Refresher.UAC, True).response_headers() == [
        ("Session-Expires", "600;refresher=uac"), ("Require", "timer")]
    assert Negotiated(90, Refresher.UAS, False).response_headers() == [("Session-Expires", "90;refresher=uas")]
    assert TooSmall(90).response_headers() == [("Min-SE", "90")]


def test_bye_and_refresh_times() -> None:
    # RFC 4028 section 10: BYE at interval - min(32, interval/3); refresh at half
    assert Negotiated(1800, Refresher.UAC, True).expiry_warning == 1768
    assert Negotiated(90, Refresher.UAC, True).expiry_warning == 60
    assert Negotiated(90, Refresher.UAS, True).refresh_after == 45


async def test_timer_expires_refreshes_and_cancels() -> None:
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float]] = []
    start = loop.time()

    async def expire() -> None:
        fired.append(("expire", loop.time() - start))

    async def refresh() -> None:
        fired.append(("refresh", loop.time() - start))

    timer = SessionTimer(expire, refresh)
    timer.start(Negotiated(1, Refresher.UAC, True))  # BYE at 2/3 s
    assert timer.armed and timer.deadline is not None
    await asyncio.sleep(0.3)
    timer.start(Negotiated(1, Refresher.UAC, True))  # a refresh came: re-armed from now
    await asyncio.sleep(0.8)
    assert [name for name, _ in fired] == ["expire"] and fired[0][1] >= 0.95
    timer.start(Negotiated(1, Refresher.UAS, True))  # we refresh, at half the interval
    await asyncio.sleep(0.7)
    assert fired[-1][0] == "refresh"
    timer.start(Negotiated(1, Refresher.UAC, True))
    timer.cancel()
    await asyncio.sleep(0.8)
    assert len(fired) == 2 and not timer.armed
    timer.start(None)
    assert not timer.armed
    await timer.close()


async def test_close_stops_a_running_callback() -> None:
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(30)

    timer = SessionTimer(slow)
    timer.start(Negotiated(1, Refresher.UAC, True))
    await asyncio.wait_for(started.wait(), 2)
    await asyncio.wait_for(timer.close(), 1)


async def test_release_drops_the_callbacks_and_arms_nothing_after() -> None:
    """A released timer (its session ended) keeps no reference to the
    session's callbacks, and a refresh answered after the end arms nothing."""

    class Session:
        def __init__(self) -> None:
            self.expired = False
            self.timer = SessionTimer(self.expire)

        async def expire(self) -> None:
            self.expired = True

    session = Session()
    session.timer.start(Negotiated(90, Refresher.UAC, True))
    assert session.timer.armed
    session.timer.release()
    assert not session.timer.armed
    assert session.timer.on_refresh is None
    assert getattr(session.timer.on_expire, "__self__", None) is not session
    session.timer.start(Negotiated(1, Refresher.UAC, True))
    assert not session.timer.armed and session.timer.params is not None
    await session.timer.close()
    assert not session.expired
