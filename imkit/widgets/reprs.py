"""Rich HTML for imkit objects, so plain ``display(x)`` explains every byte.

Functions from an object to HTML: a SIP message (:func:`message_html`), a
request a procedure built (:func:`outgoing_html`: each header row with its
byte offset and the clause item that put it there), a trace record
(:func:`record_html`), rule verdicts (:func:`results_html`), an IM Session,
a conference subscription, a referral and a roster change.

Classes in lower layers cannot import this module (imports point down), so
:func:`register_reprs` hands these functions to IPython's HTML formatter by
class name; ``%load_ext imkit.widgets`` does it in a notebook.  A registered
formatter takes precedence over a class's own ``_repr_html_``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imkit.conformance import Result
from imkit.procedures import CLAUSES, get
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.rules import Verdict
from imkit.sip import Message
from imkit.sip.headers import header_key
from imkit.trace import Address, Direction, TraceRecord, format_address
from imkit.trace.provenance import Provenance
from imkit.widgets.conference import change_html, roster_html, roster_rows
from imkit.widgets.html import (
    esc,
    parse_error_html,
    reasons_html,
    table,
    verdict_html,
    wire_html,
)

if TYPE_CHECKING:
    from imkit.client import ConferenceSubscription, IMSession, Referral
    from imkit.payloads.conference_info import RosterDiff

__all__ = [
    "REPRS",
    "HeaderRow",
    "body_html",
    "header_rows",
    "headers_html",
    "html_of",
    "message_html",
    "outgoing_html",
    "record_html",
    "record_meta_html",
    "referral_html",
    "register_reprs",
    "results_html",
    "roster_diff_html",
    "session_html",
    "subscription_html",
]

_DIM = "color:#757575"


@dataclass(frozen=True)
class HeaderRow:
    """One header field row: where it starts in the message's bytes, as written."""

    offset: int | None
    name: str
    value: str

    @property
    def key(self) -> str:
        return header_key(self.name)


def header_rows(message: Any) -> list[HeaderRow]:
    """The rows of a SIP message (with byte offsets) or of an MSRP message."""
    if isinstance(message, Message):
        offset = len(message.start_line().encode("utf-8")) + 2
        rows = []
        for row in message.headers:
            rows.append(HeaderRow(offset, row.name, row.value))
            offset += len(row.to_bytes()) + 2
        return rows
    return [HeaderRow(None, name, value) for name, value in message.headers.fields]


def headers_html(
    start_line: str,
    rows: Sequence[HeaderRow],
    provenance: Mapping[str, Sequence[Provenance]],
    *,
    start_reasons: Sequence[Provenance] = (),
    start_note: str = "",
    edited: Iterable[int] = (),
    results: Sequence[Result] = (),
) -> str:
    """Start line and header rows, each with the reasons it is there
    (``← 7.1.1.1 item 1``), rows a person ``edited`` (by index) flagged, and
    the verdicts of rules decided on a header beside its rows."""
    edited = set(edited)
    decided: dict[str, list[Result]] = {}
    for result in results:
        if result.header:
            decided.setdefault(header_key(result.header), []).append(result)
    with_rules = bool(results)
    head = ["byte", "header row", "why it is there"] + (["rules decided on it"] if with_rules else [])
    first = [f"<span style='{_DIM}'>0</span>", f"<code><b>{esc(start_line)}</b></code>",
             (f"{esc(start_note)}<br>" if start_note else "") + (reasons_html(start_reasons) if start_reasons else "")]
    if with_rules:
        first.append(_verdicts_cell(decided.get("request-uri", [])))
    cells = [first]
    styles = [""]
    for index, row in enumerate(rows):
        mark = " <b style='color:#b26a00' title='edited by hand'>✎</b>" if index in edited else ""
        cell = [f"<span style='{_DIM}'>{'' if row.offset is None else row.offset}</span>",
                f"<code>{esc(row.name)}: {esc(row.value)}</code>{mark}",
                reasons_html(provenance.get(row.key, ()))]
        if with_rules:
            cell.append(_verdicts_cell(decided.get(row.key, [])))
        cells.append(cell)
        failed = any(r.verdict is Verdict.FAIL for r in decided.get(row.key, []))
        styles.append("background:#ffebee" if failed else ("background:#fff8e1" if index in edited else ""))
    present = {row.key for row in rows} | {"request-uri"}
    for key, about in decided.items():
        if key not in present:  # a rule decided on a header the message lacks
            cells.append(["", f"<i>(no {esc(about[0].header)} header)</i>", "", _verdicts_cell(about)])
            styles.append("background:#ffebee" if any(r.verdict is Verdict.FAIL for r in about) else "")
    return table(head, cells, row_styles=styles)


def _verdicts_cell(results: Sequence[Result]) -> str:
    return "<br>".join(f"<code>{esc(r.rule_id)}</code> {verdict_html(r.verdict)}" for r in results)


