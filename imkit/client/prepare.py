"""Build-only twins of the IMClient procedures: each returns the request
(an :class:`~imkit.procedures.outgoing.OutgoingRequest`) without sending it,
so a person can look at it, edit it and ``await client.send(out)`` later.

Before building, the client notes the intent the rules check against: the
target the user named (``<clause>/target``), the group-size check of 7.1.1.3,
7.1.1.6 and 7.1.1.7 (or, when it fails, that the user was told), and the
stored-identity check of 7.1.1.9.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from imkit.procedures import (
    add_participants,
    adhoc_conference,
    cancel_session,
    conference_events,
    extend_to_conference,
    leave_session,
    modify_session,
    one_to_one,
    predefined_conference,
    public_conference,
    refresh_session,
    rejoin_conference,
    remove_participant,
)
from imkit.procedures.errors import GroupSizeExceeded, NoStoredSessionIdentity
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import SipURI, parse_uri

if TYPE_CHECKING:
    from imkit.client.core import IMClient
    from imkit.client.session import IMSession


def _sip(uri: str | SipURI) -> SipURI:
    parsed = parse_uri(uri) if isinstance(uri, str) else uri
    if not isinstance(parsed, SipURI):
        raise ValueError(f"expected a SIP URI, got {uri!r}")
    return parsed


class Prepare:
    """``client.prepare.<procedure>(...)``: build without sending."""

    def __init__(self, client: "IMClient") -> None:
        self.client = client

    def _target(self, out: OutgoingRequest, target: str) -> OutgoingRequest:
        self.client.note(f"{out.clause}/target", target, out.request)
        return out

    def _asked(self, out: OutgoingRequest, anonymous: bool) -> OutgoingRequest:
        """Note the user's wish for anonymity before anything is sent: the
        Privacy rules (7.1.1.1/5, 7.1.1.7/6, 7.1.1.12/3) check the request
        against this wish, not against the header they are about."""
        if anonymous:
            self.client.note("anonymous", "anonymity requested by the IM User", out.request)
        return out

    def _size_checked(self, clause: str, build, invited: Sequence[str]) -> OutgoingRequest:
        try:
            out = build()
        except GroupSizeExceeded as exc:
            self.client.note(f"{clause}/size-exceeded", str(exc))
            raise
        self.client.note(
            f"{clause}/size-check",
            f"{len(invited)} invited <= MAX-ADHOC-GROUP-SIZE {self.client.profile.max_adhoc_group_size}",
            out.request,
        )
        return out

    def start_session(self, recipient: str, *, anonymous: bool = False) -> OutgoingRequest:
        target = _sip(recipient)
        return self._asked(self._target(one_to_one.build(self.client, target, anonymous=anonymous), str(target)), anonymous)

    def start_adhoc_conference(self, invited: Sequence[str], *, anonymous: bool = False) -> OutgoingRequest:
        clause = adhoc_conference.CLAUSE
        out = self._size_checked(
            clause, lambda: adhoc_conference.build(self.client, invited, anonymous=anonymous), invited
        )
        return self._asked(self._target(out, str(self.client.profile.conference_factory)), anonymous)

    def join_group(self, group: str, *, anonymous: bool = False) -> OutgoingRequest:
        target = _sip(group)
        self.client.note("group-identity", str(target))
        return self._asked(self._target(predefined_conference.build(self.client, target, anonymous=anonymous), str(target)), anonymous)

    def join_public_conference(self, conference: str, *, anonymous: bool = False) -> OutgoingRequest:
        target = _sip(conference)
        return self._asked(self._target(public_conference.build(self.client, target, anonymous=anonymous), str(target)), anonymous)

    def rejoin(self, identity: str | None = None, *, anonymous: bool = False) -> OutgoingRequest:
        clause = rejoin_conference.CLAUSE
        # "1. SHALL check if the session id is still stored in the client": a
        # given identity counts only if the client still keeps it
        latest = self.client.stored_identity()
        kept = identity is None or identity in self.client.recent_identities
        stored = (identity if identity is not None else latest) if kept else None
        self.client.note(f"{clause}/1", f"stored IM Session Identity: {stored or 'none'}")
        try:
            out = rejoin_conference.build(self.client, _sip(stored) if stored else None, anonymous=anonymous)
        except NoStoredSessionIdentity as exc:
            self.client.note(f"{clause}/1-error", str(exc))
            raise
        return self._asked(self._target(out, str(stored)), anonymous)

    def subscribe_conference(self, target: str | SipURI) -> OutgoingRequest:
        uri = _sip(target)
        return conference_events.build_subscribe(self.client, uri)

    # -- on an established session ------------------------------------------------------
    def modify(self, session: "IMSession", accept_types: Sequence[str] | None = None, *,
               anonymous: bool = False) -> OutgoingRequest:
        """A re-offer on the same MSRP path (RFC 4975 section 8.4: the
        connection is kept) with new accept-types and the next o= version."""
        offer = session.reoffer(accept_types)
        return self._asked(modify_session.build(self.client, session.state, offer, anonymous=anonymous), anonymous)

    def refresh(self, session: "IMSession", *, min_se: int | None = None) -> OutgoingRequest:
        out = refresh_session.build(self.client, session.state, min_se=min_se)
        self.client.note("sdp-in-use", session.state.offer.decode("utf-8", "replace"), out.request)
        if session.expires_at is not None:
            self.client.note("session-expiry", f"{session.expires_at:.6f}", out.request)
        return out

    def extend_to_conference(self, session: "IMSession", invited: Sequence[str], *, anonymous: bool = False) -> OutgoingRequest:
        clause = extend_to_conference.CLAUSE
        out = self._size_checked(
            clause,
            lambda: extend_to_conference.build(self.client, session.state, invited, anonymous=anonymous),
            [*invited, str(session.state.target)],
        )
        dialog = session.state.dialog
        assert dialog is not None
        self.client.note(f"{clause}/peer", str(session.state.target.address_of_record), out.request)
        self.client.note(
            f"{clause}/replaced-dialog",
            f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}", out.request,
        )
        return self._asked(self._target(out, str(self.client.profile.conference_factory)), anonymous)

    def add_participants(self, session: "IMSession", invited: Sequence[str], *, anonymous: bool = False) -> OutgoingRequest:
        clause = add_participants.CLAUSE
        build = lambda: add_participants.build(self.client, session.state, invited, anonymous=anonymous)  # noqa: E731
        # 7.1.1.7 item 5 checks the size only for ad-hoc and 1-1 sessions on the home server
        out = self._size_checked(clause, build, invited) if session.state.kind in add_participants.SIZE_CHECKED else build()
        self.client.note(f"{clause}/session-kind", session.state.kind.name, out.request)
        if len(invited) == 1:
            self.client.note(f"{clause}/target", str(_sip(invited[0])), out.request)
        return self._asked(out, anonymous)

    def remove_participant(self, session: "IMSession", removed: str, *, anonymous: bool = False) -> OutgoingRequest:
        out = remove_participant.build(self.client, session.state, removed, anonymous=anonymous)
        self.client.note(f"{remove_participant.CLAUSE}/target", str(_sip(removed)), out.request)
        return self._asked(out, anonymous)

    def leave(self, session: "IMSession", *, anonymous: bool = False) -> OutgoingRequest:
        return self._asked(leave_session.build(self.client, session.state, anonymous=anonymous), anonymous)

    def cancel(self, session: "IMSession") -> OutgoingRequest:
        assert session.invite is not None
        return cancel_session.build(session.state, session.invite)

