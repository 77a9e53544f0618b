"""The live ladder: a stock HTML widget showing a :class:`~imkit.widgets.ladder.LadderModel`'s SVG."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from imkit.conformance import Report
from imkit.trace import Address, Trace
from imkit.widgets.ladder import DEFAULT_MAX_ROWS, LadderModel
from imkit.widgets.live import LiveTrace
from imkit.widgets.views._base import View

__all__ = ["Ladder", "live_trace"]


def live_trace(source: Trace | LiveTrace, check: Callable[[Trace], Report] | None,
               names: Mapping[Address, str] | None) -> tuple[LiveTrace, bool]:
    """``source`` as a LiveTrace, and whether it was made here (to close with the view)."""
    if isinstance(source, LiveTrace):
        if check is not None or names is not None:
            raise TypeError("give check and names to the LiveTrace itself")
        return source, False
    return LiveTrace(source, check=check, names=names), True


class Ladder(View, widgets.VBox):
    """``Ladder(trace, check=...)`` or ``Ladder(live_trace)``: redrawn as the
    trace grows; records that failed a rule are red."""

    def __init__(self, source: Trace | LiveTrace, *, check: Callable[[Trace], Report] | None = None,
                 names: Mapping[Address, str] | None = None, max_rows: int = DEFAULT_MAX_ROWS,
                 **kwargs: Any) -> None:
        self.live, owns_live = live_trace(source, check, names)
        self.model = LadderModel(self.live, max_rows=max_rows)
        self.picture = widgets.HTML()
        self.recheck_button = widgets.Button(description="Check again", tooltip="re-run the rules and redraw now")
        super().__init__([self.recheck_button, self.picture], **kwargs)
        self.recheck_button.on_click(self.acting(lambda _: self.live.refresh()))
        self.on_close(self.model.changed.subscribe(self.show), self.model.close)
        if owns_live:
            self.on_close(self.live.close)
        self.show()

    def show(self) -> None:
        with self.showing():
            self.picture.value = self.model.html()
