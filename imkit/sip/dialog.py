"""SIP dialogs and their usages (RFC 3261 section 12; RFC 6665 4.5; RFC 5057).

A :class:`Dialog` holds the state RFC 3261 12 defines (dialog id, local and
remote sequence numbers, local and remote URI, remote target, route set,
secure flag) and the *usages* sharing it, in the manner of pjsip's layering
and RFC 5057: one INVITE usage (the session) and any number of subscription
usages keyed by ``(event, id)``.  A REFER creates the implicit subscription
``refer`` with id = the REFER's CSeq number (RFC 3515 2.4.6, RFC 6665 4.5.2)
unless the 2xx says ``Refer-Sub: false`` (RFC 4488).  The dialog terminates
when its last usage ends.

Sans-IO: the dialog is told what was sent and received and builds requests;
it never sends anything.  Four entry points feed it:

* :meth:`Dialog.receive_request` – an in-dialog request arrived (UAS); returns
  a :class:`RequestCheck` saying whether to process it or which error to send;
* :meth:`Dialog.send_response` – we answered a request of this dialog;
* :meth:`Dialog.receive_response` – a response to a request we sent;
* :meth:`Dialog.create_request` / :meth:`Dialog.create_ack` – build requests.

:class:`DialogSet` finds the dialog of an incoming message by its id.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError, RemoteProtocolError
from imkit.sip.address import NameAddr
from imkit.sip.builders import new_request
from imkit.sip.ids import IdGenerator
from imkit.sip.message import Request, Response
from imkit.sip.uri import URI, SipURI
from imkit.sip.values import Via

__all__ = [
    "Dialog", "DialogId", "DialogSet", "DialogState", "RequestCheck", "Role",
    "Usage", "UsageKey", "UsageKind", "TARGET_REFRESH_METHODS", "MAX_USAGES",
]

#: RFC 3261 12.2 ("re-INVITE"), RFC 3311 (UPDATE), RFC 6665 4.1.2.1 / 4.2.2
#: ("SUBSCRIBE requests are target refresh requests", "NOTIFY requests are
#: target refresh requests").
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY"})
#: Methods whose requests carry our Contact (target refreshes, and REFER).
_CONTACT_METHODS = TARGET_REFRESH_METHODS | {"REFER"}
#: Usages one dialog may hold (bound on what a peer can make us keep).
MAX_USAGES = 32
_MAX_SEQ = 2**31


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Role(enum.Enum):
    """Which side we were for the request that created a dialog or usage."""

    UAC = "uac"
    UAS = "uas"


class UsageKind(enum.Enum):
    INVITE = "invite"
    SUBSCRIPTION = "subscription"


@dataclass(frozen=True, slots=True)
class UsageKey:
    """Names a usage: the INVITE usage, or a subscription ``(event, id)``."""

    kind: UsageKind
    event: str | None = None
    id: str | None = None

    @classmethod
    def invite(cls) -> "UsageKey":
        return cls(UsageKind.INVITE)

    @classmethod
    def subscription(cls, event: str, id: str | None = None) -> "UsageKey":
        # event packages are matched case-insensitively (as pjsip and resiprocate do)
        return cls(UsageKind.SUBSCRIPTION, event.lower(), id)


@dataclass(slots=True)
class Usage:
    """One usage of a dialog.  ``role`` says whether we asked for it (UAC: the
    inviter, the subscriber, the referrer) or granted it (UAS: the invitee, the
    notifier).  ``pending`` is true between sending a SUBSCRIBE or REFER and
    its 2xx or first NOTIFY."""

    key: UsageKey
    role: Role
    pending: bool = False


class RequestCheck(enum.Enum):
    """What to do with an in-dialog request (:meth:`Dialog.receive_request`)."""

    ACCEPT = 0
    #: RFC 3261 12.2.2: "lower than the remote sequence number ... MUST be rejected with a 500"
    OUT_OF_ORDER = 500
    #: the dialog, or the subscription a NOTIFY names, no longer exists
    DOES_NOT_EXIST = 481
    #: a new subscription would exceed :data:`MAX_USAGES`
    TOO_MANY_USAGES = 503

    @property
    def status(self) -> int | None:
        """The error response to send, ``None`` for :attr:`ACCEPT`."""
        return None if self is RequestCheck.ACCEPT else self.value


@dataclass(frozen=True, slots=True)
class DialogId:
    """RFC 3261 12: "Call-ID ..., a local tag and a remote tag"; an absent tag is ``""``."""

    call_id: str
    local_tag: str
    remote_tag: str


def _without_tag(address: NameAddr) -> NameAddr:
    return address.replace(params=address.params.without("tag"))


def _via_template(via: Via) -> Via:
    params = via.params.without("branch").without("received")
    if "rport" in params:
        params = params.with_param("rport", None)
    return Via(via.transport, via.host, via.port, params, via.protocol)


def _subscription_key(request: Request) -> UsageKey | None:
    """The usage a SUBSCRIBE, NOTIFY or REFER names."""
    if request.method == "REFER":
        cseq = request.cseq
        return None if cseq is None else UsageKey.subscription("refer", str(cseq.seq))
    event = request.event
    if event is None:
        return None
    return UsageKey.subscription(event.value, event.param("id"))


def _seq(message: Request | Response) -> tuple[int, str]:
    cseq = message.cseq
    if cseq is None:
        raise RemoteProtocolError("message without CSeq")
    return cseq.seq, cseq.method


@dataclass(eq=False)
class Dialog:
    """The state of one dialog (RFC 3261 12.1) and its usages."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: URI
    route_set: tuple[NameAddr, ...] = ()
    local_seq: int | None = None
    remote_seq: int | None = None
    secure: bool = False
    state: DialogState = DialogState.EARLY
    role: Role = Role.UAC
    local_contact: NameAddr | None = None
    #: sent-by and parameters for the Via of requests we build; each gets a new branch
    local_via: Via | None = None
    ids: IdGenerator = field(default_factory=IdGenerator)
    usages: dict[UsageKey, Usage] = field(default_factory=dict)
    #: the method and CSeq number of the request that created the dialog
    origin: tuple[str, int] = ("INVITE", 0)
    _last_invite: Request | None = field(default=None, init=False, repr=False)

    # -- creation ----------------------------------------------------------
    @classmethod
    def from_uac(
        cls, request: Request, response: Response, *, ids: IdGenerator | None = None
    ) -> "Dialog":
        """The dialog a UAC gets from a 101-299 response with a To tag (12.1.2).
        A response without Contact (a broken peer) leaves the Request-URI as the
        remote target."""
        if not 101 <= response.status <= 299:
            raise LocalProtocolError(f"a {response.status} response creates no dialog")
        to, from_ = response.to, request.from_
        if to is None or from_ is None or request.call_id is None:
            raise RemoteProtocolError("response or request lacks To, From or Call-ID")
        if response.is_provisional and not to.tag:
            # RFC 3261 12.1: dialogs are created "through the generation of
            # non-failure responses" carrying a To tag; a 1xx without one creates none.
            raise RemoteProtocolError("a provisional response without To tag creates no dialog")
        seq, method = _seq(request)
        contact = response.contact
        dialog = cls(
            call_id=request.call_id,
            local_tag=from_.tag or "",
            # "A UAC MUST be prepared to receive a response without a tag in the To
            # field, in which case the tag is considered to have a value of null."
            remote_tag=to.tag or "",
            local_uri=_without_tag(from_),
            remote_uri=_without_tag(to),
            # "The remote target MUST be set to the URI from the Contact header field of the response."
            remote_target=contact[0].uri if contact else request.uri,
            # "The route set MUST be set to the list of URIs in the Record-Route header
            # field from the response, taken in reverse order and preserving all URI parameters."
            route_set=tuple(reversed(response.record_route)),
            # "The local sequence number MUST be set to the value of the sequence number
            # in the CSeq header field of the request.  The remote sequence number MUST be empty."
            local_seq=seq,
            # "If the request was sent over TLS, and the Request-URI contained a SIPS
            # URI, the secure flag is set to TRUE."
            secure=_is_sips(request.uri),
            state=DialogState.CONFIRMED if response.is_success else DialogState.EARLY,
            role=Role.UAC,
            local_contact=request.contact[0] if request.contact else None,
            local_via=_via_template(request.via[0]) if request.via else None,
            ids=ids or IdGenerator(),
            origin=(method, seq),
        )
        dialog._start_usage(request, response, Role.UAC)
        if method == "INVITE" and response.is_success:
            dialog._last_invite = request
        return dialog

    @classmethod
    def from_uas(
        cls,
        request: Request,
        response: Response,
        *,
        local_via: Via | None = None,
        ids: IdGenerator | None = None,
    ) -> "Dialog":
        """The dialog a UAS gets by sending a 101-299 response (12.1.1)."""
        if not 101 <= response.status <= 299:
            raise LocalProtocolError(f"a {response.status} response creates no dialog")
        to, from_ = response.to, request.from_
        if to is None or from_ is None or request.call_id is None:
            raise RemoteProtocolError("response or request lacks To, From or Call-ID")
        if not to.tag:
            raise LocalProtocolError("a dialog-creating response needs a To tag")
        seq, method = _seq(request)
        contact = request.contact
        if not contact:
            # RFC 3261 12.1.1: the remote target comes "from the Contact header field of the request"
            raise RemoteProtocolError(f"a dialog-creating {method} needs a Contact")
        dialog = cls(
            call_id=request.call_id,
            # "the local tag is set to the tag in the To field of the response to the request"
            local_tag=to.tag,
            # "The remote tag is set to the tag in the From field of the request."
            remote_tag=from_.tag or "",
            local_uri=_without_tag(to),
            remote_uri=_without_tag(from_),
            remote_target=contact[0].uri,
            # "The route set MUST be set to the list of URIs in the Record-Route header
            # field from the request, taken in order and preserving all URI parameters."
            route_set=tuple(request.record_route),
            # "The remote sequence number MUST be set to the value of the sequence number
            # in the CSeq header field of the request.  The local sequence number MUST be empty."
            remote_seq=seq,
            secure=_is_sips(request.uri),
            state=DialogState.CONFIRMED if response.is_success else DialogState.EARLY,
            role=Role.UAS,
            local_contact=response.contact[0] if response.contact else None,
            local_via=local_via,
            ids=ids or IdGenerator(),
            origin=(method, seq),
        )
        dialog._start_usage(request, response, Role.UAS)
        return dialog

    # -- reading -----------------------------------------------------------
    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @property
    def is_terminated(self) -> bool:
        return self.state is DialogState.TERMINATED

    def usage(self, key: UsageKey) -> Usage | None:
        return self.usages.get(key)

    def find_subscription(self, event: str, id: str | None = None) -> Usage | None:
        """The subscription usage ``(event, id)``; a NOTIFY without ``id`` also
        matches the only subscription of its event (RFC 3515 2.4.6: only "the
        second and subsequent REFER requests" need the id)."""
        wanted = UsageKey.subscription(event, id)
        found = self.usages.get(wanted)
        if found is not None or id is not None:
            return found
        same_event = [
            u for k, u in self.usages.items() if k.kind is UsageKind.SUBSCRIPTION and k.event == wanted.event
        ]
        return same_event[0] if len(same_event) == 1 else None

    # -- usages ------------------------------------------------------------
    def add_usage(self, key: UsageKey, role: Role, *, pending: bool = False) -> Usage:
        """Add (or return the existing) usage ``key``."""
        existing = self.usages.get(key)
        if existing is not None:
            return existing
        if self.is_terminated:
            raise LocalProtocolError("the dialog is terminated")
        if len(self.usages) >= MAX_USAGES:
            raise LocalProtocolError(f"a dialog holds at most {MAX_USAGES} usages")
        usage = Usage(key, role, pending)
        self.usages[key] = usage
        return usage

    def end_usage(self, key: UsageKey) -> None:
        """End a usage; the dialog terminates with its last one (RFC 5057 5)."""
        self.usages.pop(key, None)
        if not self.usages:
            self.terminate()

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED
        self.usages.clear()

    def _start_usage(self, request: Request, response: Response, role: Role) -> None:
        """The usage a dialog-creating (or usage-creating) exchange starts."""
        method = request.method
        if method == "INVITE":
            self.add_usage(UsageKey.invite(), role)
            return
        if method in ("SUBSCRIBE", "NOTIFY"):
            key = _subscription_key(request)
            if key is None:
                raise RemoteProtocolError(f"{method} without Event")
            # For NOTIFY we are the subscriber whatever side of the NOTIFY we are.
            self.add_usage(key, role if method == "SUBSCRIBE" else _other(role))
            if method == "NOTIFY":
                self._apply_notify(request)
            return
        if method == "REFER":
            # RFC 4488 4: "If the REFER-Recipient ... Refer-Sub header field value of
            # "false" in the 2xx response", no implicit subscription is created.
            if response.refer_sub is False:
                if not self.usages:
                    self.terminate()
                return
            key = _subscription_key(request)
            if key is not None:
                self.add_usage(key, role)
            return
        if not self.usages:
            raise LocalProtocolError(f"{method} creates no dialog usage")

    def _apply_notify(self, notify: Request) -> None:
        """RFC 6665 4.1.3: a NOTIFY with "Subscription-State: terminated" ends the subscription."""
        key = _subscription_key(notify)
        if key is None:
            return
        usage = self.find_subscription(key.event or "", key.id)
        if usage is None:
            return
        usage.pending = False
        state = notify.subscription_state
        if state is not None and state.state == "terminated":
            self.end_usage(usage.key)

    # -- building requests (12.2.1.1) --------------------------------------
    def _request_target(self) -> tuple[URI, list[NameAddr]]:
        """Request-URI and Route values from the route set and remote target."""
        if not self.route_set:
            # "If the route set is empty, the UAC MUST place the remote target URI into
            # the Request-URI.  The UAC MUST NOT add a Route header field to the request."
            return self.remote_target, []
        first = self.route_set[0]
        if isinstance(first.uri, SipURI) and first.uri.param("lr") is not None:
            # "If the route set is not empty, and the first URI in the route set contains
            # the lr parameter ..., the UAC MUST place the remote target URI into the
            # Request-URI and MUST include a Route header field containing the route set
            # values in order, including all parameters."
            return self.remote_target, list(self.route_set)
        # "If the route set is not empty, and its first URI does not contain the lr
        # parameter, the UAC MUST place the first URI from the route set into the
        # Request-URI, stripping any parameters that are not allowed in a Request-URI.
        # The UAC MUST add a Route header field containing the remainder of the route
        # set values in order, including all parameters.  The UAC MUST then place the
        # remote target URI into the Route header field as the last value."
        uri = first.uri
        if isinstance(uri, SipURI):
            # RFC 3261 19.1.1 table: "method" and URI headers are not allowed in a Request-URI
            uri = uri.without_param("method").without_headers()
        return uri, [*self.route_set[1:], NameAddr(self.remote_target)]

    def _via(self, via: Via | None) -> Via:
        if via is not None:
            return via
        if self.local_via is None:
            raise LocalProtocolError("no Via given and the dialog has no local_via")
        return self.local_via.with_param("branch", self.ids.branch())

    def _build(
        self,
        method: str,
        seq: int,
        *,
        via: Via | None,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str | None,
        max_forwards: int,
        contact: bool,
    ) -> Request:
        uri, route = self._request_target()
        # "The URI in the To field of the request MUST be set to the remote URI from
        # the dialog state.  The tag in the To header field of the request MUST be set
        # to the remote tag of the dialog ID.  The From URI of the request MUST be set
        # to the local URI from the dialog state.  The tag in the From header field of
        # the request MUST be set to the local tag of the dialog ID.  If the value of
        # the remote or local tags is null, the tag parameter MUST be omitted"
        to_addr = self.remote_uri.with_tag(self.remote_tag) if self.remote_tag else self.remote_uri
        from_addr = self.local_uri.with_tag(self.local_tag) if self.local_tag else self.local_uri
        return new_request(
            method, uri,
            from_addr=from_addr, to_addr=to_addr,
            # "The Call-ID of the request MUST be set to the Call-ID of the dialog."
            call_id=self.call_id, cseq=seq, via=self._via(via),
            max_forwards=max_forwards,
            contact=self.local_contact if contact else None,
            route=route, headers=headers, body=body, content_type=content_type,
        )

    def create_request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        via: Via | None = None,
        max_forwards: int = 70,
    ) -> Request:
        """A new request within the dialog (RFC 3261 12.2.1.1); takes the next
        local CSeq number.  ``via`` defaults to :attr:`local_via` with a new branch."""
        if self.is_terminated:
            raise LocalProtocolError("the dialog is terminated")
        if method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"use create_ack / builders.make_cancel for {method}")
        if self.local_seq is None:
            # "If the local sequence number is empty, an initial value MUST be chosen
            # using the guidelines of Section 8.1.1.5."
            seq = self.ids.cseq()
        else:
            # "Requests within a dialog MUST contain strictly monotonically increasing
            # and contiguous CSeq sequence numbers (increasing-by-one) in each direction"
            seq = self.local_seq + 1
        if seq >= _MAX_SEQ:
            raise LocalProtocolError("the dialog has used up its CSeq numbers")
        request = self._build(
            method, seq, via=via, headers=headers, body=body, content_type=content_type,
            max_forwards=max_forwards, contact=method in _CONTACT_METHODS,
        )
        if method in ("SUBSCRIBE", "REFER"):
            key = _subscription_key(request)
            if key is not None and key not in self.usages:
                self.add_usage(key, Role.UAC, pending=True)
        self.local_seq = seq
        return request

    def create_ack(
        self,
        invite_2xx: Response,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        via: Via | None = None,
        max_forwards: int = 70,
    ) -> Request:
        """The ACK for a 2xx to INVITE (RFC 3261 13.2.2.4): "The sequence number of
        the CSeq header field MUST be the same as the INVITE being acknowledged, but
        the CSeq method MUST be ACK.  The ACK MUST contain the same credentials as
        the INVITE."  Credentials are copied from the INVITE passed to
        :meth:`from_uac` or :meth:`receive_response` with that 2xx."""
        seq, method = _seq(invite_2xx)
        if method != "INVITE" or not invite_2xx.is_success:
            raise LocalProtocolError("create_ack takes a 2xx response to INVITE")
        rows = list(headers)
        invite = self._last_invite
        if invite is not None and invite.cseq is not None and invite.cseq.seq == seq:
            for name in ("Authorization", "Proxy-Authorization"):
                rows.extend((name, value) for value in (r.value for r in invite.headers.fields(name)))
        return self._build(
            "ACK", seq, via=via, headers=rows, body=body, content_type=content_type,
            max_forwards=max_forwards, contact=False,
        )

    # -- UAS side (12.2.2) -----------------------------------------------------
    def receive_request(self, request: Request) -> RequestCheck:
        """Check an in-dialog request and update the dialog from it."""
        if self.is_terminated:
            return RequestCheck.DOES_NOT_EXIST
        seq, _ = _seq(request)
        method = request.method
        if method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and seq < self.remote_seq:
                # "If the remote sequence number was not empty, but the sequence number of
                # the request is lower than the remote sequence number, the request is out
                # of order and MUST be rejected with a 500 (Server Internal Error) response."
                return RequestCheck.OUT_OF_ORDER
            if method == "NOTIFY":
                key = _subscription_key(request)
                # RFC 6665 4.1.3: a NOTIFY matching no subscription gets a 481
                if key is None or self.find_subscription(key.event or "", key.id) is None:
                    return RequestCheck.DOES_NOT_EXIST
            if method in ("SUBSCRIBE", "REFER"):
                key = _subscription_key(request)
                if key is not None and key not in self.usages and len(self.usages) >= MAX_USAGES:
                    return RequestCheck.TOO_MANY_USAGES
            # "If the remote sequence number is empty, it MUST be set to the value of the
            # sequence number in the CSeq header field value in the request."
            self.remote_seq = seq
        if method in TARGET_REFRESH_METHODS:
            contact = request.contact
            if contact:
                # "When a UAS receives a target refresh request, it MUST replace the
                # dialog's remote target URI with the URI from the Contact header field
                # in that request, if present."
                self.remote_target = contact[0].uri
        return RequestCheck.ACCEPT

    def send_response(self, request: Request, response: Response) -> None:
        """Update the dialog for a response we send to one of its requests."""
        if self.is_terminated or response.is_provisional:
            return
        method = request.method
        seq, _ = _seq(request)
        creating = self.role is Role.UAS and (method, seq) == self.origin
        if not response.is_success:
            if creating and self.state is DialogState.EARLY:
                self.terminate()
            return
        if creating and self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED
        self._after_success(request, response, Role.UAS)

    # -- UAC side (12.2.1.2) -----------------------------------------------
    def receive_response(self, request: Request, response: Response) -> None:
        """Update the dialog for a response to a request we sent in it (or to
        the request that created it)."""
        if self.is_terminated:
            return
        seq, method = _seq(response)
        creating = self.role is Role.UAC and (method, seq) == self.origin
        contact = response.contact
        if response.is_provisional:
            if creating and self.state is DialogState.EARLY and contact and response.status > 100:
                self.remote_target = contact[0].uri
            return
        if not response.is_success:
            if creating and self.state is DialogState.EARLY:
                # RFC 3261 12.3: "if a request outside of a dialog generates a non-2xx
                # final response, any early dialogs created through provisional responses
                # to that request are terminated."
                self.terminate()
            elif response.status in (408, 481):
                self._in_dialog_failure(request)
            elif method in ("SUBSCRIBE", "REFER"):
                key = _subscription_key(request)
                usage = None if key is None else self.usages.get(key)
                if usage is not None and usage.pending:
                    self.end_usage(key)  # type: ignore[arg-type]
            elif method == "BYE":
                self._end_invite()
            return
        if creating and self.state is DialogState.EARLY:
            # RFC 3261 13.2.2.4: "the dialog MUST be transitioned to the "confirmed"
            # state, and the route set for the dialog MUST be recomputed based on the 2xx"
            self.state = DialogState.CONFIRMED
            self.route_set = tuple(reversed(response.record_route))
        if method in TARGET_REFRESH_METHODS and contact:
            # RFC 3261 12.2.1.2: "When a UAC receives a 2xx response to a target refresh
            # request, it MUST replace the dialog's remote target URI with the URI from
            # the Contact header field in that response, if present."
            self.remote_target = contact[0].uri
        if method == "INVITE":
            self._last_invite = request
        self._after_success(request, response, Role.UAC)

    def _in_dialog_failure(self, request: Request) -> None:
        if request.method in ("SUBSCRIBE", "NOTIFY"):
            # RFC 6665 4.1.2.2 / 4.2.2: a 481 or timeout to SUBSCRIBE or NOTIFY ends
            # that subscription, not the dialog's other usages.
            key = _subscription_key(request)
            usage = None if key is None else self.find_subscription(key.event or "", key.id)
            if usage is not None:
                self.end_usage(usage.key)
            return
        # RFC 3261 12.2.1.2: "If the response for a request within a dialog is a 481
        # (Call/Transaction Does Not Exist) or a 408 (Request Timeout), the UAC SHOULD
        # terminate the dialog."
        self.terminate()

    def _end_invite(self) -> None:
        if UsageKey.invite() in self.usages:
            self.end_usage(UsageKey.invite())

    def _after_success(self, request: Request, response: Response, role: Role) -> None:
        """Usage changes of a 2xx exchange (either direction)."""
        method = request.method
        if method == "BYE":
            # RFC 5057 4.1: BYE ends the invite usage; other usages survive it.
            self._end_invite()
        elif method == "INVITE":
            self.add_usage(UsageKey.invite(), role)
        elif method == "SUBSCRIBE":
            key = _subscription_key(request)
            if key is not None:
                self.add_usage(key, role).pending = False
        elif method == "REFER":
            key = _subscription_key(request)
            if key is None:
                return
            if response.refer_sub is False:
                # RFC 4488 4: with "Refer-Sub: false" in the 2xx there is no subscription.
                if key in self.usages:
                    self.end_usage(key)
                return
            self.add_usage(key, role).pending = False
        elif method == "NOTIFY":
            self._apply_notify(request)


