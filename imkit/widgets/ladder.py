"""The live ladder's model: the trace as a graphviz SVG, failed records red.

:class:`LadderModel` re-draws when its :class:`~imkit.widgets.live.LiveTrace`
changes, with :mod:`imkit.trace.graphviz_ladder` (what
``Trace.to_graphviz()`` draws) and the records that failed a rule (the
report's ``failed_seqs()``) in red.  Each arrow keeps its tooltip (the
start line and headers, and why it failed) and its SVG id ``record-<seq>``.
Only the last ``max_rows`` records are drawn, so a long trace stays quick;
without graphviz (the package or the ``dot`` program) the text ladder is
shown instead.
"""

from __future__ import annotations

from imkit.trace.ladder import ladder_text
from imkit.widgets.events import Listeners
from imkit.widgets.html import error_html, esc, table
from imkit.widgets.live import LiveTrace

__all__ = ["DEFAULT_MAX_ROWS", "LadderModel"]

#: Records drawn at most (the most recent).
DEFAULT_MAX_ROWS = 200


def _svg_element(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration or DOCTYPE), for inline HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


class LadderModel:
    """The picture of ``live``'s trace; views subscribe to ``changed``."""

    def __init__(self, live: LiveTrace, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.live = live
        self.max_rows = max_rows
        self.svg: str | None = None
        self.text: str | None = None
        self.changed = Listeners()
        self._unsubscribe = live.changed.subscribe(self.redraw)
        self.redraw()

    def close(self) -> None:
        self._unsubscribe()

    def redraw(self) -> None:
        """Draw the ladder again (the live trace calls this when it grows)."""
        records = self.live.records[-self.max_rows:]
        self.svg, self.text = None, None
        if records:
            try:
                import graphviz  # type: ignore[import-untyped]

                from imkit.trace import graphviz_ladder
            except ImportError:
                self.text = ladder_text(records, self.live.all_names, self.live.failed)
            else:
                graph = graphviz_ladder.to_graphviz(records, self.live.all_names, self.live.failed)
                try:
                    self.svg = _svg_element(graph.pipe(format="svg", encoding="utf-8"))
                except graphviz.ExecutableNotFound:
                    self.text = ladder_text(records, self.live.all_names, self.live.failed)
        self.changed.emit()

    def summary_html(self) -> str:
        records = self.live.records
        shown = min(len(records), self.max_rows)
        failed = self.live.failed
        parts = [f"{len(records)} records" + (f" (drawing the last {shown})" if shown < len(records) else "")]
        if self.live.trace.dropped:
            parts.append(f"{self.live.trace.dropped} dropped by the trace's bound")
        parts.append(f"<b style='color:#cf222e'>{len(failed)} failed</b>" if failed else "none failed")
        if self.live.report is not None:
            parts.append("SHALL rules: " + ("all pass" if self.live.report.ok else "<b style='color:#cf222e'>some fail</b>"))
        return ", ".join(parts)

    def failures_html(self) -> str:
        """Each red record and why: the trace's reason, every failed rule's note."""
        rows = [[f"#{seq}", "", esc(reason)] for seq, reason in sorted(self.live.trace.failed.items())]
        if self.live.report is not None:
            rows += [[f"#{r.seq}", f"<code>{esc(r.rule_id)}</code>", esc(r.note)]
                     for r in self.live.report.failures() if r.seq is not None]
        if not rows:
            return ""
        rows.sort(key=lambda row: int(row[0][1:]))
        return table(["record", "rule", "why it is red"], rows)

    def html(self) -> str:
        """The whole view: summary, picture (or text ladder), failures."""
        if self.live.error is not None:
            head = error_html("the conformance check failed", self.live.error)
        else:
            head = ""
        if self.svg is not None:
            picture = f"<div style='overflow:auto;max-height:640px'>{self.svg}</div>"
        elif self.text is not None:
            picture = f"<pre>{esc(self.text)}</pre>"
        else:
            picture = "<i>no messages yet</i>"
        return f"<div>{head}<div>{self.summary_html()}</div>{picture}{self.failures_html()}</div>"

    def _repr_html_(self) -> str:
        return self.html()
