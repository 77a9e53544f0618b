"""The conference view's model: roster, raw XML, what the last NOTIFY changed.

OMA IM 7.1.1.11, on each NOTIFY of the conference event package, the client
"SHALL be able to display the current state information (e.g. joined/left
users, conference-info) of the IM Session to the IM User" (item 2), "SHALL
identify the receiving IM Client's own information with the "yourown"
attribute ... if available. Otherwise ... based on <user> element as defined
in [RFC4575]" (item 3) and "SHALL check the joined users against the users in
the blocklist of the IM User and display the blocked users who joined" (item
4).  :class:`ConferenceModel` holds that for one conference; its rows, change
and XML are plain data and HTML, shown by
:class:`imkit.widgets.views.ConferenceView` or by ``_repr_html_``.

It is fed either by explicit :meth:`ConferenceModel.update` calls or by
:meth:`ConferenceModel.watch`, which waits on a
:class:`~imkit.client.ConferenceSubscription`'s ``changed`` event.  URIs are
shown percent-decoded (:func:`~imkit.payloads.conference_info.display_uri`)
with the bytes as received beside them when they differ.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imkit.payloads.conference_info import (
    CONTENT_TYPE,
    ConferenceInfo,
    RosterDiff,
    User,
    display_uri,
)
from imkit.sip import ParseError, SipURI, parse_uri
from imkit.trace import Direction, Protocol, Trace, TraceRecord
from imkit.widgets.events import Listeners
from imkit.widgets.html import esc, table, wire_html

if TYPE_CHECKING:
    from imkit.client import ConferenceSubscription

__all__ = [
    "ConferenceModel",
    "OwnMark",
    "RosterRow",
    "change_html",
    "is_blocked",
    "last_notify",
    "roster_html",
    "roster_rows",
    "user_changes",
]

_DIM = "color:#757575"


class OwnMark(enum.Enum):
    """How the subscriber's own ``<user>`` was recognised (7.1.1.11 item 3)."""

    YOUROWN = "yourown attribute"
    ENTITY = "entity is your address"


@dataclass(frozen=True)
class RosterRow:
    """One ``<user>`` as the roster shows it."""

    entity: str  # as received
    shown: str  # percent-decoded for reading
    display_text: str | None
    statuses: tuple[str, ...]  # of its endpoints
    roles: tuple[str, ...]
    own: OwnMark | None
    blocked: bool


def _uri(text: str) -> SipURI | None:
    try:
        uri = parse_uri(text)
    except ParseError:
        return None
    return uri if isinstance(uri, SipURI) else None


def is_blocked(entity: str, blocklist: Iterable[str]) -> bool:
    """Whether ``entity`` is on the block list: SIP URIs compared as RFC 3261
    19.1.4 says, anything else as the same string."""
    uri = _uri(entity)
    for blocked in blocklist:
        other = _uri(blocked)
        if uri is not None and other is not None:
            if uri.equivalent(other):
                return True
        elif blocked == entity:
            return True
    return False


def roster_rows(info: ConferenceInfo, *, own_aor: str | None = None,
                blocklist: Iterable[str] = ()) -> list[RosterRow]:
    """The roster of ``info``, own user and blocked users marked."""
    blocked = tuple(blocklist)
    own = info.own_user(own_aor)
    rows = []
    for user in info.roster:
        mark = None
        if own is not None and user.entity == own.entity:
            mark = OwnMark.YOUROWN if user.yourown else OwnMark.ENTITY
        rows.append(RosterRow(
            entity=user.entity, shown=user.display_uri, display_text=user.display_text,
            statuses=tuple(e.status.value for e in user.endpoints if e.status is not None),
            roles=tuple(user.roles or ()), own=mark, blocked=is_blocked(user.entity, blocked),
        ))
    return rows


def _endpoint_words(user: User) -> dict[str, str]:
    words = {}
    for endpoint in user.endpoints:
        parts = [endpoint.status.value if endpoint.status else "no status"]
        if endpoint.disconnection_method is not None:
            parts.append(f"by {endpoint.disconnection_method.value}")
        words[endpoint.entity] = " ".join(parts)
    return words


