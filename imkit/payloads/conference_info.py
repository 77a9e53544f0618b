"""Conference state documents: RFC 4575 ``application/conference-info+xml``.

The conference event package (RFC 4575, used by OMA SIMPLE IM 7.1.1.11) sends
a full document first and partial ones after it. This module holds:

- the model, one frozen dataclass per RFC 4575 section 5 type, each field
  tied to its element or attribute by the field's metadata. A document is
  read by walking each element's own children against its type's fields,
  never by looking a bare tag name up over the whole tree (a ``<entry>`` in
  ``<roles>``, ``<conf-uris>``, ``<available-media>`` and ``<sidebars-by-val>``
  are four different things);
- :meth:`ConferenceInfo.apply` / :meth:`ConferenceInfo.try_apply`: the
  subscriber's merge of RFC 4575 section 4.6 ("Constructing Coherent State");
- :func:`diff`: who joined, who left and who changed between two rosters;
- :func:`display_uri`: a URI percent-decoded for people, the model keeping
  every URI exactly as received.

Merging a partial notification (section 4.6). An element with a ``state``
attribute is handled by it: ``full`` (the schema default) replaces the local
element, ``partial`` merges into it, ``deleted`` removes it. Repeated elements
are matched by their key: ``<user>`` and ``<endpoint>`` by ``entity``,
``<media>`` by ``id``, ``<available-media>`` entries by ``label``, URI-list
entries by their ``<uri>``, ``<sidebars-by-val>`` entries by ``entity``; an
element without a counterpart is added. Single-valued elements present in a
partial element replace the local ones; ``<conference-description>``,
``<host-info>`` and ``<conference-state>`` (which carry no ``state``) merge
field by field, the small records (``<referred>``-like execution info,
``<call-info>``) are replaced whole. ``<media>``, URI entries and
``<available-media>`` entries have no ``state`` in the schema; one found there
is honoured all the same, so a notifier can delete them.

Unknown children (other namespaces, the schema's ``xs:any ##other``) are kept
as :class:`~imkit.payloads.xml.Extension` values and unknown attributes as
``(clark-name, value)`` pairs, both written back on :meth:`ConferenceInfo.to_xml`.

The OMA ``yourown`` attribute (OMA SIMPLE IM Appendix M; 7.1.1.11 item 3: the
client "SHALL identify the receiving IM Client's own information with the
"yourown" attribute of the <user> element"). No public schema for it exists,
and RFC 4575's user-type admits only attributes of *other* namespaces
(``xs:anyAttribute namespace="##other"``), so it needs a namespace. imkit
writes it in :data:`YOUROWN_NAMESPACE`, ``urn:oma:xml:im:conference-info:yourown``:
it follows OMA's registered URN pattern ``urn:oma:xml:<enabler>:<name>`` (as
in ``urn:oma:xml:prs:pres-rules`` or ``urn:oma:xml:xdm:common-policy``), uses
the IM enabler ("im") that Appendix M belongs to rather than presence
("prs"), and ends in ``:yourown`` so it cannot be mistaken for a real OMA
schema of that enabler. Because servers differ, an attribute with local name
``yourown`` is accepted in *any* namespace, or none, on input.
"""

from __future__ import annotations

import re
from html import escape
from dataclasses import dataclass, field, fields, replace
from enum import Enum, auto
from functools import cache
from typing import Any, ClassVar
from urllib.parse import unquote

from lxml import etree

from imkit.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from imkit.payloads.xml import DEFAULT_MAX_SIZE, ContentError, Extension, PayloadError, parse_xml

__all__ = [
    "CONTENT_TYPE",
    "EVENT_PACKAGE",
    "NAMESPACE",
    "YOUROWN_NAMESPACE",
    "State",
    "EndpointStatus",
    "JoiningMethod",
    "DisconnectionMethod",
    "MediaStatus",
    "Execution",
    "SipDialogId",
    "CallInfo",
    "Media",
    "Endpoint",
    "UriEntry",
    "Uris",
    "User",
    "Users",
    "ConferenceMedium",
    "AvailableMedia",
    "ConferenceDescription",
    "HostInfo",
    "ConferenceState",
    "ConferenceInfo",
    "SidebarsByVal",
    "Outcome",
    "ApplyResult",
    "VersionGap",
    "RosterDiff",
    "diff",
    "display_uri",
]

