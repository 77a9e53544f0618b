"""A trace being recorded and its conformance report, kept up to date.

:class:`LiveTrace` listens to :meth:`imkit.trace.Trace.subscribe`.  The
listener runs inside the runtime as each message is recorded, so it only
asks for a refresh; the refresh (re-running the rules, then telling the
views) runs ``delay`` seconds later on the running asyncio loop, once for a
burst of messages, or at once when no loop runs (a script, a test).  The
ladder (:mod:`imkit.widgets.ladder`) and the inspector
(:mod:`imkit.widgets.inspector`) observe one ``LiveTrace``, so the rules run
once for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from imkit.conformance import Report, Result
from imkit.trace import Address, Trace, TraceRecord
from imkit.widgets.events import Listeners

__all__ = ["DEFAULT_DELAY", "LiveTrace"]

#: Seconds between the first new record and the refresh it causes.
DEFAULT_DELAY = 0.2


class LiveTrace:
    """``trace``, with the report ``check(trace)`` gives (or one set with
    :meth:`set_report`); views subscribe to ``changed``.  ``names`` adds lane
    names to the trace's own.  Call :meth:`close` to stop listening."""

    def __init__(self, trace: Trace, *, check: Callable[[Trace], Report] | None = None,
                 names: Mapping[Address, str] | None = None, delay: float = DEFAULT_DELAY) -> None:
        self.trace = trace
        self.check = check
        self.names = dict(names or {})
        self.delay = delay
        self.report: Report | None = None
        self.error: Exception | None = None
        self.refreshes = 0
        self.changed = Listeners()
        self._due: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = trace.subscribe(self._recorded)
        self.refresh()

    def _recorded(self, record: TraceRecord) -> None:
        if self._due is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.refresh()
            return
        self._due = loop.call_later(self.delay, self.refresh)

    def refresh(self) -> None:
        """Re-run the rules (when there is a ``check``) and tell the views."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        self.error = None
        if self.check is not None:
            try:
                self.report = self.check(self.trace)
            except Exception as exc:  # noqa: BLE001 - a broken rule is shown, not allowed to stop the views
                self.report = None
                self.error = exc
        self.refreshes += 1
        self.changed.emit()

    def set_report(self, report: Report | None) -> None:
        """Show ``report`` (one the notebook computed) until the next check."""
        self.report = report
        self.changed.emit()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._due is not None:
            self._due.cancel()
            self._due = None

    # -- reading --------------------------------------------------------------------
    @property
    def records(self) -> tuple[TraceRecord, ...]:
        return self.trace.records

    @property
    def all_names(self) -> dict[Address, str]:
        return {**self.trace.names, **self.names}

    @property
    def failed(self) -> dict[int, str]:
        """Records to draw red, with what to write under the arrow: the
        trace's own failures (a timeout, say) and the ids of every rule of
        the report that failed on the record (all of them, where
        ``Report.failed_seqs()`` keeps one; the notes are in :meth:`results_for`)."""
        failed = dict(self.trace.failed)
        rules: dict[int, list[str]] = {}
        for result in self.report.failures() if self.report is not None else ():
            if result.seq is not None and result.rule_id not in rules.setdefault(result.seq, []):
                rules[result.seq].append(result.rule_id)
        for seq, ids in rules.items():
            failed[seq] = "; ".join(filter(None, (failed.get(seq), ", ".join(ids))))
        return failed

    def results_for(self, seq: int) -> list[Result]:
        """The report's verdicts decided on the record ``seq``."""
        if self.report is None:
            return []
        return [result for result in self.report if result.seq == seq]
