"""The widget views: stock ipywidgets (no custom JavaScript) that observe
the plain models of :mod:`imkit.widgets`; they need the ``lab`` extra."""

from __future__ import annotations

from imkit.widgets.views.composer import Composer
from imkit.widgets.views.conference import ConferenceView
from imkit.widgets.views.explorer import Explorer
from imkit.widgets.views.inspector import Inspector
from imkit.widgets.views.ladder import Ladder

__all__ = ["Composer", "ConferenceView", "Explorer", "Inspector", "Ladder"]