CONTENT_TYPE = "application/conference-info+xml"
EVENT_PACKAGE = "conference"
NAMESPACE = "urn:ietf:params:xml:ns:conference-info"
YOUROWN_NAMESPACE = "urn:oma:xml:im:conference-info:yourown"
YOUROWN_PREFIX = "oma"

# conference-info / sidebars-by-val / entry / ... : a bound on element depth
# below the root, far above anything RFC 4575 builds (users/user/endpoint/
# media is 4) and well inside Python's recursion limit.
MAX_DEPTH = 32
_UINT_MAX = 2**32 - 1
_UINT = re.compile(r"\+?[0-9]+")


# --- enumerations (RFC 4575 section 5 simple types) -------------------------


class State(Enum):
    """``state-type``: how an element of a notification relates to local state."""

    FULL = "full"
    PARTIAL = "partial"
    DELETED = "deleted"


class EndpointStatus(Enum):
    """``endpoint-status-type``."""

    PENDING = "pending"
    DIALING_OUT = "dialing-out"
    DIALING_IN = "dialing-in"
    ALERTING = "alerting"
    ON_HOLD = "on-hold"
    CONNECTED = "connected"
    MUTED_VIA_FOCUS = "muted-via-focus"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


class JoiningMethod(Enum):
    """``joining-type``."""

    DIALED_IN = "dialed-in"
    DIALED_OUT = "dialed-out"
    FOCUS_OWNER = "focus-owner"


class DisconnectionMethod(Enum):
    """``disconnection-type``."""

    DEPARTED = "departed"
    BOOTED = "booted"
    FAILED = "failed"
    BUSY = "busy"


class MediaStatus(Enum):
    """``media-status-type``."""

    RECVONLY = "recvonly"
    SENDONLY = "sendonly"
    SENDRECV = "sendrecv"
    INACTIVE = "inactive"


# --- field metadata: where each field lives in the document -----------------


class _Kind(Enum):
    TEXT = auto()  # xs:string / xs:anyURI / xs:dateTime, kept as received
    UINT = auto()  # xs:unsignedInt
    BOOL = auto()  # xs:boolean
    ENUM = auto()  # one of the enumerations above
    WORDS = auto()  # an xs:list (keywords, languages)
    ONE = auto()  # a child element of a model type
    MANY = auto()  # a repeated child element of a keyed model type
    STRINGS = auto()  # <roles><entry>text</entry>...</roles>


@dataclass(frozen=True)
class _Xml:
    name: str
    kind: _Kind
    type: Any = None  # Enum class, model class, or a model class's name
    attribute: bool = False
    required: bool = False
    any_namespace: bool = False  # attribute matched on local name alone


def _child(name: str, kind: _Kind = _Kind.TEXT, type: Any = None) -> Any:
    default: Any = () if kind is _Kind.MANY else None
    return field(default=default, metadata={"xml": _Xml(name, kind, type)})


def _required_child(name: str) -> Any:
    return field(metadata={"xml": _Xml(name, _Kind.TEXT, required=True)})


def _attr(name: str, kind: _Kind = _Kind.TEXT, type: Any = None, *, any_namespace: bool = False) -> Any:
    return field(default=None, metadata={"xml": _Xml(name, kind, type, True, False, any_namespace)})


def _required_attr(name: str) -> Any:
    return field(metadata={"xml": _Xml(name, _Kind.TEXT, attribute=True, required=True)})


def _state() -> Any:
    return _attr("state", _Kind.ENUM, State)


@dataclass(frozen=True)
class _Spec:
    ordered: tuple[tuple[str, _Xml], ...]
    children: dict[str, tuple[str, _Xml]]
    attributes: dict[str, tuple[str, _Xml]]
    any_namespace: dict[str, tuple[str, _Xml]]
    required: tuple[tuple[str, _Xml], ...]
    has_state: bool


@cache
def _spec(cls: type) -> _Spec:
    ordered = []
    for f in fields(cls):
        xml = f.metadata.get("xml")
        if xml is None:
            continue
        if isinstance(xml.type, str):
            xml = replace(xml, type=globals()[xml.type])
        ordered.append((f.name, xml))
    children = {x.name: (n, x) for n, x in ordered if not x.attribute}
    attributes = {x.name: (n, x) for n, x in ordered if x.attribute and not x.any_namespace}
    any_ns = {x.name: (n, x) for n, x in ordered if x.any_namespace}
    required = tuple((n, x) for n, x in ordered if x.required)
    return _Spec(tuple(ordered), children, attributes, any_ns, required, "state" in attributes)


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


