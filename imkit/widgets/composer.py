"""The composer's model: pick a procedure, fill its parameters, see the
request it builds with the reason for every header, edit the bytes, send.

Building and sending are separate steps (as in pjsip and
:mod:`imkit.procedures.outgoing`): :class:`ComposerModel` is given a
``build(clause, **params) -> OutgoingRequest`` (for a live client,
:class:`~imkit.widgets.forms.ClientBuilder`, which calls
``client.prepare.<procedure>``) and a ``send(out) -> awaitable``
(``client.send``), and never touches either's insides.  The person may edit
the request as text (the exact notation of :mod:`imkit.widgets.wiretext`);
each edit is parsed with :func:`imkit.sip.parse`, a
:class:`~imkit.sip.ParseError` is shown with its offset, and headers changed
by hand keep their reasons plus a ``composer (...)`` reason saying what was
built, so the trace explains them too.  The procedures offered and their
parameters are the :mod:`~imkit.widgets.forms`.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imkit.errors import ParseError
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import Request, parse
from imkit.trace.provenance import Provenance
from imkit.widgets.events import Listeners
from imkit.widgets.forms import FORMS, ParamKind, ProcedureForm, parse_param
from imkit.widgets.html import EDIT_CLAUSE, error_html, esc, parse_error_html
from imkit.widgets.reprs import html_of, outgoing_html
from imkit.widgets.wiretext import from_text, to_text

__all__ = ["ComposerModel", "ComposerState", "Edit", "Problem", "edit_request", "hand_edit"]


class ComposerState(enum.Enum):
    EMPTY = "nothing built yet"
    READY = "ready to send"
    INVALID = "cannot be sent: see the error"
    SENDING = "sending…"
    SENT = "sent (build again for another request: it needs a new Call-ID, CSeq and branch)"
    FAILED = "sending failed"


@dataclass(frozen=True)
class Problem:
    """Why the composer cannot go on; ``data`` is the input a
    :class:`ParseError`'s offset points into."""

    title: str
    error: BaseException
    data: bytes | None = None

    def html(self) -> str:
        if isinstance(self.error, ParseError) and self.data is not None:
            return parse_error_html(self.error, self.data, title=self.title)
        return error_html(self.title, self.error)


@dataclass(frozen=True)
class Edit:
    """A request edited by hand: the request to send (with reasons), which of
    its header rows differ from what was built, and which headers were removed."""

    out: OutgoingRequest
    edited_rows: frozenset[int] = frozenset()
    removed: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        return f"removed by hand: {', '.join(self.removed)}" if self.removed else ""


def _values(request: Request) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for row in request.headers:
        values.setdefault(row.key, []).append(row.value)
    return values


def _names(request: Request) -> dict[str, str]:
    return {row.key: row.name for row in request.headers}


def hand_edit(note: str) -> Provenance:
    """The reason a person's edit gives a header: ``composer (<note>)``."""
    return Provenance(EDIT_CLAUSE, "", note)


def edit_request(built: OutgoingRequest | None, request: Request, clause: str) -> Edit:
    """``request`` (parsed from the person's text) with the reasons of what
    was ``built``: a header the person changed or added also gets a
    ``composer (...)`` reason naming the built value; a removed header's
    reasons go.  Content-Length equal to the body's length is explained by
    RFC 3261 20.14 whoever wrote it."""
    if built is None:
        reasons = {key: [hand_edit("written by hand")] for key in _values(request)}
        return Edit(OutgoingRequest(request, clause, "written by hand", reasons),
                    frozenset(range(len(request.headers))))
    before, after = _values(built.request), _values(request)
    provenance = {key: list(reasons) for key, reasons in built.provenance.items()
                  if key in after or key == "request-uri"}
    changed = {key for key, values in after.items() if values != before.get(key)}
    if after.get("content-length") == [str(len(request.body))]:
        changed.discard("content-length")
    for key in changed:
        note = f"edited by hand; built: {' | '.join(before[key])}" if key in before else "added by hand"
        provenance.setdefault(key, []).append(hand_edit(note))
    if request.start_line() != built.request.start_line():
        provenance.setdefault("request-uri", []).append(
            hand_edit(f"request line edited by hand; built: {built.request.start_line()}"))
    if request.body != built.request.body:
        key = "content-type" if "content-type" in after else "content-length"
        provenance.setdefault(key, []).append(
            hand_edit(f"body edited by hand: {len(request.body)} bytes, built {len(built.request.body)}"))
    rows = frozenset(index for index, row in enumerate(request.headers) if row.key in changed)
    names = _names(built.request)
    removed = tuple(names[key] for key in before if key not in after)
    return Edit(OutgoingRequest(request, built.clause, built.purpose, provenance), rows, removed)


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[^\r\n]*", re.IGNORECASE | re.MULTILINE)


