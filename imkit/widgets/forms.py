"""The procedures the composer offers, their parameters, and how a
person's typing becomes a builder's arguments.

:data:`FORMS` says, for each clause of 7.1.1, which ``client.prepare``
method builds its request and which parameters it takes; :func:`parse_param`
reads what was typed (a URI that does not parse raises
:class:`~imkit.errors.ParseError` at its byte offset in the typed text);
:class:`ClientBuilder` is the composer's ``build(clause, **params)`` for a
live :class:`~imkit.client.IMClient`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imkit.errors import ParseError
from imkit.procedures import get
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import parse_uri

if TYPE_CHECKING:
    from imkit.client import IMClient, IMSession

__all__ = ["FORMS", "MAX_PARAM_CHARS", "ClientBuilder", "Param", "ParamKind", "ProcedureForm", "parse_param"]

#: The longest parameter text the composer reads (a URI list of a large group).
MAX_PARAM_CHARS = 16384


class ParamKind(enum.Enum):
    """What a procedure parameter holds, and how the person types it."""

    URI = "a SIP URI"
    OPTIONAL_URI = "a SIP URI, or blank"
    URIS = "SIP URIs, one per line"
    FLAG = "yes or no"
    NUMBER = "a whole number, or blank"
    TYPES = "MIME types separated by spaces, or blank"


@dataclass(frozen=True)
class Param:
    """One keyword argument of a ``client.prepare`` method."""

    name: str
    kind: ParamKind
    label: str
    default: str | bool = ""

    @property
    def initial(self) -> str | bool:
        return bool(self.default) if self.kind is ParamKind.FLAG else str(self.default)


@dataclass(frozen=True)
class ProcedureForm:
    """A procedure as the composer offers it: its clause, the
    ``client.prepare`` method that builds it, and the parameters.
    ``on_session``: the method's first argument is the IM Session acted on."""

    clause: str
    method: str
    params: tuple[Param, ...] = ()
    on_session: bool = False

    @property
    def title(self) -> str:
        return str(get(self.clause).TITLE)

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(f"{self.clause} has no parameter {name!r}")


_ANONYMOUS = Param("anonymous", ParamKind.FLAG, "anonymous (Privacy: id, 7.1.1.1 item 5)", False)
_INVITED = Param("invited", ParamKind.URIS, "invited IM Users")

#: The procedures of 7.1.1 the composer offers.  7.1.1.1 is in every one of
#: them; 7.1.1.13 is not here: a CANCEL goes on the INVITE's own transaction,
#: after a provisional response (RFC 3261 9.1), through ``PendingInvite.cancel()``.
FORMS: dict[str, ProcedureForm] = {form.clause: form for form in (
    ProcedureForm("7.1.1.2", "start_session", (Param("recipient", ParamKind.URI, "recipient"), _ANONYMOUS)),
    ProcedureForm("7.1.1.3", "start_adhoc_conference", (_INVITED, _ANONYMOUS)),
    ProcedureForm("7.1.1.4", "join_group", (Param("group", ParamKind.URI, "IM Group Identity"), _ANONYMOUS)),
    ProcedureForm("7.1.1.5", "modify", (Param("accept_types", ParamKind.TYPES, "accept-types (blank: keep)"), _ANONYMOUS),
                  on_session=True),
    ProcedureForm("7.1.1.6", "extend_to_conference", (_INVITED, _ANONYMOUS), on_session=True),
    ProcedureForm("7.1.1.7", "add_participants", (_INVITED, _ANONYMOUS), on_session=True),
    ProcedureForm("7.1.1.8", "refresh", (Param("min_se", ParamKind.NUMBER, "Min-SE (blank: none)"),), on_session=True),
    ProcedureForm("7.1.1.9", "rejoin", (Param("identity", ParamKind.OPTIONAL_URI, "IM Session Identity (blank: the stored one)"),
                                        _ANONYMOUS)),
    ProcedureForm("7.1.1.10", "join_public_conference", (Param("conference", ParamKind.URI, "public conference"), _ANONYMOUS)),
    ProcedureForm("7.1.1.11", "subscribe_conference", (Param("target", ParamKind.URI, "IM Session or Group Identity"),)),
    ProcedureForm("7.1.1.12", "leave", (_ANONYMOUS,), on_session=True),
    ProcedureForm("7.1.1.14", "remove_participant", (Param("removed", ParamKind.URI, "IM User to remove"), _ANONYMOUS),
                  on_session=True),
)}


class ClientBuilder:
    """``build(clause, **params)`` for a live :class:`~imkit.client.IMClient`:
    calls ``client.prepare.<method>``, with ``session`` first for the
    procedures that act on one (set ``session`` when it changes).

    Each call is a real build: the client allocates a Call-ID, CSeq and
    tags (and, for an INVITE, an MSRP path) and notes its intent in the trace.
    """

    def __init__(self, client: IMClient, session: IMSession | None = None,
                 forms: Mapping[str, ProcedureForm] = FORMS) -> None:
        self.client = client
        self.session = session
        self.forms = forms

    def __call__(self, clause: str, **params: Any) -> OutgoingRequest:
        form = self.forms[clause]
        method = getattr(self.client.prepare, form.method)
        if not form.on_session:
            return method(**params)  # type: ignore[no-any-return]
        if self.session is None:
            raise ValueError(f"{clause} acts on an IM Session: set the builder's session first")
        return method(self.session, **params)  # type: ignore[no-any-return]


def parse_param(param: Param, raw: str | bool) -> Any:
    """The builder's argument for what the person typed; a bad URI raises
    :class:`ParseError` with its byte offset in the typed text."""
    if param.kind is ParamKind.FLAG:
        return bool(raw)
    text = str(raw)
    if len(text) > MAX_PARAM_CHARS:
        raise ParseError(f"{param.label} is longer than {MAX_PARAM_CHARS} characters", MAX_PARAM_CHARS)
    if param.kind is ParamKind.NUMBER:
        stripped = text.strip()
        if not stripped:
            return None
        if not stripped.isascii() or not stripped.isdigit():
            raise ParseError(f"{param.label} must be a whole number, not {stripped[:20]!r}", 0)
        return int(stripped)
    if param.kind is ParamKind.TYPES:
        return text.split() or None
    if param.kind is ParamKind.URIS:
        uris = []
        offset = 0
        for line in text.splitlines(keepends=True):
            item = line.strip()
            if item:
                start = offset + len(line[:len(line) - len(line.lstrip())].encode("utf-8"))
                _check_uri(item, start)
                uris.append(item)
            offset += len(line.encode("utf-8"))
        if not uris:
            raise ParseError(f"{param.label}: name at least one, one per line", 0)
        return uris
    item = text.strip()
    if not item:
        if param.kind is ParamKind.OPTIONAL_URI:
            return None
        raise ParseError(f"{param.label} is empty", 0)
    _check_uri(item, len(text[:len(text) - len(text.lstrip())].encode("utf-8")))
    return item


def _check_uri(text: str, start: int) -> None:
    try:
        parse_uri(text)
    except ParseError as exc:
        # the parser counts characters of ``text``; the view shows bytes
        at = start + len(text[:exc.offset].encode("utf-8"))
        raise ParseError(exc.what, at) from None