# --- the model ---------------------------------------------------------------


class _Model:
    """Shared behaviour: keyed lookup and whole-replacement rule for merging."""

    _key: ClassVar[str | None] = None
    _whole: ClassVar[bool] = False  # replaced whole, not merged, in a partial
    extensions: tuple[Extension, ...]
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Execution(_Model):
    """``execution-type``: ``<referred>``, ``<joining-info>``, ``<modified>``..."""

    _whole: ClassVar[bool] = True
    when: str | None = _child("when")
    reason: str | None = _child("reason")
    by: str | None = _child("by")
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SipDialogId(_Model):
    """``sip-dialog-id-type``: the dialog an endpoint is in."""

    _whole: ClassVar[bool] = True
    display_text: str | None = _child("display-text")
    call_id: str | None = _child("call-id")
    from_tag: str | None = _child("from-tag")
    to_tag: str | None = _child("to-tag")
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CallInfo(_Model):
    """``call-type``: ``<call-info>`` of an endpoint."""

    _whole: ClassVar[bool] = True
    sip: SipDialogId | None = _child("sip", _Kind.ONE, SipDialogId)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Media(_Model):
    """``media-type``: one media stream of an endpoint, keyed by ``id``."""

    _key: ClassVar[str | None] = "id"
    id: str = _required_attr("id")
    state: State | None = _state()
    display_text: str | None = _child("display-text")
    type: str | None = _child("type")
    label: str | None = _child("label")
    src_id: str | None = _child("src-id")
    status: MediaStatus | None = _child("status", _Kind.ENUM, MediaStatus)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Endpoint(_Model):
    """``endpoint-type``: one device of a user, keyed by ``entity``."""

    _key: ClassVar[str | None] = "entity"
    entity: str = _required_attr("entity")
    state: State | None = _state()
    display_text: str | None = _child("display-text")
    referred: Execution | None = _child("referred", _Kind.ONE, Execution)
    status: EndpointStatus | None = _child("status", _Kind.ENUM, EndpointStatus)
    joining_method: JoiningMethod | None = _child("joining-method", _Kind.ENUM, JoiningMethod)
    joining_info: Execution | None = _child("joining-info", _Kind.ONE, Execution)
    disconnection_method: DisconnectionMethod | None = _child(
        "disconnection-method", _Kind.ENUM, DisconnectionMethod
    )
    disconnection_info: Execution | None = _child("disconnection-info", _Kind.ONE, Execution)
    media: tuple[Media, ...] = _child("media", _Kind.MANY, Media)
    call_info: CallInfo | None = _child("call-info", _Kind.ONE, CallInfo)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def display_uri(self) -> str:
        return display_uri(self.entity)


@dataclass(frozen=True)
class UriEntry(_Model):
    """``uri-type``: an entry of ``<conf-uris>``, ``<associated-aors>``..., keyed by its URI."""

    _key: ClassVar[str | None] = "uri"
    uri: str = _required_child("uri")
    state: State | None = _state()
    display_text: str | None = _child("display-text")
    purpose: str | None = _child("purpose")
    modified: Execution | None = _child("modified", _Kind.ONE, Execution)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Uris(_Model):
    """``uris-type``: ``<conf-uris>``, ``<service-uris>``, ``<associated-aors>``, ``<sidebars-by-ref>``."""

    state: State | None = _state()
    entries: tuple[UriEntry, ...] = _child("entry", _Kind.MANY, UriEntry)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class User(_Model):
    """``user-type``: one participant, keyed by ``entity``; ``yourown`` is OMA's."""

    _key: ClassVar[str | None] = "entity"
    entity: str = _required_attr("entity")
    state: State | None = _state()
    yourown: bool | None = _attr("yourown", _Kind.BOOL, any_namespace=True)
    display_text: str | None = _child("display-text")
    associated_aors: Uris | None = _child("associated-aors", _Kind.ONE, Uris)
    roles: tuple[str, ...] | None = _child("roles", _Kind.STRINGS)
    languages: tuple[str, ...] | None = _child("languages", _Kind.WORDS)
    cascaded_focus: str | None = _child("cascaded-focus")
    endpoints: tuple[Endpoint, ...] = _child("endpoint", _Kind.MANY, Endpoint)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def display_uri(self) -> str:
        return display_uri(self.entity)