def body_html(message: Any) -> str:
    """The body's size and type, and whether Content-Length matches it."""
    body = message.body or b""
    if not isinstance(message, Message):
        return f"body: {len(body)} bytes" if body else "no body"
    declared = message.headers.get("Content-Length")
    content_type = message.headers.get("Content-Type")
    parts = [f"body: {len(body)} bytes"]
    if content_type:
        parts.append(f"Content-Type <code>{esc(content_type)}</code>")
    if declared is None:
        parts.append("no Content-Length")
    elif declared.strip() == str(len(body)):
        parts.append(f"Content-Length {esc(declared)} <b style='color:#1a7f37'>✓</b>")
    else:
        parts.append(f"<b style='color:#cf222e'>Content-Length {esc(declared)} ≠ {len(body)}</b>")
    return ", ".join(parts)


def message_html(message: Any) -> str:
    """A SIP (or MSRP) message: its bytes, then its header rows."""
    data = bytes(message)
    return (f"<div>{body_html(message)}; {len(data)} bytes on the wire"
            f"{wire_html(data)}</div>")


def _clause_title(clause: str) -> str:
    return f"{clause} {get(clause).TITLE}" if clause in CLAUSES else clause


def outgoing_html(out: OutgoingRequest, *, edited: Iterable[int] = (), note: str = "") -> str:
    """A request a procedure built: each row with why it is there, then the
    bytes exactly as they will be sent."""
    request = out.request
    data = bytes(request)
    rows = headers_html(
        request.start_line(), header_rows(request), out.provenance,
        start_reasons=out.provenance.get("request-uri", ()), start_note=f"← {_clause_title(out.clause)}", edited=edited,
    )
    purpose = f" — {esc(out.purpose)}" if out.purpose else ""
    extra = f"<div style='color:#b26a00'>{esc(note)}</div>" if note else ""
    return (f"<div><b>{esc(_clause_title(out.clause))}</b>{purpose}{extra}{rows}"
            f"<div>{body_html(request)}; {len(data)} bytes on the wire</div>{wire_html(data)}</div>")


def _lane(address: Address, names: Mapping[Address, str]) -> str:
    name = names.get(address)
    return f"{esc(name)} ({esc(format_address(address))})" if name else esc(format_address(address))


def record_meta_html(record: TraceRecord, names: Mapping[Address, str] | None = None) -> str:
    """Which record, when, from whom to whom, how, labelled with which clause."""
    names = names or {}
    arrow = "sent" if record.direction is Direction.SENT else "received"
    label = f", label <b>{esc(record.label)}</b>" if record.label else ""
    return (f"<div><b>#{record.seq}</b> {esc(record.summary)} — {arrow} at {record.now:.6f}, "
            f"{record.protocol.value} over {record.transport.value}: {_lane(record.source, names)} → "
            f"{_lane(record.destination, names)}{label}; {len(record.raw)} bytes</div>")


def record_headers_html(record: TraceRecord, results: Sequence[Result] = ()) -> str:
    """The parsed header rows with their provenance (or why the bytes do not parse)."""
    message = record.message
    if message is None:
        assert record.parse_error is not None
        return parse_error_html(record.parse_error, record.raw, title="the record's bytes do not parse")
    start = message.start_line() if isinstance(message, Message) else record.first_line
    return (headers_html(start, header_rows(message), record.provenance, results=results)
            + f"<div>{body_html(message)}</div>")


def results_html(results: Sequence[Result]) -> str:
    """Rule verdicts: rule, level, verdict, header, note, and the spec's words."""
    if not results:
        return f"<i style='{_DIM}'>no rule was decided on this message</i>"
    cells = [[f"<code>{esc(r.rule_id)}</code>", esc(r.rule.level.value), verdict_html(r.verdict),
              esc(r.header or ""), esc(r.note) + (f"<br><i>{esc(r.rule.note)}</i>" if r.rule.note else ""),
              f"<small>{esc(r.rule.text)}</small>"] for r in results]
    styles = ["background:#ffebee" if r.verdict is Verdict.FAIL else "" for r in results]
    return table(["rule", "level", "verdict", "header", "note", "the spec's words"], cells, row_styles=styles)


def record_html(record: TraceRecord, *, names: Mapping[Address, str] | None = None,
                results: Sequence[Result] = ()) -> str:
    """A trace record: who, when, the header rows with reasons and verdicts, the bytes."""
    rules = f"<b>rules</b>{results_html(results)}" if results else ""
    return (f"<div>{record_meta_html(record, names)}{record_headers_html(record, results)}"
            f"{rules}<b>bytes</b>{wire_html(record.raw)}</div>")


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    return table(["", ""], [[f"<b>{esc(k)}</b>", v] for k, v in rows])