@dataclass
class _Draft:
    built: OutgoingRequest | None = None
    edit: Edit | None = None
    text: str = ""


class ComposerModel:
    """A request being composed; views subscribe to ``changed``.

    ``build(clause, **params)`` makes the request (an
    :class:`OutgoingRequest`), ``send(out)`` sends it.  With ``live`` each
    change of procedure or parameter rebuilds at once; otherwise call
    :meth:`build`.
    """

    def __init__(
        self,
        build: Callable[..., OutgoingRequest],
        send: Callable[[OutgoingRequest], Awaitable[Any]],
        *,
        forms: Mapping[str, ProcedureForm] = FORMS,
        clause: str | None = None,
        live: bool = True,
    ) -> None:
        if not forms:
            raise ValueError("the composer needs at least one procedure form")
        self._build = build
        self._send = send
        self.forms = dict(forms)
        self.live = live
        self.clause = clause if clause is not None else next(iter(self.forms))
        if self.clause not in self.forms:
            raise KeyError(f"no form for clause {self.clause!r}")
        self.values: dict[str, str | bool] = {p.name: p.initial for p in self.form.params}
        self.state = ComposerState.EMPTY
        self.problem: Problem | None = None
        self.result: Any = None
        self.changed = Listeners()
        self._draft = _Draft()
        self._task: asyncio.Task[Any] | None = None

    # -- what is shown ----------------------------------------------------------------
    @property
    def form(self) -> ProcedureForm:
        return self.forms[self.clause]

    @property
    def built(self) -> OutgoingRequest | None:
        """The request as the builder made it (before any edit)."""
        return self._draft.built

    @property
    def out(self) -> OutgoingRequest | None:
        """What :meth:`send` sends: the built request, or its edited form;
        ``None`` while the text does not parse."""
        return self._draft.edit.out if self._draft.edit is not None else None

    @property
    def edited(self) -> bool:
        built, out = self._draft.built, self.out
        return built is not None and out is not None and bytes(out) != bytes(built)

    @property
    def text(self) -> str:
        """The request in the editor's notation (:mod:`imkit.widgets.wiretext`)."""
        return self._draft.text

    @property
    def missing(self) -> list[str]:
        """Labels of the parameters that must be filled in before building."""
        return [p.label for p in self.form.params
                if p.kind in (ParamKind.URI, ParamKind.URIS) and not str(self.values[p.name]).strip()]

    @property
    def can_send(self) -> bool:
        return self.state is ComposerState.READY and self.out is not None

    def preview_html(self) -> str:
        """The request with the reason for every header row, and its bytes."""
        edit = self._draft.edit
        if edit is not None:
            return outgoing_html(edit.out, edited=edit.edited_rows, note=edit.note)
        if self.problem is not None and self.problem.data is not None:
            return self.problem.html()
        return f"<i>{esc(self.state.value)}</i>"

    def _repr_html_(self) -> str:
        return f"<div>{self.status_html()}{self.problem_html()}{self.preview_html()}</div>"

    def problem_html(self) -> str:
        return self.problem.html() if self.problem is not None else ""

    def status_html(self) -> str:
        colour = {ComposerState.SENT: "#1a7f37", ComposerState.FAILED: "#cf222e",
                  ComposerState.INVALID: "#cf222e"}.get(self.state, "#444")
        text = f"<b style='color:{colour}'>{esc(self.state.value)}</b>"
        if self.state is ComposerState.EMPTY and self.missing:
            text += f" — fill in: {esc(', '.join(self.missing))}"
        if self.state is ComposerState.READY and self.edited:
            text += " <span style='color:#b26a00'>(edited by hand)</span>"
        if self.state is ComposerState.SENT:
            text += f"<div>{html_of(self.result)}</div>"
        return text

    # -- what the person does ------------------------------------------------------------
    def select(self, clause: str) -> None:
        """Pick the procedure; parameters of the same name and kind keep their values."""
        if clause not in self.forms:
            raise KeyError(f"no form for clause {clause!r}")
        if clause == self.clause:
            return
        self._not_while_sending()
        old = {p.name: p.kind for p in self.form.params}
        self.clause = clause
        self.values = {p.name: self.values[p.name] if old.get(p.name) is p.kind else p.initial
                       for p in self.form.params}
        self._reset()
        self._changed_inputs()

    def set_value(self, name: str, value: str | bool) -> None:
        param = self.form.param(name)
        value = bool(value) if param.kind is ParamKind.FLAG else str(value)
        if self.values.get(name) == value:
            return
        self._not_while_sending()
        self.values[name] = value
        self._changed_inputs()

    def build(self) -> OutgoingRequest | None:
        """Build the request from the procedure and parameters; ``None``
        (and :attr:`problem` set) when a parameter or the builder refuses."""
        self._not_while_sending()
        self._reset()
        params = {}
        for param in self.form.params:
            raw = self.values[param.name]
            try:
                params[param.name] = parse_param(param, raw)
            except ParseError as exc:
                self._fail(Problem(f"parameter “{param.label}”", exc, str(raw).encode("utf-8")))
                return None
        try:
            out = self._build(self.clause, **params)
        except Exception as exc:  # noqa: BLE001 - shown to the person: the builder's own words
            self._fail(Problem(f"{self.clause} cannot build this request", exc))
            return None
        self._draft = _Draft(out, Edit(out), to_text(bytes(out)))
        self.state = ComposerState.READY
        self.changed.emit()
        return out

    def edit(self, text: str) -> None:
        """The person's text of the request: parse it, keep the reasons."""
        if text == self._draft.text:
            return
        self._not_while_sending()
        self._draft.text = text
        self._draft.edit = None
        data = from_text(text)
        try:
            message = parse(data)
        except ParseError as exc:
            self._fail(Problem("the edited request does not parse", exc, data), keep_draft=True)
            return
        if not isinstance(message, Request):
            self._fail(Problem("the composer sends requests", ValueError(f"this is a response: {message.start_line()}")),
                       keep_draft=True)
            return
        self._draft.edit = edit_request(self._draft.built, message, self.clause)
        self.problem = None
        self.state = ComposerState.READY
        self.changed.emit()

    def revert(self) -> None:
        """Back to the request as it was built."""
        built = self._draft.built
        if built is not None:
            self.edit(to_text(bytes(built)))

    def fix_content_length(self) -> None:
        """Set Content-Length (RFC 3261 20.14) to the body's length in bytes,
        adding the header when there is none."""
        data = from_text(self._draft.text)
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return
        head, body = data[:end], data[end + 4:]
        row = f"Content-Length: {len(body)}".encode()
        fixed, count = _CONTENT_LENGTH.subn(row, head, count=1)
        if not count:
            fixed = head + b"\r\n" + row
        self.edit(to_text(fixed + b"\r\n\r\n" + body))

    async def send(self) -> Any:
        """Send :attr:`out`; the result (or the failure) is kept and shown."""
        return await self._sending(self._begin_sending())

    def send_soon(self) -> asyncio.Task[Any]:
        """:meth:`send` as a task of the running loop (what the Send button
        does); the composer is already *sending* when this returns, so a
        second click cannot send twice."""
        out = self._begin_sending()
        self._task = asyncio.ensure_future(self._sending(out))
        return self._task

    # -- inside ---------------------------------------------------------------------------
    def _reset(self) -> None:
        self._draft = _Draft()
        self.problem = None
        self.result = None
        self.state = ComposerState.EMPTY

    def _not_while_sending(self) -> None:
        if self.state is ComposerState.SENDING:
            raise RuntimeError("the request is being sent: wait for the answer")

    def _begin_sending(self) -> OutgoingRequest:
        out = self.out
        if not self.can_send or out is None:
            raise RuntimeError(f"nothing to send: {self.state.value}")
        self.state = ComposerState.SENDING
        self.changed.emit()
        return out

    async def _sending(self, out: OutgoingRequest) -> Any:
        try:
            self.result = await self._send(out)
        except Exception as exc:  # noqa: BLE001 - a failed procedure is an outcome to show, e.g. a 486
            self.problem = Problem(f"{out.clause} failed", exc)
            self.state = ComposerState.FAILED
        else:
            self.state = ComposerState.SENT
        self.changed.emit()
        return self.result

    def _changed_inputs(self) -> None:
        if self.live and not self.missing:
            self.build()
        else:
            self._reset()
            self.changed.emit()

    def _fail(self, problem: Problem, *, keep_draft: bool = False) -> None:
        if not keep_draft:
            self._draft = _Draft()
        self.problem = problem
        self.state = ComposerState.INVALID
        self.changed.emit()