@dataclass(frozen=True)
class Users(_Model):
    """``users-type``: the roster."""

    state: State | None = _state()
    users: tuple[User, ...] = _child("user", _Kind.MANY, User)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ConferenceMedium(_Model):
    """``conference-medium-type``: an ``<available-media>`` entry, keyed by ``label``."""

    _key: ClassVar[str | None] = "label"
    label: str = _required_attr("label")
    state: State | None = _state()
    display_text: str | None = _child("display-text")
    type: str | None = _child("type")
    status: MediaStatus | None = _child("status", _Kind.ENUM, MediaStatus)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AvailableMedia(_Model):
    """``conference-media-type``: ``<available-media>``."""

    entries: tuple[ConferenceMedium, ...] = _child("entry", _Kind.MANY, ConferenceMedium)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ConferenceDescription(_Model):
    """``conference-description-type``."""

    display_text: str | None = _child("display-text")
    subject: str | None = _child("subject")
    free_text: str | None = _child("free-text")
    keywords: tuple[str, ...] | None = _child("keywords", _Kind.WORDS)
    conf_uris: Uris | None = _child("conf-uris", _Kind.ONE, Uris)
    service_uris: Uris | None = _child("service-uris", _Kind.ONE, Uris)
    maximum_user_count: int | None = _child("maximum-user-count", _Kind.UINT)
    available_media: AvailableMedia | None = _child("available-media", _Kind.ONE, AvailableMedia)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HostInfo(_Model):
    """``host-type``."""

    display_text: str | None = _child("display-text")
    web_page: str | None = _child("web-page")
    uris: Uris | None = _child("uris", _Kind.ONE, Uris)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ConferenceState(_Model):
    """``conference-state-type``."""

    user_count: int | None = _child("user-count", _Kind.UINT)
    active: bool | None = _child("active", _Kind.BOOL)
    locked: bool | None = _child("locked", _Kind.BOOL)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


class Outcome(Enum):
    """What :meth:`ConferenceInfo.try_apply` did with a notification."""

    REPLACED = "replaced"  # a full (or deleted) document took the local state's place
    APPLIED = "applied"  # a partial document was merged
    STALE = "stale"  # version not above the local one: ignored
    GAP = "gap"  # notifications were missed: re-SUBSCRIBE for full state


@dataclass(frozen=True)
class ApplyResult:
    info: ConferenceInfo
    outcome: Outcome

    @property
    def refetch(self) -> bool:
        """True when the subscriber must refresh its subscription (section 4.6)."""
        return self.outcome is Outcome.GAP


class VersionGap(ProtocolError):
    """A partial notification cannot be merged: notifications were missed.

    RFC 4575 section 4.6: the subscriber "MUST generate a subscription refresh
    request to trigger a full state notification".
    """

    def __init__(self, current: int | None, received: int | None) -> None:
        super().__init__(f"conference-info version {received} cannot follow local version {current}")
        self.current = current
        self.received = received