def session_html(session: IMSession) -> str:
    """An IM Session: kind, phase, and what 7.1.1 made the client store."""
    state = session.state
    timer = state.timer
    timer_text = (f"{timer.interval} s, refresher {esc(timer.refresher)}"
                  + (f", expires at {session.expires_at:.3f}" if session.expires_at is not None else "")
                  if timer else "none negotiated")
    contact = ", ".join(str(c) for c in state.server.contact) if state.server.contact else "—"
    subscription = session.subscription
    users = (f"{len(subscription.state.roster)} users" if subscription and subscription.state
             else ("subscribed, no NOTIFY yet" if subscription else "not subscribed"))
    return "<div><b>IM Session</b>" + _facts([
        ("kind", esc(state.kind.value)),
        ("target", f"<code>{esc(state.target)}</code>"),
        ("phase", esc(state.phase.value)),
        ("IM Session Identity", f"<code>{esc(session.identity)}</code>" if session.identity else "— (none received)"),
        ("Allow stored (7.1.1.1)", esc(", ".join(session.allow)) if session.allow is not None else "— (none received)"),
        ("Contact stored (7.1.1.1)", f"<code>{esc(contact)}</code>"),
        ("session timer", timer_text),
        ("User Plane", "MSRP chat open" if session.chat is not None else "no MSRP chat"),
        ("conference state (7.1.1.11)", esc(users)),
    ]) + "</div>"


def subscription_html(subscription: ConferenceSubscription) -> str:
    """A conference subscription: target, NOTIFY count, roster, last change."""
    client = subscription.client
    head = (f"<b>conference subscription</b> to <code>{esc(subscription.subscribe_request.uri)}</code>, "
            f"{subscription.notifications} NOTIFYs{' — terminated' if subscription.terminated else ''}")
    if subscription.state is None:
        return f"<div>{head}<br><i style='{_DIM}'>no conference state yet</i></div>"
    rows = roster_rows(subscription.state, own_aor=str(client.aor), blocklist=sorted(client.profile.blocklist))
    return (f"<div>{head}{roster_html(rows)}<b>last NOTIFY changed</b>"
            f"{change_html(subscription.last_change)}</div>")


def referral_html(referral: Referral) -> str:
    """A REFER (7.1.1.7, 7.1.1.14): Refer-To, the answer, the progress reported."""
    response = referral.response
    answer = esc(response.start_line()) if response is not None else "pending"
    progress = "".join(f"<li><code>{esc(p)}</code></li>" for p in referral.progress)
    return "<div><b>REFER</b>" + _facts([
        ("clause", esc(_clause_title(referral.clause))),
        ("Refer-To", f"<code>{esc(referral.request.headers.get('Refer-To', ''))}</code>"),
        ("answer", answer),
        ("implicit subscription", "refused (Refer-Sub: false echoed, RFC 4488)" if referral.subscription_refused
         else ("terminated" if referral.subscription_terminated else "may send NOTIFYs")),
        ("progress (sipfrag)", f"<ul style='margin:0'>{progress}</ul>" if progress else "—"),
    ]) + "</div>"


def roster_diff_html(change: RosterDiff) -> str:
    return f"<div>{change_html(change)}</div>"


#: (module, class name) -> HTML function, for :func:`register_reprs`.
REPRS: dict[tuple[str, str], Callable[[Any], str]] = {
    ("imkit.sip.message", "Request"): message_html,
    ("imkit.sip.message", "Response"): message_html,
    ("imkit.procedures.outgoing", "OutgoingRequest"): outgoing_html,
    ("imkit.trace.record", "TraceRecord"): record_html,
    ("imkit.client.session", "IMSession"): session_html,
    ("imkit.client.subscription", "ConferenceSubscription"): subscription_html,
    ("imkit.client.referral", "Referral"): referral_html,
    ("imkit.payloads.conference_info", "RosterDiff"): roster_diff_html,
}


def html_of(obj: Any) -> str:
    """HTML for any object: its function in :data:`REPRS` (by class, bases
    too), else its own ``_repr_html_``, else its ``repr``."""
    for cls in type(obj).__mro__:
        function = REPRS.get((cls.__module__, cls.__qualname__))
        if function is not None:
            return function(obj)
    method = getattr(obj, "_repr_html_", None)
    if callable(method):
        shown = method()
        if shown:
            return str(shown)
    return f"<code>{esc(repr(obj))}</code>"


def register_reprs(formatter: Any = None) -> None:
    """Give IPython's HTML formatter (default: the running shell's) the
    functions of :data:`REPRS`, by class name, without importing the classes."""
    if formatter is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("no IPython shell is running: pass the HTML formatter")
        formatter = shell.display_formatter.formatters["text/html"]
    for (module, name), function in REPRS.items():
        formatter.for_type_by_name(module, name, function)
