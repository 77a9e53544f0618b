"""SIP session timers on the UAS side (RFC 4028 sections 9 and 10).

Shared by the simulated users and the conference focus: every INVITE the
server answers as a user agent goes through :func:`negotiate`, which gives

* :class:`TooSmall` -- answer ``422 (Session Interval Too Small)`` with
  ``Min-SE`` (RFC 4028 section 6: "The 422 response MUST contain a Min-SE
  header field with the minimum timer for that server.");
* :class:`Negotiated` -- the interval and refresher to put in the 2xx
  (:meth:`Negotiated.response_headers`);
* ``None`` -- no session timer (the UAC neither supports the extension nor
  asked for one).

:class:`SessionTimer` then runs the timer of one session on the asyncio
loop: when the UAC refreshes, it sends BYE slightly before the session
expires unless a refresh came (:meth:`SessionTimer.start` again); when the
UAS refreshes, it calls the refresh callback at half the interval.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from imkit.sip import Request
from imkit.sip.errors import ParseError

__all__ = [
    "RFC_MIN_SE",
    "Negotiated",
    "Refresher",
    "SessionTimer",
    "TimerPolicy",
    "TooSmall",
    "negotiate",
]

_log = logging.getLogger("imkit.server")

#: RFC 4028 section 5: "the minimum ... is 90 seconds" (Min-SE's floor).
RFC_MIN_SE = 90


class Refresher(enum.Enum):
    """Who sends the refreshes (RFC 4028 section 4, the ``refresher`` parameter)."""

    UAC = "uac"
    UAS = "uas"


@dataclass(frozen=True, slots=True)
class TimerPolicy:
    """The UAS's local policy: its minimum and the interval it proposes when
    the request names none."""

    min_se: int = RFC_MIN_SE
    interval: int = 1800


@dataclass(frozen=True, slots=True)
class TooSmall:
    """The request's Session-Expires is below our minimum: answer 422."""

    min_se: int

    def response_headers(self) -> list[tuple[str, str]]:
        return [("Min-SE", str(self.min_se))]


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The session timer of a 2xx: interval, refresher, and whether the UAC
    supports the extension (then ``Require: timer`` goes in the 2xx)."""

    interval: int
    refresher: Refresher
    uac_supports: bool

    def response_headers(self) -> list[tuple[str, str]]:
        rows = [("Session-Expires", f"{self.interval};refresher={self.refresher.value}")]
        if self.uac_supports:
            # RFC 4028 section 9: the UAS puts "timer" in a Require header
            # field of the 2xx when the UAC indicated support for it.
            rows.append(("Require", "timer"))
        return rows

    @property
    def expiry_warning(self) -> float:
        """Seconds after which the side that does not refresh sends BYE.
        RFC 4028 section 10: "it SHOULD send a BYE to terminate the session,
        slightly before the session expiration.  The minimum of 32 seconds and
        one third of the session interval is recommended." """
        return self.interval - min(32.0, self.interval / 3)

    @property
    def refresh_after(self) -> float:
        """Seconds after which the refresher refreshes (RFC 4028 section 10:
        half the session interval)."""
        return self.interval / 2


def negotiate(request: Request, policy: TimerPolicy) -> Negotiated | TooSmall | None:
    """The session timer of our answer to an INVITE (initial or re-INVITE).

    The request's headers were checked already (a malformed Session-Expires
    is a 400, see :mod:`imkit.server.validation`); should they not parse,
    the request is treated as asking for no timer.
    """
    try:
        session_expires = request.session_expires
        request_min_se = request.min_se
    except ParseError:
        return None
    uac_supports = "timer" in request.supported or "timer" in request.require
    floor = max(policy.min_se, request_min_se or 0)
    if session_expires is None:
        if not uac_supports:
            return None
        # RFC 4028 section 9: with no Session-Expires in a request whose UAC
        # supports the extension the UAS may add one; it chooses the refresher.
        return Negotiated(max(policy.interval, floor), Refresher.UAC, True)
    interval = session_expires.delta
    if interval < policy.min_se:
        if uac_supports:
            return TooSmall(policy.min_se)
        # A UAC that does not support the extension cannot retry after a 422:
        # take the longer interval and refresh ourselves.
        return Negotiated(floor, Refresher.UAS, False)
    asked = session_expires.refresher
    if not uac_supports:
        # A refresher=uac the UAC does not understand cannot be honoured.
        return Negotiated(interval, Refresher.UAS, False)
    refresher = Refresher(asked) if asked in ("uac", "uas") else Refresher.UAC
    return Negotiated(interval, refresher, True)


Callback = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    """The callback of a released timer."""


class SessionTimer:
    """The timer of one session: BYE on expiry, or refreshes when we refresh.

    ``on_expire`` is awaited when the session expires unrefreshed (send BYE
    there); ``on_refresh`` when we are the refresher and half the interval
    passed (send a re-INVITE there, and call :meth:`start` with its outcome).
    Without ``on_refresh`` a session we should refresh ends like an
    unrefreshed one.
    """

    def __init__(self, on_expire: Callback, on_refresh: Callback | None = None) -> None:
        self.on_expire = on_expire
        self.on_refresh = on_refresh
        self.params: Negotiated | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._deadline: float | None = None
        self._released = False

    @property
    def deadline(self) -> float | None:
        """Loop time at which the timer acts next, if armed."""
        return self._deadline

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def start(self, params: Negotiated | None) -> None:
        """(Re)arm for a session just established or refreshed; ``None`` disarms."""
        self.cancel()
        self.params = params
        if params is None or self._released:
            return
        loop = asyncio.get_running_loop()
        we_refresh = params.refresher is Refresher.UAS and self.on_refresh is not None
        delay = params.refresh_after if we_refresh else params.expiry_warning
        callback = self.on_refresh if we_refresh else self.on_expire
        assert callback is not None
        self._deadline = loop.time() + delay
        self._handle = loop.call_later(delay, self._fire, callback)

    def cancel(self) -> None:
        """Disarm (the session ended); a callback already running is left to finish."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._deadline = None

    def release(self) -> None:
        """Disarm for good (the session ended) and drop the callbacks: they
        refer to the session, which refers to this timer, and that cycle
        would leave the session to the cyclic collector.  A later
        :meth:`start` (a refresh answered after the end) arms nothing."""
        self.cancel()
        self._released = True
        self.on_expire = _nothing
        self.on_refresh = None

    def _fire(self, callback: Callback) -> None:
        self._handle = None
        self._deadline = None
        self._task = asyncio.ensure_future(self._run(callback))

    async def _run(self, callback: Callback) -> None:
        try:
            await callback()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 -- a timer task has nobody to raise to
            _log.exception("session timer callback failed")

    async def close(self) -> None:
        """Disarm, and stop a callback still running (the session is going
        away) unless it is the caller itself."""
        self.cancel()
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
