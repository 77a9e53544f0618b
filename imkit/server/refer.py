"""REFER to a conference (RFC 3515, RFC 4579 section 5.5/5.6, RFC 4488, RFC 5368):
adding IM Users (7.1.1.7) and removing one (7.1.1.14).

A REFER's Request-URI is the IM Session Identity; it may come inside a
participant's INVITE dialog or outside any dialog.  Only participants may
refer; a participant sending ``Privacy: id`` to a conference that forbids
anonymity gets 403 (7.1.1.7 NOTE 1).

What the Refer-To says:

* one SIP URI: invite that user (the focus dials out, RFC 4579 section 5.5).
  An embedded ``?Replaces=`` header is passed on as the INVITE's Replaces.
* one SIP URI with ``method=BYE``, written as a URI parameter
  (``<sip:bob@x;method=BYE>``, RFC 3261 19.1.1 and RFC 4579 5.6), as a URI
  header (``<sip:bob@x?method=BYE>``, RFC 5368's example) or as a header
  parameter after the ``>`` (``<sip:bob@x>;method=BYE``): remove that
  participant (the focus sends it BYE).  Only the creator or a participant
  with the host role may (else 403); someone not in the conference gets 404.
* ``<cid:...>`` with ``Require: multiple-refer`` (RFC 5368 section 4): the
  URI list in the body part with that Content-ID (the REFER's own body with
  its ``Content-ID``, or a part of a multipart body) lists the users; each
  entry is invited (or, with ``method=BYE``, removed).  Without the option
  tag the REFER gets ``421 (Extension Required)`` with ``Require:
  multiple-refer``.

Refer-Sub (RFC 4488) and the implicit subscription (RFC 3515 section 2.4.4):

* ``Refer-Sub: false`` is honoured: the REFER gets ``202 Accepted`` with
  ``Refer-Sub: false`` and no subscription, so no NOTIFY (7.1.1.7 NOTE 2:
  "The IM Server does not send any SIP NOTIFY request if the IM Client
  inserted in the Refer-Sub header the value "false"").
* otherwise (``Refer-Sub: true`` or absent) the REFER gets ``202`` and the
  subscription: a NOTIFY ``SIP/2.0 100 Trying`` at once (RFC 3515 2.4.4:
  the REFER-Recipient "MUST send a NOTIFY ... immediately"), then one with
  the final status of what was done (the dial-out's final response, or the
  BYE's) and ``Subscription-State: terminated;reason=noresource``.  Bodies
  are ``message/sipfrag;version=2.0`` (RFC 3420).
* 7.1.1.7 items 4c/4d: a multiple REFER with ``Refer-Sub: true`` and
  ``Require: norefersub``.  The option tag in Require only says the server
  must understand the Refer-Sub header (RFC 4488 section 4); the header's
  value ``true`` asks for the subscription.  So the focus accepts it and
  creates the subscription.  As RFC 5368 wants no per-recipient
  notifications (the conference event package reports who joined), that
  subscription reports the whole list at once: ``100 Trying``, then ``200
  OK`` when every entry succeeded, else the final status of the first entry
  (in list order) that failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from imkit.errors import ProtocolError
from imkit.payloads.resource_lists import CONTENT_TYPE as LIST_TYPE
from imkit.payloads.resource_lists import CopyControl, ResourceLists
from imkit.payloads.sipfrag import REFER_CONTENT_TYPE, SipFrag
from imkit.payloads.xml import PayloadError
from imkit.runtime import (
    Endpoint,
    IncomingRequest,
    TransactionTimeout,
    TransportFailure,
)
from imkit.server.conference import Conference, Invitation, Outcome, Refusal
from imkit.server.events import DialogNotifier
from imkit.server.groups import aor_key
from imkit.sip import (
    AbsoluteURI,
    Multipart,
    NameAddr,
    Replaces,
    Request,
    SipURI,
    parse_uri,
)
from imkit.sip.dialog import Dialog, UsageKey
from imkit.sip.errors import ParseError
from imkit.sip.values import Via

__all__ = ["MULTIPLE_REFER", "ReferError", "ReferHandler", "ReferTarget", "refer_targets"]

_log = logging.getLogger("imkit.server.refer")

MULTIPLE_REFER = "multiple-refer"
#: Most users one multiple REFER may name.
MAX_REFER_ENTRIES = 256

Headers = list[tuple[str, str]]
InviteFn = Callable[[Conference, Invitation], Awaitable[Outcome]]
RemoveFn = Callable[[Conference, str], Awaitable[Outcome]]


class ReferError(ProtocolError):
    """A REFER the focus refuses: the response status, reason and header rows."""

    def __init__(self, status: int, reason: str | None = None, headers: Headers | None = None) -> None:
        super().__init__(f"{status} {reason or ''}".strip())
        self.status = status
        self.reason = reason
        self.headers = headers or []


@dataclass(frozen=True)
class ReferTarget:
    """One user a REFER names: whom, what to do (INVITE or BYE) and how."""

    uri: SipURI                          # no method parameter, no URI headers
    method: str                          # "INVITE" or "BYE"
    display_name: str | None = None
    replaces: Replaces | None = None
    hidden: bool = False                 # copyControl="bcc"
    anonymize: bool = False

    @property
    def aor(self) -> str:
        return aor_key(self.uri)


def _method_of(address: NameAddr) -> str:
    uri = address.uri
    method = None
    if isinstance(uri, SipURI):
        method = uri.param("method") or uri.header("method")
    method = method or address.params.get("method") or "INVITE"
    return method.upper()


def _target(address: NameAddr, *, hidden: bool = False, anonymize: bool = False) -> ReferTarget:
    uri = address.uri
    if not isinstance(uri, SipURI):
        raise ReferError(416, f"Unsupported URI Scheme ({uri})")
    method = _method_of(address)
    if method not in ("INVITE", "BYE"):
        raise ReferError(403, f"Forbidden (the focus does not send {method} for a REFER)")
    replaces = None
    embedded = uri.header("Replaces")
    if embedded is not None:
        try:
            replaces = Replaces.parse(embedded)
        except ParseError as exc:
            raise ReferError(400, f"Bad Request (Replaces: {exc.what})") from None
    clean = uri.without_param("method").without_headers()
    return ReferTarget(clean, method, address.display_name, replaces, hidden, anonymize)


def refer_targets(request: Request) -> list[ReferTarget]:
    """The users a REFER names (see the module docstring); raises :class:`ReferError`."""
    rows = request.headers.fields("Refer-To")
    if len(rows) != 1:
        # RFC 3515 2.4.1: "A REFER request MUST contain exactly one Refer-To header field value."
        raise ReferError(400, "Bad Request (a REFER needs exactly one Refer-To)")
    try:
        address = request.refer_to
    except ParseError as exc:
        raise ReferError(400, f"Bad Request (Refer-To: {exc.what})") from None
    assert address is not None
    uri = address.uri
    if isinstance(uri, AbsoluteURI) and uri.scheme.lower() == "cid":
        if MULTIPLE_REFER not in request.require:
            # RFC 5368 section 4: the REFER-Issuer "MUST include ... 'multiple-refer' ... in a Require"
            raise ReferError(421, None, [("Require", MULTIPLE_REFER)])
        return _list_targets(request, unquote(uri.rest))
    return [_target(address)]


def _list_targets(request: Request, content_id: str) -> list[ReferTarget]:
    body = _list_body(request, content_id.strip().strip("<>"))
    try:
        document = ResourceLists.from_xml(body)
    except PayloadError as exc:
        raise ReferError(400, f"Bad Request (URI list: {exc.what})") from None
    targets: list[ReferTarget] = []
    seen: set[tuple[str, str]] = set()
    for entry in document.entries():
        try:
            address = NameAddr(parse_uri(entry.uri), entry.display_name)
        except ParseError as exc:
            raise ReferError(400, f"Bad Request (URI list entry: {exc.what})") from None
        target = _target(address, hidden=entry.copy_control is CopyControl.BCC,
                         anonymize=bool(entry.anonymize))
        # RFC 5368 section 4 (via RFC 5366): duplicates are invited once.
        if (target.aor, target.method) in seen:
            continue
        seen.add((target.aor, target.method))
        targets.append(target)
        if len(targets) > MAX_REFER_ENTRIES:
            raise ReferError(413, f"Request Entity Too Large (more than {MAX_REFER_ENTRIES} users)")
    if not targets:
        raise ReferError(400, "Bad Request (the URI list is empty)")
    return targets


def _list_body(request: Request, content_id: str) -> bytes:
    try:
        content_type = request.content_type
    except ParseError as exc:
        raise ReferError(400, f"Bad Request (Content-Type: {exc.what})") from None
    if content_type is not None and content_type.type == "multipart":
        try:
            part = Multipart.parse(request.body, content_type).part_by_id(content_id)
        except ParseError as exc:
            raise ReferError(400, f"Bad Request (multipart body: {exc.what})") from None
        if part is not None:
            return part.body
    elif content_type is not None and content_type.mime == LIST_TYPE and request.content_id == content_id:
        return request.body
    raise ReferError(400, f"Bad Request (no body part with Content-ID <{content_id}>)")


@dataclass(eq=False)
class _ReferSubscription:
    dialog: Dialog
    key: UsageKey
    event: str


class ReferHandler(DialogNotifier):
    """Answers REFERs to a conference and carries them out (see the module docstring)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        invite: InviteFn,
        remove: RemoveFn,
        adopt: Callable[[Dialog], None],
        release: Callable[[Dialog], None],
        headers: Callable[[], Headers] = list,
        request_headers: Callable[[], Headers] = list,
        local_via: Callable[[], Via] | None = None,
        subscription_expires: int = 300,
        warn_agent: Callable[[], str] = lambda: "-",
    ) -> None:
        super().__init__(endpoint, adopt=adopt, release=release, headers=headers,
                         request_headers=request_headers, local_via=local_via)
        self.invite = invite
        self.remove = remove
        self.subscription_expires = subscription_expires
        self.warn_agent = warn_agent
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def handle(
        self,
        incoming: IncomingRequest,
        conference: Conference,
        *,
        requester: str,
        anonymous: bool,
        contact: NameAddr,
        dialog: Dialog | None = None,
        to_tag: str | None = None,
    ) -> None:
        """Answer the REFER and start carrying it out."""
        request = incoming.request
        try:
            targets = refer_targets(request)
            self._authorise(conference, requester, anonymous, targets)
        except ReferError as error:
            self._respond(incoming, error.status, error.reason, error.headers, dialog=dialog, to_tag=to_tag)
            return
        wants_subscription = request.refer_sub is not False
        rows: Headers = []
        if request.headers.first("Refer-Sub") is not None:
            # RFC 4488 section 4: the REFER-Recipient that honours "Refer-Sub: false"
            # says so with "Refer-Sub: false" in the 2xx.
            rows.append(("Refer-Sub", "true" if wants_subscription else "false"))
        subscription = None
        if dialog is None and wants_subscription:
            dialog = self._respond_in_new_dialog(incoming, 202, [("Contact", str(contact)), *rows], to_tag=to_tag)
        else:
            self._respond(incoming, 202, None, rows, dialog=dialog, to_tag=to_tag)
        if wants_subscription and dialog is not None:
            cseq = request.cseq
            assert cseq is not None
            key = UsageKey.subscription("refer", str(cseq.seq))
            subscription = _ReferSubscription(dialog, key, f"refer;id={cseq.seq}")
        referrer = None if anonymous else _referrer(request)
        task = asyncio.ensure_future(self._carry_out(conference, targets, subscription, referrer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _authorise(self, conference: Conference, requester: str, anonymous: bool,
                   targets: list[ReferTarget]) -> None:
        if conference.participant(requester) is None:
            raise ReferError(403, "Forbidden (only participants may refer users to the conference)")
        if anonymous and not conference.anonymity_allowed:
            # 7.1.1.7 NOTE 1: "If anonymity is not allowed for the IM Group ... the IM
            # Session will not be allowed by the IM Server hosting the IM Group."
            forbidden = Refusal(403, "anonymity is not allowed in this IM Group")
            raise ReferError(403, None, [forbidden.warning(self.warn_agent())])
        removals = [t for t in targets if t.method == "BYE"]
        if removals and not conference.may_remove(requester):
            # 7.1.1.14: removing is for the creator (or a host)
            raise ReferError(403, "Forbidden (only the creator or a host may remove participants)")
        if len(targets) == 1 and removals and conference.participant(removals[0].aor) is None:
            raise ReferError(404, f"Not Found ({removals[0].aor} is not in the conference)")
        additions = [t for t in targets if t.method == "INVITE"]
        for target in additions:
            refusal = conference.check_admission(target.aor, anonymous=target.anonymize, adding=len(additions))
            if refusal is not None:
                raise ReferError(refusal.status, None, [refusal.warning(self.warn_agent())])

    async def _carry_out(self, conference: Conference, targets: list[ReferTarget],
                         subscription: _ReferSubscription | None, referrer: str | None) -> None:
        if subscription is not None:
            await self._notify(subscription, 100, None, final=False)
        outcomes = await asyncio.gather(*(self._one(conference, t, referrer) for t in targets))
        if subscription is None:
            return
        failed = [o for o in outcomes if not 200 <= o.status < 300]
        outcome = failed[0] if failed else (outcomes[0] if len(outcomes) == 1 else Outcome(200, "OK"))
        await self._notify(subscription, outcome.status, outcome.reason, final=True)

    async def _one(self, conference: Conference, target: ReferTarget, referrer: str | None) -> Outcome:
        if target.method == "BYE":
            return await self.remove(conference, target.aor)
        invitation = Invitation(
            uri=target.uri, display_name=target.display_name, replaces=target.replaces,
            hidden=target.hidden, anonymize=target.anonymize, referred_by=referrer,
        )
        return await self.invite(conference, invitation)

    async def _notify(self, subscription: _ReferSubscription, status: int, reason: str | None,
                      *, final: bool) -> None:
        """One NOTIFY of the implicit subscription (RFC 3515 2.4.5)."""
        dialog = subscription.dialog
        if dialog.is_terminated:
            return
        if final:
            state = "terminated;reason=noresource"
        else:
            state = f"active;expires={self.subscription_expires}"
        body = SipFrag.from_status(status, reason).to_bytes()
        try:
            notify, response = await self._send_notify(dialog, subscription.event, state, body, REFER_CONTENT_TYPE)
        except (TransactionTimeout, TransportFailure, ProtocolError) as exc:
            _log.info("REFER NOTIFY failed: %s", exc)
            self._end_usage(dialog, subscription.key)
            return
        dialog.receive_response(notify, response)
        if final or not response.is_success:
            self._end_usage(dialog, subscription.key)


def _referrer(request: Request) -> str | None:
    """RFC 3892: the Referred-By the dial-out carries (the REFER's, else its From)."""
    try:
        referred = request.referred_by
        if referred is not None:
            return str(referred.replace(params=referred.params.without("tag")))
        from_ = request.from_
    except ParseError:
        return None
    if from_ is None:
        return None
    return str(from_.replace(params=from_.params.without("tag")))