def user_changes(before: User, after: User) -> list[str]:
    """What differs between two states of one ``<user>``, in words."""
    changes = []
    for name, old, new in (
        ("display-text", before.display_text, after.display_text),
        ("roles", ", ".join(before.roles or ()), ", ".join(after.roles or ())),
        ("languages", " ".join(before.languages or ()), " ".join(after.languages or ())),
        ("yourown", before.yourown, after.yourown),
    ):
        if old != new:
            changes.append(f"{name}: {old or '—'} → {new or '—'}")
    old_endpoints, new_endpoints = _endpoint_words(before), _endpoint_words(after)
    for entity in old_endpoints.keys() | new_endpoints.keys():
        old, new = old_endpoints.get(entity), new_endpoints.get(entity)
        if old != new:
            changes.append(f"endpoint {display_uri(entity)}: {old or 'absent'} → {new or 'absent'}")
    if not changes and before != after:
        changes.append("other details changed (see the XML)")
    return sorted(changes)


def _uri_cell(entity: str, shown: str) -> str:
    if shown == entity:
        return f"<code>{esc(shown)}</code>"
    return f"<code>{esc(shown)}</code><br><small style='{_DIM}'>as received: <code>{esc(entity)}</code></small>"


def roster_html(rows: Sequence[RosterRow]) -> str:
    """The roster as a table: user, display-text, status, roles, you, blocked."""
    if not rows:
        return f"<i style='{_DIM}'>no users</i>"
    cells = []
    styles = []
    for row in rows:
        own = f"<b>you</b> <small style='{_DIM}'>({esc(row.own.value)})</small>" if row.own else ""
        blocked = "<b style='color:#cf222e'>⛔ blocked user joined</b>" if row.blocked else ""
        cells.append([
            _uri_cell(row.entity, row.shown), esc(row.display_text or ""),
            esc(", ".join(row.statuses)), esc(", ".join(row.roles)), own, blocked,
        ])
        styles.append("background:#ffebee" if row.blocked else ("background:#e3f2fd" if row.own else ""))
    return table(["user", "display-text", "status", "roles", "own (7.1.1.11 n3)", "block list (n4)"],
                 cells, row_styles=styles)


def change_html(change: RosterDiff | None) -> str:
    """Who joined, who left, who changed (and how) with the last NOTIFY."""
    if change is None:
        return f"<i style='{_DIM}'>no earlier state to compare with (first NOTIFY)</i>"
    if not change:
        return f"<i style='{_DIM}'>the roster did not change</i>"
    items = [f"<li style='color:#1a7f37'>+ joined {_uri_cell(u.entity, u.display_uri)}</li>" for u in change.joined]
    items += [f"<li style='color:#cf222e'>− left {_uri_cell(u.entity, u.display_uri)}</li>" for u in change.left]
    for before, after in change.changed:
        what = "".join(f"<li>{esc(line)}</li>" for line in user_changes(before, after))
        items.append(f"<li>~ changed {_uri_cell(after.entity, after.display_uri)}<ul>{what}</ul></li>")
    return f"<ul style='margin:0'>{''.join(items)}</ul>"


def last_notify(trace: Trace, call_id: str | None) -> TraceRecord | None:
    """The last conference-info NOTIFY received in the dialog ``call_id``."""
    for record in reversed(trace.records):
        message = record.message
        if (record.direction is Direction.RECEIVED and record.protocol is Protocol.SIP
                and getattr(message, "method", None) == "NOTIFY" and message.call_id == call_id
                and message.content_type is not None and message.content_type.mime == CONTENT_TYPE):
            return record
    return None


