"""The test IM Server's pre-defined groups file (OMA SIMPLE IM 7.1.1.4, 7.1.1.10).

An operator provisions IM Groups in the IM XDMS; the test server reads them
from one file instead, JSON or TOML (chosen by the file's suffix, or by
``fmt``).  Each group is one table with these keys:

``uri`` (required)
    The group's SIP URI, the Request-URI of a 7.1.1.4 INVITE (or, for a
    public group, of a 7.1.1.10 one), e.g. ``sip:group-friends@example.com``.
    Behind Kamailio the user part should start with ``group-`` or ``chat-``
    (its ``CONF_USER_PATTERN``) so the proxy relays it to the IM Server.
``members`` (list of SIP URIs, default empty)
    Who belongs to the group.  An INVITE from a member starts the group's
    session (the focus invites the other members) or joins it.  Only members
    may start or join a group that is not public.
``anonymity`` (bool, default false)
    Whether a participant may join anonymously.  7.1.1.1 item 5 NOTE: "If
    anonymity is not allowed for the IM Group indicated with the Request-URI
    ... the IM Session will not be allowed": an INVITE (or REFER) with
    ``Privacy: id`` to a group that forbids it is refused with 403.
``max_size`` (int >= 1, default: the focus's ``max_group_size``)
    The most participants the group's session holds at once.
``public`` (bool, default false)
    A public conference (7.1.1.10): anyone who INVITEs the URI joins; the
    focus dials no one out.
``subject`` (string, optional)
    Shown as the conference's subject in conference-info documents.

TOML::

    [[groups]]
    uri = "sip:group-friends@example.com"
    members = ["sip:alice@example.com", "sip:bob@example.com"]
    anonymity = false
    max_size = 10
    subject = "Friends"

    [[groups]]
    uri = "sip:chat-lobby@example.com"
    public = true
    anonymity = true

JSON: ``{"groups": [{"uri": "...", "members": [...], ...}, ...]}`` (a bare
list of group objects is accepted too).

Any problem (unreadable syntax, an unknown key, a URI that is not SIP, two
groups with one URI) raises :class:`GroupsFileError`, an
:class:`imkit.errors.ParseError`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imkit.errors import ParseError
from imkit.sip import URI, SipURI, parse_uri
from imkit.sip.errors import ParseError as SipParseError

__all__ = ["MAX_GROUPS", "GroupDefinition", "GroupsFileError", "aor_key", "load_groups", "parse_groups"]

#: Most groups one file may define, and most members one group may list.
MAX_GROUPS = 1024
MAX_MEMBERS = 4096
MAX_FILE_SIZE = 4 << 20

_KEYS = frozenset({"uri", "members", "anonymity", "max_size", "public", "subject"})


class GroupsFileError(ParseError):
    """The groups file cannot be used: ``what`` is wrong (offset: the group's index)."""


def aor_key(uri: str | URI) -> str:
    """The comparison form of an address of record: ``sip:user@host`` with the
    host in lower case and no port, parameters or headers (RFC 3261 10.3:
    registrations are keyed by the AOR, ``sip:user@host``)."""
    parsed = parse_uri(uri) if isinstance(uri, str) else uri
    if not isinstance(parsed, SipURI):
        return str(parsed)
    host = parsed.host.lower()
    scheme = parsed.scheme.lower()
    return f"{scheme}:{parsed.user}@{host}" if parsed.user is not None else f"{scheme}:{host}"


@dataclass(frozen=True)
class GroupDefinition:
    """One pre-defined IM Group (see the module docstring for the keys)."""

    uri: SipURI
    members: tuple[str, ...] = ()
    anonymity_allowed: bool = False
    max_size: int | None = None
    public: bool = False
    subject: str | None = None

    @property
    def user(self) -> str:
        """The user part of the group URI: what the focus routes on."""
        return self.uri.user or ""

    def is_member(self, aor: str) -> bool:
        return aor_key(aor) in {aor_key(m) for m in self.members}


def load_groups(path: str | Path, fmt: str | None = None) -> tuple[GroupDefinition, ...]:
    """Read a groups file; ``fmt`` (``"json"`` / ``"toml"``) defaults to the suffix."""
    path = Path(path)
    kind = (fmt or path.suffix.lstrip(".")).lower()
    if kind not in ("json", "toml"):
        raise GroupsFileError(f"{path.name}: say json or toml (suffix or fmt=), not {kind!r}", 0)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_SIZE:
            raise GroupsFileError(f"{path.name} is larger than {MAX_FILE_SIZE} bytes", 0)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GroupsFileError(f"cannot read {path}: {exc}", 0) from None
    return parse_groups(text, kind)


def parse_groups(text: str, fmt: str) -> tuple[GroupDefinition, ...]:
    """Parse the text of a groups file in ``fmt`` (``"json"`` or ``"toml"``)."""
    if len(text) > MAX_FILE_SIZE:
        raise GroupsFileError(f"groups file larger than {MAX_FILE_SIZE} characters", 0)
    data: Any
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GroupsFileError(f"bad JSON: {exc.msg}", exc.pos) from None
    elif fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise GroupsFileError(f"bad TOML: {exc}", 0) from None
    else:
        raise GroupsFileError(f"unknown groups file format {fmt!r}", 0)
    if isinstance(data, Mapping):
        unknown = set(data) - {"groups"}
        if unknown:
            raise GroupsFileError(f"unknown top-level keys {sorted(unknown)}", 0)
        data = data.get("groups", [])
    if not isinstance(data, list):
        raise GroupsFileError("'groups' must be a list of tables", 0)
    return groups_from(data)


def groups_from(items: Iterable[Any]) -> tuple[GroupDefinition, ...]:
    """Validate already-decoded group tables (what JSON or TOML gave)."""
    groups: list[GroupDefinition] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        if index >= MAX_GROUPS:
            raise GroupsFileError(f"more than {MAX_GROUPS} groups", index)
        group = _group(item, index)
        key = (group.user.lower(), group.uri.host.lower())
        if key in seen:
            raise GroupsFileError(f"group {index}: {group.uri} is defined twice", index)
        seen.add(key)
        groups.append(group)
    return tuple(groups)


def _group(item: Any, index: int) -> GroupDefinition:
    if not isinstance(item, Mapping):
        raise GroupsFileError(f"group {index} is not a table", index)
    unknown = set(item) - _KEYS
    if unknown:
        raise GroupsFileError(f"group {index}: unknown keys {sorted(unknown)}", index)
    if "uri" not in item:
        raise GroupsFileError(f"group {index} has no 'uri'", index)
    uri = _sip_uri(item["uri"], f"group {index} uri", index)
    if uri.user is None:
        raise GroupsFileError(f"group {index}: {uri} has no user part", index)
    members = item.get("members", [])
    if not isinstance(members, Sequence) or isinstance(members, str):
        raise GroupsFileError(f"group {index}: 'members' must be a list", index)
    if len(members) > MAX_MEMBERS:
        raise GroupsFileError(f"group {index}: more than {MAX_MEMBERS} members", index)
    member_keys = tuple(aor_key(_sip_uri(m, f"group {index} member", index)) for m in members)
    max_size = item.get("max_size")
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1):
        raise GroupsFileError(f"group {index}: max_size must be a whole number >= 1", index)
    subject = item.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise GroupsFileError(f"group {index}: subject must be a string", index)
    return GroupDefinition(
        uri=uri.without_headers(),
        members=member_keys,
        anonymity_allowed=_flag(item, "anonymity", index),
        max_size=max_size,
        public=_flag(item, "public", index),
        subject=subject,
    )


def _flag(item: Mapping[str, Any], name: str, index: int) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):
        raise GroupsFileError(f"group {index}: {name} must be true or false", index)
    return value


def _sip_uri(value: Any, what: str, index: int) -> SipURI:
    if not isinstance(value, str):
        raise GroupsFileError(f"{what} must be a string", index)
    try:
        uri = parse_uri(value.strip())
    except SipParseError as exc:
        raise GroupsFileError(f"{what} {value!r}: {exc.what}", index) from None
    if not isinstance(uri, SipURI):
        raise GroupsFileError(f"{what} {value!r} is not a SIP URI", index)
    return uri
