"""The conference view: stock widgets observing a :class:`~imkit.widgets.conference.ConferenceModel`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from imkit.trace import Trace
from imkit.widgets.conference import ConferenceModel
from imkit.widgets.views._base import View

if TYPE_CHECKING:
    from imkit.client import ConferenceSubscription

__all__ = ["ConferenceView"]


class ConferenceView(View, widgets.VBox):
    """Roster (own user and blocked users marked), what the last NOTIFY
    changed, and the XML: the last NOTIFY's body as received, and the
    merged state."""

    def __init__(self, model: ConferenceModel, **kwargs: Any) -> None:
        self.model = model
        self.summary = widgets.HTML()
        self.roster = widgets.HTML()
        self.change = widgets.HTML()
        self.notify_xml = widgets.HTML()
        self.state_xml = widgets.HTML()
        self.tabs = widgets.Tab(children=[self.roster, self.change, self.notify_xml, self.state_xml],
                                titles=("Roster", "Last NOTIFY changed", "NOTIFY body (raw)", "Merged state (XML)"))
        super().__init__([self.summary, self.tabs], **kwargs)
        self.on_close(model.changed.subscribe(self.show))
        self.show()

    @classmethod
    def for_subscription(cls, subscription: ConferenceSubscription, trace: Trace | None = None,
                         **kwargs: Any) -> ConferenceView:
        """A view of ``subscription`` (the client's address and block list
        taken from it); call ``view.model.watch_soon(subscription, trace)``
        to follow it."""
        return cls(ConferenceModel.for_subscription(subscription, trace), **kwargs)

    def show(self) -> None:
        model = self.model
        with self.showing():
            self.summary.value = model.summary_html()
            self.roster.value = model.roster_html()
            self.change.value = model.change_html()
            self.notify_xml.value = model.notify_html()
            self.state_xml.value = model.state_xml_html()