def _other(role: Role) -> Role:
    return Role.UAS if role is Role.UAC else Role.UAC


def _is_sips(uri: URI) -> bool:
    return isinstance(uri, SipURI) and uri.scheme.lower() == "sips"


class DialogSet:
    """The dialogs of one user agent, found by dialog id (RFC 3261 12.2.2:
    requests are matched "by the Call-ID, the remote tag (From) and the local
    tag (To)").  Holds at most ``max_dialogs``; terminated dialogs are dropped
    first when it fills up."""

    def __init__(self, max_dialogs: int = 1024) -> None:
        self.max_dialogs = max_dialogs
        self._dialogs: dict[DialogId, Dialog] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def __iter__(self) -> Iterator[Dialog]:
        return iter(list(self._dialogs.values()))

    def add(self, dialog: Dialog) -> Dialog:
        """Register ``dialog``; a live dialog with the same id is an error."""
        existing = self._dialogs.get(dialog.id)
        if existing is not None and not existing.is_terminated:
            raise LocalProtocolError(f"dialog {dialog.id} already exists")
        if len(self._dialogs) >= self.max_dialogs and existing is None:
            self.prune()
            if len(self._dialogs) >= self.max_dialogs:
                raise LocalProtocolError(f"more than {self.max_dialogs} dialogs")
        self._dialogs[dialog.id] = dialog
        return dialog

    def get(self, dialog_id: DialogId) -> Dialog | None:
        return self._dialogs.get(dialog_id)

    def remove(self, dialog: Dialog) -> None:
        if self._dialogs.get(dialog.id) is dialog:
            del self._dialogs[dialog.id]

    def prune(self) -> int:
        """Drop terminated dialogs; return how many."""
        dead = [k for k, d in self._dialogs.items() if d.is_terminated]
        for k in dead:
            del self._dialogs[k]
        return len(dead)

    def match_request(self, request: Request) -> Dialog | None:
        """The dialog of an incoming request: local tag = To tag, remote tag = From tag.
        A request without To tag belongs to no dialog."""
        to, from_ = request.to, request.from_
        if request.call_id is None or to is None or from_ is None or not to.tag:
            return None
        return self._dialogs.get(DialogId(request.call_id, to.tag, from_.tag or ""))

    def match_response(self, response: Response) -> Dialog | None:
        """The dialog of a response to our request: local tag = From tag, remote tag = To tag."""
        to, from_ = response.to, response.from_
        if response.call_id is None or to is None or from_ is None or not from_.tag:
            return None
        return self._dialogs.get(DialogId(response.call_id, from_.tag, to.tag or ""))

    def early_dialogs(self, call_id: str, local_tag: str) -> list[Dialog]:
        """The early dialogs one request created (several when it forked)."""
        return [
            d for d in self._dialogs.values()
            if d.call_id == call_id and d.local_tag == local_tag and d.state is DialogState.EARLY
        ]