@dataclass(frozen=True)
class ConferenceInfo(_Model):
    """``conference-type``: a whole document (or a ``<sidebars-by-val>`` entry)."""

    _key: ClassVar[str | None] = "entity"
    entity: str = _required_attr("entity")
    state: State | None = _state()
    version: int | None = _attr("version", _Kind.UINT)
    description: ConferenceDescription | None = _child("conference-description", _Kind.ONE, ConferenceDescription)
    host_info: HostInfo | None = _child("host-info", _Kind.ONE, HostInfo)
    conference_state: ConferenceState | None = _child("conference-state", _Kind.ONE, ConferenceState)
    users: Users | None = _child("users", _Kind.ONE, Users)
    sidebars_by_ref: Uris | None = _child("sidebars-by-ref", _Kind.ONE, Uris)
    sidebars_by_val: SidebarsByVal | None = _child("sidebars-by-val", _Kind.ONE, "SidebarsByVal")
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    # -- reading and writing --

    @classmethod
    def from_xml(cls, data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> ConferenceInfo:
        """Read a document; any failure raises :class:`PayloadError`, nothing else."""
        root = parse_xml(data, max_size=max_size, remove_comments=True)
        if root.tag != _q("conference-info"):
            raise PayloadError(f"root element is {root.tag}, not {_q('conference-info')}", 0)
        try:
            return _read(cls, root, 0)
        except ContentError as exc:
            raise exc.located(bytes(data)) from None

    def to_xml(self, *, pretty: bool = False) -> bytes:
        """Serialise as UTF-8; raises :class:`LocalProtocolError` for unwritable values."""
        root = etree.Element(_q("conference-info"), nsmap={None: NAMESPACE})
        try:
            _write(self, root)
        except (ValueError, TypeError) as exc:
            raise LocalProtocolError(f"cannot write conference-info: {exc}") from None
        etree.cleanup_namespaces(root, top_nsmap={YOUROWN_PREFIX: YOUROWN_NAMESPACE})
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)

    # -- views --

    @property
    def roster(self) -> tuple[User, ...]:
        return self.users.users if self.users is not None else ()

    def user(self, entity: str) -> User | None:
        return next((u for u in self.roster if u.entity == entity), None)

    def own_user(self, aor: str | None = None) -> User | None:
        """The subscriber's own ``<user>``.

        OMA SIMPLE IM 7.1.1.11 item 3: identified "with the "yourown"
        attribute of the <user> element ... if available. Otherwise ...
        based on <user> element as defined in [RFC4575]", i.e. by ``entity``.
        """
        marked = next((u for u in self.roster if u.yourown), None)
        if marked is not None or aor is None:
            return marked
        return self.user(aor)

    def _repr_html_(self) -> str:
        """The roster as a table, for Jupyter."""
        state = (self.state or State.FULL).value
        rows = "".join(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                escape(user.display_uri),
                " (you)" if user.yourown else "",
                escape(user.display_text or ""),
                escape(", ".join(user.roles or ())),
                escape(", ".join(e.status.value for e in user.endpoints if e.status is not None)),
            )
            for user in self.roster
        )
        return (
            f"<b>{escape(display_uri(self.entity))}</b> version {self.version} ({state}), "
            f"{len(self.roster)} users<table><tr><th>user</th><th>name</th><th>roles</th>"
            f"<th>endpoints</th></tr>{rows}</table>"
        )

    # -- RFC 4575 section 4.6 --

    def try_apply(self, notification: ConferenceInfo) -> ApplyResult:
        """Fold a received notification into this (full) local state."""
        if notification.entity != self.entity:
            raise RemoteProtocolError(
                f"notification for {notification.entity!r} applied to conference {self.entity!r}"
            )
        current, received = self.version, notification.version
        # Section 4.6: a document whose version is "equal to or less than the
        # local version" is "discarded without processing".
        if current is not None and received is not None and received <= current:
            return ApplyResult(self, Outcome.STALE)
        if (notification.state or State.FULL) is not State.PARTIAL:
            return ApplyResult(_settled(notification), Outcome.REPLACED)
        # "if the 'version' number in the received document is more than one
        # number higher than the previous local version number, the subscriber
        # MUST generate a subscription refresh request to trigger a full state
        # notification". A partial document is also unusable without a full
        # base or without versions to order it by.
        if (
            (self.state or State.FULL) is not State.FULL
            or current is None
            or received is None
            or received > current + 1
        ):
            return ApplyResult(self, Outcome.GAP)
        return ApplyResult(_merge(self, notification), Outcome.APPLIED)

    def apply(self, notification: ConferenceInfo) -> ConferenceInfo:
        """The new local state; a stale notification leaves it as it is.

        Raises :class:`VersionGap` when notifications were missed (re-SUBSCRIBE).
        """
        result = self.try_apply(notification)
        if result.outcome is Outcome.GAP:
            raise VersionGap(self.version, notification.version)
        return result.info


@dataclass(frozen=True)
class SidebarsByVal(_Model):
    """``sidebars-by-val-type``: sidebars described in full, each a conference-type ``<entry>``."""

    state: State | None = _state()
    entries: tuple[ConferenceInfo, ...] = _child("entry", _Kind.MANY, ConferenceInfo)
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


# --- reading ------------------------------------------------------------------