class ConferenceModel:
    """One conference's state for display; views subscribe to ``changed``.

    ``own_aor`` is the subscriber's address (item 3's fallback when no
    ``yourown`` attribute is present); ``blocklist`` the IM User's block list.
    """

    def __init__(self, *, own_aor: str | None = None, blocklist: Iterable[str] = ()) -> None:
        self.own_aor = own_aor
        self.blocklist = tuple(blocklist)
        self.state: ConferenceInfo | None = None
        self.change: RosterDiff | None = None
        self.notify: TraceRecord | None = None
        self.updates = 0
        self.changed = Listeners()

    @classmethod
    def for_subscription(cls, subscription: ConferenceSubscription, trace: Trace | None = None) -> ConferenceModel:
        """A model with the subscriber's address and block list, showing the
        subscription's current state."""
        client = subscription.client
        model = cls(own_aor=str(client.aor), blocklist=sorted(client.profile.blocklist))
        model.read(subscription, trace)
        return model

    # -- feeding ------------------------------------------------------------------
    def update(self, state: ConferenceInfo | None, change: RosterDiff | None = None, *,
               notify: TraceRecord | None = None) -> None:
        """Show ``state``; ``change`` is what the last NOTIFY changed and
        ``notify`` the record it came in (for its raw body)."""
        self.state = state
        self.change = change
        self.notify = notify
        self.updates += 1
        self.changed.emit()

    def read(self, subscription: ConferenceSubscription, trace: Trace | None = None) -> None:
        """Show what ``subscription`` holds now (and, with the trace, the
        NOTIFY that brought it)."""
        notify = last_notify(trace, subscription.call_id) if trace is not None else None
        self.update(subscription.state, subscription.last_change, notify=notify)

    async def watch(self, subscription: ConferenceSubscription, trace: Trace | None = None) -> None:
        """Show ``subscription`` now and after each change, until it is
        terminated (cancel the task to stop sooner)."""
        self.read(subscription, trace)
        while not subscription.terminated:
            await subscription.changed.wait()
            # cleared before reading, so a NOTIFY that comes meanwhile sets it again
            subscription.changed.clear()
            self.read(subscription, trace)

    def watch_soon(self, subscription: ConferenceSubscription, trace: Trace | None = None) -> asyncio.Task[None]:
        """:meth:`watch` as a task of the running loop (a notebook's)."""
        return asyncio.ensure_future(self.watch(subscription, trace))

    # -- what is shown ----------------------------------------------------------------
    @property
    def rows(self) -> list[RosterRow]:
        if self.state is None:
            return []
        return roster_rows(self.state, own_aor=self.own_aor, blocklist=self.blocklist)

    @property
    def blocked_joined(self) -> list[str]:
        """7.1.1.11 item 4: the blocked users who are in the conference."""
        return [row.entity for row in self.rows if row.blocked]

    def summary_html(self) -> str:
        state = self.state
        if state is None:
            return f"<i style='{_DIM}'>no conference state yet (no NOTIFY with a body)</i>"
        count = state.conference_state.user_count if state.conference_state else None
        count_text = f", user-count {count}" if count is not None else ""
        blocked = self.blocked_joined
        warn = (f"<br><b style='color:#cf222e'>blocked users joined: "
                f"{esc(', '.join(display_uri(b) for b in blocked))}</b>") if blocked else ""
        version = "(none)" if state.version is None else state.version
        return (f"<b>{_uri_cell(state.entity, display_uri(state.entity))}</b> version {version}, "
                f"{len(state.roster)} users{esc(count_text)}{warn}")

    def roster_html(self) -> str:
        return roster_html(self.rows)

    def change_html(self) -> str:
        return change_html(self.change)

    def state_xml_html(self) -> str:
        """The merged state as imkit serialises it (not bytes received)."""
        if self.state is None:
            return ""
        return (f"<small style='{_DIM}'>the merged state, serialised by imkit (RFC 4575 4.6 merge of "
                f"every NOTIFY so far)</small>" + wire_html(self.state.to_xml(pretty=True)))

    def notify_html(self) -> str:
        """The body of the last NOTIFY exactly as received."""
        if self.notify is None:
            return f"<i style='{_DIM}'>the NOTIFY is not known (give the trace to see its bytes)</i>"
        message = self.notify.message
        return (f"<small style='{_DIM}'>body of NOTIFY record #{self.notify.seq} as received "
                f"({len(message.body)} bytes)</small>" + wire_html(message.body))

    def _repr_html_(self) -> str:
        return (f"<div>{self.summary_html()}{self.roster_html()}<b>last NOTIFY changed</b>"
                f"{self.change_html()}</div>")
