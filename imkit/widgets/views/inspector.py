"""The message inspector: stock widgets observing an :class:`~imkit.widgets.inspector.InspectorModel`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from imkit.conformance import Report
from imkit.trace import Address, Trace
from imkit.widgets.inspector import InspectorModel
from imkit.widgets.live import LiveTrace
from imkit.widgets.views._base import View
from imkit.widgets.views.ladder import live_trace

__all__ = ["Inspector"]


class Inspector(View, widgets.VBox):
    """Pick a record (by the seq drawn on the ladder): its headers and why,
    the rules decided on it, its bytes and a hex dump."""

    def __init__(self, source: Trace | LiveTrace, *, check: Callable[[Trace], Report] | None = None,
                 names: Mapping[Address, str] | None = None, seq: int | None = None, follow: bool = False,
                 **kwargs: Any) -> None:
        self.live, owns_live = live_trace(source, check, names)
        self.model = InspectorModel(self.live, seq=seq, follow=follow)
        self.picker = widgets.Dropdown(description="record", layout=widgets.Layout(width="100%"))
        self.previous_button = widgets.Button(description="◀ previous")
        self.next_button = widgets.Button(description="next ▶")
        self.follow_box = widgets.Checkbox(description="follow the newest", value=follow)
        self.meta = widgets.HTML()
        self.headers = widgets.HTML()
        self.rules = widgets.HTML()
        self.bytes = widgets.HTML()
        self.hex = widgets.HTML()
        self.tabs = widgets.Tab(children=[self.headers, self.rules, self.bytes, self.hex],
                                titles=("Headers and why", "Rules", "Bytes", "Hex"))
        super().__init__([self.picker, widgets.HBox([self.previous_button, self.next_button, self.follow_box]),
                          self.meta, self.tabs], **kwargs)
        self.picker.observe(self.acting(self._picked), names="value")
        self.previous_button.on_click(self.acting(lambda _: self.model.step(-1)))
        self.next_button.on_click(self.acting(lambda _: self.model.step(1)))
        self.follow_box.observe(self.acting(self._follow), names="value")
        self.on_close(self.model.changed.subscribe(self.show), self.model.close)
        if owns_live:
            self.on_close(self.live.close)
        self.show()

    def _picked(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.model.select(change["new"])

    def _follow(self, change: dict[str, Any]) -> None:
        self.model.set_follow(bool(change["new"]))

    def show(self) -> None:
        model = self.model
        with self.showing():
            options = model.options
            if list(self.picker.options) != options:
                self.picker.options = options
            self.picker.value = model.seq
            self.follow_box.value = model.follow
            self.meta.value = model.meta_html()
            self.headers.value = model.headers_html()
            self.rules.value = model.rules_html()
            self.bytes.value = model.bytes_html()
            self.hex.value = model.hex_html()
