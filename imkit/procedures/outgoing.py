"""A request built by a procedure, with the reason for every header.

Building and sending are separate steps (as in pjsip): a procedure returns an
:class:`OutgoingRequest`, a person may look at it and edit it, then the client
sends it.  Each header a procedure adds records its *provenance*, the clause
and item that demand it (``Accept-Contact <- 7.1.1.1 item 1``), which the
composer widget shows and the trace keeps.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from imkit.sip import Request
from imkit.sip.headers import header_key
from imkit.trace.provenance import Provenance

_BODY_HEADERS = ("Content-Type", "Content-Length")


@dataclass
class OutgoingRequest:
    """A SIP request waiting to be sent, and why each header is there."""

    request: Request
    clause: str
    purpose: str = ""
    provenance: dict[str, list[Provenance]] = field(default_factory=dict)

    def _record(self, name: str, clause: str, item: str, note: str) -> None:
        reasons = self.provenance.setdefault(header_key(name), [])
        reason = Provenance(clause, item, note)
        if reason not in reasons:
            reasons.append(reason)

    def add(self, name: str, value: str, clause: str, item: str, note: str = "", *, first: bool = False) -> None:
        """Add a header row and say which clause and item demand it.  New rows
        go before Content-Type and Content-Length, which close the block."""
        if first:
            self.request.headers.add(name, value, first=True)
        else:
            self.request.headers.add_before(_BODY_HEADERS, name, value)
        self._record(name, clause, item, note)

    def set(self, name: str, value: str, clause: str, item: str, note: str = "") -> None:
        """Set a header (replacing any rows, or adding one before the body
        headers) and say why."""
        if name in self.request.headers:
            self.request.headers.set(name, value)
        else:
            self.request.headers.add_before(_BODY_HEADERS, name, value)
        self._record(name, clause, item, note)

    def cite(self, name: str, clause: str, item: str, note: str = "") -> None:
        """Add a reason for a header that is already there (a second clause
        that asks for the same thing, or a value the procedure chose)."""
        self._record(name, clause, item, note)

    def set_body(self, body: bytes, content_type: str, clause: str, item: str, note: str = "") -> None:
        self.request.set_body(body, content_type)
        self._record("Content-Type", clause, item, note)
        self._record("Content-Length", "RFC 3261", "20.14", "length of the body")

    def why(self, name: str) -> list[Provenance]:
        return list(self.provenance.get(header_key(name), []))

    def annotated(self) -> list[tuple[str, list[Provenance]]]:
        """Each header row as written, with its reasons (empty when none)."""
        return [
            (f"{row.name}: {row.value}", self.why(row.name)) for row in self.request.headers
        ]

    def __bytes__(self) -> bytes:
        return bytes(self.request)

    def explain(self) -> str:
        """A text rendering: each row, then ``<- clause item`` for its reasons."""
        lines = [self.request.start_line() + f"    <- {self.clause}"]
        for text, reasons in self.annotated():
            cited = "; ".join(str(r) for r in reasons)
            lines.append(f"{text}" + (f"    <- {cited}" if cited else ""))
        if self.request.body:
            lines.append("")
            lines.append(self.request.body.decode("utf-8", "replace"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            f"<tr><td><code>{html.escape(text)}</code></td>"
            f"<td>{html.escape('; '.join(str(r) for r in reasons))}</td></tr>"
            for text, reasons in self.annotated()
        ]
        body = ""
        if self.request.body:
            body = f"<pre>{html.escape(self.request.body.decode('utf-8', 'replace'))}</pre>"
        return (
            f"<div><b>{html.escape(self.clause)}</b> {html.escape(self.purpose)}"
            f"<br><code>{html.escape(self.request.start_line())}</code>"
            f"<table><tr><th>header</th><th>why</th></tr>{''.join(rows)}</table>{body}</div>"
        )
