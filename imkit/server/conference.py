"""One IM Conference held by the test server's focus (RFC 4579, RFC 4575).

:class:`Conference` is the state of a conference, free of I/O: its IM
Session Identity (the conference URI, RFC 4579 section 2), its kind (ad-hoc
7.1.1.3/7.1.1.6, pre-defined group 7.1.1.4, public 7.1.1.10), the roster of
:class:`Participant` s with their roles, the dial-outs in progress, its
limits (maximum size, whether anonymity is allowed, group membership) and
its lifecycle.  It also writes the conference state documents of RFC 4575
for a given subscriber (``viewer``):

* :meth:`Conference.full_document`: ``state="full"``, the whole roster;
* :meth:`Conference.partial_document`: ``state="partial"``, only the users
  that changed (RFC 4575 section 4.6: partial notifications carry the
  changes), so its size does not grow with the roster.

What a viewer sees of a participant:

* the viewer's own ``<user>`` carries OMA's ``yourown`` attribute (7.1.1.11
  item 3; namespace :data:`imkit.payloads.conference_info.YOUROWN_NAMESPACE`)
  and always shows the viewer's real identity;
* an anonymous participant (one who sent ``Privacy: id``, RFC 3323/3325, or
  whom the inviting URI list marked ``anonymize="true"``, RFC 5364) is shown
  to the others without identity: ``entity`` is
  ``sip:anonymous-<n>@anonymous.invalid`` (RFC 3323's anonymous URI, with a
  per-conference number so two anonymous users stay two ``<user>``
  elements, as RFC 4575 keys users by ``entity``), no display text, no
  endpoint URI;
* a participant invited as ``copyControl="bcc"`` (RFC 5364: bcc recipients
  are not disclosed to the other recipients) is not listed to the others at
  all; ``user-count`` counts the users the viewer is shown.

Observers (:meth:`Conference.observe`) are told of every roster change; the
conference event package (:mod:`imkit.server.events`) is one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from imkit.payloads.conference_info import (
    AvailableMedia,
    ConferenceDescription,
    ConferenceInfo,
    ConferenceMedium,
    ConferenceState,
    Endpoint,
    EndpointStatus,
    Execution,
    JoiningMethod,
    Media,
    MediaStatus,
    State,
    UriEntry,
    Uris,
    User,
    Users,
)
from imkit.server.groups import GroupDefinition, aor_key
from imkit.sip import Replaces, SipURI

__all__ = [
    "ANONYMOUS_HOST",
    "Conference",
    "ConferenceKind",
    "Invitation",
    "Lifecycle",
    "Observer",
    "Outcome",
    "Participant",
    "Refusal",
    "Role",
]

#: RFC 3323 section 4.1.1.3: the anonymous URI's host.
ANONYMOUS_HOST = "anonymous.invalid"
#: The media label the focus gives its one MSRP stream in conference-info.
MEDIA_LABEL = "1"


class ConferenceKind(enum.Enum):
    ADHOC = "ad-hoc"              # 7.1.1.3 / 7.1.1.6: created at the conference factory
    GROUP = "pre-defined"         # 7.1.1.4: a pre-defined group's session
    PUBLIC = "public"             # 7.1.1.10: a public conference


class Role(enum.Enum):
    """Roles shown in ``<roles>`` (RFC 4575 leaves the values to the focus)."""

    CREATOR = "creator"           # who created the conference (may remove others)
    HOST = "host"                 # granted by the operator (may remove others)
    PARTICIPANT = "participant"


class Lifecycle(enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True)
class Refusal:
    """Why someone may not join or be added: the response and its Warning text."""

    status: int
    text: str

    def warning(self, agent: str) -> tuple[str, str]:
        """The Warning row (RFC 3261 20.43: ``399`` is "Miscellaneous warning",
        ``warn-agent`` the server's host:port)."""
        text = self.text.replace("\\", "\\\\").replace('"', '\\"')
        return "Warning", f'399 {agent} "{text}"'


@dataclass(frozen=True)
class Invitation:
    """Someone the focus is to invite (dial out to): from a URI list entry
    (RFC 5366, with RFC 5364 copy control) or a REFER (RFC 4579 5.5)."""

    uri: SipURI                           # the Request-URI (no URI headers)
    display_name: str | None = None
    replaces: Replaces | None = None      # RFC 3891, from ``?Replaces=``
    hidden: bool = False                  # copyControl="bcc"
    anonymize: bool = False               # anonymize="true"
    referred_by: str | None = None        # RFC 3892 Referred-By value

    @property
    def aor(self) -> str:
        return aor_key(self.uri)


@dataclass(frozen=True)
class Outcome:
    """How a dial-out (or a removal) ended: the final status of the request."""

    status: int
    reason: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(eq=False)
class Participant:
    """One user in the roster."""

    aor: str                                  # aor_key form: sip:user@host
    serial: int                               # numbers anonymous entities
    roles: tuple[Role, ...] = (Role.PARTICIPANT,)
    display_name: str | None = None
    anonymous: bool = False
    hidden: bool = False                      # invited as bcc
    joining_method: JoiningMethod = JoiningMethod.DIALED_IN
    joined_at: str | None = None              # RFC 3339, given by the caller
    contact: str | None = None                # the endpoint URI (its Contact)
    referred_by: str | None = None

    @property
    def anonymous_entity(self) -> str:
        return f"sip:anonymous-{self.serial}@{ANONYMOUS_HOST}"

    def entity_for(self, viewer: str | None) -> str:
        """The ``entity`` the viewer is shown for this participant."""
        if self.anonymous and viewer != self.aor:
            return self.anonymous_entity
        return self.aor

    def visible_to(self, viewer: str | None) -> bool:
        return not self.hidden or viewer == self.aor

    @property
    def may_remove_others(self) -> bool:
        return Role.CREATOR in self.roles or Role.HOST in self.roles


Observer = Callable[["Conference", Participant, bool], None]


@dataclass(eq=False)
class Conference:
    """The state of one conference (see the module docstring)."""

    identity: SipURI
    kind: ConferenceKind
    max_size: int
    anonymity_allowed: bool = True
    subject: str | None = None
    group: GroupDefinition | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    #: AORs being dialled out to (aor_key form)
    pending: set[str] = field(default_factory=set)
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    creator: str | None = None
    _serial: int = 0
    _observers: list[Observer] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The identity's user part (``conf-...``)."""
        return self.identity.user or ""

    @property
    def ended(self) -> bool:
        return self.lifecycle is Lifecycle.ENDED

    @property
    def is_empty(self) -> bool:
        """Nobody is in it and nobody is being dialled: RFC 4579 lets the
        focus end it (the test server does, when the last participant leaves)."""
        return not self.participants and not self.pending

    def observe(self, observer: Observer) -> None:
        if observer not in self._observers:
            self._observers.append(observer)

    def participant(self, aor: str) -> Participant | None:
        return self.participants.get(aor_key(aor))

    # -- admission ---------------------------------------------------------------

    def check_admission(self, aor: str, *, anonymous: bool = False, adding: int = 1,
                        dialled: bool = False) -> Refusal | None:
        """Whether ``adding`` more users (one of them ``aor``) may come in.

        ``dialled`` marks users the focus invites itself (group members are
        always allowed then; the inviter was checked)."""
        if self.ended:
            return Refusal(404, "the conference has ended")
        key = aor_key(aor)
        if self.group is not None and not self.group.public and not dialled and not self.group.is_member(key):
            return Refusal(403, f"{key} is not a member of {self.group.uri}")
        if anonymous and not self.anonymity_allowed:
            # 7.1.1.1 item 5 NOTE: "If anonymity is not allowed for the IM Group ...
            # the IM Session will not be allowed by the IM Server hosting the IM Group."
            return Refusal(403, "anonymity is not allowed in this IM Group")
        present = set(self.participants) | self.pending
        newcomers = max(adding - (1 if key in present else 0), 0)
        if len(present) + newcomers > self.max_size:
            return Refusal(403, f"group size exceeds the maximum of {self.max_size} participants")
        return None

    def may_remove(self, requester: str) -> bool:
        """7.1.1.14: the creator, or a participant with the host role."""
        participant = self.participant(requester)
        return participant is not None and participant.may_remove_others

    # -- roster changes ---------------------------------------------------------

    def join(
        self,
        aor: str,
        *,
        display_name: str | None = None,
        anonymous: bool = False,
        hidden: bool = False,
        joining_method: JoiningMethod = JoiningMethod.DIALED_IN,
        joined_at: str | None = None,
        contact: str | None = None,
        referred_by: str | None = None,
        roles: Sequence[Role] = (),
    ) -> Participant:
        """Put ``aor`` in the roster (or refresh its entry when it rejoins)."""
        key = aor_key(aor)
        self.pending.discard(key)
        existing = self.participants.get(key)
        if existing is not None:
            serial = existing.serial
            kept = tuple(r for r in existing.roles if r is not Role.PARTICIPANT)
        else:
            self._serial += 1
            serial = self._serial
            kept = ()
        if key == self.creator:
            # the creator keeps its role when it rejoins (7.1.1.9)
            kept = (Role.CREATOR, *kept)
        wanted = tuple(dict.fromkeys((*kept, *roles)))
        participant = Participant(
            aor=key, serial=serial, roles=wanted or (Role.PARTICIPANT,),
            display_name=display_name, anonymous=anonymous, hidden=hidden,
            joining_method=joining_method, joined_at=joined_at, contact=contact,
            referred_by=referred_by,
        )
        if Role.CREATOR in participant.roles and self.creator is None:
            self.creator = key
        self.participants[key] = participant
        self._tell(participant, True)
        return participant

    def grant(self, aor: str, role: Role) -> Participant | None:
        """Give a participant a role (e.g. :attr:`Role.HOST`); observers hear of it."""
        participant = self.participant(aor)
        if participant is None:
            return None
        roles = tuple(r for r in participant.roles if r is not Role.PARTICIPANT)
        if role not in roles:
            participant.roles = (*roles, role)
            self._tell(participant, True)
        return participant

    def leave(self, aor: str) -> Participant | None:
        """Take ``aor`` out of the roster; ``None`` when it was not in."""
        participant = self.participants.pop(aor_key(aor), None)
        if participant is not None:
            self._tell(participant, False)
        return participant

    def end(self) -> None:
        self.lifecycle = Lifecycle.ENDED
        self.pending.clear()

    def _tell(self, participant: Participant, present: bool) -> None:
        for observer in list(self._observers):
            observer(self, participant, present)

    # -- RFC 4575 documents ---------------------------------------------------------

    def visible(self, viewer: str | None) -> list[Participant]:
        return [p for p in self.participants.values() if p.visible_to(viewer)]

    def full_document(self, viewer: str | None, version: int, *, compact: bool = False) -> ConferenceInfo:
        """The whole conference state as ``viewer`` may see it (``state="full"``).

        ``compact`` leaves out each user's ``<endpoint>`` (about 100 bytes a
        user instead of 500), for rosters whose full document would not fit a
        SIP message (imkit caps them at 64 KiB)."""
        shown = self.visible(viewer)
        return ConferenceInfo(
            entity=str(self.identity),
            state=State.FULL,
            version=version,
            description=self._description(),
            conference_state=self._state(len(shown)),
            users=Users(users=tuple(self._user(p, viewer, endpoint=not compact) for p in shown)),
        )

    def partial_document(self, viewer: str | None, version: int,
                         changes: Iterable[tuple[Participant, bool]]) -> ConferenceInfo | None:
        """Only the users in ``changes`` (``(participant, still present)``), or
        ``None`` when the viewer is shown none of them (a bcc participant)."""
        users: list[User] = []
        for participant, present in changes:
            if not participant.visible_to(viewer):
                continue
            if present and participant.aor in self.participants:
                users.append(self._user(participant, viewer))
            else:
                # RFC 4575 section 4.6: an element with state "deleted" is removed.
                users.append(User(entity=participant.entity_for(viewer), state=State.DELETED))
        if not users:
            return None
        return ConferenceInfo(
            entity=str(self.identity),
            state=State.PARTIAL,
            version=version,
            conference_state=self._state(len(self.visible(viewer))),
            users=Users(state=State.PARTIAL, users=tuple(users)),
        )

    def _description(self) -> ConferenceDescription:
        return ConferenceDescription(
            subject=self.subject,
            conf_uris=Uris(entries=(UriEntry(uri=str(self.identity), purpose="participation"),)),
            maximum_user_count=self.max_size,
            available_media=AvailableMedia(entries=(
                ConferenceMedium(label=MEDIA_LABEL, type="message", status=MediaStatus.SENDRECV),
            )),
        )

    def _state(self, user_count: int) -> ConferenceState:
        return ConferenceState(user_count=user_count, active=not self.ended, locked=False)

    def _user(self, participant: Participant, viewer: str | None, *, endpoint: bool = True) -> User:
        own = viewer is not None and viewer == participant.aor
        masked = participant.anonymous and not own
        entity = participant.entity_for(viewer)
        device = Endpoint(
            entity=entity if masked or participant.contact is None else participant.contact,
            status=EndpointStatus.CONNECTED,
            joining_method=participant.joining_method,
            joining_info=None if masked or participant.joined_at is None else Execution(
                when=participant.joined_at, by=participant.referred_by),
            media=(Media(id=MEDIA_LABEL, type="message", status=MediaStatus.SENDRECV),),
        )
        return User(
            entity=entity,
            state=State.FULL,
            yourown=True if own else None,
            display_text=None if masked else participant.display_name,
            roles=tuple(role.value for role in participant.roles),
            endpoints=(device,) if endpoint else (),
        )
