"""The focus's conference event package: RFC 4575 over RFC 6665 (7.1.1.11).

A participant subscribes (``SUBSCRIBE``, ``Event: conference``) to the IM
Session Identity or to a group's URI; :class:`ConferenceEvents` is the
notifier.

* SUBSCRIBE: an unknown event package gets 489 with ``Allow-Events:
  conference`` (RFC 6665 section 4.2.1: "... MUST respond with a 489 (Bad
  Event)"); ``Accept`` without ``application/conference-info+xml`` gets 406;
  an ``Expires`` below :attr:`min_expires` (but not 0) gets 423 with
  ``Min-Expires``; a SUBSCRIBE inside a dialog naming no subscription of it
  gets 481.  Accepted subscriptions get **200** (RFC 6665 section 4.2.1.1:
  "202 ... MUST NOT be used"), with ``Expires`` and a Contact (the IM Session
  Identity with ``isfocus``).  A conference holds at most
  :attr:`max_per_conference` subscriptions; more get 503 with Retry-After.
* Notifications (RFC 6665 4.2.1.2: "Upon successfully accepting or
  refreshing a subscription, notifiers MUST send a NOTIFY request
  immediately"): a full document first (``state="full"``, version 1), then
  for each roster change a partial document (``state="partial"``) holding
  only the users that changed, so its size does not depend on the roster.
  A full document larger than :data:`MAX_DOCUMENT` is sent without the
  users' ``<endpoint>`` elements, so rosters of several hundred users still
  fit a NOTIFY (64 KiB).  A NOTIFY over 1300 bytes (a full document of more
  than a couple of users) to a subscriber reached over UDP goes over TCP to
  the same address (RFC 3261 18.1.1, done by the endpoint: see
  :mod:`imkit.runtime.endpoint`).
  Versions count the documents sent to the subscription (RFC 4575 section
  4.6: "incremented by one for each new document being sent to a
  subscriber").  A refresh gets a new full document.  One NOTIFY per
  subscription is in flight at a time; changes that happen meanwhile are
  folded into the next partial document (each user as it is then).
* The subscriber's own ``<user>`` carries OMA's ``yourown`` attribute;
  anonymous and bcc participants are shown as :mod:`imkit.server.conference`
  describes.
* Ending: ``Expires: 0`` (an unsubscribe, or a fetch) gets 200 and a last
  NOTIFY with the full state and ``Subscription-State:
  terminated;reason=timeout``; an expired subscription gets
  ``terminated;reason=timeout``; when the conference ends every subscription
  gets ``terminated;reason=noresource`` (RFC 6665 4.2.2).  A NOTIFY answered
  with an error, or not at all, ends the subscription (RFC 6665 4.2.2: "a
  481 ... MUST remove the subscription").

Dialogs: the focus keeps the dialog table; this module gets ``adopt`` (a new
dialog was made) and ``release`` (a dialog it used may be gone) callables.
:class:`DialogNotifier` holds them and what else a notifier of the focus needs
to answer requests and send NOTIFYs in a dialog; :mod:`imkit.server.refer`
builds REFER's implicit subscription on it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from imkit.errors import ProtocolError
from imkit.payloads.conference_info import CONTENT_TYPE, EVENT_PACKAGE
from imkit.runtime import (
    Endpoint,
    IncomingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.server.conference import Conference, Participant
from imkit.server.groups import aor_key
from imkit.sip import NameAddr, Request, Response
from imkit.sip.builders import make_response
from imkit.sip.dialog import Dialog, UsageKey
from imkit.sip.errors import ParseError
from imkit.sip.values import Via

__all__ = ["ConferenceEvents", "DialogNotifier", "Subscription", "SubscriptionStatus"]

_log = logging.getLogger("imkit.server.events")

Headers = list[tuple[str, str]]
#: Largest conference-info body sent whole: a NOTIFY must fit imkit's 64 KiB
#: message cap (:data:`imkit.sip.message.MAX_MESSAGE_SIZE`) with its headers.
MAX_DOCUMENT = 60000


class SubscriptionStatus(enum.Enum):
    ACTIVE = "active"
    TERMINATING = "terminating"     # the last NOTIFY is queued or in flight
    TERMINATED = "terminated"


@dataclass(eq=False)
class Subscription:
    """One subscription to a conference's state."""

    conference: Conference
    dialog: Dialog
    key: UsageKey
    subscriber: str | None               # aor_key of the subscriber (for yourown)
    event: str                           # the Event value to echo (with its id)
    expires_at: float
    version: int = 0
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    full_pending: bool = True
    #: users changed since the last document: aor -> (participant, present)
    dirty: dict[str, tuple[Participant, bool]] = field(default_factory=dict)
    reason: str | None = None            # why it ends (RFC 6665 event-reason-value)
    task: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None