def _read(cls: type, element: etree._Element, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ContentError(f"conference-info nests deeper than {MAX_DEPTH} elements", element)
    spec = _spec(cls)
    where = etree.QName(element).localname
    values: dict[str, Any] = {}
    repeated: dict[str, list[Any]] = {}
    attributes: list[tuple[str, str]] = []
    extensions: list[Extension] = []
    for name, text in element.attrib.items():
        qname = etree.QName(name)
        hit = spec.attributes.get(name) if qname.namespace is None else None
        if hit is None:
            hit = spec.any_namespace.get(qname.localname)
        if hit is None:
            attributes.append((name, text))
            continue
        field_name, xml = hit
        if field_name in values:
            raise ContentError(f"<{where}> has more than one {xml.name!r} attribute", element)
        values[field_name] = _scalar(xml, text, element, f"attribute {xml.name!r} of <{where}>")
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        hit = spec.children.get(qname.localname) if qname.namespace == NAMESPACE else None
        if hit is None:
            try:
                extensions.append(Extension.from_element(child))
            except etree.LxmlError as exc:
                raise ContentError(f"unreadable extension element {child.tag}: {exc}", child) from None
            continue
        field_name, xml = hit
        if xml.kind is _Kind.MANY:
            repeated.setdefault(field_name, []).append(_read(xml.type, child, depth + 1))
            continue
        if field_name in values:
            raise ContentError(f"<{where}> has more than one <{xml.name}>", child)
        if xml.kind is _Kind.ONE:
            values[field_name] = _read(xml.type, child, depth + 1)
        elif xml.kind is _Kind.STRINGS:
            values[field_name] = tuple(
                _text(entry) for entry in child if isinstance(entry.tag, str) and entry.tag == _q("entry")
            )
        else:
            values[field_name] = _scalar(xml, _text(child), child, f"<{xml.name}>")
    for field_name, xml in spec.required:
        if field_name not in values:
            what = f"attribute {xml.name!r}" if xml.attribute else f"a <{xml.name}> child"
            raise ContentError(f"<{where}> lacks {what}", element)
    for field_name, items in repeated.items():
        values[field_name] = tuple(items)
    return cls(**values, extensions=tuple(extensions), attributes=tuple(attributes))


def _text(element: etree._Element) -> str:
    if any(isinstance(child.tag, str) for child in element):
        raise ContentError(f"<{etree.QName(element).localname}> must hold text only", element)
    return element.text or ""


def _scalar(xml: _Xml, text: str, element: etree._Element, what: str) -> Any:
    if xml.kind is _Kind.TEXT:
        return text
    if xml.kind is _Kind.WORDS:
        return tuple(text.split())
    value = text.strip()
    if xml.kind is _Kind.UINT:
        if not _UINT.fullmatch(value) or int(value) > _UINT_MAX:
            raise ContentError(f"{what} is not an unsignedInt: {text!r}", element)
        return int(value)
    if xml.kind is _Kind.BOOL:
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ContentError(f"{what} is not a boolean: {text!r}", element)
    try:
        return xml.type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in xml.type)
        raise ContentError(f"{what} is {text!r}, not one of {allowed}", element) from None


# --- writing ------------------------------------------------------------------


def _write(obj: Any, element: etree._Element) -> None:
    for field_name, xml in _spec(type(obj)).ordered:
        value = getattr(obj, field_name)
        if xml.attribute:
            if value is not None:
                name = f"{{{YOUROWN_NAMESPACE}}}{xml.name}" if xml.any_namespace else xml.name
                element.set(name, _format(xml, value))
        elif xml.kind is _Kind.MANY:
            for item in value:
                _write(item, etree.SubElement(element, _q(xml.name)))
        elif value is None:
            continue
        elif xml.kind is _Kind.ONE:
            _write(value, etree.SubElement(element, _q(xml.name)))
        elif xml.kind is _Kind.STRINGS:
            holder = etree.SubElement(element, _q(xml.name))
            for text in value:
                etree.SubElement(holder, _q("entry")).text = text
        else:
            etree.SubElement(element, _q(xml.name)).text = _format(xml, value)
    for name, text in obj.attributes:
        element.set(name, text)
    for extension in obj.extensions:
        element.append(extension.to_element())


