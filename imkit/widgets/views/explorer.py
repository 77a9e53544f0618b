"""Ladder and inspector on one live trace: the rules run once for both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from imkit.conformance import Report
from imkit.trace import Address, Trace
from imkit.widgets.live import LiveTrace
from imkit.widgets.views._base import View
from imkit.widgets.views.inspector import Inspector
from imkit.widgets.views.ladder import Ladder, live_trace

__all__ = ["Explorer"]


class Explorer(View, widgets.VBox):
    """``Explorer(trace, check=...)``: the live ladder above the inspector
    (read a record's seq on the ladder's left, pick it below)."""

    def __init__(self, source: Trace | LiveTrace, *, check: Callable[[Trace], Report] | None = None,
                 names: Mapping[Address, str] | None = None, follow: bool = True, **kwargs: Any) -> None:
        self.live, owns_live = live_trace(source, check, names)
        self.ladder = Ladder(self.live)
        self.inspector = Inspector(self.live, follow=follow)
        super().__init__([self.ladder, self.inspector], **kwargs)
        self.on_close(self.ladder.close, self.inspector.close)
        if owns_live:
            self.on_close(self.live.close)