class DialogNotifier:
    """A notifier of the focus: answers the requests that make or use a
    subscription's dialog and sends the NOTIFYs of it, with the focus's own
    header rows, Via and dialog table (``adopt`` / ``release``)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        adopt: Callable[[Dialog], None],
        release: Callable[[Dialog], None],
        headers: Callable[[], Headers] = list,
        request_headers: Callable[[], Headers] = list,
        local_via: Callable[[], Via] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.adopt = adopt
        self.release = release
        #: rows added to our responses (Server ...) and to our requests (User-Agent ...)
        self.headers = headers
        self.request_headers = request_headers
        self.local_via = local_via

    def _via(self) -> Via | None:
        return self.local_via() if self.local_via is not None else None

    def _response(self, request: Request, status: int, reason: str | None, rows: Iterable[tuple[str, str]],
                  *, to_tag: str | None = None) -> Response:
        return make_response(request, status, reason, to_tag=to_tag, headers=[*rows, *self.headers()])

    def _respond(self, incoming: IncomingRequest, status: int, reason: str | None, rows: Headers,
                 *, dialog: Dialog | None = None, to_tag: str | None = None) -> None:
        request = incoming.request
        response = self._response(request, status, reason, rows, to_tag=to_tag)
        self.endpoint.respond(incoming, response)
        if dialog is not None:
            dialog.send_response(request, response)
            self.release(dialog)

    def _respond_in_new_dialog(self, incoming: IncomingRequest, status: int, rows: Headers,
                               *, to_tag: str | None) -> Dialog:
        """Answer a request outside any dialog with a 2xx and adopt the dialog it makes."""
        request = incoming.request
        response = self._response(request, status, None, rows, to_tag=to_tag)
        dialog = Dialog.from_uas(request, response, local_via=self._via(), ids=self.endpoint.ids)
        self.adopt(dialog)
        self.endpoint.respond(incoming, response)
        return dialog

    async def _send_notify(self, dialog: Dialog, event: str, state: str, body: bytes,
                           content_type: str | None) -> tuple[Request, Response]:
        """Send one NOTIFY in ``dialog``: the request and its final response.

        Raises what :meth:`Dialog.create_request` and :meth:`Endpoint.request` raise; the
        caller hands the response to the dialog (``dialog.receive_response``).
        """
        rows = [("Event", event), ("Subscription-State", state), *self.request_headers()]
        notify = dialog.create_request("NOTIFY", headers=rows, body=body, content_type=content_type,
                                       via=self._via())
        return notify, await self.endpoint.request(notify)

    def _end_usage(self, dialog: Dialog, key: UsageKey) -> None:
        if key in dialog.usages:
            dialog.end_usage(key)
        self.release(dialog)


class ConferenceEvents(DialogNotifier):
    """The notifier of the ``conference`` event package (see the module docstring)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        adopt: Callable[[Dialog], None],
        release: Callable[[Dialog], None],
        headers: Callable[[], Headers] = list,
        request_headers: Callable[[], Headers] = list,
        local_via: Callable[[], Via] | None = None,
        default_expires: int = 3600,
        min_expires: int = 60,
        max_expires: int = 86400,
        max_per_conference: int = 256,
        max_document: int = MAX_DOCUMENT,
    ) -> None:
        super().__init__(endpoint, adopt=adopt, release=release, headers=headers,
                         request_headers=request_headers, local_via=local_via)
        self.default_expires = default_expires
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.max_per_conference = max_per_conference
        self.max_document = max_document
        self._by_conference: dict[str, list[Subscription]] = {}
        self._by_usage: dict[tuple[object, UsageKey], Subscription] = {}

    # -- reading -------------------------------------------------------------------

    def subscriptions(self, conference: Conference | None = None) -> list[Subscription]:
        if conference is None:
            return [s for subs in self._by_conference.values() for s in subs]
        return list(self._by_conference.get(conference.id, ()))

    def watch(self, conference: Conference) -> None:
        """Hear of the conference's roster changes."""
        conference.observe(self._changed)

    # -- SUBSCRIBE -------------------------------------------------------------------

    def find(self, dialog: Dialog, request: Request) -> Subscription | None:
        event = request.event
        if event is None:
            return None
        key = UsageKey.subscription(event.value, event.param("id"))
        return self._by_usage.get((dialog.id, key))

    def check(self, request: Request) -> tuple[int, str | None, Headers] | None:
        """The error a SUBSCRIBE gets before anything else, or ``None``."""
        try:
            event = request.event
            expires = request.expires
        except ParseError as exc:
            return 400, f"Bad Request ({exc.what})", []
        if event is None or event.value.lower() != EVENT_PACKAGE:
            # RFC 6665 4.2.1: "... MUST respond with a 489 (Bad Event) response";
            # "... MUST also include an Allow-Events header field".
            return 489, None, [("Allow-Events", EVENT_PACKAGE)]
        accept = [a.split(";", 1)[0].strip().lower() for a in request.headers.get_all("Accept")]
        if accept and not ({CONTENT_TYPE, "application/*", "*/*"} & set(accept)):
            # RFC 6665 4.2.1: the notifier "MUST respond ... with a 406"
            return 406, None, [("Accept", CONTENT_TYPE)]
        if expires is not None and 0 < expires < self.min_expires:
            # RFC 6665 4.2.1.1: 423 (Interval Too Brief) with Min-Expires
            return 423, None, [("Min-Expires", str(self.min_expires))]
        return None

    def _expires(self, request: Request) -> int:
        value = request.expires
        if value is None:
            # RFC 4575 section 4.2: "The default expiration time ... is 3600 seconds"
            return self.default_expires
        return min(value, self.max_expires)

    async def subscribe(self, incoming: IncomingRequest, conference: Conference, contact: NameAddr,
                        *, to_tag: str) -> Subscription | None:
        """A SUBSCRIBE outside any dialog: a new subscription in a new dialog."""
        request = incoming.request
        error = self.check(request)
        if error is not None:
            self._respond(incoming, error[0], error[1], error[2], to_tag=to_tag)
            return None
        if len(self._by_conference.get(conference.id, ())) >= self.max_per_conference:
            self._respond(incoming, 503, "Too Many Subscriptions", [("Retry-After", "60")], to_tag=to_tag)
            return None
        if not request.contact:
            self._respond(incoming, 400, "Bad Request (no Contact)", [], to_tag=to_tag)
            return None
        expires = self._expires(request)
        dialog = self._respond_in_new_dialog(incoming, 200, [("Contact", str(contact)), ("Expires", str(expires))],
                                             to_tag=to_tag)
        event = request.event
        assert event is not None
        key = UsageKey.subscription(event.value, event.param("id"))
        return self._start(conference, dialog, key, request, expires)

    async def refresh(self, incoming: IncomingRequest, dialog: Dialog, conference: Conference | None) -> None:
        """A SUBSCRIBE inside ``dialog``: refresh (or end) its subscription, or,
        in an INVITE dialog with ``conference``, start one there."""
        request = incoming.request
        error = self.check(request)
        if error is not None:
            self._respond(incoming, error[0], error[1], error[2], dialog=dialog)
            return
        subscription = self.find(dialog, request)
        expires = self._expires(request)
        if subscription is None or subscription.status is not SubscriptionStatus.ACTIVE:
            if conference is None or conference.ended or UsageKey.invite() not in dialog.usages:
                # RFC 6665 4.2.1.2 / RFC 3261 12.2.2: no such subscription
                self._respond(incoming, 481, None, [], dialog=dialog)
                return
            if len(self._by_conference.get(conference.id, ())) >= self.max_per_conference:
                self._respond(incoming, 503, "Too Many Subscriptions", [("Retry-After", "60")], dialog=dialog)
                return
            self._respond(incoming, 200, None, [("Expires", str(expires))], dialog=dialog)
            event = request.event
            assert event is not None
            self._start(conference, dialog, UsageKey.subscription(event.value, event.param("id")),
                        request, expires)
            return
        self._respond(incoming, 200, None, [("Expires", str(expires))], dialog=dialog)
        loop = asyncio.get_running_loop()
        subscription.expires_at = loop.time() + expires
        # RFC 6665 4.2.1.2: a refresh is answered with a NOTIFY; RFC 4575 4.6:
        # full state lets the subscriber resynchronise.
        subscription.full_pending = True
        if expires == 0:
            subscription.reason = "timeout"
            subscription.status = SubscriptionStatus.TERMINATING
        self._arm(subscription)
        self._kick(subscription)

    def _start(self, conference: Conference, dialog: Dialog, key: UsageKey, request: Request,
               expires: int) -> Subscription:
        loop = asyncio.get_running_loop()
        from_ = request.from_
        subscriber = aor_key(from_.uri) if from_ is not None else None
        event = request.headers.get("Event") or EVENT_PACKAGE
        subscription = Subscription(conference, dialog, key, subscriber, event, loop.time() + expires)
        if expires == 0:
            # RFC 6665 4.4.3: a SUBSCRIBE with Expires 0 fetches the state once.
            subscription.reason = "timeout"
            subscription.status = SubscriptionStatus.TERMINATING
        self._by_conference.setdefault(conference.id, []).append(subscription)
        self._by_usage[(dialog.id, key)] = subscription
        self._arm(subscription)
        self._kick(subscription)
        return subscription

    # -- changes ------------------------------------------------------------------------

    def _changed(self, conference: Conference, participant: Participant, present: bool) -> None:
        for subscription in self._by_conference.get(conference.id, ()):
            if subscription.status is SubscriptionStatus.ACTIVE:
                subscription.dirty[participant.aor] = (participant, present)
                self._kick(subscription)

    async def end_conference(self, conference: Conference, timeout: float = 5.0) -> None:
        """Terminate every subscription of ``conference`` (``reason=noresource``)."""
        subscriptions = list(self._by_conference.get(conference.id, ()))
        for subscription in subscriptions:
            if subscription.status is SubscriptionStatus.ACTIVE:
                subscription.reason = "noresource"
                subscription.status = SubscriptionStatus.TERMINATING
                self._kick(subscription)
        tasks = [s.task for s in subscriptions if s.task is not None and not s.task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for subscription in subscriptions:
            self._finish(subscription)

    async def close(self) -> None:
        for subscription in self.subscriptions():
            if subscription.task is not None:
                subscription.task.cancel()
            self._finish(subscription)

    # -- notifying ----------------------------------------------------------------------

    def _arm(self, subscription: Subscription) -> None:
        if subscription.timer is not None:
            subscription.timer.cancel()
        loop = asyncio.get_running_loop()
        subscription.timer = loop.call_at(subscription.expires_at, self._expired, subscription)

    def _expired(self, subscription: Subscription) -> None:
        subscription.timer = None
        if subscription.status is SubscriptionStatus.ACTIVE:
            # RFC 6665 4.2.2: "timeout: The subscription has been terminated because it was not refreshed"
            subscription.reason = "timeout"
            subscription.status = SubscriptionStatus.TERMINATING
            self._kick(subscription)

    def _kick(self, subscription: Subscription) -> None:
        if subscription.task is None or subscription.task.done():
            subscription.task = asyncio.ensure_future(self._pump(subscription))

    async def _pump(self, subscription: Subscription) -> None:
        """Send what the subscription is owed, one NOTIFY at a time."""
        conference = subscription.conference
        while subscription.status is not SubscriptionStatus.TERMINATED:
            document: bytes | None = None
            if subscription.full_pending:
                subscription.full_pending = False
                subscription.dirty.clear()
                subscription.version += 1
                document = self._full(subscription)
            elif subscription.dirty:
                changes = list(subscription.dirty.values())
                subscription.dirty.clear()
                partial = conference.partial_document(subscription.subscriber, subscription.version + 1, changes)
                if partial is not None:
                    subscription.version += 1
                    document = partial.to_xml()
            final = subscription.status is SubscriptionStatus.TERMINATING and not (
                subscription.full_pending or subscription.dirty)
            if document is None and not final:
                if subscription.dirty or subscription.full_pending:
                    continue
                return
            if not await self._notify(subscription, document, final):
                final = True
            if final:
                self._finish(subscription)
                return

    def _full(self, subscription: Subscription) -> bytes:
        """The full document; without endpoints when it would not fit a NOTIFY."""
        conference, viewer, version = subscription.conference, subscription.subscriber, subscription.version
        document = conference.full_document(viewer, version).to_xml()
        if len(document) > self.max_document:
            _log.info("full state of %s is %d bytes: sending it without endpoints", conference.id, len(document))
            document = conference.full_document(viewer, version, compact=True).to_xml()
        return document

    async def _notify(self, subscription: Subscription, document: bytes | None, final: bool) -> bool:
        """Send one NOTIFY; whether the subscriber took it (a 2xx)."""
        loop = asyncio.get_running_loop()
        if final:
            state = f"terminated;reason={subscription.reason or 'noresource'}"
        else:
            remaining = max(int(subscription.expires_at - loop.time()), 0)
            state = f"active;expires={remaining}"
        dialog = subscription.dialog
        if dialog.is_terminated:
            return False
        try:
            notify, response = await self._send_notify(
                dialog, subscription.event, state, document or b"",
                CONTENT_TYPE if document is not None else None,
            )
        except (TransactionTimeout, TransportFailure, ProtocolError) as exc:
            _log.info("NOTIFY to %s failed: %s", subscription.subscriber, exc)
            return False
        dialog.receive_response(notify, response)
        if not response.is_success:
            _log.info("NOTIFY to %s answered %d: subscription removed", subscription.subscriber, response.status)
            return False
        return True

    def _finish(self, subscription: Subscription) -> None:
        if subscription.status is SubscriptionStatus.TERMINATED:
            return
        subscription.status = SubscriptionStatus.TERMINATED
        if subscription.timer is not None:
            subscription.timer.cancel()
            subscription.timer = None
        subscription.dirty.clear()
        subs = self._by_conference.get(subscription.conference.id)
        if subs is not None:
            if subscription in subs:
                subs.remove(subscription)
            if not subs:
                del self._by_conference[subscription.conference.id]
        self._by_usage.pop((subscription.dialog.id, subscription.key), None)
        self._end_usage(subscription.dialog, subscription.key)