def _format(xml: _Xml, value: Any) -> str:
    if xml.kind is _Kind.TEXT:
        return str(value)
    if xml.kind is _Kind.UINT:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT_MAX:
            raise ValueError(f"{xml.name} must be an unsignedInt, not {value!r}")
        return str(value)
    if xml.kind is _Kind.BOOL:
        return "true" if value else "false"
    if xml.kind is _Kind.WORDS:
        words = tuple(value)
        if any(not word or word.split() != [word] for word in words):
            raise ValueError(f"{xml.name} items must be non-empty and free of white space: {words!r}")
        return " ".join(words)
    return str(xml.type(value).value)


# --- merging (RFC 4575 section 4.6) ---------------------------------------------


def _is_deleted(obj: Any) -> bool:
    return _spec(type(obj)).has_state and obj.state is State.DELETED


def _merge(old: Any, new: Any) -> Any:
    """Fold ``new``, an element of a partial notification, into its local ``old``."""
    spec = _spec(type(new))
    if spec.has_state:
        if (new.state or State.FULL) is State.FULL:
            return _settled(new)
    elif new._whole:
        return _settled(new)
    changes: dict[str, Any] = {}
    for field_name, xml in spec.ordered:
        value = getattr(new, field_name)
        if field_name == "state" or field_name == new._key:
            continue
        if xml.kind is _Kind.MANY:
            if value:
                changes[field_name] = _merge_keyed(getattr(old, field_name), value)
        elif value is None:
            continue
        elif xml.kind is _Kind.ONE:
            previous = getattr(old, field_name)
            if _is_deleted(value):
                changes[field_name] = None
            elif previous is None:
                changes[field_name] = _settled(value)
            else:
                changes[field_name] = _merge(previous, value)
        else:
            changes[field_name] = value
    if new.extensions:
        tags = {extension.tag for extension in new.extensions}
        changes["extensions"] = tuple(e for e in old.extensions if e.tag not in tags) + new.extensions
    if new.attributes:
        changes["attributes"] = tuple({**dict(old.attributes), **dict(new.attributes)}.items())
    return replace(old, **changes)


def _merge_keyed(old_items: tuple[Any, ...], new_items: tuple[Any, ...]) -> tuple[Any, ...]:
    key = new_items[0]._key
    merged = {getattr(item, key): item for item in old_items}
    for item in new_items:
        k = getattr(item, key)
        if _is_deleted(item):
            merged.pop(k, None)
        elif k in merged:
            merged[k] = _merge(merged[k], item)
        else:
            merged[k] = _settled(item)
    return tuple(merged.values())


def _settled(obj: Any) -> Any:
    """``obj`` as local state: deleted children dropped, ``partial`` marks cleared."""
    spec = _spec(type(obj))
    changes: dict[str, Any] = {}
    if spec.has_state and obj.state is State.PARTIAL:
        changes["state"] = None
    for field_name, xml in spec.ordered:
        value = getattr(obj, field_name)
        if xml.kind is _Kind.MANY and value:
            settled = tuple(_settled(item) for item in value if not _is_deleted(item))
            if len(settled) != len(value) or any(a is not b for a, b in zip(settled, value)):
                changes[field_name] = settled
        elif xml.kind is _Kind.ONE and value is not None:
            settled_one = None if _is_deleted(value) else _settled(value)
            if settled_one is not value:
                changes[field_name] = settled_one
    return replace(obj, **changes) if changes else obj


# --- roster views ---------------------------------------------------------------


@dataclass(frozen=True)
class RosterDiff:
    """Users who joined, left or changed between two states, keyed by ``entity``."""

    joined: tuple[User, ...] = ()
    left: tuple[User, ...] = ()
    changed: tuple[tuple[User, User], ...] = ()  # (before, after)

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.changed)


def diff(old: ConferenceInfo, new: ConferenceInfo) -> RosterDiff:
    """Compare the rosters of two states of one conference."""
    before = {user.entity: user for user in old.roster}
    after = {user.entity: user for user in new.roster}
    return RosterDiff(
        joined=tuple(user for entity, user in after.items() if entity not in before),
        left=tuple(user for entity, user in before.items() if entity not in after),
        changed=tuple(
            (before[entity], user)
            for entity, user in after.items()
            if entity in before and before[entity] != user
        ),
    )


def display_uri(uri: str) -> str:
    """``uri`` with its percent-escapes decoded, for showing to a person."""
    return unquote(uri, errors="replace")
